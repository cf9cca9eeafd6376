package sim

import (
	"net/http"
	"testing"
	"time"
)

func TestFaultsErrorScopedByKind(t *testing.T) {
	h := startSim(t, Options{})
	goldenTenant(t, h)
	tok := h.tokenA()
	if err := h.s.SetFaults(tenantA, Faults{ErrorRate: 1, Kinds: []string{"patch"}}); err != nil {
		t.Fatal(err)
	}
	resp, body := h.call(http.MethodPatch, h.graph(tenantA)+"/users/00000000-0000-4000-8000-000000000001", tok, map[string]any{"jobTitle": "x"})
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		graphErrorCode(t, body) != "serviceNotAvailable" {
		t.Errorf("PATCH: %d %s, want 503 with Retry-After", resp.StatusCode, body)
	}
	if resp, _ := h.send(http.MethodGet, h.graph(tenantA)+"/users", tok, nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("GET outside the fault's kinds: %d", resp.StatusCode)
	}
	if resp, _ := h.send(http.MethodGet, h.graph(tenantB)+"/users", h.token(tenantB, appB, secretB), nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("other tenant: %d", resp.StatusCode)
	}
}

func TestFaultsDropConnection(t *testing.T) {
	h := startSim(t, Options{})
	tok := h.tokenA()
	if err := h.s.SetFaults(tenantA, Faults{DropRate: 1}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, h.graph(tenantA)+"/users", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, err := h.client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("dropped connection answered %d", resp.StatusCode)
	}
	reqs := h.s.FindRequests(RequestFilter{Tenant: tenantA, Kind: "users"})
	if len(reqs) == 0 || reqs[0].Fault != "dropped" || reqs[0].Status != 0 {
		t.Errorf("recorded %+v, want a dropped request with status 0", reqs)
	}
}

func TestFaultsLatency(t *testing.T) {
	h := startSim(t, Options{})
	tok := h.tokenA()
	if err := h.s.SetFaults(tenantA, Faults{LatencyMS: 60}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if resp, _ := h.send(http.MethodGet, h.graph(tenantA)+"/users", tok, nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if el := time.Since(start); el < 60*time.Millisecond {
		t.Errorf("answered in %v, want at least 60ms", el)
	}
}

func TestFaultsValidation(t *testing.T) {
	h := startSim(t, Options{})
	for _, f := range []Faults{{ErrorRate: 1.5}, {DropRate: -0.1}, {LatencyMS: -1}, {Kinds: []string{"nonsense"}}} {
		if err := h.s.SetFaults(tenantA, f); err == nil {
			t.Errorf("SetFaults(%+v) accepted", f)
		}
	}
	if err := h.s.SetFaults("nope", Faults{}); err == nil {
		t.Error("SetFaults on an unknown tenant accepted")
	}
}
