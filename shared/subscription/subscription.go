// Package subscription keeps one Microsoft Graph change-notification
// subscription on /users per source tenant: it creates it, renews it well
// before it expires, answers lifecycle events, and creates it again when
// Graph has lost it. The clientState secret lives only in the store.
//
// Graph's rules it follows:
//   - a users subscription lives at most 41,760 minutes and must be renewed
//     by PATCHing its expirationDateTime
//     (https://learn.microsoft.com/graph/api/resources/subscription,
//     "Maximum length of subscription per resource type");
//   - users support the changeTypes updated and deleted; created users
//     arrive as updated (same page, changeType note);
//   - reauthorizationRequired is answered by POST
//     /subscriptions/{id}/reauthorize or by a renewal; subscriptionRemoved
//     by creating the subscription again and then syncing what was missed;
//     missed by a resync with delta query
//     (https://learn.microsoft.com/graph/change-notifications-lifecycle-events);
//   - a subscription Graph no longer has answers 404.
package subscription

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/galsync/galsync/shared/galsync"
)

// Graph is what the manager calls in Microsoft Graph (shared/graph.Client).
// A subscription Graph does not have fails with galsync.ErrNotFound.
type Graph interface {
	CreateSubscription(ctx context.Context, tenant string, sub galsync.Subscription) (galsync.Subscription, error)
	GetSubscription(ctx context.Context, tenant, id string) (galsync.Subscription, error)
	RenewSubscription(ctx context.Context, tenant, id string, expiresAt time.Time) (time.Time, error)
	ReauthorizeSubscription(ctx context.Context, tenant, id string) error
	DeleteSubscription(ctx context.Context, tenant, id string) error
}

// Store keeps the subscription records (shared/store.Store).
type Store interface {
	GetSubscription(ctx context.Context, tenant string) (galsync.Subscription, error)
	PutSubscription(ctx context.Context, s galsync.Subscription) (galsync.Subscription, error)
	ListSubscriptions(ctx context.Context) ([]galsync.Subscription, error)
}

// What galsync subscribes to.
const (
	// Resource is the users collection, as the create-subscription page
	// spells it.
	Resource = "users"
	// ChangeType: all a users subscription supports.
	ChangeType = "updated,deleted"
	// MaxLifetime is the longest a users subscription may live.
	MaxLifetime = 41760 * time.Minute
	// DefaultLifetime asks a little less than the maximum, so a clock a
	// few minutes ahead of Graph's is not refused.
	DefaultLifetime = MaxLifetime - 15*time.Minute
)

// Lifecycle events (lifecycleEvent).
const (
	EventReauthorizationRequired = "reauthorizationRequired"
	EventSubscriptionRemoved     = "subscriptionRemoved"
	EventMissed                  = "missed"
)

// Action is what the manager did to a tenant's subscription.
type Action string

const (
	ActionKept         Action = "kept"         // alive and far from expiry
	ActionCreated      Action = "created"      // there was none
	ActionRecreated    Action = "recreated"    // Graph lost it, or it expired or changed
	ActionRenewed      Action = "renewed"      // its expiry moved
	ActionReauthorized Action = "reauthorized" // reauthorizationRequired answered
	ActionDeleted      Action = "deleted"      // notifications are off
	ActionNone         Action = "none"         // nothing to do in Graph
)

// Outcome is what happened to one tenant's subscription.
type Outcome struct {
	Tenant         string
	Action         Action
	SubscriptionID string
	ExpiresAt      time.Time
	// NeedsPull: changes may have gone unnotified (the subscription was
	// missing for a while, or Graph said so): pull the tenant's directions.
	NeedsPull bool
}

// Manager keeps the subscriptions of the source tenants.
type Manager struct {
	Graph Graph
	Store Store
	// Tenants are the source tenants of the configured directions (see
	// SourceTenants).
	Tenants []galsync.Tenant
	// NotificationURL is where Graph posts change notifications (the
	// graph-notify function); empty turns notifications off.
	NotificationURL string
	// LifecycleURL is where Graph posts lifecycle notifications (the
	// graph-lifecycle function); empty means none.
	LifecycleURL string
	// Lifetime is the expiry asked of Graph (DefaultLifetime when 0). A
	// subscription is renewed once less than a third of it is left.
	Lifetime time.Duration
	Now      galsync.Clock
	Logger   *slog.Logger
}

