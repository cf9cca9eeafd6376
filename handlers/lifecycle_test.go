package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/funcproto"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/shared/subscription"
	"github.com/galsync/galsync/sim"
)

// Lifecycle events come from the simulator, through the Functions host's
// front, as Graph sends them.

func (e *env) simSubscription(tenantID string) sim.Subscription {
	e.t.Helper()
	subs, err := e.sim.Subscriptions(tenantID)
	if err != nil || len(subs) != 1 {
		e.t.Fatalf("simulator's subscriptions of %s: %+v %v", tenantID, subs, err)
	}
	return subs[0]
}

func (e *env) lifecycleEvent(id, event string) {
	e.t.Helper()
	status, err := e.sim.SendLifecycleEvent(context.Background(), id, event)
	if err != nil || status != http.StatusAccepted {
		e.t.Fatalf("%s: endpoint answered %d, %v", event, status, err)
	}
}

// actOnLifecycle delivers the lifecycle work waiting on the pulls queue to
// delta-pull, as a worker would, and returns how much there was. Anything
// else waiting there fails the test.
func (e *env) actOnLifecycle() int {
	e.t.Helper()
	ds, err := e.db.Receive(context.Background(), galsync.QueuePulls, 100, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, d := range ds {
		req, err := galsync.DecodePullRequest(d.Body)
		if err != nil || req.Mode != galsync.PullLifecycle {
			e.t.Fatalf("pulls queue holds %+v (%v), want lifecycle work only", req, err)
		}
		e.deliver(FuncDeltaPull, d)
	}
	return len(ds)
}

func TestReauthorizationRequiredReauthorizes(t *testing.T) {
	e := newEnv(t, envOptions{})
	rec := e.ensureSubscriptions()
	e.lifecycleEvent(rec.ID, "reauthorizationRequired")
	// Answered; the work is queued, not done.
	if sub := e.simSubscription(sourceID); sub.Reauthorized != 0 {
		t.Fatalf("reauthorized before the answer: %+v", sub)
	}
	queued := e.pulls()
	if len(queued) != 1 || queued[0].Mode != galsync.PullLifecycle ||
		*queued[0].Lifecycle != (galsync.LifecycleWork{Tenant: "source", Event: "reauthorizationRequired", Subscription: rec.ID}) {
		t.Fatalf("queued %+v", queued)
	}
	if n := e.actOnLifecycle(); n != 1 {
		t.Fatalf("%d lifecycle messages", n)
	}
	sub := e.simSubscription(sourceID)
	if sub.ID != rec.ID || sub.Reauthorized != 1 || sub.Renewed != 0 {
		t.Errorf("simulator's subscription %+v", sub)
	}
	if p := e.pulls(); len(p) != 0 {
		t.Errorf("pulls %+v", p)
	}
}

// Graph's 3 s budget: a reauthorizationRequired notification is answered
// before anything is done about it, however slow Graph's /reauthorize is
// (the simulator's takes 500 ms here, five times the budget the test
// allows the answer), and the reauthorization follows.
func TestLifecycleEventIsAnsweredFirstAndActedOnAfter(t *testing.T) {
	e := newEnv(t, envOptions{})
	rec := e.ensureSubscriptions()
	const slow = 500 * time.Millisecond
	if err := e.sim.SetFaults(sourceID, sim.Faults{DisableThrottling: true, LatencyMS: int(slow / time.Millisecond),
		Kinds: []string{"subscriptions"}}); err != nil {
		t.Fatal(err)
	}
	e.sim.ResetRequests()
	start := time.Now()
	e.lifecycleEvent(rec.ID, "reauthorizationRequired") // through the Functions host's front, as Graph posts it
	answered := time.Now()
	t.Logf("answered in %s; the simulator's reauthorize takes %s", answered.Sub(start).Round(time.Microsecond), slow)
	if took := answered.Sub(start); took >= 100*time.Millisecond {
		t.Errorf("answered in %s, want under 100 ms", took)
	}
	if calls := e.sim.FindRequests(sim.RequestFilter{Kind: "subscriptions"}); len(calls) != 0 {
		t.Fatalf("Graph's subscriptions were called before the answer: %+v", calls)
	}
	e.actOnLifecycle()
	calls := e.sim.FindRequests(sim.RequestFilter{Kind: "subscriptions", Tenant: sourceID})
	if len(calls) != 1 || !strings.HasSuffix(calls[0].Path, "/reauthorize") || !calls[0].Time.After(answered) {
		t.Fatalf("reauthorize calls %+v, want one after the answer at %s", calls, answered)
	}
	if sub := e.simSubscription(sourceID); sub.Reauthorized != 1 {
		t.Errorf("simulator's subscription %+v", sub)
	}
}

func TestSubscriptionRemovedIsCreatedAgainAndPulled(t *testing.T) {
	e := newEnv(t, envOptions{})
	old := e.ensureSubscriptions()
	e.lifecycleEvent(old.ID, "subscriptionRemoved")
	if n := e.actOnLifecycle(); n != 1 {
		t.Fatalf("%d lifecycle messages", n)
	}

	sub := e.simSubscription(sourceID)
	rec, err := e.db.GetSubscription(context.Background(), "source")
	if err != nil {
		t.Fatal(err)
	}
	if sub.ID == old.ID || rec.ID != sub.ID || rec.ClientState == old.ClientState {
		t.Errorf("after removal: simulator %+v, record %+v", sub, rec)
	}
	pulls := e.pulls()
	if len(pulls) != 1 || pulls[0].Direction != dirSource || pulls[0].Trigger != "lifecycle" {
		t.Errorf("pulls %+v", pulls)
	}
	// The old subscription's notifications are now refused.
	if out := e.postHTTP(FuncGraphNotify, "", body(t, notification(old, old.ClientState, "u1"))); out.StatusCode != http.StatusAccepted {
		t.Errorf("answer %+v", out)
	}
	if len(e.pulls()) != 1 {
		t.Errorf("a notification of the removed subscription asked for a pull")
	}
}

func TestMissedAsksForAPull(t *testing.T) {
	e := newEnv(t, envOptions{})
	rec := e.ensureSubscriptions()
	e.sim.ResetRequests()
	e.lifecycleEvent(rec.ID, "missed")
	pulls := e.pulls()
	if len(pulls) != 1 || pulls[0].Direction != dirSource {
		t.Errorf("pulls %+v", pulls)
	}
	if got := e.sim.FindRequests(sim.RequestFilter{Kind: "subscriptions"}); len(got) != 0 {
		t.Errorf("missed called Graph: %+v", got)
	}
}

func TestForgedLifecycleEventChangesNothing(t *testing.T) {
	e := newEnv(t, envOptions{})
	rec := e.ensureSubscriptions()
	forged := map[string]any{"subscriptionId": rec.ID, "subscriptionExpirationDateTime": rec.ExpiresAt.Format(time.RFC3339Nano),
		"tenantId": rec.TenantID, "clientState": "forged", "lifecycleEvent": "subscriptionRemoved"}
	if out := e.postHTTP(FuncGraphLifecycle, "", body(t, forged)); out.StatusCode != http.StatusAccepted {
		t.Errorf("answer %+v", out)
	}
	if sub := e.simSubscription(sourceID); sub.ID != rec.ID || len(e.pulls()) != 0 {
		t.Errorf("a forged event acted: %+v, pulls %+v", sub, e.pulls())
	}
}

// failingManager fails every lifecycle event with err.
type failingManager struct{ err error }

func (f failingManager) Ensure(context.Context) ([]subscription.Outcome, error) { return nil, f.err }
func (f failingManager) HandleLifecycle(_ context.Context, tenant, _ string) (subscription.Outcome, error) {
	return subscription.Outcome{Tenant: tenant}, f.err
}

// settled counts the parked messages and the pulls scheduled for later.
func (e *env) settled() (parked, scheduled int) {
	e.t.Helper()
	parked, _, err := e.db.Depth(context.Background(), galsync.QueueParked)
	if err != nil {
		e.t.Fatal(err)
	}
	if scheduled, err = e.db.ScheduledDepth(context.Background(), galsync.QueuePulls); err != nil {
		e.t.Fatal(err)
	}
	return parked, scheduled
}

// failingQueue refuses every send.
type failingQueue struct{}

func (failingQueue) Send(context.Context, string, ...queue.Message) error {
	return errors.New("service bus: 503 ServerBusy")
}

// The endpoint answers 500 only when it cannot queue the work, so Graph
// sends the event again. A lifecycle event whose work then fails is
// settled as any queue message: rescheduled when a retry may cure it,
// parked for an operator when not.
func TestLifecycleFailures(t *testing.T) {
	e := newEnv(t, envOptions{})
	rec := e.ensureSubscriptions()
	event := body(t, map[string]any{"subscriptionId": rec.ID, "tenantId": rec.TenantID, "clientState": rec.ClientState,
		"lifecycleEvent": "reauthorizationRequired", "subscriptionExpirationDateTime": rec.ExpiresAt.Format(time.RFC3339Nano)})
	post := func(deps Deps) (int, funcproto.Response) {
		srv := httptest.NewServer(New(deps))
		defer srv.Close()
		r := httptest.NewRequest(http.MethodPost, "https://galsync.example/api/lifecycle", strings.NewReader(string(event)))
		payload, err := funcproto.EncodeHTTP("req", r, event, nil, funcproto.NewSys(FuncGraphLifecycle, time.Now()))
		if err != nil {
			t.Fatal(err)
		}
		return e.invokeAt(srv.URL, FuncGraphLifecycle, payload)
	}
	deps := e.deps
	deps.Queue = failingQueue{}
	if status, resp := post(deps); status != http.StatusInternalServerError {
		t.Errorf("with the queue down the invocation answered %d (%v), want 500", status, resp.Logs)
	}
	if p := e.pulls(); len(p) != 0 {
		t.Fatalf("queued %+v", p)
	}

	for _, tc := range []struct {
		name   string
		err    error
		parked bool
	}{
		{"transient", errors.New("graph: 503 serviceNotAvailable"), false},
		{"permanent", galsync.Permanent(errors.New("not a source tenant")), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A minute on: copies of one event within a minute fold.
			e.clock.Advance(time.Minute)
			parked0, scheduled0 := e.settled()
			deps := e.deps
			deps.Subscriptions = failingManager{tc.err}
			status, resp := post(deps)
			if out, err := resp.HTTPOutput("res"); status != http.StatusOK || err != nil || out.StatusCode != http.StatusAccepted {
				t.Fatalf("invocation answered %d, http output %+v %v", status, out, err)
			}
			ds, err := e.db.Receive(context.Background(), galsync.QueuePulls, 1, time.Second)
			if err != nil || len(ds) != 1 {
				t.Fatalf("queued work: %d, %v", len(ds), err)
			}
			srv := httptest.NewServer(New(deps))
			defer srv.Close()
			payload, err := funcproto.EncodeServiceBus("msg", ds[0], funcproto.NewSys(FuncDeltaPull, time.Now()))
			if err != nil {
				t.Fatal(err)
			}
			if status, resp := e.invokeAt(srv.URL, FuncDeltaPull, payload); status != http.StatusOK {
				t.Fatalf("delta-pull answered %d %v", status, resp.Logs)
			}
			if err := e.db.Complete(context.Background(), ds[0]); err != nil {
				t.Fatal(err)
			}
			parked, scheduled := e.settled()
			if tc.parked && (parked != parked0+1 || scheduled != scheduled0) || !tc.parked && (parked != parked0 || scheduled != scheduled0+1) {
				t.Errorf("%d parked, %d rescheduled (before: %d, %d); want parked=%t", parked, scheduled, parked0, scheduled0, tc.parked)
			}
		})
	}
}
