package sim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// endpoint is a notification endpoint as a subscriber writes it: it
// answers the validation handshake and records every notification POST.
type endpoint struct {
	t   *testing.T
	srv *httptest.Server

	mu          sync.Mutex
	validations []string // the decoded tokens it was asked to echo
	posts       []received
	status      int // answer to notifications (202 when 0)
	validation  func(w http.ResponseWriter, token string)
	arrived     chan struct{}
}

type received struct {
	at          time.Time
	contentType string
	body        notificationBody
}

type notificationBody struct {
	Value []map[string]any `json:"value"`
}

func newEndpoint(t *testing.T) *endpoint {
	t.Helper()
	e := &endpoint{t: t, arrived: make(chan struct{}, 1000)}
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *endpoint) serve(w http.ResponseWriter, r *http.Request) {
	if token, ok := r.URL.Query()["validationToken"]; ok {
		e.mu.Lock()
		e.validations = append(e.validations, token[0])
		answer := e.validation
		e.mu.Unlock()
		if answer != nil {
			answer(w, token[0])
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, token[0])
		return
	}
	var b notificationBody
	raw, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(raw, &b); err != nil {
		e.t.Errorf("notification body is not JSON: %v: %s", err, raw)
	}
	e.mu.Lock()
	e.posts = append(e.posts, received{at: time.Now(), contentType: r.Header.Get("Content-Type"), body: b})
	status := e.status
	e.mu.Unlock()
	if status == 0 {
		status = http.StatusAccepted
	}
	w.WriteHeader(status)
	e.arrived <- struct{}{}
}

// waitPosts waits for n notification POSTs in all.
func (e *endpoint) waitPosts(n int) []received {
	e.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		e.mu.Lock()
		got := len(e.posts)
		e.mu.Unlock()
		if got >= n {
			break
		}
		select {
		case <-e.arrived:
		case <-deadline:
			e.t.Fatalf("%d notification POST(s) arrived, want %d", got, n)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]received(nil), e.posts...)
}

func (e *endpoint) url(path string) string { return e.srv.URL + path }

// subscribe creates a subscription on users of tenant A and returns the
// created subscription's JSON.
func (h *harness) subscribe(token string, body map[string]any) (*http.Response, map[string]any) {
	h.t.Helper()
	resp, b := h.call(http.MethodPost, h.graph(tenantA)+"/subscriptions", token, body)
	var out map[string]any
	mustUnmarshal(h.t, b, &out)
	return resp, out
}

func subscriptionBody(e *endpoint, h *harness, lifetime time.Duration) map[string]any {
	return map[string]any{
		"changeType": "updated,deleted", "resource": "users", "clientState": "s3cret",
		"notificationUrl": e.url("/api/notify"), "lifecycleNotificationUrl": e.url("/api/lifecycle"),
		"expirationDateTime": h.clock.Now().Add(lifetime).Format(time.RFC3339Nano),
	}
}