func (m *Manager) lifetime() time.Duration {
	if m.Lifetime <= 0 {
		return DefaultLifetime
	}
	return m.Lifetime
}

func (m *Manager) logger() *slog.Logger {
	if m.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return m.Logger
}

// SourceTenants are the tenants some direction reads from, each once, in
// the topology's order.
func SourceTenants(t galsync.Topology) []galsync.Tenant {
	var out []galsync.Tenant
	seen := map[string]bool{}
	for _, d := range t.Directions {
		if tn, ok := t.Tenant(d.Source); ok && !seen[tn.Name] {
			seen[tn.Name] = true
			out = append(out, tn)
		}
	}
	return out
}

// Ensure brings every source tenant's subscription to where it should be
// (the subscription-timer's work): created if missing, created again if
// Graph lost it or its settings changed, renewed when a third of its
// lifetime is left, and verified otherwise. With notifications off, it
// deletes galsync's subscriptions instead. It goes on past a failing
// tenant and returns every failure.
func (m *Manager) Ensure(ctx context.Context) ([]Outcome, error) {
	if m.NotificationURL == "" {
		return m.deleteAll(ctx)
	}
	var outs []Outcome
	var errs []error
	for _, t := range m.Tenants {
		o, err := m.ensure(ctx, t)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		outs = append(outs, o)
	}
	return outs, errors.Join(errs...)
}

// HandleLifecycle answers a lifecycle event of a tenant's subscription:
// reauthorizationRequired reauthorizes it (renews it, if due); a
// subscription Graph no longer has, or subscriptionRemoved, is created
// again; missed, and any event Graph may add later, asks for a pull.
func (m *Manager) HandleLifecycle(ctx context.Context, tenant, event string) (Outcome, error) {
	switch event {
	case EventReauthorizationRequired:
		return m.reauthorize(ctx, tenant)
	case EventSubscriptionRemoved:
		t, rec, err := m.load(ctx, tenant)
		if err != nil {
			return Outcome{Tenant: tenant}, err
		}
		return m.recreate(ctx, t, rec)
	default:
		return Outcome{Tenant: tenant, Action: ActionNone, NeedsPull: true}, nil
	}
}

func (m *Manager) ensure(ctx context.Context, t galsync.Tenant) (Outcome, error) {
	rec, err := m.record(ctx, t.Name)
	if err != nil {
		return Outcome{Tenant: t.Name}, err
	}
	return m.apply(ctx, t, rec, m.verify)
}

// apply does what plan says a record needs: create, recreate or renew (a
// renewal reauthorizes too). A record that needs none of them is settled
// by settle: checked with Graph, or reauthorized.
func (m *Manager) apply(ctx context.Context, t galsync.Tenant, rec galsync.Subscription,
	settle func(context.Context, galsync.Tenant, galsync.Subscription) (Outcome, error)) (Outcome, error) {
	switch plan(rec, m.want(t), m.Now(), m.lifetime()) {
	case stepCreate:
		return m.create(ctx, t, rec, ActionCreated)
	case stepRecreate:
		return m.recreate(ctx, t, rec)
	case stepRenew:
		return m.renew(ctx, t, rec)
	default:
		return settle(ctx, t, rec)
	}
}

// record reads a tenant's record; none yet is an empty one.
func (m *Manager) record(ctx context.Context, tenant string) (galsync.Subscription, error) {
	rec, err := m.Store.GetSubscription(ctx, tenant)
	if errors.Is(err, galsync.ErrNotFound) {
		return galsync.Subscription{Tenant: tenant}, nil
	}
	if err != nil {
		return rec, fmt.Errorf("subscription %s: read record: %w", tenant, err)
	}
	return rec, nil
}

