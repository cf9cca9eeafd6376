package funchost

import (
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/galsync/galsync/functions"
)

// The repository's own function folders load and resolve.
func TestLoadRepositoryFunctions(t *testing.T) {
	fns, err := Load(functions.FS)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Function{}
	for _, fn := range fns {
		byName[fn.Name] = fn
	}
	for name, queueName := range map[string]string{"delta-pull": "pulls", "invite-worker": "invites", "update-worker": "updates"} {
		fn, ok := byName[name]
		if !ok || fn.Trigger.Type != TypeServiceBusTrigger || fn.Trigger.QueueName != queueName || fn.Trigger.Name != "msg" {
			t.Errorf("%s: got %+v, want a serviceBusTrigger named msg on %s", name, fn, queueName)
		}
	}
	resolved, err := ResolveSettings(fns, func(string) string { return "" }, map[string]string{
		"GALSYNC_DELTA_SCHEDULE": "0 */5 * * * *", "GALSYNC_SUBSCRIPTION_SCHEDULE": "0 */30 * * * *",
		"GALSYNC_SWEEP_SCHEDULE": "0 30 2 * * *", "GALSYNC_FULL_SYNC_SCHEDULE": "0 30 3 * * 0"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"delta-timer": "0 */5 * * * *", "sweep-timer": "0 30 2 * * *", "full-sync-timer": "0 30 3 * * 0"}
	for _, fn := range resolved {
		if w, ok := want[fn.Name]; ok && fn.Trigger.Schedule != w {
			t.Errorf("%s schedule = %q, want %q", fn.Name, fn.Trigger.Schedule, w)
		}
	}
}

func fsWith(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for name, body := range files {
		m[name] = &fstest.MapFile{Data: []byte(body)}
	}
	return m
}

func TestLoadParsesBindings(t *testing.T) {
	fns, err := Load(fsWith(map[string]string{
		"api/function.json": `{"bindings":[
			{"type":"httpTrigger","direction":"in","name":"req","route":"users/{id}","methods":["get","post"],"authLevel":"function"},
			{"type":"http","direction":"out","name":"res"}]}`,
		"tick/function.json":  `{"bindings":[{"type":"timerTrigger","direction":"in","name":"timer","schedule":"0 */5 * * * *","runOnStartup":true}]}`,
		"notes/README.md":     `not a function`,
		"off/function.json":   `{"disabled":true,"bindings":[{"type":"serviceBusTrigger","direction":"in","name":"msg","queueName":"q","connection":"C"}]}`,
		"top-level-file.json": `{}`,
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := []Function{
		{Name: "api", Path: "api/function.json",
			Trigger: Binding{Type: "httpTrigger", Direction: "in", Name: "req", Route: "users/{id}", Methods: []string{"get", "post"}, AuthLevel: "function"},
			Outputs: []Binding{{Type: "http", Direction: "out", Name: "res"}}},
		{Name: "off", Path: "off/function.json", Disabled: true,
			Trigger: Binding{Type: "serviceBusTrigger", Direction: "in", Name: "msg", QueueName: "q", Connection: "C"}},
		{Name: "tick", Path: "tick/function.json",
			Trigger: Binding{Type: "timerTrigger", Direction: "in", Name: "timer", Schedule: "0 */5 * * * *", RunOnStartup: true}},
	}
	if !reflect.DeepEqual(fns, want) {
		t.Errorf("got  %+v\nwant %+v", fns, want)
	}
}

func TestLoadRejectsBadFunctions(t *testing.T) {
	sb := func(extra string) string {
		return `{"bindings":[{"type":"serviceBusTrigger","direction":"in","name":"msg"` + extra + `}]}`
	}
	timer := func(schedule string) string {
		return `{"bindings":[{"type":"timerTrigger","direction":"in","name":"t","schedule":"` + schedule + `"}]}`
	}
	tests := []struct{ name, json, mention string }{
		{"not JSON", `{"bindings":`, "not valid JSON"},
		{"no trigger", `{"bindings":[{"type":"http","direction":"out","name":"res"}]}`, "exactly one trigger binding, found 0"},
		{"two triggers", `{"bindings":[{"type":"timerTrigger","name":"a","direction":"in","schedule":"* * * * * *"},{"type":"httpTrigger","name":"b","direction":"in"}]}`, "found 2"},
		{"unknown trigger", `{"bindings":[{"type":"blobTrigger","direction":"in","name":"b"}]}`, `unknown trigger type "blobTrigger"`},
		{"missing queueName", sb(``), "has no queueName"},
		{"topic", sb(`,"topicName":"t","subscriptionName":"s"`), "topic subscriptions are not supported"},
		{"binary dataType", sb(`,"queueName":"q","dataType":"binary"`), `dataType "binary"`},
		{"trigger without name", `{"bindings":[{"type":"serviceBusTrigger","direction":"in","queueName":"q"}]}`, "has no name"},
		{"trigger direction out", `{"bindings":[{"type":"serviceBusTrigger","direction":"out","name":"m","queueName":"q"}]}`, `direction "out"`},
		{"output binding the host would drop", `{"bindings":[{"type":"serviceBusTrigger","direction":"in","name":"m","queueName":"q"},{"type":"serviceBus","direction":"out","name":"o","queueName":"x"}]}`, `output binding "o" of type "serviceBus"`},
		{"no schedule", timer(""), "has no schedule"},
		{"bad cron", timer("0 */5 * * * fish"), "bad schedule"},
		{"five-field cron", timer("*/5 * * * *"), "has 5 fields, want six"},
		{"descriptor", timer("@every 5m"), "has 2 fields"},
		{"timespan", timer("00:05:00"), "has 1 fields"},
		{"http without output", `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req"}]}`, "no http output binding"},
		{"http bad method", `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","methods":["fetch"]},{"type":"http","direction":"out","name":"res"}]}`, `unknown method "fetch"`},
		{"http bad auth", `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","authLevel":"user"},{"type":"http","direction":"out","name":"res"}]}`, `authLevel "user"`},
		{"http bad constraint", `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","route":"x/{id:regex(a)}"},{"type":"http","direction":"out","name":"res"}]}`, "not supported by the local host"},
		{"http mixed segment", `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","route":"files/{name}.txt"},{"type":"http","direction":"out","name":"res"}]}`, "mixes text and parameters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(fsWith(map[string]string{"good/function.json": timer("0 0 * * * *"), "broken/function.json": tt.json}))
			if err == nil {
				t.Fatal("Load accepted it")
			}
			if !strings.Contains(err.Error(), "broken/function.json") || !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not name the file and say %q", err, tt.mention)
			}
		})
	}
}

func TestLoadReportsEveryBadFile(t *testing.T) {
	_, err := Load(fsWith(map[string]string{"a/function.json": `{`, "b/function.json": `{}`}))
	if err == nil || !strings.Contains(err.Error(), "a/function.json") || !strings.Contains(err.Error(), "b/function.json") {
		t.Fatalf("error = %v, want both files named", err)
	}
}

func TestLoadFindsNothing(t *testing.T) {
	if _, err := Load(fsWith(map[string]string{"docs/readme.md": "x"})); err == nil || !strings.Contains(err.Error(), "no <function>/function.json") {
		t.Fatalf("error = %v", err)
	}
}

func TestResolveSettings(t *testing.T) {
	fns, err := Load(fsWith(map[string]string{
		"tick/function.json": `{"bindings":[{"type":"timerTrigger","direction":"in","name":"t","schedule":"%SCHEDULE%"}]}`,
		"work/function.json": `{"bindings":[{"type":"serviceBusTrigger","direction":"in","name":"m","queueName":"%PREFIX%-jobs"}]}`,
	}))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PREFIX": "dev"}
	got, err := ResolveSettings(fns, func(k string) string { return env[k] }, map[string]string{"SCHEDULE": "0 0 * * * *", "PREFIX": "ignored"})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Trigger.Schedule != "0 0 * * * *" || got[1].Trigger.QueueName != "dev-jobs" {
		t.Errorf("resolved to %q and %q", got[0].Trigger.Schedule, got[1].Trigger.QueueName)
	}
	if fns[1].Trigger.QueueName != "%PREFIX%-jobs" {
		t.Error("ResolveSettings changed its input")
	}

	_, err = ResolveSettings(fns, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "tick/function.json: app setting SCHEDULE is not set") {
		t.Errorf("missing setting: error = %v", err)
	}
	_, err = ResolveSettings(fns, nil, map[string]string{"SCHEDULE": "every hour", "PREFIX": "p"})
	if err == nil || !strings.Contains(err.Error(), "tick/function.json") || !strings.Contains(err.Error(), "want six") {
		t.Errorf("bad resolved schedule: error = %v", err)
	}
}