func TestCreateSubscriptionValidatesBothEndpointsThenNotifiesChanges(t *testing.T) {
	h := startSim(t, Options{NotificationBatch: 50 * time.Millisecond})
	e := newEndpoint(t)
	tok := h.tokenA()
	resp, sub := h.subscribe(tok, subscriptionBody(e, h, 41760*time.Minute))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %v", resp.StatusCode, sub)
	}
	id, _ := sub["id"].(string)
	if !guidPattern.MatchString(id) || sub["clientState"] != "s3cret" || sub["changeType"] != "updated,deleted" ||
		sub["applicationId"] != appA || sub["lifecycleNotificationUrl"] != e.url("/api/lifecycle") {
		t.Errorf("created subscription = %v", sub)
	}
	if exp, _ := time.Parse(time.RFC3339Nano, sub["expirationDateTime"].(string)); !exp.Equal(h.clock.Now().Add(41760 * time.Minute)) {
		t.Errorf("expirationDateTime = %v", sub["expirationDateTime"])
	}
	// Both endpoints were asked to echo a token; the token has spaces and
	// colons, so the endpoint had to decode it (Graph's tokens are text).
	if len(e.validations) != 2 || !strings.Contains(e.validations[0], "Validation: Testing client application reachability") {
		t.Fatalf("validations = %q", e.validations)
	}
	if got := h.s.FindRequests(RequestFilter{Kind: KindValidation}); len(got) != 2 || got[0].Status != 200 || got[0].Tenant != tenantA {
		t.Errorf("validation requests = %+v", got)
	}
	created := h.s.FindRequests(RequestFilter{Kind: "subscriptions"})
	if len(created) != 1 || strings.Contains(string(created[0].Body), "s3cret") || !strings.Contains(string(created[0].Body), `"resource":"users"`) {
		t.Errorf("the create request is logged without its clientState: %+v", created)
	}

	// Three changes within the batch interval: one POST of three.
	u, err := h.s.UpsertUser(tenantA, User{DisplayName: "Ada", Mail: "ada@a.onmicrosoft.com", AccountEnabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.s.UpdateUser(tenantA, u.ID, map[string]any{"jobTitle": "Engineer"}); err != nil {
		t.Fatal(err)
	}
	if err := h.s.DeleteUser(tenantA, u.ID, false); err != nil {
		t.Fatal(err)
	}
	posts := e.waitPosts(1)
	if len(posts) != 1 || len(posts[0].body.Value) != 3 {
		t.Fatalf("posts = %+v", posts)
	}
	if !strings.HasPrefix(posts[0].contentType, "application/json") {
		t.Errorf("content type %q", posts[0].contentType)
	}
	first := posts[0].body.Value[0]
	want := map[string]any{
		"subscriptionId": id, "subscriptionExpirationDateTime": sub["expirationDateTime"], "changeType": "updated",
		"resource": "Users/" + u.ID, "clientState": "s3cret", "tenantId": tenantA,
		"resourceData": map[string]any{"@odata.type": "#Microsoft.Graph.User", "@odata.id": "Users/" + u.ID, "id": u.ID, "organizationId": tenantA},
	}
	for k, v := range want {
		if b1, b2 := mustJSON(t, first[k]), mustJSON(t, v); b1 != b2 {
			t.Errorf("%s = %s, want %s", k, b1, b2)
		}
	}
	var types []string
	for _, n := range posts[0].body.Value {
		types = append(types, n["changeType"].(string))
	}
	if strings.Join(types, ",") != "updated,updated,deleted" {
		t.Errorf("change types %v: a create and an update are 'updated', a permanent delete 'deleted'", types)
	}
	if err := h.s.DrainNotifications(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := h.s.FindRequests(RequestFilter{Kind: KindNotification}); len(got) != 1 || got[0].Items != 3 ||
		got[0].Status != http.StatusAccepted || got[0].Path != "/api/notify" || got[0].Fault != "" {
		t.Errorf("notification requests = %+v", got)
	}

	// Other tenants' changes are not this subscription's business.
	if _, err := h.s.UpsertUser(tenantB, User{DisplayName: "Bob", Mail: "bob@b.onmicrosoft.com"}); err != nil {
		t.Fatal(err)
	}
	if err := h.s.DrainNotifications(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(e.waitPosts(1)); n != 1 {
		t.Errorf("%d posts after a change in another tenant", n)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCreateSubscriptionFailsWhenTheEndpointDoesNotEcho(t *testing.T) {
	for name, answer := range map[string]func(w http.ResponseWriter, token string){
		"error status": func(w http.ResponseWriter, _ string) { w.WriteHeader(http.StatusInternalServerError) },
		"wrong token": func(w http.ResponseWriter, token string) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, strings.ReplaceAll(token, " ", "+")) // still URL-encoded
		},
		"json": func(w http.ResponseWriter, token string) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, token)
		},
		"accepted": func(w http.ResponseWriter, token string) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, token)
		},
	} {
		t.Run(name, func(t *testing.T) {
			h := startSim(t, Options{})
			e := newEndpoint(t)
			e.validation = answer
			resp, body := h.subscribe(h.tokenA(), subscriptionBody(e, h, time.Hour))
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(mustJSON(t, body), "validation request failed") {
				t.Fatalf("create: %d %v", resp.StatusCode, body)
			}
			if subs, _ := h.s.Subscriptions(tenantA); len(subs) != 0 {
				t.Errorf("subscriptions after a failed validation: %+v", subs)
			}
			if got := h.s.FindRequests(RequestFilter{Kind: KindValidation}); len(got) != 1 {
				t.Errorf("validation requests = %+v", got)
			}
		})
	}
}