// want is the subscription a tenant should have.
func (m *Manager) want(t galsync.Tenant) galsync.Subscription {
	return galsync.Subscription{Tenant: t.Name, TenantID: t.TenantID, Resource: Resource, ChangeType: ChangeType,
		NotificationURL: m.NotificationURL, LifecycleURL: m.LifecycleURL}
}

type step int

const (
	stepVerify step = iota
	stepCreate
	stepRecreate
	stepRenew
)

// plan decides what a stored subscription needs.
func plan(rec, want galsync.Subscription, now time.Time, lifetime time.Duration) step {
	switch {
	case rec.ID == "":
		return stepCreate
	case rec.Resource != want.Resource || rec.ChangeType != want.ChangeType || rec.NotificationURL != want.NotificationURL ||
		rec.LifecycleURL != want.LifecycleURL || rec.TenantID != want.TenantID || rec.ClientState == "":
		// Graph cannot add a lifecycleNotificationUrl to a subscription,
		// so any change of settings means a new one.
		return stepRecreate
	case !now.Before(rec.ExpiresAt):
		return stepRecreate // Graph has deleted it
	case rec.ExpiresAt.Sub(now) < lifetime/3:
		return stepRenew
	default:
		return stepVerify
	}
}

// load finds a configured source tenant and its record.
func (m *Manager) load(ctx context.Context, tenant string) (galsync.Tenant, galsync.Subscription, error) {
	var t galsync.Tenant
	found := false
	for _, x := range m.Tenants {
		if x.Name == tenant {
			t, found = x, true
		}
	}
	if !found {
		return t, galsync.Subscription{}, galsync.Permanent(fmt.Errorf("subscription %s: not a source tenant", tenant))
	}
	if m.NotificationURL == "" {
		return t, galsync.Subscription{}, galsync.Permanent(fmt.Errorf("subscription %s: change notifications are off", tenant))
	}
	rec, err := m.record(ctx, tenant)
	return t, rec, err
}

// verify asks Graph whether the subscription is still there.
func (m *Manager) verify(ctx context.Context, t galsync.Tenant, rec galsync.Subscription) (Outcome, error) {
	_, err := m.Graph.GetSubscription(ctx, t.Name, rec.ID)
	if errors.Is(err, galsync.ErrNotFound) {
		m.logger().Warn("Graph lost the subscription; creating it again", "tenant", t.Name, "subscription", rec.ID)
		return m.recreate(ctx, t, rec)
	}
	if err != nil {
		return Outcome{Tenant: t.Name}, fmt.Errorf("subscription %s: check: %w", t.Name, err)
	}
	return Outcome{Tenant: t.Name, Action: ActionKept, SubscriptionID: rec.ID, ExpiresAt: rec.ExpiresAt}, nil
}

func (m *Manager) renew(ctx context.Context, t galsync.Tenant, rec galsync.Subscription) (Outcome, error) {
	now := m.Now()
	exp, err := m.Graph.RenewSubscription(ctx, t.Name, rec.ID, now.Add(m.lifetime()))
	if errors.Is(err, galsync.ErrNotFound) {
		return m.recreate(ctx, t, rec)
	}
	if err != nil {
		return Outcome{Tenant: t.Name}, fmt.Errorf("subscription %s: renew: %w", t.Name, err)
	}
	rec.ExpiresAt, rec.RenewedAt, rec.UpdatedAt = exp, now, now
	saved, err := m.Store.PutSubscription(ctx, rec)
	if err != nil {
		return Outcome{Tenant: t.Name}, fmt.Errorf("subscription %s: save renewal: %w", t.Name, err)
	}
	return Outcome{Tenant: t.Name, Action: ActionRenewed, SubscriptionID: saved.ID, ExpiresAt: saved.ExpiresAt}, nil
}

func (m *Manager) reauthorize(ctx context.Context, tenant string) (Outcome, error) {
	t, rec, err := m.load(ctx, tenant)
	if err != nil {
		return Outcome{Tenant: tenant}, err
	}
	return m.apply(ctx, t, rec, m.reauthorizeNow)
}

