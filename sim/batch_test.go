package sim

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// JSON batching, per https://learn.microsoft.com/graph/json-batching.

type batchAnswer struct {
	Responses []struct {
		ID      string            `json:"id"`
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    map[string]any    `json:"body"`
	} `json:"responses"`
}

func (h *harness) batch(tok string, requests []map[string]any) (int, batchAnswer, []byte) {
	h.t.Helper()
	resp, body := h.call(http.MethodPost, h.graph(tenantA)+"/$batch", tok, map[string]any{"requests": requests})
	var a batchAnswer
	if resp.StatusCode == http.StatusOK {
		mustUnmarshal(h.t, body, &a)
	}
	return resp.StatusCode, a, body
}

func (a batchAnswer) byID(t *testing.T, id string) (int, map[string]string, map[string]any) {
	t.Helper()
	for _, r := range a.Responses {
		if r.ID == id {
			return r.Status, r.Headers, r.Body
		}
	}
	t.Fatalf("no response %s in %+v", id, a)
	return 0, nil, nil
}

var jsonHeaders = map[string]any{"Content-Type": "application/json"}

func TestBatchRunsEachRequestAsItsOwn(t *testing.T) {
	const ada = "00000000-0000-4000-8000-000000000001"
	h := startSim(t, Options{})
	goldenTenant(t, h)
	tok := h.tokenA()
	h.s.ResetRequests()
	status, a, body := h.batch(tok, []map[string]any{
		{"id": "1", "method": "GET", "url": "/users/" + ada + "?$select=jobTitle"},
		{"id": "2", "method": "PATCH", "url": "/users/" + ada, "headers": jsonHeaders, "body": map[string]any{"jobTitle": "Countess"}},
		{"id": "3", "method": "PATCH", "url": "users/" + ada, "headers": jsonHeaders, "body": map[string]any{"faxNumber": "+1"}},
		{"id": "4", "method": "GET", "url": "users?$select=id&$filter=mail eq 'ada@a.onmicrosoft.com'"},
		{"id": "5", "method": "GET", "url": "/users/00000000-0000-4000-8000-00000000dead"},
		{"id": "6", "method": "PATCH", "url": "/users/" + ada, "headers": jsonHeaders,
			"body": base64.StdEncoding.EncodeToString([]byte(`{"department":"Mathematics"}`))},
	})
	if status != http.StatusOK || len(a.Responses) != 6 {
		t.Fatalf("%d %s", status, body)
	}
	if st, hdr, b := a.byID(t, "1"); st != http.StatusOK || b["jobTitle"] != "Analyst" || !strings.HasPrefix(hdr["Content-Type"], "application/json") ||
		hdr["x-ms-resource-unit"] != "1" {
		t.Errorf("GET: %d %v %v", st, hdr, b)
	}
	if st, _, b := a.byID(t, "2"); st != http.StatusNoContent || b != nil {
		t.Errorf("PATCH: %d %v", st, b)
	}
	if st, _, b := a.byID(t, "3"); st != http.StatusBadRequest || b["error"].(map[string]any)["code"] != "Request_BadRequest" {
		t.Errorf("read-only PATCH: %d %v", st, b)
	}
	if st, _, b := a.byID(t, "4"); st != http.StatusOK || len(b["value"].([]any)) != 1 {
		t.Errorf("filter: %d %v", st, b)
	}
	if st, _, _ := a.byID(t, "5"); st != http.StatusNotFound {
		t.Errorf("missing user: %d", st)
	}
	if st, _, _ := a.byID(t, "6"); st != http.StatusNoContent {
		t.Errorf("base64 body: %d", st)
	}
	if u, _ := h.s.User(tenantA, ada); u.JobTitle != "Countess" || u.Department != "Mathematics" {
		t.Errorf("user after the batch: %+v", u)
	}
	kinds := map[string]int{}
	for _, r := range h.s.Requests(tenantA) {
		kinds[r.Kind]++
	}
	if kinds["batch"] != 1 || kinds["patch"] != 3 || kinds["user"] != 2 || kinds["users"] != 1 {
		t.Errorf("recorded %v, want the batch and each of its requests", kinds)
	}
}

