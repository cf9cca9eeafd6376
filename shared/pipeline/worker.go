package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/galsync/galsync/shared/galsync"
)

// What the invite and update workers (and the groups run) share: their
// defaults, claims and the staleness of retired users.

// DefaultClaimTTL is how long a claim holds off other workers when the
// worker is given none (GALSYNC_INVITE_CLAIM_TTL's default): long enough
// for several Graph calls, each of which may wait for the tenant's budget
// and take a 60 s attempt, and for kiota's Retry-After waits.
const DefaultClaimTTL = 5 * time.Minute

// DefaultReplicationWait is the default wait before a new guest is read.
const DefaultReplicationWait = 3 * time.Second

// orDefault is d, or def when d is not set.
func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// underClaim bounds the Graph work done under a claim taken at claimedAt:
// it must end galsync.ClaimMargin(ttl) before the claim may be taken over, so a
// worker never writes after its claim expired. The Graph client alone can
// take longer than a claim lasts (kiota waits up to 180 s of Retry-After
// over up to 10 attempts of up to 60 s each, besides the wait for the
// tenant's budget); at the deadline its call is cancelled, and the work
// is retried later like any transient failure.
func underClaim(ctx context.Context, claimedAt, now time.Time, ttl time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, claimedAt.Add(ttl-galsync.ClaimMargin(ttl)).Sub(now))
}

// outOfClaim explains a Graph call cut off by its claim's deadline (a
// transient failure); other errors pass unchanged.
func outOfClaim(claimCtx context.Context, err error) error {
	if err == nil || !errors.Is(claimCtx.Err(), context.DeadlineExceeded) {
		return err
	}
	return galsync.RetryAfter(fmt.Errorf("the claim's time ran out before Graph answered (the claim lasts "+
		"GALSYNC_INVITE_CLAIM_TTL; writing stops before it expires, by 30 s or a quarter of a shorter TTL): %w", err), 0)
}

// retiredSince says why item is stale if it was observed no later than the
// observation that retired link's guest: a scheduled retry or a replay of
// work from before the user left scope must neither re-enable the guest
// nor invite a new one. Deprovision items are ordered by SourceSeq instead.
func retiredSince(link galsync.Link, item galsync.WorkItem) (string, bool) {
	if link.RetiredSeq == 0 || item.Seq > link.RetiredSeq || item.Kind == galsync.WorkDeprovision {
		return "", false
	}
	return fmt.Sprintf("stale: the user left scope at seq %d and its guest was retired (%s); this item (seq %d) is older, "+
		"and only a newer observation in scope brings the guest back", link.RetiredSeq, link.State, item.Seq), true
}

// journal is how the invite and update workers record what they did: the
// provisioning log, the clock, and the worker's name for errors.
type journal struct {
	worker string
	store  LinkStore
	now    galsync.Clock
}

// done logs what was done with item (to the target user, if any) and says
// it.
func (j journal) done(ctx context.Context, item galsync.WorkItem, target, action, outcome, reason string, attrs []string) (Outcome, error) {
	err := j.store.AppendLog(ctx, galsync.LogEntry{Time: j.now(), Direction: item.Direction, SourceUserID: item.SourceUserID,
		TargetUserID: target, Action: action, Outcome: outcome, Reason: reason, Attributes: attrs, Seq: item.Seq})
	if err != nil {
		return Outcome{}, fmt.Errorf("%s: log: %w", j.worker, err)
	}
	return Outcome{Action: action, Reason: reason, Attributes: attrs}, nil
}

// conflict records on link that the target holds the user's address as a
// user galsync will not or cannot take over (member, its id): a state of
// the link, not a failure, logged once. was is the link as it stood before
// this item, whose conflict, if the same, is not logged again.
func (j journal) conflict(ctx context.Context, item galsync.WorkItem, link, was galsync.Link, member, reason string) (Outcome, error) {
	link.State, link.Conflict, link.TargetUserID, link.UpdatedAt = galsync.LinkConflict, reason, "", j.now()
	link.ClearClaim()
	if _, err := j.store.PutLink(ctx, link); err != nil {
		return Outcome{}, fmt.Errorf("%s: record conflict: %w", j.worker, err)
	}
	if was.State == galsync.LinkConflict && was.Conflict == reason {
		return Outcome{Action: galsync.ActionSkip, Reason: "conflict unchanged"}, nil
	}
	return j.done(ctx, item, member, galsync.ActionConflict, galsync.OutcomeSkipped, reason, nil)
}