func TestCreateSubscriptionChecksItsRequest(t *testing.T) {
	h := startSim(t, Options{})
	e := newEndpoint(t)
	tok := h.tokenA()
	for name, change := range map[string]func(map[string]any){
		"created is not a users change type": func(b map[string]any) { b["changeType"] = "created,updated" },
		"unknown change type":                func(b map[string]any) { b["changeType"] = "renamed" },
		"other resource":                     func(b map[string]any) { b["resource"] = "groups" },
		"expiry too far": func(b map[string]any) {
			b["expirationDateTime"] = h.clock.Now().Add(41761 * time.Minute).Format(time.RFC3339)
		},
		"expiry in the past":     func(b map[string]any) { b["expirationDateTime"] = h.clock.Now().Add(-time.Minute).Format(time.RFC3339) },
		"expiry not a date":      func(b map[string]any) { b["expirationDateTime"] = "tomorrow" },
		"no expiry":              func(b map[string]any) { delete(b, "expirationDateTime") },
		"http off loopback":      func(b map[string]any) { b["notificationUrl"] = "http://example.com/api/notify" },
		"relative URL":           func(b map[string]any) { b["lifecycleNotificationUrl"] = "/api/lifecycle" },
		"clientState too long":   func(b map[string]any) { b["clientState"] = strings.Repeat("x", 129) },
		"resource data for user": func(b map[string]any) { b["includeResourceData"] = true },
	} {
		t.Run(name, func(t *testing.T) {
			body := subscriptionBody(e, h, time.Hour)
			change(body)
			resp, out := h.subscribe(tok, body)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("create: %d %v", resp.StatusCode, out)
			}
		})
	}
	if len(e.validations) != 0 {
		t.Errorf("a refused request still validated the endpoint %d time(s)", len(e.validations))
	}
	for _, resource := range []string{"/users", "Users"} {
		body := subscriptionBody(e, h, time.Hour)
		body["resource"], body["clientState"] = resource, strings.Repeat("x", 128)
		if resp, out := h.subscribe(tok, body); resp.StatusCode != http.StatusCreated {
			t.Errorf("resource %q: %d %v", resource, resp.StatusCode, out)
		}
	}
}

func TestSubscriptionGetListRenewReauthorizeDelete(t *testing.T) {
	h := startSim(t, Options{})
	e := newEndpoint(t)
	tok := h.tokenA()
	_, sub := h.subscribe(tok, subscriptionBody(e, h, time.Hour))
	id := sub["id"].(string)
	item := h.graph(tenantA) + "/subscriptions/" + id

	resp, body := h.call(http.MethodGet, item, tok, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"id":"`+id+`"`) {
		t.Fatalf("get: %d %s", resp.StatusCode, body)
	}
	resp, body = h.call(http.MethodGet, h.graph(tenantA)+"/subscriptions", tok, nil)
	var list struct {
		Value []map[string]any `json:"value"`
	}
	mustUnmarshal(t, body, &list)
	if resp.StatusCode != http.StatusOK || len(list.Value) != 1 || list.Value[0]["id"] != id {
		t.Fatalf("list: %d %s", resp.StatusCode, body)
	}

	// Renew to the longest lifetime; one minute more is refused.
	newExp := h.clock.Now().Add(MaxUserSubscriptionLifetime).Format(time.RFC3339Nano)
	resp, body = h.call(http.MethodPatch, item, tok, map[string]any{"expirationDateTime": newExp})
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"expirationDateTime":"`+newExp) {
		t.Fatalf("renew: %d %s", resp.StatusCode, body)
	}
	tooFar := h.clock.Now().Add(MaxUserSubscriptionLifetime + time.Minute).Format(time.RFC3339Nano)
	if resp, body = h.call(http.MethodPatch, item, tok, map[string]any{"expirationDateTime": tooFar}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("renew past the maximum: %d %s", resp.StatusCode, body)
	}
	if resp, body = h.call(http.MethodPatch, item, tok, map[string]any{"clientState": "other"}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("patch of clientState: %d %s", resp.StatusCode, body)
	}
	resp, body = h.call(http.MethodPost, item+"/reauthorize", tok, nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("reauthorize: %d %s", resp.StatusCode, body)
	}
	subs, _ := h.s.Subscriptions(tenantA)
	if len(subs) != 1 || subs[0].Renewed != 1 || subs[0].Reauthorized != 1 {
		t.Errorf("subscriptions = %+v", subs)
	}
	if strings.Contains(mustJSON(t, subs), "s3cret") {
		t.Errorf("the control view shows the clientState: %s", mustJSON(t, subs))
	}

	// Tenant B's app cannot see tenant A's subscription.
	if resp, _ := h.call(http.MethodGet, h.graph(tenantB)+"/subscriptions/"+id, h.token(tenantB, appB, secretB), nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("get from another tenant: %d", resp.StatusCode)
	}

	if resp, body = h.call(http.MethodDelete, item, tok, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.StatusCode, body)
	}
	for _, m := range []string{http.MethodGet, http.MethodDelete, http.MethodPatch} {
		resp, body := h.call(m, item, tok, map[string]any{"expirationDateTime": newExp})
		if resp.StatusCode != http.StatusNotFound || graphErrorCode(t, body) != "ResourceNotFound" {
			t.Errorf("%s after delete: %d %s", m, resp.StatusCode, body)
		}
	}
	if resp, _ := h.call(http.MethodPost, item+"/reauthorize", tok, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("reauthorize after delete: %d", resp.StatusCode)
	}
	if got := h.s.FindRequests(RequestFilter{Kind: "subscriptions", Tenant: tenantA}); len(got) < 10 {
		t.Errorf("%d subscription requests recorded", len(got))
	}
}

