package handlers

import (
	"context"
	"fmt"
	"net/http"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/logctx"
	"github.com/galsync/galsync/shared/notify"
	"github.com/galsync/galsync/shared/pipeline"
	"github.com/galsync/galsync/shared/queue"
)

// graphLifecycle is the subscriptions' lifecycleNotificationUrl. It shares
// graph-notify's handshake and checks (notify.go). Graph's flow for a
// reauthorizationRequired notification starts "Acknowledge receipt of the
// lifecycle notification by responding to the POST call with 202 -
// Accepted", then validates it, then calls /reauthorize or PATCHes the
// subscription (https://learn.microsoft.com/graph/change-notifications-lifecycle-events),
// and Graph delays, then drops, an endpoint slower than 3 s; reauthorizing
// or creating a subscription is a Graph call of its own, with retries. So the endpoint only queues the
// work on the pulls queue (galsync.PullLifecycle) and answers; delta-pull
// then reauthorizes (or renews) the subscription on reauthorizationRequired,
// creates it again on subscriptionRemoved and pulls what went unnotified.
// A missed event is a pull, asked for at once.
//
// The pulls queue rather than a queue of its own: this is a few messages
// a month per tenant of control work like the sweep's and the full
// round's, which delta-pull already dispatches by mode; it gets the same
// settlement (a transient failure rescheduled, a permanent one parked for
// `galsync dlq`) and the same trace across the hop, and needs no queue
// in the deployment.
func graphLifecycle(d Deps) http.Handler { return notificationEndpoint(d, FuncGraphLifecycle) }

// queueLifecycle queues the work of every accepted lifecycle event but
// missed (a pull, which the caller asks for), in one send, and returns
// how many it queued.
func (d Deps) queueLifecycle(ctx context.Context, events []notify.Event) (int, error) {
	var msgs []queue.Message
	now := d.Now()
	for _, ev := range events {
		if ev.LifecycleEvent == notify.EventMissed {
			continue
		}
		if d.Subscriptions == nil {
			logctx.From(ctx).ErrorContext(ctx, "lifecycle event ignored: this deployment does not manage subscriptions",
				"tenant", ev.Tenant, "subscription", ev.SubscriptionID, "event", ev.LifecycleEvent)
			continue
		}
		m, err := pipeline.LifecycleMessage(galsync.LifecycleWork{Tenant: ev.Tenant, Event: ev.LifecycleEvent, Subscription: ev.SubscriptionID}, now)
		if err != nil {
			return 0, err
		}
		msgs = append(msgs, m)
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	if err := d.Queue.Send(ctx, galsync.QueuePulls, msgs...); err != nil {
		return 0, fmt.Errorf("queue lifecycle work: %w", err)
	}
	return len(msgs), nil
}

// actOnLifecycle does what a queued lifecycle event asks, through the
// subscription manager, and asks for the pulls it needs. An error is the
// queue handler's to settle: rescheduled when a retry may cure it, parked
// when not.
func (d Deps) actOnLifecycle(ctx context.Context, work galsync.LifecycleWork) (string, error) {
	log := logctx.From(ctx).With("tenant", work.Tenant, "subscription", work.Subscription, "event", work.Event)
	if d.Subscriptions == nil {
		log.ErrorContext(ctx, "lifecycle event ignored: this deployment does not manage subscriptions")
		return fmt.Sprintf("%s of tenant %s ignored: subscriptions are not managed here", work.Event, work.Tenant), nil
	}
	out, err := d.Subscriptions.HandleLifecycle(ctx, work.Tenant, work.Event)
	if err != nil {
		return "", fmt.Errorf("%s of tenant %s: %w", work.Event, work.Tenant, err)
	}
	log.InfoContext(ctx, "lifecycle event handled", "action", out.Action, "new_subscription", out.SubscriptionID, "expires", out.ExpiresAt)
	pulls := map[string]string{}
	if out.NeedsPull {
		for _, dir := range d.directionsFrom(work.Tenant) {
			pulls[dir] = "lifecycle"
		}
	}
	if err := d.Pulls.Request(ctx, pulls); err != nil {
		return "", fmt.Errorf("%s of tenant %s handled (%s), but: %w", work.Event, work.Tenant, out.Action, err)
	}
	return fmt.Sprintf("%s of tenant %s: %s %s; pulls asked for %d direction(s)", work.Event, work.Tenant, out.Action, out.SubscriptionID, len(pulls)), nil
}
