package handlers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/funcproto"
	"github.com/galsync/galsync/sim"
)

// subscription-timer against the simulator: the subscription is created
// through Graph's validation handshake, which the simulator sends to the
// Functions host's front, and then kept alive.

func TestSubscriptionTimerCreatesOnePerSourceTenant(t *testing.T) {
	e := newEnv(t, envOptions{})
	rec := e.ensureSubscriptions()
	sub := e.simSubscription(sourceID)
	if sub.ID != rec.ID || sub.Resource != "users" || sub.ChangeType != "updated,deleted" ||
		sub.NotificationURL != e.front.URL+"/api/notify" || sub.LifecycleNotificationURL != e.front.URL+"/api/lifecycle" {
		t.Errorf("simulator's subscription %+v", sub)
	}
	if want := e.clock.Now().Add(41760*time.Minute - 15*time.Minute); sub.ExpirationDateTime.Sub(want).Abs() > time.Minute {
		t.Errorf("expires %s, want about %s", sub.ExpirationDateTime, want)
	}
	e.simSubscription(partnerID) // partner is a source too
	if subs, _ := e.sim.Subscriptions(targetID); len(subs) != 0 {
		t.Errorf("the target, which is no source, has subscriptions: %+v", subs)
	}
	// Both endpoints of both subscriptions passed the handshake.
	validations := e.sim.FindRequests(sim.RequestFilter{Kind: sim.KindValidation})
	if len(validations) != 4 {
		t.Errorf("%d validations, want 4", len(validations))
	}
	for _, v := range validations {
		if v.Status != http.StatusOK || v.Fault != "" {
			t.Errorf("validation %+v", v)
		}
	}
	// The secret is in the store only.
	if len(rec.ClientState) < 16 || len(rec.ClientState) > 128 {
		t.Errorf("clientState of %d characters", len(rec.ClientState))
	}
	for _, r := range e.sim.FindRequests(sim.RequestFilter{Kind: "subscriptions"}) {
		if strings.Contains(string(r.Body), rec.ClientState) {
			t.Errorf("the simulator logged the clientState: %s", r.Body)
		}
	}
	if strings.Contains(e.logs.String(), rec.ClientState) {
		t.Errorf("galsync logged the clientState")
	}

	// The next tick keeps it.
	e.ensureSubscriptions()
	if sub := e.simSubscription(sourceID); sub.ID != rec.ID || sub.Renewed != 0 {
		t.Errorf("second tick: %+v", sub)
	}
}

func TestSubscriptionTimerRenewsNearExpiry(t *testing.T) {
	e := newEnv(t, envOptions{})
	rec := e.ensureSubscriptions()
	e.clock.Advance(20 * 24 * time.Hour)
	after := e.ensureSubscriptions()
	sub := e.simSubscription(sourceID)
	if after.ID != rec.ID || sub.Renewed != 1 || !after.ExpiresAt.After(rec.ExpiresAt.Add(19*24*time.Hour)) ||
		!sub.ExpirationDateTime.Equal(after.ExpiresAt) {
		t.Errorf("after renewal: record %+v, simulator %+v", after, sub)
	}
	if p := e.pulls(); len(p) != 0 {
		t.Errorf("a renewal asked for pulls: %+v", p)
	}
}

func TestSubscriptionTimerRecreatesWhatTheSimulatorRemoved(t *testing.T) {
	for _, tc := range []struct {
		name string
		lose func(e *env, id string)
	}{
		{"removed", func(e *env, id string) {
			if err := e.sim.RemoveSubscription(id); err != nil {
				e.t.Fatal(err)
			}
		}},
		{"expired", func(e *env, _ string) { e.clock.Advance(30 * 24 * time.Hour) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			old := e.ensureSubscriptions()
			tc.lose(e, old.ID)
			rec := e.ensureSubscriptions()
			sub := e.simSubscription(sourceID)
			if rec.ID == old.ID || sub.ID != rec.ID {
				t.Errorf("record %+v, simulator %+v", rec, sub)
			}
			pulls := e.pulls()
			var dirs []string
			for _, p := range pulls {
				dirs = append(dirs, p.Direction+" "+p.Trigger)
			}
			if !strings.Contains(strings.Join(dirs, ","), dirSource+" resubscribed") {
				t.Errorf("pulls %v: the gap must be pulled", dirs)
			}
		})
	}
}

func TestSubscriptionTimerWithNotificationsOff(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.ensureSubscriptions()
	e.manager.NotificationURL, e.manager.LifecycleURL = "", ""
	if status, resp := e.fireTimer(FuncSubscriptionTimer); status != http.StatusOK {
		t.Fatalf("%d %v", status, resp.Logs)
	}
	if subs, _ := e.sim.Subscriptions(""); len(subs) != 0 {
		t.Errorf("subscriptions left: %+v", subs)
	}

	deps := e.deps
	deps.Subscriptions = nil
	srv := httptest.NewServer(New(deps))
	defer srv.Close()
	payload, err := funcproto.EncodeTimer("timer", funcproto.TimerInfo{IsPastDue: true}, funcproto.NewSys(FuncSubscriptionTimer, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if status, resp := e.invokeAt(srv.URL, FuncSubscriptionTimer, payload); status != http.StatusOK || !strings.Contains(strings.Join(resp.Logs, ";"), "not managed") {
		t.Errorf("without a manager: %d %v", status, resp.Logs)
	}
}

// A tick whose tenant fails fails the invocation (the host logs it); the
// next tick tries again.
func TestSubscriptionTimerFailure(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.manager.NotificationURL = e.front.URL + "/api/nowhere" // fails validation: 404
	if status, resp := e.fireTimer(FuncSubscriptionTimer); status != http.StatusInternalServerError ||
		!strings.Contains(strings.Join(resp.Logs, ";"), "permanent") {
		t.Errorf("%d %v", status, resp.Logs)
	}
	if _, err := e.db.GetSubscription(context.Background(), "source"); err == nil {
		t.Errorf("a failed subscription was recorded")
	}
}
