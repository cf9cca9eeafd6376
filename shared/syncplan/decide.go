package syncplan

import (
	"github.com/galsync/galsync/shared/galsync"
)

// Verdicts of Decide.
const (
	VerdictInvite      = "invite"      // no guest yet: to the invite worker
	VerdictUpdate      = "update"      // a guest exists: to the update worker
	VerdictDeprovision = "deprovision" // retire the guest, per policy, after the threshold check
	VerdictSkip        = "skip"
)

// Deprovisioning reasons.
const (
	ReasonDeleted     = "deleted in the source tenant"
	ReasonSoftDeleted = "soft-deleted in the source tenant"
	ReasonLeftScope   = "left scope: "
	ReasonNotSeen     = "absent from a full resync of the source tenant"
	ReasonRemovedOnly = "removed in the source and never synced"
	ReasonPolicyNone  = "deprovisioning policy is none"
	ReasonAlreadyDone = "guest already retired"
)

// Decision is what a pull does with one source user.
type Decision struct {
	Verdict string
	Reason  string
	// Item is set for invite, update and deprovision (Seq left to the caller).
	Item galsync.WorkItem
}

// Decide turns one delta entry into a decision. link is the user's link in
// this direction, nil when there is none.
func (r *Rules) Decide(u galsync.SourceUser, link *galsync.Link) Decision {
	item := galsync.WorkItem{Direction: r.Direction.Name, SourceUserID: u.ID}
	if u.Removed != "" {
		reason := ReasonDeleted
		if u.Removed == "changed" {
			reason = ReasonSoftDeleted
		}
		return r.deprovision(item, link, reason)
	}
	if in, why := r.InScope(u); !in {
		if link == nil || !link.HasGuest() {
			return Decision{Verdict: VerdictSkip, Reason: why}
		}
		return r.deprovision(item, link, ReasonLeftScope+why)
	}
	item.Kind = galsync.WorkUpsert
	item.Source = galsync.Snapshot(u.Attributes).Clone()
	if link == nil || !link.HasGuest() {
		return Decision{Verdict: VerdictInvite, Item: item}
	}
	return Decision{Verdict: VerdictUpdate, Item: item}
}

func (r *Rules) deprovision(item galsync.WorkItem, link *galsync.Link, reason string) Decision {
	if link == nil || !link.HasGuest() {
		return Decision{Verdict: VerdictSkip, Reason: ReasonRemovedOnly}
	}
	if v, why := DeprovisionAction(r.Direction.Deprovision.Action, link.State); v == "" {
		return Decision{Verdict: VerdictSkip, Reason: why}
	}
	item.Kind = galsync.WorkDeprovision
	item.Reason = reason
	return Decision{Verdict: VerdictDeprovision, Reason: reason, Item: item}
}

// DeprovisionAction is what a deprovisioning does to a guest in state s
// under policy: galsync.ActionDisable, galsync.ActionDelete, or "" with the
// reason nothing is done.
func DeprovisionAction(policy string, s galsync.LinkState) (string, string) {
	switch {
	case policy == galsync.DeprovisionNone || policy == "":
		return "", ReasonPolicyNone
	case s == galsync.LinkDeleted:
		return "", ReasonAlreadyDone
	case policy == galsync.DeprovisionDelete:
		return galsync.ActionDelete, ""
	case s == galsync.LinkDisabled:
		return "", ReasonAlreadyDone
	}
	return galsync.ActionDisable, ""
}

// Diff lists the attributes whose desired value differs from the current
// one (the guest as read from the target), with the desired value (nil
// clears). Empty string, empty list and nil are the same "empty".
func Diff(current, desired galsync.Snapshot) map[string]any {
	changes := map[string]any{}
	for k, want := range desired {
		if !equalValue(galsync.Normalize(current[k]), want) {
			changes[k] = want
		}
	}
	return changes
}

// equalValue is galsync.SameValue with empty string, empty list and nil
// the same "empty".
func equalValue(a, b any) bool {
	return isEmpty(a) && isEmpty(b) || galsync.SameValue(a, b)
}
