package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/shared/syncplan"
)

// Updater is the update worker: it converges a guest on the desired
// snapshot with one PATCH of only the changed attributes (invariant 4),
// ignores items older than what the link already applied (invariant 3), and
// retires guests per the direction's policy.
type Updater struct {
	Directions Catalog
	Store      LinkStore
	Graph      GuestDirectory
	Queue      queue.Sender
	Now        galsync.Clock
	// InviteWait is how long to wait for an invitation, or another
	// worker's write to the same guest, before giving the item back to the
	// queue (invitation) or taking the write over (a claim whose worker
	// seems gone).
	InviteWait time.Duration
	// ClaimTTL: a claim older than this is ignored (its worker died).
	ClaimTTL time.Duration
	Logger   *slog.Logger
}

// Handle processes one updates-queue item.
func (w *Updater) Handle(ctx context.Context, item galsync.WorkItem, invocationID string) (Outcome, error) {
	d, err := w.Directions.Get(item.Direction)
	if err != nil {
		return Outcome{}, err
	}
	for attempt := 0; ; attempt++ {
		out, err := w.try(ctx, d, item, invocationID)
		if errors.Is(err, galsync.ErrConflict) && attempt < 4 {
			continue // the link moved under us: read it again
		}
		if err != nil && !errors.Is(err, errInviteInProgress) {
			logFailure(ctx, w.Store, w.Logger, w.Now(), item, actionOf(item), invocationID, err)
		}
		return out, err
	}
}

// replicationGrace: a guest created this recently that Graph answers 404
// for is taken as not yet replicated, not as deleted.
const replicationGrace = 5 * time.Minute

var errInviteInProgress = errors.New("update worker: the guest's invitation is still in progress")

func actionOf(item galsync.WorkItem) string {
	if item.Kind == galsync.WorkDeprovision {
		return galsync.ActionDisable
	}
	return galsync.ActionUpdate
}

func (w *Updater) try(ctx context.Context, d *Direction, item galsync.WorkItem, invocationID string) (Outcome, error) {
	link, err := w.waitForLink(ctx, d.Name, item.SourceUserID)
	if errors.Is(err, galsync.ErrNotFound) {
		if item.Kind == galsync.WorkDeprovision {
			return w.done(ctx, item, invocationID, "", galsync.ActionSkip, galsync.OutcomeSkipped, syncplan.ReasonRemovedOnly, nil)
		}
		return Outcome{Action: HandOff, Reason: "no guest yet"}, handOff(ctx, w.Queue, galsync.QueueInvites, item, "nolink")
	}
	if err != nil {
		return Outcome{}, err
	}
	if item.Seq < link.AppliedSeq {
		return w.done(ctx, item, invocationID, link.TargetUserID, galsync.ActionSkip, galsync.OutcomeNoChange,
			fmt.Sprintf("stale: seq %d is older than the applied seq %d", item.Seq, link.AppliedSeq), nil)
	}
	if item.Kind == galsync.WorkDeprovision {
		return w.deprovision(ctx, d, link, item, invocationID)
	}
	if link.State == galsync.LinkDeleted {
		return Outcome{Action: HandOff, Reason: "guest was deleted; inviting again"}, handOff(ctx, w.Queue, galsync.QueueInvites, item, "deleted:"+link.TargetUserID)
	}
	return w.update(ctx, d, link, item, invocationID)
}

