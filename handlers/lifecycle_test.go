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

func TestReauthorizationRequiredReauthorizes(t *testing.T) {
	e := newEnv(t, envOptions{})
	rec := e.ensureSubscriptions()
	e.lifecycleEvent(rec.ID, "reauthorizationRequired")
	sub := e.simSubscription(sourceID)
	if sub.ID != rec.ID || sub.Reauthorized != 1 || sub.Renewed != 0 {
		t.Errorf("simulator's subscription %+v", sub)
	}
	if p := e.pulls(); len(p) != 0 {
		t.Errorf("pulls %+v", p)
	}
}

func TestSubscriptionRemovedIsCreatedAgainAndPulled(t *testing.T) {
	e := newEnv(t, envOptions{})
	old := e.ensureSubscriptions()
	e.lifecycleEvent(old.ID, "subscriptionRemoved")

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

// A lifecycle event that failed for a passing reason fails the
// invocation, so Graph sends it again; one no retry can cure does not.
func TestLifecycleFailures(t *testing.T) {
	e := newEnv(t, envOptions{})
	rec := e.ensureSubscriptions()
	event := body(t, map[string]any{"subscriptionId": rec.ID, "tenantId": rec.TenantID, "clientState": rec.ClientState,
		"lifecycleEvent": "reauthorizationRequired", "subscriptionExpirationDateTime": rec.ExpiresAt.Format(time.RFC3339Nano)})
	for _, tc := range []struct {
		name   string
		err    error
		status int
	}{
		{"transient", errors.New("graph: 503 serviceNotAvailable"), http.StatusInternalServerError},
		{"permanent", galsync.Permanent(errors.New("not a source tenant")), http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			deps := e.deps
			deps.Subscriptions = failingManager{tc.err}
			srv := httptest.NewServer(New(deps))
			defer srv.Close()
			r := httptest.NewRequest(http.MethodPost, "https://galsync.example/api/lifecycle", strings.NewReader(string(event)))
			payload, err := funcproto.EncodeHTTP("req", r, event, nil, funcproto.NewSys(FuncGraphLifecycle, time.Now()))
			if err != nil {
				t.Fatal(err)
			}
			status, resp := e.invokeAt(srv.URL, FuncGraphLifecycle, payload)
			if status != tc.status {
				t.Errorf("invocation answered %d, want %d (%v)", status, tc.status, resp.Logs)
			}
			if status == http.StatusOK {
				if out, err := resp.HTTPOutput("res"); err != nil || out.StatusCode != http.StatusAccepted {
					t.Errorf("http output %+v %v", out, err)
				}
			}
		})
	}
}
