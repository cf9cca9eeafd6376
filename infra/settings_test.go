package infra

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/galsync/galsync/shared/config"
)

// platformPrefixes are app settings for the Functions platform rather than
// for galsync's code: the host's storage, runtime and package, and
// telemetry (OTEL_: OpenTelemetry's standard settings, read by the host and
// by shared/telemetry). docs/deploy.md lists them too.
var platformPrefixes = []string{"FUNCTIONS_", "AzureWebJobsStorage", "APPLICATIONINSIGHTS_", "WEBSITE_", "AzureFunctionsJobHost__", "OTEL_"}

func isPlatform(name string) bool {
	for _, p := range platformPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// functionBindings reads every functions/*/function.json.
func functionBindings(t *testing.T) map[string][]map[string]any {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "functions", "*", "function.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no functions/*/function.json (%v)", err)
	}
	out := map[string][]map[string]any{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var fj struct {
			Bindings []map[string]any `json:"bindings"`
		}
		if err := json.Unmarshal(b, &fj); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out[filepath.Base(filepath.Dir(p))] = fj.Bindings
	}
	return out
}

var (
	percentRef  = regexp.MustCompile(`%([A-Za-z0-9_]+)%`)
	listOfLocal = regexp.MustCompile(`^\[for name in sort\(keys\(local\.([A-Za-z0-9_]+)\)\) : \{ name = name, value = local\.([A-Za-z0-9_]+)\[name\] \}\]$`)
)

// hostResolved returns the settings the Functions host itself resolves from
// function.json: %NAME% references (which have no default: a missing one
// stops the function from loading) and binding connections.
func hostResolved(t *testing.T) (refs, connections map[string]bool) {
	refs, connections = map[string]bool{}, map[string]bool{}
	for _, bindings := range functionBindings(t) {
		for _, b := range bindings {
			for _, v := range b {
				if s, ok := v.(string); ok {
					for _, m := range percentRef.FindAllStringSubmatch(s, -1) {
						refs[m[1]] = true
					}
				}
			}
			if c, ok := b["connection"].(string); ok && c != "" {
				connections[c] = true
			}
		}
	}
	return refs, connections
}

// infraSettings returns the app setting names the .tf files set: the keys of
// every app_settings* map. It also checks that each Function App's
// app_settings names one of those locals, so no setting hides elsewhere.
func infraSettings(t *testing.T) map[string]bool {
	t.Helper()
	files := readTF(t, ".")
	locals := map[string]bool{}
	names := map[string]bool{}
	for _, a := range assignments(files, "app_settings_*") {
		locals[a.name] = true
		for _, k := range objectKeys(a.expr) {
			names[k] = true
		}
	}
	// azurerm apps take a map (app_settings = local.app_settings_x); the
	// azapi site a list built from one (appSettings = [for name in ...
	// local.app_settings_x ...]).
	uses := append(assignments(files, "app_settings"), assignments(files, "appSettings")...)
	if len(uses) < 2 || len(names) == 0 {
		t.Fatalf("found too few app settings in the .tf files (%d uses, %d names)", len(uses), len(names))
	}
	for _, u := range uses {
		expr := strings.TrimSpace(u.expr)
		m := localRef.FindStringSubmatch(expr)
		if u.name == "appSettings" {
			m = listOfLocal.FindStringSubmatch(expr)
		}
		if m == nil || !locals[m[1]] {
			t.Errorf("%s: %s = %s; set app settings through the app_settings_* locals so this test sees them", u.file, u.name, expr)
		}
	}
	return names
}

