package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	khttp "github.com/microsoft/kiota-http-go"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/pace"
)

// JSON batching, as "Combine multiple HTTP requests using JSON batching"
// (https://learn.microsoft.com/graph/json-batching) and the throttling
// guidance's "Throttling and batching" (learn.microsoft.com/graph/throttling)
// describe it: POST {root}/$batch with up to 20 requests, each with an id,
// a method, a URL relative to the service root, and a body with its
// Content-Type header; the answer (200 when the batch parses) holds one
// response per id, in any order, each with its own status, headers and
// body. "Requests in a batch are evaluated individually against throttling
// limits": each is charged to the pacer, and each one throttled (429) or
// unavailable is retried in a new batch after the longest Retry-After, as
// the SDKs do not retry them.

// MaxBatchRequests is how many requests Graph takes in one batch; Batch
// sends more in several.
const MaxBatchRequests = 20

// maxRetryWait is kiota's ceiling on one call's summed Retry-After waits
// (absoluteMaxDelaySeconds); a batched request gets the same.
const maxRetryWait = 180 * time.Second

// BatchRequest is one request of a JSON batch. Build it with one of the
// constructors below (UpdateUserRequest, GetUserRequest, ...), or by hand.
type BatchRequest struct {
	// Op names the request in its error, as a standalone call's op would
	// ("update user").
	Op string
	// Method is GET, POST, PATCH, PUT or DELETE.
	Method string
	// URL is relative to the service root: /users/{id}?$select=mail.
	URL string
	// Body is sent as JSON; nil sends none. A Ref is sent as
	// {"@odata.id": "<service root>/<path>"}.
	Body any
	err  error // a request that could not be built, reported as its result
}

// Ref is a body naming a directory object by its path below the service
// root ("directoryObjects/{id}"); Batch makes it absolute with the tenant's
// Graph, so a reference never points into another cloud.
type Ref string

// BatchResult is one request's answer.
type BatchResult struct {
	Status int
	// Body is the answer's body as Graph sent it (JSON), nil if none.
	Body json.RawMessage
	// Err is the failure, classified exactly as a standalone call's: an
	// *Error, wrapping galsync.ErrNotFound for a 404, marked permanent
	// (galsync.Permanent) for a 4xx other than 408 and 429, transient
	// otherwise: a 429, 503 or 504 still answered after the retries, or a
	// request the pacer would have held past its MaxWait.
	Err error
}

// Decode unmarshals a successful result's body.
func (r BatchResult) Decode(v any) error {
	if r.Err != nil {
		return r.Err
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("graph: batch: decode answer: %w", err)
	}
	return nil
}

// SourceUser decodes the answer to a GetUserRequest.
func (r BatchResult) SourceUser() (galsync.SourceUser, error) {
	var raw map[string]any
	if err := r.Decode(&raw); err != nil {
		return galsync.SourceUser{}, err
	}
	u, err := sourceUser(raw)
	if err != nil {
		return galsync.SourceUser{}, fmt.Errorf("graph: batch: %w", err)
	}
	return u, nil
}

// UpdateUserRequest is UpdateUser as a batch request. Callers leave
// unchanged users out: an empty PATCH would still cost a write.
func UpdateUserRequest(id string, changes map[string]any) BatchRequest {
	const op = "update user"
	r := BatchRequest{Op: op, Method: http.MethodPatch, URL: "/users/" + url.PathEscape(id)}
	body, err := patchBody(changes)
	switch {
	case id == "":
		r.err = errors.New("no user id")
	case len(changes) == 0:
		r.err = errors.New("no changes")
	case err != nil:
		r.err = err
	}
	r.Body = body
	return r
}

// GetUserRequest is GetUser as a batch request.
func GetUserRequest(idOrUPN string, selectAttrs []string) BatchRequest {
	r := BatchRequest{Op: "get user", Method: http.MethodGet,
		URL: "/users/" + url.PathEscape(idOrUPN) + "?$select=" + url.QueryEscape(strings.Join(selectList(selectAttrs), ","))}
	if idOrUPN == "" {
		r.err = errors.New("no user id")
	}
	return r
}

// AddGroupMemberRequest adds directory object memberID to group groupID
// (POST /groups/{id}/members/$ref).
func AddGroupMemberRequest(groupID, memberID string) BatchRequest {
	r := BatchRequest{Op: "add group member", Method: http.MethodPost,
		URL: "/groups/" + url.PathEscape(groupID) + "/members/$ref", Body: Ref("directoryObjects/" + url.PathEscape(memberID))}
	if groupID == "" || memberID == "" {
		r.err = errors.New("no group or member id")
	}
	return r
}

