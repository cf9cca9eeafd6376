package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Delivery timings from "Receive change notifications through webhooks":
// the endpoint must answer validation within 10 s, and "notifications are
// published using an HTTP client with a 3-second timeout".
const (
	validationTimeout   = 10 * time.Second
	notificationTimeout = 3 * time.Second
	// maxBatchItems caps the notifications of one POST.
	maxBatchItems = 100
)

// Request kinds of the simulator's own deliveries in the request log.
const (
	KindValidation   = "validation"
	KindNotification = "notification"
	KindLifecycle    = "lifecycle"
	// FaultDeliveryFailed marks a delivery that got no 2xx answer.
	FaultDeliveryFailed = "delivery-failed"
)

// NotificationSettings say when notifications go out.
type NotificationSettings struct {
	// DelayMS holds every notification back this long after its change.
	DelayMS int `json:"delayMs"`
	// BatchMS: changes within this interval go out in one POST per
	// endpoint (100 notifications at most).
	BatchMS int `json:"batchMs"`
}

// changeNotification is one item of a POST to a notification endpoint
// (changeNotification; for users, resourceData names the user only).
type changeNotification struct {
	SubscriptionID                 string            `json:"subscriptionId"`
	SubscriptionExpirationDateTime string            `json:"subscriptionExpirationDateTime"`
	ChangeType                     string            `json:"changeType,omitempty"`
	Resource                       string            `json:"resource,omitempty"`
	ResourceData                   *userResourceData `json:"resourceData,omitempty"`
	ClientState                    *string           `json:"clientState"`
	TenantID                       string            `json:"tenantId"`
	LifecycleEvent                 string            `json:"lifecycleEvent,omitempty"`
}

type userResourceData struct {
	ODataType      string `json:"@odata.type"`
	ODataID        string `json:"@odata.id"`
	ID             string `json:"id"`
	OrganizationID string `json:"organizationId"`
}

// errLifecycleRefused: the simulator cannot send that lifecycle event.
var errLifecycleRefused = errors.New("sim: lifecycle notification refused")

type batchKey struct{ url, tenant string }

// notifier keeps the subscriptions and delivers their notifications.
type notifier struct {
	s      *Server
	client *http.Client

	mu       sync.Mutex
	subs     map[string]*subscription // by lower-case id
	settings NotificationSettings
	pending  map[batchKey][]changeNotification
	timers   map[batchKey]*time.Timer
	inflight int
	closed   bool
}

func newNotifier(s *Server, settings NotificationSettings) *notifier {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	return &notifier{s: s, client: &http.Client{Transport: tr}, subs: map[string]*subscription{}, settings: settings,
		pending: map[batchKey][]changeNotification{}, timers: map[batchKey]*time.Timer{}}
}

func (nf *notifier) add(sub *subscription) {
	nf.mu.Lock()
	defer nf.mu.Unlock()
	nf.subs[strings.ToLower(sub.ID)] = sub
}

// lookupLocked finds a live subscription; an expired one is deleted, as
// Graph deletes subscriptions that were not renewed in time.
func (nf *notifier) lookupLocked(id string) *subscription {
	key := strings.ToLower(id)
	sub := nf.subs[key]
	if sub != nil && !nf.s.now().Before(sub.ExpirationDateTime) {
		delete(nf.subs, key)
		return nil
	}
	return sub
}

// live returns copies of the tenant's live subscriptions ("" for all), in
// creation order.
func (nf *notifier) live(tenantID string) []subscription {
	nf.mu.Lock()
	defer nf.mu.Unlock()
	var out []subscription
	for _, id := range slices.Sorted(maps.Keys(nf.subs)) {
		if sub := nf.lookupLocked(id); sub != nil && (tenantID == "" || sub.TenantID == tenantID) {
			out = append(out, *sub)
		}
	}
	slices.SortStableFunc(out, func(a, b subscription) int { return a.CreatedDateTime.Compare(b.CreatedDateTime) })
	return out
}

// get returns a live subscription of the app in the tenant.
func (nf *notifier) get(tenantID, app, id string) (subscription, bool) {
	return nf.update(tenantID, app, id, func(*subscription) {})
}