// reauthorizeNow answers the challenge without moving the expiry.
func (m *Manager) reauthorizeNow(ctx context.Context, t galsync.Tenant, rec galsync.Subscription) (Outcome, error) {
	err := m.Graph.ReauthorizeSubscription(ctx, t.Name, rec.ID)
	if errors.Is(err, galsync.ErrNotFound) {
		return m.recreate(ctx, t, rec)
	}
	if err != nil {
		return Outcome{Tenant: t.Name}, fmt.Errorf("subscription %s: reauthorize: %w", t.Name, err)
	}
	return Outcome{Tenant: t.Name, Action: ActionReauthorized, SubscriptionID: rec.ID, ExpiresAt: rec.ExpiresAt}, nil
}

// recreate replaces a subscription Graph lost, or one that must change:
// the old one is deleted (if Graph still has it), a new one created, and
// the tenant pulled, because changes in between were not notified.
func (m *Manager) recreate(ctx context.Context, t galsync.Tenant, rec galsync.Subscription) (Outcome, error) {
	if rec.ID != "" {
		if err := m.Graph.DeleteSubscription(ctx, t.Name, rec.ID); err != nil && !errors.Is(err, galsync.ErrNotFound) {
			// It expires on its own; its notifications are refused meanwhile,
			// as the record no longer knows its id.
			m.logger().Warn("could not delete the old subscription", "tenant", t.Name, "subscription", rec.ID, "err", err)
		}
	}
	o, err := m.create(ctx, t, rec, ActionRecreated)
	o.NeedsPull = err == nil
	return o, err
}

// create makes a subscription with a fresh clientState and records it.
// rec is the record it replaces (its ETag guards the write).
func (m *Manager) create(ctx context.Context, t galsync.Tenant, rec galsync.Subscription, action Action) (Outcome, error) {
	now := m.Now()
	want := m.want(t)
	want.ClientState = rand.Text()
	want.ExpiresAt = now.Add(m.lifetime())
	created, err := m.Graph.CreateSubscription(ctx, t.Name, want)
	if err != nil {
		return Outcome{Tenant: t.Name}, fmt.Errorf("subscription %s: create: %w", t.Name, err)
	}
	want.ID, want.ExpiresAt = created.ID, created.ExpiresAt
	want.CreatedAt, want.UpdatedAt, want.ETag = now, now, rec.ETag
	saved, err := m.Store.PutSubscription(ctx, want)
	if err != nil {
		// Unrecorded, its notifications would be refused: take it back.
		if derr := m.Graph.DeleteSubscription(ctx, t.Name, created.ID); derr != nil {
			m.logger().Warn("could not delete an unrecorded subscription", "tenant", t.Name, "subscription", created.ID, "err", derr)
		}
		return Outcome{Tenant: t.Name}, fmt.Errorf("subscription %s: save: %w", t.Name, err)
	}
	return Outcome{Tenant: t.Name, Action: action, SubscriptionID: saved.ID, ExpiresAt: saved.ExpiresAt}, nil
}

// deleteAll removes galsync's subscriptions when notifications are off;
// the records stay, without id or secret.
func (m *Manager) deleteAll(ctx context.Context) ([]Outcome, error) {
	recs, err := m.Store.ListSubscriptions(ctx)
	if err != nil {
		return nil, fmt.Errorf("subscriptions: list records: %w", err)
	}
	var outs []Outcome
	var errs []error
	for _, rec := range recs {
		if rec.ID == "" {
			continue
		}
		if err := m.Graph.DeleteSubscription(ctx, rec.Tenant, rec.ID); err != nil && !errors.Is(err, galsync.ErrNotFound) {
			errs = append(errs, fmt.Errorf("subscription %s: delete: %w", rec.Tenant, err))
			continue
		}
		id := rec.ID
		rec.ID, rec.ClientState, rec.UpdatedAt = "", "", m.Now()
		if _, err := m.Store.PutSubscription(ctx, rec); err != nil {
			errs = append(errs, fmt.Errorf("subscription %s: save: %w", rec.Tenant, err))
			continue
		}
		outs = append(outs, Outcome{Tenant: rec.Tenant, Action: ActionDeleted, SubscriptionID: id})
	}
	return outs, errors.Join(errs...)
}