// RemoveGroupMemberRequest removes memberID from group groupID
// (DELETE /groups/{id}/members/{id}/$ref).
func RemoveGroupMemberRequest(groupID, memberID string) BatchRequest {
	r := BatchRequest{Op: "remove group member", Method: http.MethodDelete,
		URL: "/groups/" + url.PathEscape(groupID) + "/members/" + url.PathEscape(memberID) + "/$ref"}
	if groupID == "" || memberID == "" {
		r.err = errors.New("no group or member id")
	}
	return r
}

// SetManagerRequest makes managerID the manager of userID
// (PUT /users/{id}/manager/$ref).
func SetManagerRequest(userID, managerID string) BatchRequest {
	r := BatchRequest{Op: "set manager", Method: http.MethodPut,
		URL: "/users/" + url.PathEscape(userID) + "/manager/$ref", Body: Ref("users/" + url.PathEscape(managerID))}
	if userID == "" || managerID == "" {
		r.err = errors.New("no user or manager id")
	}
	return r
}

// Batch sends reqs to tenant in JSON batches of up to MaxBatchRequests and
// returns one result per request, in their order. Each request is paced
// like a standalone call, and retried alone when throttled. The error is
// for the whole call (an unknown tenant, the context, a batch Graph did
// not answer); the requests' own failures are in their results.
func (c *Client) Batch(ctx context.Context, tenant string, reqs []BatchRequest) ([]BatchResult, error) {
	tc, err := c.tenant(tenant)
	if err != nil {
		return nil, err
	}
	results := make([]BatchResult, len(reqs))
	items := make([]*batchItem, 0, len(reqs))
	for i, r := range reqs {
		it, err := tc.newBatchItem(i, r)
		if err != nil {
			results[i].Err = galsync.Permanent(fmt.Errorf("graph: %s in tenant %s: %w", r.op(), tenant, err))
			continue
		}
		items = append(items, it)
	}
	for len(items) > 0 {
		n := min(len(items), MaxBatchRequests)
		if err := tc.sendBatch(ctx, items[:n], results); err != nil {
			return nil, err
		}
		items = items[n:]
	}
	return results, nil
}

func (r BatchRequest) op() string {
	if r.Op != "" {
		return r.Op
	}
	return "batched " + r.Method
}

// batchItem is one request on its way.
type batchItem struct {
	index    int // in the caller's requests
	req      BatchRequest
	body     json.RawMessage
	cost     pace.Cost
	paced    bool
	attempts int           // retries so far
	waited   time.Duration // Retry-After waits so far
}

func (tc *tenantClient) newBatchItem(i int, r BatchRequest) (*batchItem, error) {
	if r.err != nil {
		return nil, r.err
	}
	switch r.Method {
	case http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
	default:
		return nil, fmt.Errorf("method %q cannot be batched", r.Method)
	}
	u, err := url.Parse(r.URL)
	if err != nil || u.IsAbs() || u.Host != "" || !strings.HasPrefix(r.URL, "/") {
		return nil, errors.New("a batched request's URL must be a path below the service root")
	}
	it := &batchItem{index: i, req: r}
	it.cost, it.paced = requestCost(r.Method, u)
	it.paced = it.paced && tc.pacing.tenant != nil
	var body any = r.Body
	if ref, ok := r.Body.(Ref); ok {
		body = map[string]string{"@odata.id": tc.base + "/" + string(ref)}
	}
	if body != nil {
		if it.body, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("encode body: %w", err)
		}
	}
	return it, nil
}

// batchEnvelope is the request body of POST /$batch.
type batchEnvelope struct {
	Requests []batchPart `json:"requests"`
}

type batchPart struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// batchAnswer is the answer of POST /$batch.
type batchAnswer struct {
	Responses []struct {
		ID      string            `json:"id"`
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	} `json:"responses"`
}

// subAnswer is one request's answer: from its part of the batch, or the
// batch's own answer when the whole batch failed.
type subAnswer struct {
	status int
	header func(string) string
	body   []byte
}

