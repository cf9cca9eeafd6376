package deadletter

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

// ReplayOptions are Replay's options.
type ReplayOptions struct {
	Options
	// MaxReplays: a message replayed this many times already is refused
	// unless Force is set (zero means DefaultMaxReplays).
	MaxReplays int
	Force      bool
	// DryRun reports what Replay would do, and changes nothing.
	DryRun bool
}

// Replay sends a copy of every selected dead letter to the queue it was
// dead-lettered from, then removes the dead letter. The copy keeps the body,
// content type, subject, correlation id and application properties; it has
// galsync-replay-count one higher and a message id of its own (ReplayID).
// Letters already replayed MaxReplays times are refused unless forced, and
// left where they are.
func Replay(ctx context.Context, q ReplayQueue, o ReplayOptions) (Report, error) {
	if err := o.Validate(); err != nil {
		return Report{}, err
	}
	limit := o.MaxReplays
	if limit <= 0 {
		limit = DefaultMaxReplays
	}
	r := Report{DryRun: o.DryRun, Items: []Item{}}
	taken := 0
	err := scan(ctx, q, o.Options, func(l Letter) bool {
		it := Item{Letter: l, Outcome: Refused}
		if l.ReplayCount < limit || o.Force {
			if o.Limit > 0 && taken == o.Limit {
				return false
			}
			taken++
			it.Outcome, it.ReplayID = Pending, ReplayID(l.OriginalID, l.ReplayCount+1)
			if o.DryRun {
				it.Outcome = WouldReplay
			}
		}
		r.Items = append(r.Items, it)
		return true
	})
	if err != nil || o.DryRun {
		return r, err
	}
	return r, settle(ctx, q, o.Options, OpReplay, &r, replayBatch(q), Replayed)
}

// replayBatch sends the copies, then completes the dead letters, in that
// order. A crash (or a failed Complete) between the two leaves the dead
// letter in place and its copy on the queue; the next replay sends the copy
// again under the same id, which duplicate detection drops within its
// window. Past the window, or if the first copy has already run, the work
// runs twice, and that is safe: the workers are idempotent (the invite
// worker joins by link, then by address, under an ETag-guarded claim; the
// update worker patches only what differs from the link's applied snapshot
// and ignores a seq older than the one applied; a pull re-reads from the
// stored cursor). The other order could lose the message to a crash.
func replayBatch(q ReplayQueue) settleBatch {
	return func(ctx context.Context, mainQueue string, ds []queue.Delivery) (map[int64]bool, error) {
		byQueue := map[string][]queue.Message{}
		var order []string
		var sendable []queue.Delivery
		for _, d := range ds {
			to := mainQueue
			if mainQueue == galsync.QueueParked {
				to = d.Properties[queue.PropParkedFrom]
				if !slices.Contains(galsync.WorkQueues(), to) {
					continue // nowhere to send it: left parked
				}
			}
			if _, ok := byQueue[to]; !ok {
				order = append(order, to)
			}
			byQueue[to] = append(byQueue[to], replayCopy(d))
			sendable = append(sendable, d)
		}
		for _, to := range order {
			if err := q.Send(ctx, to, byQueue[to]...); err != nil {
				return nil, fmt.Errorf("deadletter: send %d replayed message(s) to %s: %w", len(byQueue[to]), to, err)
			}
		}
		return completeAll(ctx, q, sendable)
	}
}

// replayCopy is the message a dead letter is replayed as.
func replayCopy(d queue.Delivery) queue.Message {
	n := replayCount(d) + 1
	props := maps.Clone(d.Properties)
	if props == nil {
		props = map[string]string{}
	}
	props[queue.PropReplayCount] = strconv.Itoa(n)
	// A replay starts its retries afresh, and is no longer parked.
	for _, k := range []string{queue.PropAttempt, queue.PropRetrySince, queue.PropParkedFrom, queue.PropParkedReason} {
		delete(props, k)
	}
	m := d.Message
	m.ScheduledAt = time.Time{}
	props[queue.PropOriginalID] = originalOf(d)
	m.ID, m.Properties = ReplayID(originalOf(d), n), props
	return m
}

// completeAll completes each delivery and returns the ones it completed.
func completeAll(ctx context.Context, s Settler, ds []queue.Delivery) (map[int64]bool, error) {
	done := make(map[int64]bool, len(ds))
	var errs []error
	for _, d := range ds {
		if err := s.Complete(ctx, d); err != nil {
			errs = append(errs, fmt.Errorf("deadletter: remove %s #%d: %w", d.Queue, d.SequenceNumber, err))
			continue
		}
		done[d.SequenceNumber] = true
	}
	return done, errors.Join(errs...)
}
