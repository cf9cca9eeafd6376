package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

// ApprovalStore is what approving a paused direction reads and writes.
type ApprovalStore interface {
	GetDirectionState(ctx context.Context, direction string) (galsync.DirectionState, error)
	PutDirectionState(ctx context.Context, s galsync.DirectionState) (galsync.DirectionState, error)
	AppendLog(ctx context.Context, entries ...galsync.LogEntry) error
}

// ErrNotPaused: there is nothing to approve.
var ErrNotPaused = errors.New("the direction is not paused: there is nothing to approve")

// Approval releases (or discards) the deprovisions a direction's
// accidental-deletion threshold held back, and resumes the direction.
type Approval struct {
	Directions Catalog
	Store      ApprovalStore
	Queue      queue.Sender
	Now        galsync.Clock
}

// Held returns a paused direction's state, for review before approving.
func (a *Approval) Held(ctx context.Context, direction string) (galsync.DirectionState, error) {
	if _, err := a.Directions.Get(direction); err != nil {
		return galsync.DirectionState{}, err
	}
	st, err := a.Store.GetDirectionState(ctx, direction)
	if errors.Is(err, galsync.ErrNotFound) || err == nil && !st.Paused {
		return st, ErrNotPaused
	}
	return st, err
}

// Approve releases exactly the held batch to the update worker and resumes
// the direction. With discard, the batch is dropped instead: the guests
// stay as they are. who names the operator for the provisioning log.
//
// The held items are sent before the pause is cleared: a crash in between
// leaves the direction paused with the batch already queued, and approving
// again sends the same message ids (dropped as duplicates, or skipped by
// the update worker as already applied), so nothing happens twice.
func (a *Approval) Approve(ctx context.Context, direction, who string, discard bool) (int, error) {
	st, err := a.Held(ctx, direction)
	if err != nil {
		return 0, err
	}
	held := st.Held
	if !discard {
		if err := sendItems(ctx, a.Queue, galsync.QueueUpdates, held); err != nil {
			return 0, fmt.Errorf("approve %s: %w", direction, err)
		}
	}
	now := a.Now()
	st.Paused, st.PausedAt, st.PauseReason, st.Held, st.UpdatedAt = false, time.Time{}, "", nil, now
	if _, err := a.Store.PutDirectionState(ctx, st); err != nil {
		if errors.Is(err, galsync.ErrConflict) {
			return 0, fmt.Errorf("approve %s: the direction's state changed while approving; look at it again and retry: %w", direction, err)
		}
		return 0, fmt.Errorf("approve %s: %w", direction, err)
	}
	action, verb := galsync.ActionApprove, "released"
	if discard {
		action, verb = galsync.ActionDiscard, "discarded"
	}
	who = strings.TrimSpace(who)
	if who == "" {
		who = "an operator"
	}
	reason := fmt.Sprintf("%s %s %d held deprovision(s)", who, verb, len(held))
	if err := a.Store.AppendLog(ctx, galsync.LogEntry{Time: now, Direction: direction, Action: action,
		Outcome: galsync.OutcomeSuccess, Reason: reason}); err != nil {
		return len(held), fmt.Errorf("approve %s: log: %w", direction, err)
	}
	return len(held), nil
}
