package sim

import (
	"net/http"
	"strconv"
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
