package sim

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestInvitationsThrottledPastScaledLimit(t *testing.T) {
	// 150 per 5 s scaled by 0.01: 2 (rounded) per 50 ms. The clock stands
	// still, so the bucket does not refill until the test moves it.
	h := startSim(t, Options{ThrottleScale: 0.01})
	tok := h.tokenA()
	body := func(n int) map[string]any {
		return map[string]any{"invitedUserEmailAddress": "p" + strconv.Itoa(n) + "@partner.example", "inviteRedirectUrl": "https://myapps.microsoft.com"}
	}
	for i := range 2 {
		if status, _, b := h.invite(tok, body(i)); status != http.StatusCreated {
			t.Fatalf("invitation %d: %d %s", i, status, b)
		}
	}
	resp, b := h.call(http.MethodPost, h.graph(tenantA)+"/invitations", tok, body(3))
	if resp.StatusCode != http.StatusTooManyRequests || graphErrorCode(t, b) != "TooManyRequests" {
		t.Fatalf("third invitation: %d %s, want 429 TooManyRequests", resp.StatusCode, b)
	}
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("Retry-After = %q, want whole seconds ≥ 1", resp.Header.Get("Retry-After"))
	}
	if users, _ := h.s.Users(tenantA); len(users) != 2 {
		t.Errorf("a throttled invitation created a user: %d users", len(users))
	}
	h.clock.Advance(50 * time.Millisecond)
	if status, _, b := h.invite(tok, body(4)); status != http.StatusCreated {
		t.Errorf("after the window: %d %s", status, b)
	}
	if got := h.s.Stats(tenantA).Faults["throttled"]; got != 1 {
		t.Errorf("stats count %d throttled requests, want 1", got)
	}
}

func TestWritesThrottledPerAppAndTenant(t *testing.T) {
	// 3,000 writes per 150 s scaled by 0.001: 3 per 150 ms.
	h := startSim(t, Options{ThrottleScale: 0.001})
	goldenTenant(t, h)
	tok := h.tokenA()
	patch := func() *http.Response {
		resp, _ := h.call(http.MethodPatch, h.graph(tenantA)+"/users/00000000-0000-4000-8000-000000000001", tok, map[string]any{"jobTitle": "x"})
		return resp
	}
	for i := range 3 {
		if resp := patch(); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("write %d: %d", i, resp.StatusCode)
		}
	}
	resp := patch()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("x-ms-throttle-information") != "WriteLimitExceeded" {
		t.Fatalf("fourth write: %d %v", resp.StatusCode, resp.Header)
	}
	// Reads draw on resource units (4 at this scale, 3 spent by the
	// writes); GET users with $select costs 1.
	if resp, _ := h.send(http.MethodGet, h.graph(tenantA)+"/users?$select=id", tok, nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("read while writes are throttled: %d", resp.StatusCode)
	}
	if err := h.s.SetFaults(tenantA, Faults{DisableThrottling: true}); err != nil {
		t.Fatal(err)
	}
	if resp := patch(); resp.StatusCode != http.StatusNoContent {
		t.Errorf("with throttling off: %d", resp.StatusCode)
	}
}

func TestResourceUnitCost(t *testing.T) {
	cases := []struct {
		kind, query string
		want        float64
	}{
		{"users", "", 2},
		{"users", "$select=id", 1},
		{"users", "$select=id&$top=5", 1},
		{"user", "", 1},
		{"delta", "$select=id", 1},
	}
	for _, c := range cases {
		r, _ := http.NewRequest(http.MethodGet, "https://x/graph/t/v1.0/users?"+c.query, nil)
		if got := resourceUnitCost(r, c.kind); got != c.want {
			t.Errorf("%s ?%s: cost %v, want %v", c.kind, c.query, got, c.want)
		}
	}
	for users, want := range map[int]float64{10: 3500, 50: 5000, 500: 5000, 501: 8000} {
		if got := resourceUnitLimit(users); got != want {
			t.Errorf("tenant of %d users: limit %v, want %v", users, got, want)
		}
	}
}

