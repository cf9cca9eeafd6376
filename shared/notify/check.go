package notify

import (
	"crypto/sha256"
	"crypto/subtle"
	"maps"
	"slices"
	"strings"
)

// Subscription is what galsync knows of one of its subscriptions.
type Subscription struct {
	// Tenant is the topology name of the source tenant it watches.
	Tenant string
	// TenantID is that tenant's id, which every notification must carry.
	TenantID string
	// ClientState is the secret Graph echoes in every notification.
	ClientState string
	// Directions are the directions whose source is Tenant: a change there
	// needs a pull of each.
	Directions []string
}

// Lookup finds a subscription by its id (as Graph gives it); the caller
// supplies it from the store.
type Lookup func(subscriptionID string) (Subscription, bool)

// Reason is why a notification was refused.
type Reason string

const (
	// ReasonMalformed: an item of "value" that is not a notification object.
	ReasonMalformed Reason = "malformed"
	// ReasonIncomplete: a notification without subscriptionId or tenantId,
	// or with neither changeType nor lifecycleEvent.
	ReasonIncomplete Reason = "incomplete"
	// ReasonUnknownSubscription: not a subscription galsync keeps (or one
	// it has replaced).
	ReasonUnknownSubscription Reason = "unknown-subscription"
	// ReasonWrongTenant: tenantId is not the subscribed tenant's.
	ReasonWrongTenant Reason = "wrong-tenant"
	// ReasonWrongClientState: clientState is not the subscription's secret;
	// the notification may not come from Graph.
	ReasonWrongClientState Reason = "wrong-client-state"
)

// Event is an accepted lifecycle notification of one subscription.
type Event struct {
	SubscriptionID string
	Tenant         string
	LifecycleEvent string
}

// Result is the verdict on a batch.
type Result struct {
	// Accepted counts the notifications that passed every check.
	Accepted int
	// Directions need a pull (sorted, each once): those of the tenants with
	// an accepted change notification or missed event.
	Directions []string
	// Events are the accepted lifecycle notifications, each (subscription,
	// event) once, in arrival order. missed events are here too.
	Events []Event
	// Rejected counts refused notifications by reason.
	Rejected map[Reason]int
}

// RejectedCount is the number of refused notifications.
func (r Result) RejectedCount() int {
	n := 0
	for _, c := range r.Rejected {
		n += c
	}
	return n
}

// Check checks every notification of a batch against the known
// subscriptions: a known subscription id, the subscribed tenant, and the
// subscription's clientState, compared in constant time. Nothing is
// accepted without all three.
func Check(b Batch, lookup Lookup) Result {
	res := Result{Rejected: map[Reason]int{}}
	if b.Malformed > 0 {
		res.Rejected[ReasonMalformed] = b.Malformed
	}
	dirs := map[string]bool{}
	seen := map[Event]bool{}
	for _, n := range b.Notifications {
		sub, reason := verify(n, lookup)
		if reason != "" {
			res.Rejected[reason]++
			continue
		}
		res.Accepted++
		if n.IsLifecycle() {
			ev := Event{SubscriptionID: n.SubscriptionID, Tenant: sub.Tenant, LifecycleEvent: n.LifecycleEvent}
			if !seen[ev] {
				seen[ev] = true
				res.Events = append(res.Events, ev)
			}
			if n.LifecycleEvent != EventMissed {
				continue
			}
		}
		for _, d := range sub.Directions {
			dirs[d] = true
		}
	}
	res.Directions = slices.Sorted(maps.Keys(dirs))
	return res
}

func verify(n Notification, lookup Lookup) (Subscription, Reason) {
	if n.SubscriptionID == "" || n.TenantID == "" || (n.ChangeType == "" && n.LifecycleEvent == "") {
		return Subscription{}, ReasonIncomplete
	}
	sub, ok := lookup(n.SubscriptionID)
	if !ok {
		return Subscription{}, ReasonUnknownSubscription
	}
	if !strings.EqualFold(n.TenantID, sub.TenantID) {
		return Subscription{}, ReasonWrongTenant
	}
	if !SameSecret(n.ClientState, sub.ClientState) {
		return Subscription{}, ReasonWrongClientState
	}
	return sub, ""
}

// SameSecret compares a received clientState with the kept one in
// constant time. Both are hashed first, so the time does not tell the
// length either; an empty kept secret matches nothing.
func SameSecret(got, want string) bool {
	if want == "" {
		return false
	}
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
