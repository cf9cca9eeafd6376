package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/syncplan"
)

const goodTopology = `{
 "tenants": [
  {"name":"contoso","tenantId":"11111111-1111-1111-1111-111111111111","cloud":"public","domain":"contoso.onmicrosoft.com",
   "auth":{"method":"managedIdentity"}},
  {"name":"fabrikam","tenantId":"22222222-2222-2222-2222-222222222222","cloud":"public","domain":"fabrikam.onmicrosoft.com",
   "auth":{"method":"federated","clientId":"33333333-3333-3333-3333-333333333333"}}
 ],
 "directions": [
  {"name":"contoso-to-fabrikam","source":"contoso","target":"fabrikam","inviteRedirectUrl":"https://myapps.microsoft.com",
   "scope":{"excludeDomains":["contractors.contoso.com"]},
   "deprovision":{"action":"disable","threshold":{"percent":10}}}
 ]
}`

func TestParseTopologyGood(t *testing.T) {
	topo, err := ParseTopology([]byte(goodTopology), galsync.CloudPublic, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := topo.Direction("contoso-to-fabrikam")
	if !ok || d.Deprovision.Threshold.Percent != 10 || d.Scope.ExcludeDomains[0] != "contractors.contoso.com" {
		t.Fatalf("direction = %+v", d)
	}
}

func TestParseTopologyNamesEveryProblem(t *testing.T) {
	bad := `{
 "tenants": [
  {"name":"Contoso","tenantId":"nope","cloud":"mars","graphBaseUrl":"http://x/v1.0","auth":{"method":"managedIdentity"}},
  {"name":"b","tenantId":"22222222-2222-2222-2222-222222222222","cloud":"public","domain":"b.onmicrosoft.com","auth":{"method":"x"}}
 ],
 "directions": [
  {"name":"d1","source":"ghost","target":"b","userType":"Admin","inviteRedirectUrl":"http://x",
   "deprovision":{"action":"shred","threshold":{"percent":150}},
   "mapping":{"displayName":{"expression":"Lower("}}},
  {"name":"d1","source":"b","target":"b","inviteRedirectUrl":"https://x","deprovision":{"action":"none"}}
 ]
}`
	check := func(tn galsync.Tenant, _ galsync.Cloud) []error {
		if tn.Auth.Method == "x" {
			return []error{errors.New(`method "x" is unknown`)}
		}
		return nil
	}
	_, err := ParseTopology([]byte(bad), galsync.CloudPublic, check)
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{
		"tenants[0] (Contoso): name must be lower-case",
		`tenantId "nope" is not a GUID`,
		`cloud "mars"`,
		"domain is missing",
		"graphBaseUrl",
		`tenants[1] (b): auth: method "x" is unknown`,
		`directions[0] (d1): source "ghost" is not a configured tenant`,
		`userType "Admin"`,
		"inviteRedirectUrl must be an https URL",
		`deprovision.action "shred"`,
		"deprovision.threshold",
		`directions[0] (d1): mapping "displayName": expression`,
		"directions[1] (d1): source and target are the same tenant",
		"directions[1] (d1): name is used twice",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestParseTopologyRejectsUnknownFields(t *testing.T) {
	doc := strings.Replace(goodTopology, `"deprovision"`, `"deprovison"`, 1)
	_, err := ParseTopology([]byte(doc), galsync.CloudPublic, nil)
	if err == nil || !strings.Contains(err.Error(), `unknown field "deprovison"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadSettings(t *testing.T) {
	t.Setenv("GALSYNC_TOPOLOGY_FILE", "/tmp/t.json")
	s, err := LoadSettings()
	if err != nil {
		t.Fatal(err)
	}
	if s.QueueBackend != "embedded" || s.MaxDeliveryCount != 10 || s.DeltaSchedule != "0 */5 * * * *" || s.PullBudget.Minutes() != 4 {
		t.Errorf("defaults = %+v", s)
	}
}

func TestLoadSettingsNamesEveryProblem(t *testing.T) {
	t.Setenv("GALSYNC_HOME_CLOUD", "moon")
	t.Setenv("GALSYNC_QUEUE_BACKEND", "kafka")
	t.Setenv("GALSYNC_MAX_DELIVERY_COUNT", "0")
	t.Setenv("GALSYNC_LOCK_DURATION", "-1s")
	t.Setenv("GALSYNC_LOG_LEVEL", "loud")
	_, err := LoadSettings()
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{"GALSYNC_TOPOLOGY_FILE: set it", `GALSYNC_HOME_CLOUD: "moon"`, `GALSYNC_QUEUE_BACKEND: "kafka"`,
		"GALSYNC_MAX_DELIVERY_COUNT", "GALSYNC_LOCK_DURATION", `GALSYNC_LOG_LEVEL: "loud"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	t.Setenv("GALSYNC_PULL_BUDGET", "soon")
	if _, err := LoadSettings(); err == nil || !strings.Contains(err.Error(), "PULL_BUDGET") {
		t.Errorf("unparsable duration: %v", err)
	}
}

func TestValuesCoverEverySetting(t *testing.T) {
	t.Setenv("GALSYNC_TOPOLOGY", "{}")
	t.Setenv("GALSYNC_DELTA_SCHEDULE", "*/15 * * * * *")
	s, _ := LoadSettings()
	v := s.Values()
	for _, name := range SettingNames() {
		if _, ok := v[name]; !ok {
			t.Errorf("Values lacks %s", name)
		}
	}
	if v["GALSYNC_DELTA_SCHEDULE"] != "*/15 * * * * *" || v["GALSYNC_PULL_BUDGET"] != "4m0s" || v["GALSYNC_QUEUE_CONCURRENCY"] != "16" {
		t.Errorf("Values = %v", v)
	}
}

func TestGraphBudgetSettings(t *testing.T) {
	t.Setenv("GALSYNC_TOPOLOGY_FILE", "/tmp/t.json")
	s, err := LoadSettings()
	if err != nil {
		t.Fatal(err)
	}
	if !s.GraphPacing || s.GraphBudgetMargin != 0.05 || s.GraphBudgetScale != 1 || s.MaxInstances != 1 {
		t.Errorf("defaults: pacing %t margin %v scale %v instances %d", s.GraphPacing, s.GraphBudgetMargin, s.GraphBudgetScale, s.MaxInstances)
	}
	t.Setenv("GALSYNC_GRAPH_BUDGET_MARGIN", "0.95")
	t.Setenv("GALSYNC_GRAPH_BUDGET_SCALE", "0")
	t.Setenv("GALSYNC_MAX_INSTANCES", "0")
	_, err = LoadSettings()
	for _, want := range []string{"GALSYNC_GRAPH_BUDGET_MARGIN: must be between 0 and 0.9", "GALSYNC_GRAPH_BUDGET_SCALE: must be greater than 0",
		"GALSYNC_MAX_INSTANCES: must be between 1 and 2000"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestTopologyGraphBudget(t *testing.T) {
	doc := strings.Replace(goodTopology, `"auth":{"method":"managedIdentity"}`,
		`"auth":{"method":"managedIdentity"},"graphBudget":{"size":"L","margin":0.2}`, 1)
	topo, err := ParseTopology([]byte(doc), galsync.CloudPublic, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b := topo.Tenants[0].GraphBudget; b == nil || b.Size != "L" || b.Margin == nil || *b.Margin != 0.2 {
		t.Errorf("graphBudget = %+v", b)
	}
	doc = strings.Replace(goodTopology, `"auth":{"method":"managedIdentity"}`,
		`"auth":{"method":"managedIdentity"},"graphBudget":{"size":"XL","margin":1.5}`, 1)
	_, err = ParseTopology([]byte(doc), galsync.CloudPublic, nil)
	for _, want := range []string{`tenants[0] (contoso): graphBudget.size "XL" is not S`, "tenants[0] (contoso): graphBudget.margin 1.5 must be between 0 and 0.9"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// twoCloudTopology is a source tenant in cloud src syncing to a target in
// cloud tgt, each signed in with a certificate.
func twoCloudTopology(src, tgt galsync.Cloud) string {
	return strings.NewReplacer("SRC", string(src), "TGT", string(tgt)).Replace(`{
 "tenants": [
  {"name":"gcch","tenantId":"11111111-1111-1111-1111-111111111111","cloud":"SRC","domain":"a.onmicrosoft.us",
   "auth":{"method":"certificate","clientId":"33333333-3333-3333-3333-333333333333","certificatePath":"/a.pem"}},
  {"name":"other","tenantId":"22222222-2222-2222-2222-222222222222","cloud":"TGT","domain":"b.onmicrosoft.com",
   "auth":{"method":"certificate","clientId":"33333333-3333-3333-3333-333333333333","certificatePath":"/b.pem"}}
 ],
 "directions": [
  {"name":"out","source":"gcch","target":"other","inviteRedirectUrl":"https://myapps.microsoft.com","deprovision":{"action":"none"}}
 ]
}`)
}

// TestImpossibleCloudPairRefused: Azure Government (GCC High, DoD) and the
// China cloud cannot collaborate, so a direction between them is a
// configuration error that names the pair and the reason.
func TestImpossibleCloudPairRefused(t *testing.T) {
	for _, pair := range [][2]galsync.Cloud{{galsync.CloudUSGov, galsync.CloudChina}, {galsync.CloudUSGovDoD, galsync.CloudChina}, {galsync.CloudChina, galsync.CloudUSGov}} {
		_, err := ParseTopology([]byte(twoCloudTopology(pair[0], pair[1])), galsync.CloudPublic, nil)
		if err == nil {
			t.Fatalf("%s → %s accepted", pair[0], pair[1])
		}
		for _, want := range []string{"directions[0] (out): source gcch and target other", string(pair[0]), string(pair[1]), "cannot collaborate", "Azure Government"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s → %s: error lacks %q:\n%v", pair[0], pair[1], want, err)
			}
		}
	}
}

// TestGovernmentPairIsOneCloud: GCC High and DoD tenants are both in Azure
// Government, where B2B works as within one cloud, so the direction is
// accepted and invitations go to mail by default, as in any one cloud
// (the UPN is only needed across clouds).
func TestGovernmentPairIsOneCloud(t *testing.T) {
	topo, err := ParseTopology([]byte(twoCloudTopology(galsync.CloudUSGov, galsync.CloudUSGovDoD)), galsync.CloudUSGov, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := topo.Direction("out")
	rules, err := syncplan.Compile(d, !galsync.SameEntraCloud(galsync.CloudUSGov, galsync.CloudUSGovDoD))
	if err != nil {
		t.Fatal(err)
	}
	u := galsync.SourceUser{ID: "u1", Attributes: map[string]any{"mail": "ada@contoso.us", "userPrincipalName": "ada@contoso.onmicrosoft.us"}}
	if got := rules.InviteAddress(u.Attributes); got != "ada@contoso.us" {
		t.Errorf("GCC High → DoD invites %q, want the mail address", got)
	}
	// Commercial → GCC High is across clouds: the UPN.
	rules, err = syncplan.Compile(d, !galsync.SameEntraCloud(galsync.CloudPublic, galsync.CloudUSGov))
	if err != nil {
		t.Fatal(err)
	}
	if got := rules.InviteAddress(u.Attributes); got != "ada@contoso.onmicrosoft.us" {
		t.Errorf("commercial → GCC High invites %q, want the UPN", got)
	}
}

// The claim TTL leaves the work under a claim room for one Graph call
// (budget wait plus one attempt) before its margin (30 s, or a quarter of
// a TTL under 2m), and defaults to 5m.
func TestInviteClaimTTL(t *testing.T) {
	t.Setenv("GALSYNC_TOPOLOGY_FILE", "/tmp/t.json")
	s, err := LoadSettings()
	if err != nil {
		t.Fatal(err)
	}
	if least := MinClaimTTL(s.GraphMaxWait, s.GraphTimeout); s.InviteClaimTTL != 5*time.Minute || s.GraphTimeout != time.Minute || least > s.InviteClaimTTL {
		t.Errorf("default claim TTL %s, attempt timeout %s, shortest TTL allowed %s", s.InviteClaimTTL, s.GraphTimeout, least)
	}
	for _, tc := range []struct {
		ttl, maxWait, timeout string
		ok                    bool
	}{
		{"83s", "2s", "60s", true}, // 62 s of call, 20.75 s of margin
		{"82s", "2s", "60s", false},
		{"2m", "1m", "60s", false}, // 1m wait + 60 s attempt + 30 s margin = 2m30s
		{"150s", "1m", "60s", true},
		{"5m", "5m", "60s", false},
		{"8s", "1s", "5s", true}, // 6 s of call, 2 s of margin
		{"7s", "1s", "5s", false},
	} {
		t.Setenv("GALSYNC_INVITE_CLAIM_TTL", tc.ttl)
		t.Setenv("GALSYNC_GRAPH_MAX_WAIT", tc.maxWait)
		t.Setenv("GALSYNC_GRAPH_TIMEOUT", tc.timeout)
		_, err := LoadSettings()
		if got := err == nil; got != tc.ok || !tc.ok && !strings.Contains(err.Error(), "GALSYNC_INVITE_CLAIM_TTL: must be at least") {
			t.Errorf("TTL %s with max wait %s and attempt timeout %s: %v, want ok %t", tc.ttl, tc.maxWait, tc.timeout, err, tc.ok)
		}
		if ttl, _ := time.ParseDuration(tc.ttl); tc.ok && ttl-galsync.ClaimMargin(ttl) < mustDuration(t, tc.maxWait)+mustDuration(t, tc.timeout) {
			t.Errorf("TTL %s accepted but leaves less than the call's time before its margin", tc.ttl)
		}
	}
	t.Setenv("GALSYNC_INVITE_CLAIM_TTL", "10m")
	t.Setenv("GALSYNC_GRAPH_TIMEOUT", "6m")
	if _, err := LoadSettings(); err == nil || !strings.Contains(err.Error(), "GALSYNC_GRAPH_TIMEOUT: must be at most 5m0s") {
		t.Errorf("a 6m attempt timeout: %v, want refused", err)
	}
}

func mustDuration(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
