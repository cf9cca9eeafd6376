package embedded_test

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/embedded"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

// TestDepthKeepsCount: the counts Depth keeps in memory match the
// buckets through sends (duplicates, scheduled ones), receives past the
// max delivery count, completes, abandons and dead-letters, on either
// queue, and again after a reopen.
func TestDepthKeepsCount(t *testing.T) {
	path := filepath.Join(t.TempDir(), "galsync.db")
	c := newClock()
	opts := embedded.WithoutSync(embedded.Options{Now: c.Now,
		Queues: allQueues(queue.Options{LockDuration: time.Minute, MaxDeliveryCount: 2, DuplicateDetectionWindow: time.Hour})})
	db, err := embedded.Open(path, opts)
	must(t, err)
	ctx := t.Context()
	q, dlq := galsync.QueueUpdates, queue.DeadLetterQueue(galsync.QueueUpdates)
	rng := rand.New(rand.NewPCG(7, 11))
	// The fake clock's advances make scheduled messages due, and the
	// schedule's timer activates them on its own goroutine: between its
	// commit and its count, Depth lags the buckets. The two must agree
	// once it is done.
	check := func(step string) {
		t.Helper()
		for wait := time.Millisecond; ; wait *= 2 {
			active, dead := depth(t, db, q)
			wa, wd := embedded.WalkedDepth(db, q)
			if active == wa && dead == wd {
				return
			}
			if wait > time.Second {
				t.Fatalf("after %s: Depth %d active, %d dead; the buckets hold %d, %d", step, active, dead, wa, wd)
			}
			time.Sleep(wait)
		}
	}
	for i := range 400 {
		switch op := rng.IntN(6); op {
		case 0, 1:
			m := msg(fmt.Sprintf("m-%d", rng.IntN(300))) // some are duplicates
			if rng.IntN(4) == 0 {
				m.ScheduledAt = c.Now().Add(time.Minute)
			}
			must(t, db.Send(ctx, q, m))
		case 2:
			c.Advance(20 * time.Second) // schedules come due, locks lapse
		default:
			name := q
			if rng.IntN(4) == 0 {
				name = dlq
			}
			ds, err := db.Receive(ctx, name, 3, 0)
			must(t, err)
			for _, d := range ds {
				switch rng.IntN(3) {
				case 0:
					must(t, db.Complete(ctx, d))
				case 1:
					must(t, db.Abandon(ctx, d, nil))
				default:
					if name == q {
						must(t, db.DeadLetter(ctx, d, "test", "op"))
					}
				}
			}
		}
		check(fmt.Sprintf("step %d", i))
	}
	must(t, db.Close())
	db = open(t, opts, path)
	check("reopen")
}
