package handlers

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/galsync/galsync/shared/funcproto"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/pipeline"
	"github.com/galsync/galsync/shared/queue"
)

// deltaTimer is the safety net behind change notifications: on every tick
// it asks for a pull of every direction, folded in the timer's coalescing
// window (pipeline.Coalescer), so overlapping or retried ticks fold into
// one.
func deltaTimer(d Deps) http.Handler {
	return directionTimer(d, FuncDeltaTimer, "a pull", func(dir string, now time.Time) (queue.Message, error) {
		return d.Pulls.TickMessage(dir, now)
	})
}

// sweepTimer asks for a sweep of every direction: each linked guest is
// compared with its desired state, and work is sent for those that
// differ. Ticks within one minute (a retried timer) fold into one sweep.
func sweepTimer(d Deps) http.Handler {
	return directionTimer(d, FuncSweepTimer, "a sweep", func(dir string, now time.Time) (queue.Message, error) {
		m, err := pipeline.SweepMessage(dir, "timer", now)
		m.ID = queue.FitID(fmt.Sprintf("sweep:%s:timer:%d", dir, now.Unix()/60))
		return m, err
	})
}

// fullSyncTimer asks for a fresh full round of every direction's source,
// which catches what incremental rounds miss (Graph documents that, with
// $select, a restored user may not surface in delta:
// learn.microsoft.com/graph/delta-query-users, "Known limitations").
func fullSyncTimer(d Deps) http.Handler {
	return directionTimer(d, FuncFullSyncTimer, "a full round", func(dir string, now time.Time) (queue.Message, error) {
		m, err := pipeline.FullRoundMessage(dir, "timer", now)
		m.ID = queue.FitID(fmt.Sprintf("full:%s:timer:%d", dir, now.Unix()/60))
		return m, err
	})
}

// directionTimer is a timer function that sends one pulls-queue message per
// direction.
func directionTimer(d Deps, function, what string, message func(dir string, now time.Time) (queue.Message, error)) http.Handler {
	return serveTimer(d, function, func(ctx context.Context, info funcproto.TimerInfo, _ string) (answer, error) {
		now := d.Now()
		names := d.Directions.Names()
		msgs := make([]queue.Message, 0, len(names))
		for _, name := range names {
			m, err := message(name, now)
			if err != nil {
				return answer{}, err
			}
			msgs = append(msgs, m)
		}
		if err := d.Queue.Send(ctx, galsync.QueuePulls, msgs...); err != nil {
			return answer{}, fmt.Errorf("enqueue: %w", err)
		}
		return logged(fmt.Sprintf("requested %s of %d direction(s) (past due: %t)", what, len(msgs), info.IsPastDue)), nil
	})
}
