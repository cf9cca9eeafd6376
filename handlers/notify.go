package handlers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/galsync/galsync/shared/funcproto"
	"github.com/galsync/galsync/shared/logctx"
	"github.com/galsync/galsync/shared/notify"
)

// graph-notify and graph-lifecycle are the endpoints Graph posts to: the
// subscriptions' notificationUrl and lifecycleNotificationUrl. Both are
// anonymous HTTP triggers (Graph sends no function key); what vouches for
// a notification is its subscription's clientState. They do the same work,
// so that an operator may give Graph one URL for both, as Graph allows
// (https://learn.microsoft.com/graph/change-notifications-lifecycle-events):
//
//   - ?validationToken=... is the handshake of a subscription being created:
//     answer 200 text/plain with the decoded token, within 10 s
//     (https://learn.microsoft.com/graph/change-notifications-delivery-webhooks,
//     "notificationUrl validation");
//   - a notification batch is checked item by item (known subscription,
//     its tenant, its clientState in constant time); valid change
//     notifications and missed events ask for one pull per affected
//     direction, coalesced per direction and short window; the other
//     lifecycle events (reauthorizationRequired, subscriptionRemoved) are
//     queued for delta-pull, which acts on them through the subscription
//     manager after the answer: Graph's flow acknowledges receipt with
//     202 Accepted first and acts after (lifecycle.go);
//   - the answer is 202 (Graph wants a 2xx within 3 s, else it retries and
//     finally throttles the endpoint), 400 for a malformed or empty body,
//     413 for an oversize one. Refused notifications are answered 202 too:
//     a non-2xx would only make Graph resend them for hours. A failure on
//     galsync's side (store, queue) answers 500, so Graph resends.
//
// Nothing of a body is logged: it holds the clientState.

// maxNotifyInvocationBytes bounds an HTTP invocation: the envelope carries
// the body as a JSON string, at most six bytes per byte of a
// notify.MaxBodyBytes body. Bigger is refused 413 unread.
const maxNotifyInvocationBytes = 8 * notify.MaxBodyBytes

// maxValidationToken bounds the token echoed back.
const maxValidationToken = 4 << 10

// httpOutput is the name of the functions' http output binding.
const httpOutput = "res"

func graphNotify(d Deps) http.Handler { return notificationEndpoint(d, FuncGraphNotify) }

func notificationEndpoint(d Deps, function string) http.Handler {
	refuse := func(status int, msg string) answer {
		return textAnswer(status, msg, fmt.Sprintf("%d: %s", status, msg))
	}
	return serveHTTP(d, function, maxNotifyInvocationBytes, refuse, func(ctx context.Context, req funcproto.HTTPRequest, _ string) (answer, error) {
		if token, ok := req.QueryValue("validationToken"); ok {
			return validationAnswer(ctx, token), nil
		}
		batch, err := notify.Parse(req.Body)
		if err != nil {
			status := http.StatusBadRequest
			if errors.Is(err, notify.ErrTooLarge) {
				status = http.StatusRequestEntityTooLarge
			}
			logctx.From(ctx).WarnContext(ctx, "notification refused", "status", status, "err", err)
			return textAnswer(status, http.StatusText(status), fmt.Sprintf("%d: %v", status, err)), nil
		}
		summary, err := d.receive(ctx, batch)
		if err != nil {
			return answer{}, err
		}
		return textAnswer(http.StatusAccepted, "", summary), nil
	})
}

// validationAnswer echoes the handshake's token as plain text. The host
// has already URL-decoded the query; the token is sent back as is, with
// nosniff so no browser reads it as anything but text.
func validationAnswer(ctx context.Context, token string) answer {
	if token == "" || len(token) > maxValidationToken {
		logctx.From(ctx).WarnContext(ctx, "validation refused: empty or oversize token", "length", len(token))
		return textAnswer(http.StatusBadRequest, "bad validation token", "400: bad validation token")
	}
	logctx.From(ctx).InfoContext(ctx, "answered Graph's validation handshake")
	return httpAnswer(http.StatusOK, "text/plain; charset=utf-8", []byte(token), map[string]string{"X-Content-Type-Options": "nosniff"},
		"200: validation token echoed")
}

// receive checks a batch, queues the work its lifecycle events ask for
// and asks for the pulls it needs. Nothing here calls Graph: the answer
// waits only for the queue.
func (d Deps) receive(ctx context.Context, batch notify.Batch) (string, error) {
	lookup, err := d.knownSubscriptions(ctx)
	if err != nil {
		return "", fmt.Errorf("read subscriptions: %w", err)
	}
	res := notify.Check(batch, lookup)
	dirs := map[string]string{} // direction → trigger
	for _, dir := range res.Directions {
		dirs[dir] = "notification"
	}
	queued, err := d.queueLifecycle(ctx, res.Events)
	if err != nil {
		return "", err
	}
	if err := d.Pulls.Request(ctx, dirs); err != nil {
		return "", err
	}
	log := logctx.From(ctx)
	if n := res.RejectedCount(); n > 0 {
		log.WarnContext(ctx, "notifications refused", "refused", n, "reasons", reasons(res.Rejected), "accepted", res.Accepted)
	}
	log.InfoContext(ctx, "notifications received", "accepted", res.Accepted, "refused", res.RejectedCount(), "pulls", len(dirs),
		"events", len(res.Events), "queued", queued)
	return fmt.Sprintf("202: %d accepted, %d refused %s; pulls asked for %v; %d lifecycle event(s) queued", res.Accepted, res.RejectedCount(),
		reasons(res.Rejected), slices.Sorted(maps.Keys(dirs)), queued), nil
}

// knownSubscriptions reads the kept subscriptions into a lookup by id.
func (d Deps) knownSubscriptions(ctx context.Context) (notify.Lookup, error) {
	known := map[string]notify.Subscription{}
	if d.SubscriptionRecords != nil {
		recs, err := d.SubscriptionRecords.ListSubscriptions(ctx)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			if rec.ID == "" || rec.ClientState == "" {
				continue
			}
			known[strings.ToLower(rec.ID)] = notify.Subscription{Tenant: rec.Tenant, TenantID: rec.TenantID,
				ClientState: rec.ClientState, Directions: d.directionsFrom(rec.Tenant)}
		}
	}
	return func(id string) (notify.Subscription, bool) {
		s, ok := known[strings.ToLower(id)]
		return s, ok
	}, nil
}

// directionsFrom lists the directions whose source is tenant, sorted.
func (d Deps) directionsFrom(tenant string) []string {
	var out []string
	for name, dir := range d.Directions {
		if dir.Source.Name == tenant {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// reasons writes refusal counts as "(wrong-client-state 2, malformed 1)".
func reasons(r map[notify.Reason]int) string {
	if len(r) == 0 {
		return ""
	}
	parts := make([]string, 0, len(r))
	for _, k := range slices.Sorted(maps.Keys(r)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, r[k]))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