// update changes a live subscription of the app in the tenant.
func (nf *notifier) update(tenantID, app, id string, fn func(*subscription)) (subscription, bool) {
	nf.mu.Lock()
	defer nf.mu.Unlock()
	sub := nf.lookupLocked(id)
	if sub == nil || sub.TenantID != tenantID || sub.ApplicationID != app {
		return subscription{}, false
	}
	fn(sub)
	return *sub, true
}

func (nf *notifier) remove(tenantID, app, id string) bool {
	nf.mu.Lock()
	defer nf.mu.Unlock()
	sub := nf.lookupLocked(id)
	if sub == nil || tenantID != "" && (sub.TenantID != tenantID || sub.ApplicationID != app) {
		return false
	}
	delete(nf.subs, strings.ToLower(id))
	return true
}

// userChanged queues a notification for every live subscription on the
// tenant that wants the change. It runs under the tenant's lock, so it
// only queues; delivery happens on timers.
func (nf *notifier) userChanged(tenantID, userID, changeType string) {
	now := nf.s.now()
	nf.mu.Lock()
	defer nf.mu.Unlock()
	if nf.closed {
		return
	}
	for _, sub := range nf.subs {
		if sub.TenantID != tenantID || !now.Before(sub.ExpirationDateTime) || !sub.wants(changeType) {
			continue
		}
		res := "Users/" + userID
		nf.queueLocked(batchKey{sub.NotificationURL, tenantID}, changeNotification{
			SubscriptionID: sub.ID, SubscriptionExpirationDateTime: graphDateTime(sub.ExpirationDateTime),
			ChangeType: changeType, Resource: res, ClientState: clientStateOf(sub), TenantID: tenantID,
			ResourceData: &userResourceData{ODataType: "#Microsoft.Graph.User", ODataID: res, ID: userID, OrganizationID: tenantID},
		})
	}
}

func clientStateOf(sub *subscription) *string {
	if sub.clientState == "" {
		return nil
	}
	cs := sub.clientState
	return &cs
}

// queueLocked adds a notification to its endpoint's batch, starting the
// batch's timer when it is the first: delay plus the batch interval, so
// every notification waits at least the delay.
func (nf *notifier) queueLocked(key batchKey, item changeNotification) {
	if _, ok := nf.timers[key]; !ok {
		wait := time.Duration(nf.settings.DelayMS+nf.settings.BatchMS) * time.Millisecond
		nf.timers[key] = time.AfterFunc(wait, func() { nf.flush(key) })
	}
	nf.pending[key] = append(nf.pending[key], item)
}

// flush delivers a batch, at most maxBatchItems per POST.
func (nf *notifier) flush(key batchKey) {
	nf.mu.Lock()
	items := nf.pending[key]
	delete(nf.pending, key)
	delete(nf.timers, key)
	defer nf.deliveringLocked()()
	nf.mu.Unlock()
	for chunk := range slices.Chunk(items, maxBatchItems) {
		body, _ := json.Marshal(map[string]any{"value": chunk}) // plain structs
		nf.post(context.Background(), KindNotification, key.tenant, key.url, body, len(chunk), notificationTimeout)
	}
}

// deliveringLocked counts a delivery in flight, for idle; the returned
// func ends it.
func (nf *notifier) deliveringLocked() func() {
	nf.inflight++
	return func() {
		nf.mu.Lock()
		nf.inflight--
		nf.mu.Unlock()
	}
}

// post delivers one body and records it like a Graph request: its kind,
// the endpoint's path, the status (0 when there was no answer) and, when
// the answer was not 2xx, FaultDeliveryFailed. Bodies are not kept: they
// hold the clientState.
func (nf *notifier) post(ctx context.Context, kind, tenantID, endpoint string, body []byte, items int, timeout time.Duration) (int, []byte, http.Header, error) {
	start := nf.s.now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	contentType := "application/json; charset=utf-8"
	if kind == KindValidation {
		contentType = "text/plain; charset=utf-8"
	}
	status, answer, header, err := nf.send(ctx, endpoint, contentType, body)
	rec := Request{Time: start, Tenant: tenantID, Kind: kind, Method: http.MethodPost, Status: status, Items: items}
	if u, perr := url.Parse(endpoint); perr == nil {
		rec.Path = u.Path
	}
	if err != nil || status < 200 || status > 299 {
		rec.Fault = FaultDeliveryFailed
		nf.s.log.Debug("sim delivery failed", "kind", kind, "status", status, "err", err)
	}
	nf.s.requests.add(rec)
	return status, answer, header, err
}

