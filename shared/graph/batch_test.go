package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/pace"
)

// subAnswerFunc answers one request of the n-th batch (from 1).
type subAnswerFunc func(n int, p batchPart) (status int, headers map[string]string, body any)

// batchGraph is a fake Graph serving POST /v1.0/$batch as json-batching
// describes it: it checks the envelope (at most 20 requests, unique ids,
// a Content-Type with every body) and answers in reverse order. The first
// throttled batches are answered 429 as a whole.
type batchGraph struct {
	*fakeGraph
	mu        sync.Mutex
	batches   [][]batchPart
	throttled int
}

func newBatchGraph(t *testing.T, throttled int, answer subAnswerFunc) *batchGraph {
	t.Helper()
	g := &batchGraph{throttled: throttled}
	g.fakeGraph = newFakeGraph(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1.0/$batch" {
			writeJSON(w, http.StatusNotFound, graphError("Request_ResourceNotFound", "Not a batch."))
			return
		}
		g.mu.Lock()
		whole := g.throttled > 0
		g.throttled--
		g.mu.Unlock()
		if whole {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusTooManyRequests, graphError("TooManyRequests", "Too many requests."))
			return
		}
		var env batchEnvelope
		if err := json.Unmarshal(body, &env); err != nil || len(env.Requests) == 0 || len(env.Requests) > MaxBatchRequests {
			writeJSON(w, http.StatusBadRequest, graphError("BadRequest", "Invalid batch payload."))
			return
		}
		ids := map[string]bool{}
		for _, p := range env.Requests {
			if ids[p.ID] || (p.Body != nil && p.Headers["Content-Type"] == "") {
				writeJSON(w, http.StatusBadRequest, graphError("BadRequest", "Invalid batch payload."))
				return
			}
			ids[p.ID] = true
		}
		g.mu.Lock()
		g.batches = append(g.batches, env.Requests)
		n := len(g.batches)
		g.mu.Unlock()
		out := make([]map[string]any, 0, len(env.Requests))
		for _, p := range slices.Backward(env.Requests) {
			status, headers, body := answer(n, p)
			resp := map[string]any{"id": p.ID, "status": status, "headers": headers}
			if body != nil {
				resp["body"] = body
			}
			out = append(out, resp)
		}
		writeJSON(w, http.StatusOK, map[string]any{"responses": out})
	})
	return g
}

func (g *batchGraph) sent() [][]batchPart {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.batches)
}

func urls(parts []batchPart) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p.Method+" "+p.URL)
	}
	return out
}

// TestBatchSplitsAndClassifies: 45 reads go in batches of 20, 20 and 5;
// results come back in the requests' order whatever the answers' order,
// each error classified as a standalone call's.
func TestBatchSplitsAndClassifies(t *testing.T) {
	g := newBatchGraph(t, 0, func(_ int, p batchPart) (int, map[string]string, any) {
		h := map[string]string{"Content-Type": "application/json"}
		switch {
		case strings.HasPrefix(p.URL, "/users/u7?"):
			return http.StatusNotFound, h, graphError("Request_ResourceNotFound", "Resource 'u7' does not exist.")
		case strings.HasPrefix(p.URL, "/users/u8?"):
			return http.StatusForbidden, h, graphError("Authorization_RequestDenied", "Insufficient privileges for ada@contoso.com.")
		case strings.HasPrefix(p.URL, "/users/u9?"):
			return http.StatusInternalServerError, h, graphError("UnknownError", "Oops.")
		}
		id := strings.TrimPrefix(strings.SplitN(p.URL, "?", 2)[0], "/users/")
		return http.StatusOK, h, map[string]any{"id": id, "mail": id + "@contoso.com"}
	})
	var reqs []BatchRequest
	for i := range 45 {
		reqs = append(reqs, GetUserRequest(fmt.Sprintf("u%d", i), []string{"displayName"}))
	}
	reqs = append(reqs, GetUserRequest("", nil))
	res, err := g.client(Options{}).Batch(testContext(t), testTenant, reqs)
	if err != nil {
		t.Fatal(err)
	}
	if sizes := []int{len(g.sent()[0]), len(g.sent()[1]), len(g.sent()[2])}; len(g.sent()) != 3 || sizes[0] != 20 || sizes[1] != 20 || sizes[2] != 5 {
		t.Fatalf("batches %v", g.sent())
	}
	if got := g.sent()[0][3].URL; got != "/users/u3?$select=id%2Cmail%2CuserPrincipalName%2CaccountEnabled%2CuserType%2CcreationType%2CdisplayName" {
		t.Errorf("URL = %s", got)
	}
	for i, r := range res[:45] {
		switch i {
		case 7:
			var ge *Error
			if !errors.Is(r.Err, galsync.ErrNotFound) || !errors.As(r.Err, &ge) || ge.Code != "Request_ResourceNotFound" || galsync.IsPermanent(r.Err) {
				t.Errorf("u7: %v, want not found", r.Err)
			}
		case 8:
			if !galsync.IsPermanent(r.Err) || !strings.Contains(r.Err.Error(), "get user in tenant "+testTenant+": 403 Authorization_RequestDenied") ||
				strings.Contains(r.Err.Error(), "ada@contoso.com") {
				t.Errorf("u8: %v, want a permanent, redacted 403", r.Err)
			}
		case 9:
			var ge *Error
			if !errors.As(r.Err, &ge) || ge.Status != 500 || galsync.IsPermanent(r.Err) {
				t.Errorf("u9: %v, want a transient 500", r.Err)
			}
		default:
			u, err := r.SourceUser()
			if err != nil || u.ID != fmt.Sprintf("u%d", i) || r.Status != 200 {
				t.Errorf("result %d: %+v, %v", i, u, err)
			}
		}
	}
	if err := res[45].Err; !galsync.IsPermanent(err) || !strings.Contains(err.Error(), "no user id") {
		t.Errorf("request without id: %v", err)
	}
}