// documentedInputs returns the settings docs/deploy.md lists, between its
// settings-inputs markers, as inputs left to their defaults.
func documentedInputs(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", "deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	begin := strings.Index(doc, "<!-- settings-inputs:begin -->")
	end := strings.Index(doc, "<!-- settings-inputs:end -->")
	if begin < 0 || end < begin {
		t.Fatal("docs/deploy.md has no <!-- settings-inputs:begin/end --> table")
	}
	out := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Za-z0-9_]+)` \\|").FindAllStringSubmatch(doc[begin:end], -1) {
		out[m[1]] = true
	}
	if len(out) == 0 {
		t.Fatal("docs/deploy.md's settings-inputs table lists nothing")
	}
	return out
}

// TestAppSettingsMatchCode: every app setting the code reads is set by
// infra/ or documented as an input, and every setting infra/ sets is read by
// the code or is a platform setting.
func TestAppSettingsMatchCode(t *testing.T) {
	code := map[string]bool{}
	facts := readCodeFacts(t)
	for _, n := range append(append(facts.SettingsRead, facts.HostRefs...), facts.TriggerConnections...) {
		code[n] = true
	}
	refs, connections := hostResolved(t)
	infra := infraSettings(t)
	docs := documentedInputs(t)

	for _, n := range sortedSet(infra) {
		if !code[n] && !isPlatform(n) {
			t.Errorf("infra/ sets %s, which no code reads (not a GALSYNC_* setting in shared/config, not a function.json reference, not a platform setting)", n)
		}
	}
	for _, n := range sortedSet(code) {
		if !infra[n] && !docs[n] {
			t.Errorf("the code reads %s, which infra/ neither sets nor docs/deploy.md lists as an input", n)
		}
	}
	for _, n := range sortedSet(docs) {
		if !code[n] {
			t.Errorf("docs/deploy.md lists %s as an input, but no code reads it", n)
		}
		if infra[n] {
			t.Errorf("docs/deploy.md lists %s as an input left to its default, but infra/ sets it", n)
		}
	}
	// The host has no defaults: what function.json refers to must be set.
	for _, n := range sortedSet(refs) {
		if !infra[n] {
			t.Errorf("a function.json refers to %%%s%%, which infra/ does not set: the host would not load that function", n)
		}
	}
	for _, c := range sortedSet(connections) {
		if !infra[c] && !infra[c+config.FullyQualifiedNamespace] {
			t.Errorf("a function.json binding uses connection %s, but infra/ sets neither %s nor %s%s", c, c, c, config.FullyQualifiedNamespace)
		}
	}
}

// TestHostJSONConcurrencyMatchesInfra: host.json's maxConcurrentCalls, the
// value infra/ sets through its app setting override, and the local host's
// default are one number, so the capacity arithmetic (docs/capacity.md)
// holds wherever galsync runs.
func TestHostJSONConcurrencyMatchesInfra(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "host.json"))
	if err != nil {
		t.Fatal(err)
	}
	var host struct {
		Extensions struct {
			ServiceBus struct {
				MaxConcurrentCalls int `json:"maxConcurrentCalls"`
			} `json:"serviceBus"`
		} `json:"extensions"`
	}
	if err := json.Unmarshal(b, &host); err != nil {
		t.Fatalf("host.json: %v", err)
	}
	got := host.Extensions.ServiceBus.MaxConcurrentCalls
	if want := variableDefault(t, "service_bus_max_concurrent_calls"); strconv.Itoa(got) != want {
		t.Errorf("host.json maxConcurrentCalls is %d, variable service_bus_max_concurrent_calls defaults to %s", got, want)
	}
	// The local host runs more messages at once than an Azure instance
	// (docs/host-json.md): its embedded store, not Graph, sets its pace,
	// and shares commits among concurrent writes. It never runs fewer, so
	// the tests see at least the concurrency of an instance.
	f, ok := reflect.TypeOf(config.Settings{}).FieldByName("QueueConcurrency")
	if !ok {
		t.Fatal("config.Settings has no QueueConcurrency")
	}
	if local, err := strconv.Atoi(f.Tag.Get("default")); err != nil || local < got {
		t.Errorf("the local host runs %s messages per queue by default (GALSYNC_QUEUE_CONCURRENCY), fewer than host.json's %d", f.Tag.Get("default"), got)
	}
}
