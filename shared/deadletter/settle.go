package deadletter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/galsync/galsync/shared/queue"
)

// Receiving tunables.
const (
	receiveBatch = 100
	receiveWait  = time.Second
	// maxEmptyReceives: after this many receives in a row return nothing,
	// what is still wanted is gone or locked by someone else.
	maxEmptyReceives = 2
)

// settleBatch settles wanted deliveries of one queue and returns the
// sequence numbers it settled. An error stops the operation.
type settleBatch func(ctx context.Context, mainQueue string, ds []queue.Delivery) (settled map[int64]bool, err error)

// settle receives the planned (Pending) items of the report with
// peek-lock and hands them to act; they end with outcome done, or Missing
// if they could not be received.
func settle(ctx context.Context, s Settler, o Options, op string, r *Report, act settleBatch, done Outcome) error {
	total := r.Count(Pending)
	finished := 0
	for _, q := range o.Queues {
		want := map[int64]int{}
		for i, it := range r.Items {
			if it.Queue == q && it.Outcome == Pending {
				want[it.SequenceNumber] = i
			}
		}
		if len(want) == 0 {
			continue
		}
		mark := func(ctx context.Context, q string, ds []queue.Delivery) (map[int64]bool, error) {
			settled, err := act(ctx, q, ds)
			for seq := range settled {
				r.Items[want[seq]].Outcome = done
				finished++
			}
			o.progress(Progress{Op: op, Queue: q, Done: finished, Total: total})
			return settled, err
		}
		if err := drain(ctx, s, q, want, mark); err != nil {
			return err
		}
		for _, i := range want {
			r.Items[i].Outcome = Missing
		}
	}
	return nil
}

// drain receives queue's dead letters until act has settled every wanted
// one (removing it from want) or nothing more can be received. Peek-lock
// receiving hands out the oldest unlocked messages, so the ones not wanted
// are held, locked, until the end: released at once, they would be received
// again and again.
func drain(ctx context.Context, s Settler, mainQueue string, want map[int64]int, act settleBatch) (err error) {
	dlq := Source(mainQueue)
	var held heldLocks
	defer func() {
		// Release even when cancelled: a held message must not wait for
		// its lock to expire.
		err = errors.Join(err, held.release(context.WithoutCancel(ctx), s))
	}()
	for empty := 0; len(want) > 0 && empty < maxEmptyReceives; {
		if err := held.renew(ctx, s); err != nil {
			return err
		}
		ds, err := s.Receive(ctx, dlq, receiveBatch, receiveWait)
		if err != nil {
			return fmt.Errorf("deadletter: receive from %s: %w", dlq, err)
		}
		if len(ds) == 0 {
			empty++
			continue
		}
		empty = 0
		var mine []queue.Delivery
		for _, d := range ds {
			if _, ok := want[d.SequenceNumber]; ok {
				mine = append(mine, d)
			} else {
				held.add(d)
			}
		}
		if len(mine) == 0 {
			continue
		}
		settled, err := act(ctx, mainQueue, mine)
		for _, d := range mine {
			if settled[d.SequenceNumber] {
				delete(want, d.SequenceNumber)
			} else {
				held.add(d)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// heldLocks are received dead letters kept locked, and renewed, until the
// operation ends.
type heldLocks struct {
	ds      []queue.Delivery
	renewAt []time.Time
}

func (h *heldLocks) add(d queue.Delivery) {
	h.ds = append(h.ds, d)
	h.renewAt = append(h.renewAt, halfway(d.LockedUntil))
}

// halfway is when a lock held until until is renewed: halfway there.
func halfway(until time.Time) time.Time {
	now := time.Now()
	return now.Add(until.Sub(now) / 2)
}

// renew renews the locks that are halfway to expiry. A lock already lost
// lets its message go (another receiver may have it now).
func (h *heldLocks) renew(ctx context.Context, s Settler) error {
	keep := 0
	for i, d := range h.ds {
		at := h.renewAt[i]
		if !d.LockedUntil.IsZero() && time.Now().After(at) {
			until, err := s.RenewLock(ctx, d)
			switch {
			case errors.Is(err, queue.ErrLockLost):
				continue
			case err != nil:
				return fmt.Errorf("deadletter: keep a lock on %s #%d: %w", d.Queue, d.SequenceNumber, err)
			}
			d.LockedUntil, at = until, halfway(until)
		}
		h.ds[keep], h.renewAt[keep] = d, at
		keep++
	}
	h.ds, h.renewAt = h.ds[:keep], h.renewAt[:keep]
	return nil
}

// release abandons every held message, leaving it in the dead-letter queue
// as it was (but for its delivery count).
func (h *heldLocks) release(ctx context.Context, s Settler) error {
	var errs []error
	for _, d := range h.ds {
		if err := s.Abandon(ctx, d, nil); err != nil && !errors.Is(err, queue.ErrLockLost) {
			errs = append(errs, fmt.Errorf("deadletter: release %s #%d: %w", d.Queue, d.SequenceNumber, err))
		}
	}
	h.ds, h.renewAt = nil, nil
	return errors.Join(errs...)
}