// TestBatchRetriesOnlyWhatWasThrottled: a 429 or 503 inside a batch sends
// that request, and only it, again after the longest Retry-After; each
// attempt is charged to the pacer, each 429 adopted by it.
func TestBatchRetriesOnlyWhatWasThrottled(t *testing.T) {
	g := newBatchGraph(t, 0, func(n int, p batchPart) (int, map[string]string, any) {
		if n == 1 {
			switch p.URL {
			case "/users/u1", "/users/u3":
				return http.StatusTooManyRequests, map[string]string{"Retry-After": "1", "x-ms-throttle-scope": "Tenant_Application/Write/a/t"},
					graphError("TooManyRequests", "Too many requests.")
			case "/users/u2":
				return http.StatusServiceUnavailable, map[string]string{"retry-after": "1"}, graphError("serviceNotAvailable", "Busy.")
			}
		}
		return http.StatusNoContent, map[string]string{"x-ms-resource-unit": "1"}, nil
	})
	p, err := pace.New(map[string]pace.Budget{testTenant: {}}, pace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var reqs []BatchRequest
	for i := range 5 {
		reqs = append(reqs, UpdateUserRequest(fmt.Sprintf("u%d", i), map[string]any{"city": "Oslo"}))
	}
	res, err := g.client(Options{Pacer: p}).Batch(testContext(t), testTenant, reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil || r.Status != http.StatusNoContent {
			t.Errorf("result %d: %d %v", i, r.Status, r.Err)
		}
	}
	sent := g.sent()
	if len(sent) != 2 || !slices.Equal(urls(sent[1]), []string{"PATCH /users/u1", "PATCH /users/u2", "PATCH /users/u3"}) {
		t.Fatalf("batches: %v", sent)
	}
	reqsAt := g.requests()
	if d := reqsAt[1].At.Sub(reqsAt[0].At); d < time.Second {
		t.Errorf("retried after %v, before the Retry-After (1s)", d)
	}
	if s := p.Tenant(testTenant).Stats(); s.Requests != 8 || s.Throttled != 2 {
		t.Errorf("pacer stats %+v, want 8 requests charged (5 + 3 retried) and 2 429s adopted", s)
	}
}

// TestBatchGivesUpLikeAStandaloneCall: still throttled after MaxRetries,
// the request's result is the transient 429.
func TestBatchGivesUpLikeAStandaloneCall(t *testing.T) {
	g := newBatchGraph(t, 0, func(int, batchPart) (int, map[string]string, any) {
		return http.StatusTooManyRequests, map[string]string{"Retry-After": "0"}, graphError("TooManyRequests", "Too many requests.")
	})
	res, err := g.client(Options{MaxRetries: 2}).Batch(testContext(t), testTenant, []BatchRequest{UpdateUserRequest("u1", map[string]any{"city": "Oslo"})})
	if err != nil {
		t.Fatal(err)
	}
	var ge *Error
	if !errors.As(res[0].Err, &ge) || ge.Status != http.StatusTooManyRequests || galsync.IsPermanent(res[0].Err) {
		t.Errorf("result: %v", res[0].Err)
	}
	if n := len(g.sent()); n != 3 {
		t.Errorf("%d batches, want 3 (1 + 2 retries)", n)
	}
}

// TestBatchThrottledAsAWhole: a 429 for the whole batch sends every
// request again after its Retry-After.
func TestBatchThrottledAsAWhole(t *testing.T) {
	g := newBatchGraph(t, 1, func(int, batchPart) (int, map[string]string, any) {
		return http.StatusNoContent, nil, nil
	})
	res, err := g.client(Options{}).Batch(testContext(t), testTenant, []BatchRequest{
		UpdateUserRequest("u1", map[string]any{"city": "Oslo"}), UpdateUserRequest("u2", map[string]any{"city": "Oslo"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Errorf("result %d: %v", i, r.Err)
		}
	}
	reqs := g.requests()
	if len(reqs) != 2 || reqs[1].At.Sub(reqs[0].At) < time.Second {
		t.Errorf("%d batch requests; want the throttled batch sent again after 1s", len(reqs))
	}
}

// TestBatchBodies: the constructors' bodies and references, absolute
// with the tenant's own Graph.
func TestBatchBodies(t *testing.T) {
	g := newBatchGraph(t, 0, func(int, batchPart) (int, map[string]string, any) { return http.StatusNoContent, nil, nil })
	c := g.client(Options{})
	res, err := c.Batch(testContext(t), testTenant, []BatchRequest{
		UpdateUserRequest("guest#EXT#@fabrikam.onmicrosoft.com", map[string]any{"otherMails": nil, "accountEnabled": "false"}),
		AddGroupMemberRequest("g1", "u1"),
		RemoveGroupMemberRequest("g1", "u2"),
		SetManagerRequest("u1", "m1"),
		UpdateUserRequest("u3", nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := res[4].Err; !galsync.IsPermanent(err) || !strings.Contains(err.Error(), "no changes") {
		t.Errorf("an empty update: %v", err)
	}
	parts := g.sent()[0]
	base := g.srv.URL + "/v1.0"
	want := []struct{ method, url, body string }{
		{"PATCH", "/users/guest%23EXT%23@fabrikam.onmicrosoft.com", `{"accountEnabled":false,"otherMails":[]}`},
		{"POST", "/groups/g1/members/$ref", `{"@odata.id":"` + base + `/directoryObjects/u1"}`},
		{"DELETE", "/groups/g1/members/u2/$ref", ``},
		{"PUT", "/users/u1/manager/$ref", `{"@odata.id":"` + base + `/users/m1"}`},
	}
	if len(parts) != len(want) {
		t.Fatalf("sent %v", urls(parts))
	}
	for i, w := range want {
		p := parts[i]
		if p.Method != w.method || p.URL != w.url || string(p.Body) != w.body {
			t.Errorf("request %d: %s %s %s, want %s %s %s", i, p.Method, p.URL, p.Body, w.method, w.url, w.body)
		}
		if (w.body != "") != (p.Headers["Content-Type"] == "application/json") {
			t.Errorf("request %d headers %v", i, p.Headers)
		}
	}
	for _, r := range g.requests() {
		if r.ContentEncoding != "" {
			t.Errorf("the batch was sent with Content-Encoding %q", r.ContentEncoding)
		}
	}
}

// TestBatchWaitErrorIsTheRequestsResult: a request the pacer would hold
// past MaxWait is not sent; its result says how long to put it off.
func TestBatchWaitErrorIsTheRequestsResult(t *testing.T) {
	g := newBatchGraph(t, 0, func(int, batchPart) (int, map[string]string, any) {
		return http.StatusOK, nil, map[string]any{"id": "u2"}
	})
	p, err := pace.New(map[string]pace.Budget{testTenant: {}}, pace.Options{MaxWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p.Tenant(testTenant).Throttled(pace.WriteBucket, pace.Cost{}, time.Minute)
	res, err := g.client(Options{Pacer: p}).Batch(testContext(t), testTenant, []BatchRequest{
		UpdateUserRequest("u1", map[string]any{"city": "Oslo"}), GetUserRequest("u2", nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	var we *pace.WaitError
	if !errors.As(res[0].Err, &we) || galsync.IsPermanent(res[0].Err) {
		t.Errorf("held write: %v", res[0].Err)
	}
	if res[1].Err != nil || len(g.sent()) != 1 || len(g.sent()[0]) != 1 {
		t.Errorf("read: %v; batches %v", res[1].Err, g.sent())
	}
}