// waitForLink reads the link, waiting a little while an invitation of
// another item is in progress.
func (w *Updater) waitForLink(ctx context.Context, dir, src string) (galsync.Link, error) {
	deadline := w.Now().Add(w.InviteWait)
	for {
		link, err := w.Store.GetLink(ctx, dir, src)
		if err != nil {
			if errors.Is(err, galsync.ErrNotFound) {
				return link, err
			}
			return link, fmt.Errorf("update worker: read link: %w", err)
		}
		busy := link.State == galsync.LinkInviting || w.claimed(link)
		if !busy {
			return link, nil
		}
		if !w.Now().Before(deadline) {
			if link.State == galsync.LinkInviting {
				return link, errInviteInProgress
			}
			return link, nil // a write claim that outlived the wait: take it over
		}
		select {
		case <-ctx.Done():
			return link, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// pendingChanges is what converging a guest on desired writes: the
// attributes that differ from what the link applied, and, for a disabled
// guest, re-enabling it (action reenable, else update).
func pendingChanges(link galsync.Link, desired galsync.Snapshot) (map[string]any, string) {
	changes := syncplan.Diff(link.Applied, desired)
	if link.State == galsync.LinkDisabled {
		changes["accountEnabled"] = true
		return changes, galsync.ActionReenable
	}
	return changes, galsync.ActionUpdate
}

// claimed: another write to this guest is in progress (a fresh claim).
func (w *Updater) claimed(l galsync.Link) bool {
	ttl := w.ClaimTTL
	if ttl <= 0 {
		ttl = 2 * time.Minute
	}
	return !l.ClaimedAt.IsZero() && w.Now().Sub(l.ClaimedAt) < ttl
}

// claim marks the link as being written for item, ETag-guarded: of two
// workers holding copies of one item (a duplicate delivery), only one wins
// and writes to Graph; the other re-reads, waits, and finds it applied.
func (w *Updater) claim(ctx context.Context, link galsync.Link, item galsync.WorkItem) (galsync.Link, error) {
	link.ClaimedAt, link.ClaimSeq = w.Now(), item.Seq
	claimed, err := w.Store.PutLink(ctx, link)
	if err != nil {
		return link, fmt.Errorf("update worker: claim link: %w", err)
	}
	return claimed, nil
}

func (w *Updater) update(ctx context.Context, d *Direction, link galsync.Link, item galsync.WorkItem, invocationID string) (Outcome, error) {
	changes, action := pendingChanges(link, item.Desired)
	if len(changes) > 0 {
		var err error
		if link, err = w.claim(ctx, link, item); err != nil {
			return Outcome{}, err
		}
		err = w.Graph.UpdateUser(ctx, d.Target.Name, link.TargetUserID, changes)
		if errors.Is(err, galsync.ErrNotFound) && w.Now().Sub(link.CreatedAt) < replicationGrace {
			// A guest invited moments ago may not have reached every
			// directory replica yet (Graph: "Processing delays"): retry
			// rather than take it for deleted and invite again.
			link.ClearClaim()
			if _, perr := w.Store.PutLink(ctx, link); perr != nil {
				w.Logger.Warn("update worker: could not release the claim", "direction", d.Name, "sourceUser", item.SourceUserID, "err", perr)
			}
			return Outcome{}, fmt.Errorf("update worker: the new guest is not visible yet (directory replication); retrying: %w", err)
		}
		if errors.Is(err, galsync.ErrNotFound) {
			// Someone deleted the guest in the target: record it and invite again.
			link.State, link.UpdatedAt = galsync.LinkDeleted, w.Now()
			link.ClearClaim()
			if _, err := w.Store.PutLink(ctx, link); err != nil {
				return Outcome{}, fmt.Errorf("update worker: record deleted guest: %w", err)
			}
			return Outcome{Action: HandOff, Reason: "guest missing in target"}, handOff(ctx, w.Queue, galsync.QueueInvites, item, "deleted:"+link.TargetUserID)
		}
		if err != nil {
			return Outcome{}, fmt.Errorf("update worker: %w", err)
		}
	}
	if len(changes) == 0 && item.Seq == link.AppliedSeq {
		// A duplicate delivery of what is already applied: nothing to write.
		return Outcome{Action: galsync.ActionSkip, Reason: "unchanged"}, nil
	}
	link.Applied, link.AppliedSeq, link.State, link.UpdatedAt = item.Desired.Clone(), item.Seq, galsync.LinkActive, w.Now()
	link.ClearClaim()
	if _, err := w.Store.PutLink(ctx, link); err != nil {
		return Outcome{}, fmt.Errorf("update worker: record applied snapshot: %w", err)
	}
	if len(changes) == 0 {
		return w.done(ctx, item, invocationID, link.TargetUserID, galsync.ActionUpdate, galsync.OutcomeNoChange, "unchanged", nil)
	}
	return w.done(ctx, item, invocationID, link.TargetUserID, action, galsync.OutcomeSuccess, "", slices.Sorted(maps.Keys(changes)))
}

func (w *Updater) deprovision(ctx context.Context, d *Direction, link galsync.Link, item galsync.WorkItem, invocationID string) (Outcome, error) {
	action, why := syncplan.DeprovisionAction(d.Deprovision.Action, link.State)
	switch action {
	case "":
		return w.done(ctx, item, invocationID, link.TargetUserID, galsync.ActionSkip, galsync.OutcomeSkipped, why, nil)
	}
	link, err := w.claim(ctx, link, item)
	if err != nil {
		return Outcome{}, err
	}
	switch action {
	case galsync.ActionDisable:
		err := w.Graph.UpdateUser(ctx, d.Target.Name, link.TargetUserID, map[string]any{"accountEnabled": false})
		if err != nil && !errors.Is(err, galsync.ErrNotFound) {
			return Outcome{}, fmt.Errorf("update worker: disable guest: %w", err)
		}
		link.State = galsync.LinkDisabled
		if err != nil {
			link.State = galsync.LinkDeleted
		}
	case galsync.ActionDelete:
		if err := w.Graph.DeleteUser(ctx, d.Target.Name, link.TargetUserID); err != nil && !errors.Is(err, galsync.ErrNotFound) {
			return Outcome{}, fmt.Errorf("update worker: delete guest: %w", err)
		}
		link.State = galsync.LinkDeleted
	}
	link.AppliedSeq, link.UpdatedAt = item.Seq, w.Now()
	link.ClearClaim()
	if _, err := w.Store.PutLink(ctx, link); err != nil {
		return Outcome{}, fmt.Errorf("update worker: record %s: %w", action, err)
	}
	return w.done(ctx, item, invocationID, link.TargetUserID, action, galsync.OutcomeSuccess, item.Reason, nil)
}

func (w *Updater) done(ctx context.Context, item galsync.WorkItem, invocationID, target, action, outcome, reason string, attrs []string) (Outcome, error) {
	err := w.Store.AppendLog(ctx, galsync.LogEntry{Time: w.Now(), Direction: item.Direction, SourceUserID: item.SourceUserID,
		TargetUserID: target, Action: action, Outcome: outcome, Reason: reason, Attributes: attrs, Seq: item.Seq, InvocationID: invocationID})
	if err != nil {
		return Outcome{}, fmt.Errorf("update worker: log: %w", err)
	}
	return Outcome{Action: action, Reason: reason}, nil
}