func TestBatchRefusesMalformedBatches(t *testing.T) {
	h := startSim(t, Options{})
	goldenTenant(t, h)
	tok := h.tokenA()
	get := func(id string) map[string]any { return map[string]any{"id": id, "method": "GET", "url": "/users"} }
	var many []map[string]any
	for i := range maxBatch + 1 {
		many = append(many, get(strconv.Itoa(i)))
	}
	cases := map[string][]map[string]any{
		"21 requests":     many,
		"none":            {},
		"duplicate id":    {get("a"), get("A")},
		"no id":           {get("")},
		"absolute url":    {{"id": "1", "method": "GET", "url": "https://graph.microsoft.com/v1.0/users"}},
		"no method":       {{"id": "1", "url": "/users"}},
		"body without CT": {{"id": "1", "method": "PATCH", "url": "/users/x", "body": map[string]any{"city": "Paris"}}},
		"unknown depends": {{"id": "1", "method": "GET", "url": "/users", "dependsOn": []string{"9"}}},
		"forward depends": {{"id": "1", "method": "GET", "url": "/users", "dependsOn": []string{"2"}}, get("2")},
		"nested $batch":   {{"id": "1", "method": "POST", "url": "/$batch", "headers": jsonHeaders, "body": map[string]any{}}},
	}
	for name, reqs := range cases {
		if status, _, body := h.batch(tok, reqs); status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", name, status, body)
		}
	}
	if status, a, _ := h.batch(tok, many[:maxBatch]); status != http.StatusOK || len(a.Responses) != maxBatch {
		t.Errorf("20 requests: %d with %d responses", status, len(a.Responses))
	}
	resp, _ := h.call(http.MethodPost, h.graph(tenantA)+"/$batch", "", map[string]any{"requests": []any{get("1")}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("batch without a token: %d", resp.StatusCode)
	}
}

// TestBatchDependsOn: "If an individual request fails, any request that
// depends on that request fails with status code 424 (Failed Dependency)."
func TestBatchDependsOn(t *testing.T) {
	h := startSim(t, Options{})
	goldenTenant(t, h)
	status, a, body := h.batch(h.tokenA(), []map[string]any{
		{"id": "1", "method": "GET", "url": "/users/00000000-0000-4000-8000-00000000dead"},
		{"id": "2", "method": "PATCH", "url": "/users/00000000-0000-4000-8000-000000000001", "headers": jsonHeaders,
			"body": map[string]any{"city": "Paris"}, "dependsOn": []string{"1"}},
		{"id": "3", "method": "GET", "url": "/users/00000000-0000-4000-8000-000000000001", "dependsOn": []string{"2"}},
		{"id": "4", "method": "GET", "url": "/users/00000000-0000-4000-8000-000000000002"},
	})
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	for id, want := range map[string]int{"1": 404, "2": 424, "3": 424, "4": 200} {
		if st, _, _ := a.byID(t, id); st != want {
			t.Errorf("request %s: %d, want %d", id, st, want)
		}
	}
	if u, _ := h.s.User(tenantA, "00000000-0000-4000-8000-000000000001"); u.City != "" {
		t.Errorf("a request whose dependency failed ran: city %q", u.City)
	}
}

// TestBatchThrottledPerRequest: "Requests in a batch are evaluated
// individually against the applicable throttling limits and if any request
// exceeds the limits, it fails with a status of 429."
func TestBatchThrottledPerRequest(t *testing.T) {
	h := startSim(t, Options{ThrottleScale: 0.001}) // 3 writes per 150 ms
	goldenTenant(t, h)
	var reqs []map[string]any
	for i := range 5 {
		reqs = append(reqs, map[string]any{"id": strconv.Itoa(i), "method": "PATCH", "url": "/users/00000000-0000-4000-8000-000000000001",
			"headers": jsonHeaders, "body": map[string]any{"jobTitle": "Title " + strconv.Itoa(i)}})
	}
	status, a, body := h.batch(h.tokenA(), reqs)
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	var passed, throttled int
	for _, r := range a.Responses {
		switch r.Status {
		case http.StatusNoContent:
			passed++
		case http.StatusTooManyRequests:
			throttled++
			if ra, err := strconv.Atoi(r.Headers["Retry-After"]); err != nil || ra < 1 || r.Headers["x-ms-throttle-information"] != "WriteLimitExceeded" {
				t.Errorf("throttled request's headers: %v", r.Headers)
			}
		}
	}
	if passed != 3 || throttled != 2 {
		t.Errorf("%d passed, %d throttled; want 3 and 2", passed, throttled)
	}
}

// TestBatchAdvancedQueryHeaders: "To use advanced query capabilities in
// batch requests, specify the ConsistencyLevel header in the JSON body"
// (aad-advanced-queries).
func TestBatchAdvancedQueryHeaders(t *testing.T) {
	h := startSim(t, Options{})
	goldenTenant(t, h)
	q := "/users?$count=true&$filter=endsWith(mail,'@fabrikam.example')"
	_, a, _ := h.batch(h.tokenA(), []map[string]any{
		{"id": "with", "method": "GET", "url": q, "headers": map[string]any{"ConsistencyLevel": "eventual"}},
		{"id": "without", "method": "GET", "url": q},
	})
	if st, _, b := a.byID(t, "with"); st != http.StatusOK || b["@odata.count"] != float64(1) {
		t.Errorf("with the header: %d %v", st, b)
	}
	if st, _, _ := a.byID(t, "without"); st != http.StatusBadRequest {
		t.Errorf("without the header: %d, want 400", st)
	}
}