func (nf *notifier) send(ctx context.Context, endpoint, contentType string, body []byte) (int, []byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := nf.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, answer, resp.Header, err
}

// validate runs the validation handshake with an endpoint: POST
// ?validationToken=<token> (added to any query the URL has), which must
// answer 200, text/plain, with the URL-decoded token as the body.
func (nf *notifier) validate(ctx context.Context, tenantID, endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return err
	}
	token := validationToken()
	q := u.Query()
	q.Set("validationToken", token)
	u.RawQuery = q.Encode()
	status, answer, header, err := nf.post(ctx, KindValidation, tenantID, u.String(), nil, 0, validationTimeout)
	switch mt, _, _ := mime.ParseMediaType(header.Get("Content-Type")); {
	case err != nil:
		return fmt.Errorf("the endpoint did not answer: %v", err)
	case status != http.StatusOK:
		return fmt.Errorf("the endpoint answered %d", status)
	case mt != "text/plain":
		return fmt.Errorf("the endpoint answered with content type %q, not text/plain", header.Get("Content-Type"))
	case string(answer) != token:
		return errors.New("the endpoint did not answer with the decoded validation token")
	}
	return nil
}

// lifecycle sends a lifecycle notification for a subscription to its
// lifecycleNotificationUrl and returns the endpoint's status. For
// subscriptionRemoved, the subscription is removed first, as Graph does.
func (nf *notifier) lifecycle(ctx context.Context, id, event string) (int, error) {
	switch event {
	case "reauthorizationRequired", "subscriptionRemoved", "missed":
	default:
		return 0, fmt.Errorf("%w: event %q is not reauthorizationRequired, subscriptionRemoved or missed", errLifecycleRefused, event)
	}
	nf.mu.Lock()
	sub := nf.lookupLocked(id)
	if sub == nil {
		nf.mu.Unlock()
		return 0, fmt.Errorf("sim: subscription %s: %w", id, ErrNotFound)
	}
	if sub.LifecycleNotificationURL == "" {
		nf.mu.Unlock()
		return 0, fmt.Errorf("%w: subscription %s has no lifecycleNotificationUrl, so Graph sends it no lifecycle notifications", errLifecycleRefused, id)
	}
	item := changeNotification{SubscriptionID: sub.ID, SubscriptionExpirationDateTime: graphDateTime(sub.ExpirationDateTime),
		ClientState: clientStateOf(sub), TenantID: sub.TenantID, LifecycleEvent: event}
	endpoint, tenantID := sub.LifecycleNotificationURL, sub.TenantID
	if event == "subscriptionRemoved" {
		delete(nf.subs, strings.ToLower(id))
	}
	defer nf.deliveringLocked()()
	nf.mu.Unlock()
	body, _ := json.Marshal(map[string]any{"value": []changeNotification{item}})
	status, _, _, err := nf.post(ctx, KindLifecycle, tenantID, endpoint, body, 1, notificationTimeout)
	return status, err
}

func (nf *notifier) setSettings(s NotificationSettings) {
	nf.mu.Lock()
	defer nf.mu.Unlock()
	nf.settings = s
}

func (nf *notifier) currentSettings() NotificationSettings {
	nf.mu.Lock()
	defer nf.mu.Unlock()
	return nf.settings
}

// idle reports whether no notification is waiting or being delivered.
func (nf *notifier) idle() bool {
	nf.mu.Lock()
	defer nf.mu.Unlock()
	return len(nf.pending) == 0 && nf.inflight == 0
}

// close stops queueing, cancels the batches not yet due and waits for
// deliveries in flight until ctx ends.
func (nf *notifier) close(ctx context.Context) error {
	nf.mu.Lock()
	nf.closed = true
	for key, t := range nf.timers {
		if t.Stop() {
			delete(nf.pending, key)
			delete(nf.timers, key)
		}
	}
	nf.mu.Unlock()
	return waitFor(ctx, nf.idle)
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(ctx context.Context, cond func() bool) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}