func TestExpiredSubscriptionIsGoneAndSilent(t *testing.T) {
	h := startSim(t, Options{NotificationBatch: 10 * time.Millisecond})
	e := newEndpoint(t)
	tok := h.tokenA()
	_, sub := h.subscribe(tok, subscriptionBody(e, h, time.Hour))
	h.clock.Advance(time.Hour)
	if _, err := h.s.UpsertUser(tenantA, User{DisplayName: "Late", Mail: "late@a.onmicrosoft.com"}); err != nil {
		t.Fatal(err)
	}
	if err := h.s.DrainNotifications(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(e.posts); n != 0 {
		t.Errorf("an expired subscription notified %d time(s)", n)
	}
	resp, body := h.call(http.MethodGet, h.graph(tenantA)+"/subscriptions/"+sub["id"].(string), tok, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("get after expiry: %d %s", resp.StatusCode, body)
	}
}

func TestChangeTypesFilterNotifications(t *testing.T) {
	h := startSim(t, Options{NotificationBatch: 10 * time.Millisecond})
	e := newEndpoint(t)
	body := subscriptionBody(e, h, time.Hour)
	body["changeType"] = "deleted"
	if resp, out := h.subscribe(h.tokenA(), body); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %v", resp.StatusCode, out)
	}
	soft, _ := h.s.UpsertUser(tenantA, User{DisplayName: "Soft", Mail: "soft@a.onmicrosoft.com"})
	hard, _ := h.s.UpsertUser(tenantA, User{DisplayName: "Hard", Mail: "hard@a.onmicrosoft.com"})
	if err := h.s.DeleteUser(tenantA, soft.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := h.s.DeleteUser(tenantA, hard.ID, false); err != nil {
		t.Fatal(err)
	}
	posts := e.waitPosts(1)
	if err := h.s.DrainNotifications(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range posts {
		for _, n := range p.body.Value {
			got = append(got, n["changeType"].(string)+" "+n["resource"].(string))
		}
	}
	if len(got) != 1 || got[0] != "deleted Users/"+hard.ID {
		t.Errorf("notifications %v: only the permanent delete is a 'deleted'", got)
	}
}

func TestNotificationDelayAndDeliveryFailures(t *testing.T) {
	h := startSim(t, Options{NotificationBatch: 10 * time.Millisecond})
	e := newEndpoint(t)
	if resp, out := h.subscribe(h.tokenA(), subscriptionBody(e, h, time.Hour)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %v", resp.StatusCode, out)
	}
	resp, body := h.call(http.MethodPut, h.url+"/control/notifications", "", NotificationSettings{DelayMS: 300, BatchMS: 10})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("set delay: %d %s", resp.StatusCode, body)
	}
	changed := time.Now()
	if _, err := h.s.UpsertUser(tenantA, User{DisplayName: "Slow", Mail: "slow@a.onmicrosoft.com"}); err != nil {
		t.Fatal(err)
	}
	posts := e.waitPosts(1)
	if lag := posts[0].at.Sub(changed); lag < 300*time.Millisecond {
		t.Errorf("notification arrived %s after the change, before the 300 ms delay", lag)
	}
	if err := h.s.DrainNotifications(context.Background()); err != nil {
		t.Fatal(err)
	}

	e.mu.Lock()
	e.status = http.StatusServiceUnavailable
	e.mu.Unlock()
	if err := h.s.SetNotificationSettings(NotificationSettings{}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.s.UpsertUser(tenantA, User{DisplayName: "Unlucky", Mail: "unlucky@a.onmicrosoft.com"}); err != nil {
		t.Fatal(err)
	}
	e.waitPosts(2)
	if err := h.s.DrainNotifications(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := h.s.FindRequests(RequestFilter{Kind: KindNotification})
	if len(got) != 2 || got[1].Status != http.StatusServiceUnavailable || got[1].Fault != FaultDeliveryFailed {
		t.Errorf("notification requests = %+v", got)
	}
	if st := h.s.Stats(tenantA); st.Faults[FaultDeliveryFailed] != 1 || st.Requests["POST notification"] != 2 {
		t.Errorf("stats = %+v", st)
	}

	// An endpoint that is gone: status 0, recorded as failed.
	e.srv.Close()
	if _, err := h.s.UpsertUser(tenantA, User{DisplayName: "Lost", Mail: "lost@a.onmicrosoft.com"}); err != nil {
		t.Fatal(err)
	}
	if err := h.s.DrainNotifications(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := h.s.FindRequests(RequestFilter{Kind: KindNotification}); len(got) != 3 || got[2].Status != 0 || got[2].Fault != FaultDeliveryFailed {
		t.Errorf("notification requests = %+v", got)
	}
}

func TestLifecycleEventsThroughTheControlAPI(t *testing.T) {
	h := startSim(t, Options{})
	e := newEndpoint(t)
	_, sub := h.subscribe(h.tokenA(), subscriptionBody(e, h, time.Hour))
	id := sub["id"].(string)
	lifecycle := func(event string) (*http.Response, map[string]any) {
		resp, body := h.call(http.MethodPost, h.url+"/control/subscriptions/"+id+"/lifecycle", "", map[string]string{"event": event})
		var out map[string]any
		mustUnmarshal(t, body, &out)
		return resp, out
	}
	for i, event := range []string{"reauthorizationRequired", "missed", "subscriptionRemoved"} {
		resp, out := lifecycle(event)
		if resp.StatusCode != http.StatusOK || out["status"] != float64(http.StatusAccepted) {
			t.Fatalf("%s: %d %v", event, resp.StatusCode, out)
		}
		posts := e.waitPosts(i + 1)
		n := posts[i].body.Value[0]
		if n["lifecycleEvent"] != event || n["subscriptionId"] != id || n["clientState"] != "s3cret" || n["tenantId"] != tenantA ||
			n["subscriptionExpirationDateTime"] != sub["expirationDateTime"] {
			t.Errorf("%s notification = %v", event, n)
		}
	}
	if got := h.s.FindRequests(RequestFilter{Kind: KindLifecycle}); len(got) != 3 || got[0].Path != "/api/lifecycle" {
		t.Errorf("lifecycle requests = %+v", got)
	}
	// subscriptionRemoved removed it.
	if subs, _ := h.s.Subscriptions(tenantA); len(subs) != 0 {
		t.Errorf("subscriptions after subscriptionRemoved: %+v", subs)
	}
	if resp, _ := lifecycle("missed"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("lifecycle event for a removed subscription: %d", resp.StatusCode)
	}

	// Without a lifecycleNotificationUrl Graph sends no lifecycle events.
	body := subscriptionBody(e, h, time.Hour)
	delete(body, "lifecycleNotificationUrl")
	_, sub = h.subscribe(h.tokenA(), body)
	id = sub["id"].(string)
	if resp, _ := lifecycle("missed"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("lifecycle event without a lifecycleNotificationUrl: %d", resp.StatusCode)
	}
	if resp, _ := h.call(http.MethodPost, h.url+"/control/subscriptions/"+id+"/lifecycle", "", map[string]string{"event": "renamed"}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown lifecycle event: %d", resp.StatusCode)
	}

	// Removed silently through the control API.
	resp, b := h.call(http.MethodGet, h.url+"/control/subscriptions?tenant=a.onmicrosoft.com", "", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), id) || strings.Contains(string(b), "s3cret") {
		t.Fatalf("control list: %d %s", resp.StatusCode, b)
	}
	if resp, _ := h.call(http.MethodDelete, h.url+"/control/subscriptions/"+id, "", nil); resp.StatusCode != http.StatusNoContent {
		t.Errorf("control delete: %d", resp.StatusCode)
	}
	if resp, _ := h.call(http.MethodGet, h.graph(tenantA)+"/subscriptions/"+id, h.tokenA(), nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("get after a silent removal: %d", resp.StatusCode)
	}
}
