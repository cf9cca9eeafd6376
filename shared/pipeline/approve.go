package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

// heldLister walks a direction's held pages.
type heldLister interface {
	ListHeld(ctx context.Context, direction string, fn func(galsync.HeldPage) error) error
}

// ApprovalStore is what approving a paused direction reads and writes.
type ApprovalStore interface {
	heldLister
	GetDirectionState(ctx context.Context, direction string) (galsync.DirectionState, error)
	PutDirectionState(ctx context.Context, s galsync.DirectionState) (galsync.DirectionState, error)
	DeleteHeld(ctx context.Context, direction string, firstSeq int64) error
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

// Held returns a paused direction's state, for review before approving;
// ListHeld lists what it holds.
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

// ListHeld calls fn for every deprovision st's direction holds, a page at
// a time (memory stays bounded by a page, not by the pause): those of a
// pause saved before held items had pages of their own first. An error
// from fn stops the walk.
func (a *Approval) ListHeld(ctx context.Context, st galsync.DirectionState, fn func(galsync.WorkItem) error) error {
	for _, it := range st.LegacyHeld {
		if err := fn(it); err != nil {
			return err
		}
	}
	return a.Store.ListHeld(ctx, st.Direction, func(p galsync.HeldPage) error {
		for _, it := range p.Items {
			if err := fn(it); err != nil {
				return err
			}
		}
		return nil
	})
}

// Approve releases the held deprovisions to the update worker and resumes
// the direction. With discard, they are dropped instead: the guests stay
// as they are. who names the operator for the provisioning log. It
// returns how many it released or dropped.
//
// It works a held page at a time: it sends the page's items, then deletes
// the page, and clears the pause once none is left. A crash leaves the
// direction paused with what was not yet sent still held; approving again
// releases the rest, and a page sent but not deleted goes again under the
// same message ids (dropped as duplicates, or skipped by the update worker
// as already applied), so nothing happens twice. A paused direction does
// not pull, so nothing is held meanwhile; the pause is cleared under the
// state's ETag all the same.
func (a *Approval) Approve(ctx context.Context, direction, who string, discard bool) (int, error) {
	st, err := a.Held(ctx, direction)
	if err != nil {
		return 0, err
	}
	n := len(st.LegacyHeld)
	if !discard {
		if err := sendItems(ctx, a.Queue, galsync.QueueUpdates, st.LegacyHeld); err != nil {
			return 0, fmt.Errorf("approve %s: %w", direction, err)
		}
	}
	for {
		page, ok, err := firstHeld(ctx, a.Store, direction)
		if err != nil {
			return n, fmt.Errorf("approve %s: %w", direction, err)
		}
		if !ok {
			break
		}
		if !discard {
			if err := sendItems(ctx, a.Queue, galsync.QueueUpdates, page.Items); err != nil {
				return n, fmt.Errorf("approve %s: %w", direction, err)
			}
		}
		if err := a.Store.DeleteHeld(ctx, direction, page.FirstSeq); err != nil {
			return n, fmt.Errorf("approve %s: %w", direction, err)
		}
		n += len(page.Items)
	}
	now := a.Now()
	st.Paused, st.PausedAt, st.PauseReason, st.HeldCount, st.LegacyHeld, st.UpdatedAt = false, time.Time{}, "", 0, nil, now
	if _, err := a.Store.PutDirectionState(ctx, st); err != nil {
		if errors.Is(err, galsync.ErrConflict) {
			return n, fmt.Errorf("approve %s: the direction's state changed while approving; look at it again and retry: %w", direction, err)
		}
		return n, fmt.Errorf("approve %s: %w", direction, err)
	}
	action, verb := galsync.ActionApprove, "released"
	if discard {
		action, verb = galsync.ActionDiscard, "discarded"
	}
	who = strings.TrimSpace(who)
	if who == "" {
		who = "an operator"
	}
	reason := fmt.Sprintf("%s %s %d held deprovision(s)", who, verb, n)
	if err := a.Store.AppendLog(ctx, galsync.LogEntry{Time: now, Direction: direction, Action: action,
		Outcome: galsync.OutcomeSuccess, Reason: reason}); err != nil {
		return n, fmt.Errorf("approve %s: log: %w", direction, err)
	}
	return n, nil
}

// errGotOne ends a walk of held pages at the first.
var errGotOne = errors.New("got one")

// firstHeld reads one held page of a direction, if any is left. Each is a
// walk of its own, from the start, since the pages approved before it are
// deleted by then.
func firstHeld(ctx context.Context, s heldLister, direction string) (galsync.HeldPage, bool, error) {
	var page galsync.HeldPage
	found := false
	err := s.ListHeld(ctx, direction, func(p galsync.HeldPage) error {
		page, found = p, true
		return errGotOne
	})
	if err != nil && !errors.Is(err, errGotOne) {
		return page, false, err
	}
	return page, found, nil
}

// A held page holds at most heldPageItems items and heldPageBytes of them
// encoded: far below the 2 MB a Cosmos DB item may be.
const (
	heldPageItems = 1000
	heldPageBytes = 512 << 10
)

// heldPages cuts items (in sequence order) into held pages.
func heldPages(direction string, items []galsync.WorkItem) ([]galsync.HeldPage, error) {
	var pages []galsync.HeldPage
	size := 0
	for _, it := range items {
		data, err := json.Marshal(it)
		if err != nil {
			return nil, fmt.Errorf("encode held item: %w", err)
		}
		if n := len(pages); n == 0 || len(pages[n-1].Items) == heldPageItems || size+len(data) > heldPageBytes {
			pages = append(pages, galsync.HeldPage{Direction: direction, FirstSeq: it.Seq})
			size = 0
		}
		pages[len(pages)-1].Items = append(pages[len(pages)-1].Items, it)
		size += len(data) + 1
	}
	return pages, nil
}

// countHeld counts the items of a direction's held pages.
func countHeld(ctx context.Context, s heldLister, direction string) (int, error) {
	n := 0
	err := s.ListHeld(ctx, direction, func(p galsync.HeldPage) error { n += len(p.Items); return nil })
	if err != nil {
		return 0, fmt.Errorf("count held deprovisions: %w", err)
	}
	return n, nil
}