// TestThrottleHeaders: "x-ms-resource-unit - Indicates the resource unit
// used for this request"; "x-ms-throttle-limit-percentage - Returned only
// when the application consumed more than 0.8 of its limit"
// (https://learn.microsoft.com/graph/throttling-limits, identity and access).
func TestThrottleHeaders(t *testing.T) {
	h := startSim(t, Options{ThrottleScale: 0.001}) // 3 users: 4 resource units per 10 ms
	goldenTenant(t, h)
	tok := h.tokenA()
	get := func(query string) *http.Response {
		resp, _ := h.send(http.MethodGet, h.graph(tenantA)+"/users?"+query, tok, nil, nil)
		return resp
	}
	if resp := get("$top=50"); resp.Header.Get("x-ms-resource-unit") != "2" || resp.Header.Get("x-ms-throttle-limit-percentage") != "" {
		t.Errorf("GET /users: %v, want 2 units and no percentage at 50%%", resp.Header)
	}
	if resp := get("$select=id"); resp.Header.Get("x-ms-resource-unit") != "1" || resp.Header.Get("x-ms-throttle-limit-percentage") != "" {
		t.Errorf("GET /users?$select: %v, want 1 unit and no percentage at 75%%", resp.Header)
	}
	if resp := get("$select=id"); resp.Header.Get("x-ms-throttle-limit-percentage") != "1.00" {
		t.Errorf("bucket spent: percentage %q, want 1.00", resp.Header.Get("x-ms-throttle-limit-percentage"))
	}
	resp := get("$select=id")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" ||
		resp.Header.Get("x-ms-throttle-scope") != "Tenant_Application/ReadWrite/"+appA+"/"+tenantA ||
		resp.Header.Get("x-ms-throttle-information") != "ResourceUnitLimitExceeded" {
		t.Errorf("over the limit: %d %v", resp.StatusCode, resp.Header)
	}
	// A refill of 2.5 ms per unit rounds up to the whole second HTTP's
	// Retry-After can say; the bucket itself is ready sooner.
	h.clock.Advance(3 * time.Millisecond)
	if resp := get("$select=id"); resp.StatusCode != http.StatusOK {
		t.Errorf("after the refill: %d", resp.StatusCode)
	}
}

// TestAppLimitAcrossTenants: "application: 150,000 ResourceUnits per 20
// seconds" counts an app's requests to every tenant.
func TestAppLimitAcrossTenants(t *testing.T) {
	h := startSim(t, Options{ThrottleScale: 0.0001}) // the app: 15 units per 2 ms
	const tenantC = "33333333-3333-4333-8333-333333333333"
	if _, err := h.s.CreateTenant(tenantC, "c.onmicrosoft.com"); err != nil {
		t.Fatal(err)
	}
	if err := h.s.AddApp(tenantC, appA, "s3"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{tenantA, tenantC} { // the tenants' own limits at Microsoft's numbers
		if err := h.s.SetFaults(id, Faults{ThrottleScale: 1}); err != nil {
			t.Fatal(err)
		}
	}
	toks := map[string]string{tenantA: h.tokenA(), tenantC: h.token(tenantC, appA, "s3")}
	var last *http.Response
	for i := range 16 {
		id := []string{tenantA, tenantC}[i%2]
		last, _ = h.send(http.MethodGet, h.graph(id)+"/users?$select=id", toks[id], nil, nil)
		if i < 15 && last.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %d", i, last.StatusCode)
		}
	}
	if last.StatusCode != http.StatusTooManyRequests || !strings.HasPrefix(last.Header.Get("x-ms-throttle-scope"), "Application/ReadWrite/"+appA) {
		t.Errorf("16th request: %d %v, want 429 in the Application scope", last.StatusCode, last.Header)
	}
}
