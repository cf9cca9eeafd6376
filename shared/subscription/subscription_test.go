package subscription

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/clocktest"
	"github.com/galsync/galsync/shared/galsync"
)

const (
	notifyURL    = "https://galsync.example/api/notify"
	lifecycleURL = "https://galsync.example/api/lifecycle"
)

var (
	contoso  = galsync.Tenant{Name: "contoso", TenantID: "11111111-1111-4111-8111-111111111111"}
	fabrikam = galsync.Tenant{Name: "fabrikam", TenantID: "22222222-2222-4222-8222-222222222222"}
)

type fixture struct {
	t     *testing.T
	clock *clocktest.Clock
	graph *fakeGraph
	store Store
	m     *Manager
}

func newFixture(t *testing.T, tenants ...galsync.Tenant) *fixture {
	t.Helper()
	c := clocktest.New(time.Time{})
	g := newFakeGraph(c)
	st := openStore(t, c)
	return &fixture{t: t, clock: c, graph: g, store: st, m: &Manager{Graph: g, Store: st, Tenants: tenants,
		NotificationURL: notifyURL, LifecycleURL: lifecycleURL, Now: c.Now}}
}

func (f *fixture) ensure() []Outcome {
	f.t.Helper()
	outs, err := f.m.Ensure(context.Background())
	if err != nil {
		f.t.Fatalf("Ensure: %v", err)
	}
	return outs
}

func (f *fixture) record(tenant string) galsync.Subscription {
	f.t.Helper()
	rec, err := f.store.GetSubscription(context.Background(), tenant)
	if err != nil {
		f.t.Fatal(err)
	}
	return rec
}

