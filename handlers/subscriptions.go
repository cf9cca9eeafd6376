package handlers

import (
	"context"
	"fmt"
	"net/http"

	"github.com/galsync/galsync/shared/funcproto"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/logctx"
	"github.com/galsync/galsync/shared/subscription"
)

// SubscriptionManager keeps the Graph change-notification subscriptions
// (*subscription.Manager).
type SubscriptionManager interface {
	Ensure(ctx context.Context) ([]subscription.Outcome, error)
	HandleLifecycle(ctx context.Context, tenant, event string) (subscription.Outcome, error)
}

// SubscriptionRecords reads the kept subscriptions, against which
// notifications are checked (the store).
type SubscriptionRecords interface {
	ListSubscriptions(ctx context.Context) ([]galsync.Subscription, error)
}

var _ SubscriptionManager = (*subscription.Manager)(nil)

// subscriptionTimer keeps one subscription per source tenant: created,
// renewed well before it expires, created again when Graph lost it (and
// then the tenant's directions pulled, for what went unnotified). A
// failure fails the invocation, after the tenants that worked are done;
// the next tick tries again.
func subscriptionTimer(d Deps) http.Handler {
	return serveTimer(d, FuncSubscriptionTimer, func(ctx context.Context, _ funcproto.TimerInfo, _ string) (answer, error) {
		if d.Subscriptions == nil {
			return logged("change notifications are not managed by this deployment"), nil
		}
		outs, ensureErr := d.Subscriptions.Ensure(ctx)
		logs := make([]string, 0, len(outs)+1)
		pulls := map[string]string{}
		for _, o := range outs {
			logctx.From(ctx).InfoContext(ctx, "subscription", "tenant", o.Tenant, "action", o.Action,
				"subscription", o.SubscriptionID, "expires", o.ExpiresAt, "pull", o.NeedsPull)
			logs = append(logs, fmt.Sprintf("%s: %s %s (expires %s)", o.Tenant, o.Action, o.SubscriptionID, o.ExpiresAt.Format("2006-01-02T15:04Z")))
			if o.NeedsPull {
				for _, dir := range d.directionsFrom(o.Tenant) {
					pulls[dir] = "resubscribed"
				}
			}
		}
		if err := d.Pulls.Request(ctx, pulls); err != nil {
			return answer{}, err
		}
		if ensureErr != nil {
			return answer{}, ensureErr
		}
		if len(logs) == 0 {
			logs = append(logs, "no subscription to keep")
		}
		return logged(logs...), nil
	})
}