// sendBatch sends up to MaxBatchRequests items until each has its result.
func (tc *tenantClient) sendBatch(ctx context.Context, items []*batchItem, results []BatchResult) error {
	pending := items
	for len(pending) > 0 {
		sending := pending[:0:0]
		for _, it := range pending {
			if !it.paced {
				sending = append(sending, it)
				continue
			}
			err := tc.pacing.tenant.Wait(ctx, it.cost)
			var we *pace.WaitError
			if errors.As(err, &we) {
				results[it.index].Err = fmt.Errorf("graph: %s in tenant %s: %w", it.req.op(), tc.name, err)
				continue
			}
			if err != nil {
				return fmt.Errorf("graph: batch in tenant %s: %w", tc.name, err)
			}
			sending = append(sending, it)
		}
		if len(sending) == 0 {
			return nil
		}
		answers, err := tc.postBatch(ctx, sending)
		if err != nil {
			return err
		}
		now := time.Now()
		var again []*batchItem
		var until time.Time
		for i, it := range sending {
			a := answers[i]
			if it.paced {
				tc.pacing.observe(it.cost, a.status, a.header)
			}
			if wait, ok := tc.retryWait(it, a, now); ok {
				again = append(again, it)
				if t := now.Add(wait); t.After(until) {
					until = t
				}
				continue
			}
			results[it.index] = BatchResult{Status: a.status, Body: a.body}
			if a.status < 200 || a.status > 299 {
				results[it.index].Err = classify(newError(it.req.op(), tc.name, reply{status: a.status, body: a.body}))
			}
		}
		if len(again) > 0 {
			tc.logger.InfoContext(ctx, "graph: requests of a batch throttled or unavailable, retrying them after the wait Graph asked for",
				"tenant", tc.name, "requests", len(again), "wait", time.Until(until).Round(time.Millisecond))
			if err := waitUntil(ctx, until); err != nil {
				return fmt.Errorf("graph: batch in tenant %s: %w", tc.name, err)
			}
		}
		pending = again
	}
	return nil
}

// retryWait decides whether an item is sent again, and after how long:
// a 429, 503 or 504 is, after its Retry-After (or kiota's exponential
// back-off without one), within the retries and the summed wait a
// standalone call is allowed.
func (tc *tenantClient) retryWait(it *batchItem, a subAnswer, now time.Time) (time.Duration, bool) {
	if !retriable(a.status) || it.attempts >= tc.retries {
		return 0, false
	}
	wait, ok := retryAfter(a.header("Retry-After"), now)
	if !ok {
		wait = backoff(it.attempts + 1)
	}
	if it.waited+wait > maxRetryWait {
		return 0, false
	}
	it.attempts++
	it.waited += wait
	return wait, true
}

// backoff is kiota's delay for a retry without Retry-After: 3 s doubled
// per attempt, plus up to a second of jitter.
func backoff(attempt int) time.Duration {
	return 3*time.Second<<(attempt-1) + rand.N(time.Second)
}

// postBatch sends one batch and returns each item's answer, in order. The
// SDK's retry handler is off for it: a throttled or unavailable batch is
// retried here, request by request, like the answers inside one.
func (tc *tenantClient) postBatch(ctx context.Context, items []*batchItem) ([]subAnswer, error) {
	const op = "batch"
	env := batchEnvelope{Requests: make([]batchPart, len(items))}
	for i, it := range items {
		p := batchPart{ID: strconv.Itoa(i + 1), Method: it.req.Method, URL: it.req.URL, Body: it.body}
		if it.body != nil {
			p.Headers = map[string]string{"Content-Type": "application/json"}
		}
		env.Requests[i] = p
	}
	ri := abs.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abs.POST, "{+baseurl}/$batch", map[string]string{})
	ri.Headers.TryAdd("Accept", "application/json")
	ri.AddRequestOptions([]abs.RequestOption{&khttp.RetryHandlerOptions{
		ShouldRetry: func(time.Duration, int, *http.Request, *http.Response) bool { return false },
	}})
	rep, err := tc.sendJSON(ctx, op, ri, env)
	if rep.status == 0 { // no answer at all
		if err == nil {
			err = fmt.Errorf("graph: %s in tenant %s: no answer", op, tc.name)
		}
		return nil, err
	}
	answers := make([]subAnswer, len(items))
	if err != nil || rep.status != http.StatusOK {
		// The batch as a whole failed: a 4xx is every request's error, a
		// 429 or 5xx every request's reason to try again.
		for i := range answers {
			answers[i] = subAnswer{status: rep.status, header: rep.header.Get, body: rep.body}
		}
		return answers, nil
	}
	var ans batchAnswer
	if err := tc.decode(op, rep, &ans); err != nil {
		return nil, err
	}
	byID := make(map[string]int, len(ans.Responses))
	for i, r := range ans.Responses {
		byID[r.ID] = i
	}
	for i := range items {
		j, ok := byID[strconv.Itoa(i+1)]
		if !ok {
			// Treated as unavailable: sent again, within the retries.
			answers[i] = subAnswer{status: http.StatusServiceUnavailable, header: noHeader,
				body: []byte(`{"error":{"code":"noAnswer","message":"The batch answer holds no response for this request."}}`)}
			continue
		}
		r := ans.Responses[j]
		body := []byte(r.Body)
		if string(body) == "null" {
			body = nil
		}
		answers[i] = subAnswer{status: r.Status, header: headerMap(r.Headers), body: body}
	}
	return answers, nil
}

func noHeader(string) string { return "" }

// headerMap looks a header up in a batch response's headers, whose names
// Graph spells in any case.
func headerMap(h map[string]string) func(string) string {
	return func(name string) string {
		for k, v := range h {
			if strings.EqualFold(k, name) {
				return v
			}
		}
		return ""
	}
}

func waitUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