func TestPlan(t *testing.T) {
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	m := &Manager{NotificationURL: notifyURL, LifecycleURL: lifecycleURL}
	want := m.want(contoso)
	good := want
	good.ID, good.ClientState, good.ExpiresAt = "sub-1", "secret", now.Add(20*24*time.Hour)
	with := func(change func(*galsync.Subscription)) galsync.Subscription {
		s := good
		change(&s)
		return s
	}
	third := DefaultLifetime / 3
	for _, tc := range []struct {
		name string
		rec  galsync.Subscription
		want step
	}{
		{"no record", galsync.Subscription{Tenant: "contoso"}, stepCreate},
		{"cleared record (notifications were off)", with(func(s *galsync.Subscription) { s.ID, s.ClientState = "", "" }), stepCreate},
		{"fresh", good, stepVerify},
		{"just over a third left", with(func(s *galsync.Subscription) { s.ExpiresAt = now.Add(third + time.Minute) }), stepVerify},
		{"under a third left", with(func(s *galsync.Subscription) { s.ExpiresAt = now.Add(third - time.Minute) }), stepRenew},
		{"a minute left", with(func(s *galsync.Subscription) { s.ExpiresAt = now.Add(time.Minute) }), stepRenew},
		{"expired", with(func(s *galsync.Subscription) { s.ExpiresAt = now }), stepRecreate},
		{"notification URL moved", with(func(s *galsync.Subscription) { s.NotificationURL = "https://old.example/api/notify" }), stepRecreate},
		{"lifecycle URL added", with(func(s *galsync.Subscription) { s.LifecycleURL = "" }), stepRecreate},
		{"other change types", with(func(s *galsync.Subscription) { s.ChangeType = "updated" }), stepRecreate},
		{"tenant id changed", with(func(s *galsync.Subscription) { s.TenantID = fabrikam.TenantID }), stepRecreate},
		{"secret lost", with(func(s *galsync.Subscription) { s.ClientState = "" }), stepRecreate},
	} {
		if got := plan(tc.rec, want, now, DefaultLifetime); got != tc.want {
			t.Errorf("%s: plan = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestEnsureCreatesOnePerSourceTenantWithTheLongestLifetime(t *testing.T) {
	f := newFixture(t, contoso, fabrikam)
	outs := f.ensure()
	if len(outs) != 2 || outs[0].Action != ActionCreated || outs[1].Action != ActionCreated || outs[0].NeedsPull {
		t.Fatalf("outcomes = %+v", outs)
	}
	rec := f.record("contoso")
	if rec.ID == "" || rec.TenantID != contoso.TenantID || rec.Resource != "users" || rec.ChangeType != "updated,deleted" ||
		rec.NotificationURL != notifyURL || rec.LifecycleURL != lifecycleURL || !rec.CreatedAt.Equal(f.clock.Now()) {
		t.Errorf("record = %+v", rec)
	}
	if want := f.clock.Now().Add(41760*time.Minute - 15*time.Minute); !rec.ExpiresAt.Equal(want) {
		t.Errorf("expires %s, want %s (the maximum less a small margin)", rec.ExpiresAt, want)
	}
	// A random clientState of 26 characters (128 bits), one per tenant.
	other := f.record("fabrikam")
	if len(rec.ClientState) != 26 || rec.ClientState == other.ClientState {
		t.Errorf("client states %q and %q", rec.ClientState, other.ClientState)
	}
	if f.graph.count() != 2 {
		t.Errorf("%d subscriptions in Graph", f.graph.count())
	}

	// The next tick only checks they are there.
	f.graph.takeCalls()
	f.clock.Advance(30 * time.Minute)
	outs = f.ensure()
	if outs[0].Action != ActionKept || outs[1].Action != ActionKept {
		t.Errorf("second tick = %+v", outs)
	}
	if calls := f.graph.takeCalls(); !slices.Equal(calls, []string{"get " + rec.ID, "get " + other.ID}) {
		t.Errorf("second tick calls %v", calls)
	}
}

func TestEnsureRenewsNearExpiryAndKeepsTheSecret(t *testing.T) {
	f := newFixture(t, contoso)
	f.ensure()
	before := f.record("contoso")
	f.clock.Advance(20 * 24 * time.Hour) // under a third of 29 days left
	f.graph.takeCalls()
	outs := f.ensure()
	if outs[0].Action != ActionRenewed || outs[0].NeedsPull {
		t.Fatalf("outcome = %+v", outs)
	}
	after := f.record("contoso")
	if after.ID != before.ID || after.ClientState != before.ClientState || !after.RenewedAt.Equal(f.clock.Now()) ||
		!after.ExpiresAt.Equal(f.clock.Now().Add(DefaultLifetime)) {
		t.Errorf("after renewal %+v", after)
	}
	if calls := f.graph.takeCalls(); !slices.Equal(calls, []string{"renew " + before.ID}) {
		t.Errorf("calls %v", calls)
	}
}

// Over two months of half-hourly ticks, the subscription never lapses and
// is renewed about every 19 days, never created again.
func TestEnsureKeepsTheSubscriptionAliveForever(t *testing.T) {
	f := newFixture(t, contoso)
	f.ensure()
	id := f.record("contoso").ID
	renewals := 0
	for range 2 * 30 * 48 {
		f.clock.Advance(30 * time.Minute)
		for _, o := range f.ensure() {
			if o.Action == ActionRenewed {
				renewals++
			}
			if o.Action != ActionKept && o.Action != ActionRenewed {
				t.Fatalf("at %s: %+v", f.clock.Now(), o)
			}
		}
		if f.graph.count() != 1 {
			t.Fatalf("at %s: %d subscriptions in Graph", f.clock.Now(), f.graph.count())
		}
	}
	if renewals != 3 || f.record("contoso").ID != id {
		t.Errorf("%d renewals, id %s (was %s)", renewals, f.record("contoso").ID, id)
	}
}

func TestEnsureRecreatesWhatGraphLost(t *testing.T) {
	for _, tc := range []struct {
		name    string
		advance time.Duration
		calls   func(old string) []string
	}{
		{"found missing on a check", time.Hour, func(old string) []string { return []string{"get " + old, "delete " + old, "create contoso"} }},
		{"found missing on renewal", 20 * 24 * time.Hour, func(old string) []string { return []string{"renew " + old, "delete " + old, "create contoso"} }},
		{"expired", 30 * 24 * time.Hour, func(old string) []string { return []string{"delete " + old, "create contoso"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, contoso)
			f.ensure()
			old := f.record("contoso")
			f.graph.remove(old.ID)
			f.clock.Advance(tc.advance)
			f.graph.takeCalls()
			outs := f.ensure()
			if outs[0].Action != ActionRecreated || !outs[0].NeedsPull {
				t.Fatalf("outcome = %+v", outs)
			}
			rec := f.record("contoso")
			if rec.ID == old.ID || rec.ClientState == old.ClientState || !rec.ExpiresAt.Equal(f.clock.Now().Add(DefaultLifetime)) {
				t.Errorf("new record %+v (old %+v)", rec, old)
			}
			if calls := f.graph.takeCalls(); !slices.Equal(calls, tc.calls(old.ID)) {
				t.Errorf("calls %v, want %v", calls, tc.calls(old.ID))
			}
			if f.graph.count() != 1 {
				t.Errorf("%d subscriptions in Graph", f.graph.count())
			}
		})
	}
}

func TestEnsureRecreatesWhenTheSettingsChange(t *testing.T) {
	f := newFixture(t, contoso)
	f.m.LifecycleURL = ""
	f.ensure()
	old := f.record("contoso")
	f.m.LifecycleURL = lifecycleURL // Graph cannot add it to an existing subscription
	outs := f.ensure()
	rec := f.record("contoso")
	if outs[0].Action != ActionRecreated || rec.LifecycleURL != lifecycleURL || rec.ID == old.ID || f.graph.count() != 1 {
		t.Errorf("outcome %+v, record %+v, %d in Graph", outs, rec, f.graph.count())
	}
}

func TestLifecycleEvents(t *testing.T) {
	ctx := context.Background()
	t.Run("reauthorizationRequired reauthorizes", func(t *testing.T) {
		f := newFixture(t, contoso)
		f.ensure()
		rec := f.record("contoso")
		f.graph.takeCalls()
		o, err := f.m.HandleLifecycle(ctx, "contoso", EventReauthorizationRequired)
		if err != nil || o.Action != ActionReauthorized || o.NeedsPull || o.SubscriptionID != rec.ID {
			t.Fatalf("outcome %+v, %v", o, err)
		}
		if calls := f.graph.takeCalls(); !slices.Equal(calls, []string{"reauthorize " + rec.ID}) {
			t.Errorf("calls %v", calls)
		}
	})
	t.Run("reauthorizationRequired near expiry renews", func(t *testing.T) {
		f := newFixture(t, contoso)
		f.ensure()
		f.clock.Advance(25 * 24 * time.Hour)
		o, err := f.m.HandleLifecycle(ctx, "contoso", EventReauthorizationRequired)
		if err != nil || o.Action != ActionRenewed {
			t.Fatalf("outcome %+v, %v", o, err)
		}
	})
	t.Run("reauthorizationRequired of a lost subscription recreates", func(t *testing.T) {
		f := newFixture(t, contoso)
		f.ensure()
		f.graph.remove(f.record("contoso").ID)
		o, err := f.m.HandleLifecycle(ctx, "contoso", EventReauthorizationRequired)
		if err != nil || o.Action != ActionRecreated || !o.NeedsPull || f.graph.count() != 1 {
			t.Fatalf("outcome %+v, %v", o, err)
		}
	})
	t.Run("subscriptionRemoved recreates and pulls", func(t *testing.T) {
		f := newFixture(t, contoso)
		f.ensure()
		old := f.record("contoso")
		f.graph.remove(old.ID)
		o, err := f.m.HandleLifecycle(ctx, "contoso", EventSubscriptionRemoved)
		if err != nil || o.Action != ActionRecreated || !o.NeedsPull {
			t.Fatalf("outcome %+v, %v", o, err)
		}
		if rec := f.record("contoso"); rec.ID == old.ID || rec.ID != o.SubscriptionID || f.graph.count() != 1 {
			t.Errorf("record %+v, %d in Graph", rec, f.graph.count())
		}
	})
	t.Run("missed pulls without calling Graph", func(t *testing.T) {
		f := newFixture(t, contoso)
		f.ensure()
		f.graph.takeCalls()
		o, err := f.m.HandleLifecycle(ctx, "contoso", EventMissed)
		if err != nil || o.Action != ActionNone || !o.NeedsPull || len(f.graph.takeCalls()) != 0 {
			t.Fatalf("outcome %+v, %v", o, err)
		}
	})
	t.Run("an event for a tenant that is no source is refused", func(t *testing.T) {
		f := newFixture(t, contoso)
		if _, err := f.m.HandleLifecycle(ctx, "fabrikam", EventSubscriptionRemoved); !galsync.IsPermanent(err) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestNotificationsOffDeletesTheSubscriptions(t *testing.T) {
	f := newFixture(t, contoso, fabrikam)
	f.ensure()
	ids := []string{f.record("contoso").ID, f.record("fabrikam").ID}
	f.graph.remove(ids[1]) // already gone: still cleared
	f.m.NotificationURL = ""
	outs := f.ensure()
	if len(outs) != 2 || outs[0].Action != ActionDeleted || outs[1].Action != ActionDeleted || f.graph.count() != 0 {
		t.Fatalf("outcomes %+v, %d in Graph", outs, f.graph.count())
	}
	for _, tn := range []string{"contoso", "fabrikam"} {
		if rec := f.record(tn); rec.ID != "" || rec.ClientState != "" {
			t.Errorf("record %+v keeps its id or secret", rec)
		}
	}
	if outs := f.ensure(); len(outs) != 0 {
		t.Errorf("a second tick did %+v", outs)
	}
	// On again: created afresh.
	f.m.NotificationURL = notifyURL
	if outs := f.ensure(); outs[0].Action != ActionCreated || f.graph.count() != 2 {
		t.Errorf("on again: %+v", outs)
	}
}

func TestFailuresLeaveNoOrphans(t *testing.T) {
	t.Run("a failing tenant does not stop the others", func(t *testing.T) {
		f := newFixture(t, contoso, fabrikam)
		f.graph.failCreate = galsync.Permanent(errors.New("validation request failed"))
		outs, err := f.m.Ensure(context.Background())
		if err == nil || !strings.Contains(err.Error(), "subscription contoso: create") || !strings.Contains(err.Error(), "subscription fabrikam: create") || len(outs) != 0 {
			t.Fatalf("outs %+v, err %v", outs, err)
		}
		f.graph.failCreate = nil
		if outs := f.ensure(); len(outs) != 2 {
			t.Errorf("after recovery: %+v", outs)
		}
	})
	t.Run("an unrecorded subscription is taken back", func(t *testing.T) {
		f := newFixture(t, contoso)
		f.m.Store = failingStore{Store: f.store, err: galsync.ErrConflict}
		_, err := f.m.Ensure(context.Background())
		if !errors.Is(err, galsync.ErrConflict) || f.graph.count() != 0 {
			t.Errorf("err %v, %d left in Graph", err, f.graph.count())
		}
	})
}

func TestSourceTenants(t *testing.T) {
	adatum := galsync.Tenant{Name: "adatum", TenantID: "33333333-3333-4333-8333-333333333333"}
	topo := galsync.Topology{Tenants: []galsync.Tenant{contoso, fabrikam, adatum}, Directions: []galsync.Direction{
		{Name: "c-f", Source: "contoso", Target: "fabrikam"}, {Name: "c-a", Source: "contoso", Target: "adatum"},
		{Name: "a-c", Source: "adatum", Target: "contoso"},
	}}
	var names []string
	for _, tn := range SourceTenants(topo) {
		names = append(names, tn.Name)
	}
	if !slices.Equal(names, []string{"contoso", "adatum"}) {
		t.Errorf("source tenants %v", names)
	}
}
