package handlers

import (
	"context"
	"fmt"
	"net/http"

	"github.com/galsync/galsync/shared/logctx"
	"github.com/galsync/galsync/shared/notify"
)

// graphLifecycle is the subscriptions' lifecycleNotificationUrl. It shares
// graph-notify's handshake and checks (notify.go); its events are answered
// as Graph asks (https://learn.microsoft.com/graph/change-notifications-lifecycle-events):
// reauthorizationRequired by reauthorizing (or renewing) the subscription,
// subscriptionRemoved by creating it again and pulling what went
// unnotified, missed by pulling.
func graphLifecycle(d Deps) http.Handler { return notificationEndpoint(d, FuncGraphLifecycle) }

// lifecycle answers one lifecycle event through the subscription manager
// and adds the pulls it needs to dirs.
func (d Deps) lifecycle(ctx context.Context, ev notify.Event, dirs map[string]string) error {
	log := logctx.From(ctx).With("tenant", ev.Tenant, "subscription", ev.SubscriptionID, "event", ev.LifecycleEvent)
	if d.Subscriptions == nil {
		log.Error("lifecycle event ignored: this deployment does not manage subscriptions")
		return nil
	}
	out, err := d.Subscriptions.HandleLifecycle(ctx, ev.Tenant, ev.LifecycleEvent)
	if err != nil {
		log.Error("lifecycle event not handled", "err", err)
		return fmt.Errorf("%s of tenant %s: %w", ev.LifecycleEvent, ev.Tenant, err)
	}
	log.Info("lifecycle event handled", "action", out.Action, "new_subscription", out.SubscriptionID, "expires", out.ExpiresAt)
	if out.NeedsPull {
		for _, dir := range d.directionsFrom(ev.Tenant) {
			dirs[dir] = "lifecycle"
		}
	}
	return nil
}
