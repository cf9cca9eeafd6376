package pipeline

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/galsync/galsync/shared/galsync"
)

// The waits of the pipeline, in synctest bubbles: time.Now, the embedded
// queue's schedule timers and the fake Graph's replication delay all run
// on the bubble's fake clock, so each wait is exact and costs no real
// time, and nothing sleeps to let something else happen.

// A transient failure comes back after the Retrier's delay, not before:
// the rescheduled message is invisible to a receive one millisecond early
// and becomes active at the delay. (The embedded queue's writes take fake
// time of their own, a batch delay each, so the waits are measured from
// the failure.)
func TestRetriedMessageComesBackAfterItsDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, testTopology("disable", galsync.Threshold{}))
		rt := &Retrier{Queue: r.db, Log: r.db, Now: time.Now, Jitter: func() float64 { return 0.5 }, Logger: r.p.Logger}
		r.seed(1)
		r.pull()
		ctx := context.Background()
		ds, err := r.db.Receive(ctx, galsync.QueueInvites, 1, 0)
		if err != nil || len(ds) != 1 {
			t.Fatalf("receive: %d, %v", len(ds), err)
		}
		// Retry-After 7 s first; then the backoff: 2 s doubled once, jittered to 3 s.
		for attempt, tc := range []struct{ after, want time.Duration }{{7 * time.Second, 7 * time.Second}, {0, 3 * time.Second}} {
			failedAt := time.Now()
			s, err := rt.Fail(ctx, galsync.QueueInvites, ds[0].Message, galsync.RetryAfter(errors.New("503"), tc.after), "t")
			if err != nil || s.Parked || s.Delay != tc.want {
				t.Fatalf("attempt %d: %+v, %v; want a retry in %s", attempt+1, s, err, tc.want)
			}
			if err := r.db.Complete(ctx, ds[0]); err != nil {
				t.Fatal(err)
			}
			due := failedAt.Add(tc.want)
			time.Sleep(time.Until(due) - time.Millisecond)
			if early, _ := r.db.Receive(ctx, galsync.QueueInvites, 1, 0); len(early) != 0 {
				t.Fatalf("attempt %d: the retry came early, at %s of %s", attempt+1, time.Since(failedAt), tc.want)
			}
			// The queue makes it active at its time (its own timer, a
			// write): wait for that.
			if ds, err = r.db.Receive(ctx, galsync.QueueInvites, 1, time.Second); err != nil || len(ds) != 1 || ds[0].EnqueuedAt.Before(due) {
				t.Fatalf("attempt %d: no retry after %s (%v), or one enqueued before %s: %+v", attempt+1, tc.want, err, due, ds)
			}
		}
	})
}

// An invitation claimed by a worker that died is not taken over while the
// claim is fresh (the retry waits 5 s), and is once it is ClaimTTL old:
// one invitation in all.
func TestDeadWorkersClaimIsTakenOverAfterItsTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, testTopology("disable", galsync.Threshold{}))
		r.inv.Now = time.Now
		r.seed(1)
		r.pull()
		ctx := context.Background()
		ds, _ := r.db.Receive(ctx, galsync.QueueInvites, 1, 0)
		item, err := galsync.DecodeWorkItem(ds[0].Body)
		if err != nil {
			t.Fatal(err)
		}
		// What a worker that died after claiming leaves behind.
		claimed := galsync.Link{Direction: item.Direction, SourceUserID: item.SourceUserID, CreatedAt: time.Now(),
			State: galsync.LinkInviting, ClaimedAt: time.Now(), ClaimSeq: item.Seq}
		claimed.Observe(item.Seq, item.Source)
		if _, err := r.db.PutLink(ctx, claimed); err != nil {
			t.Fatal(err)
		}
		time.Sleep(r.inv.ClaimTTL - time.Second)
		_, err = r.inv.Handle(ctx, item, "t")
		if after, ok := galsync.RetryDelay(err); !ok || after != 5*time.Second || r.g.writeCount("invite") != 0 {
			t.Fatalf("a fresh claim: %v, %d invitations; want a retry in 5s and none", err, r.g.writeCount("invite"))
		}
		time.Sleep(time.Second)
		if out, err := r.inv.Handle(ctx, item, "t"); err != nil || out.Action != galsync.ActionInvite || r.g.writeCount("invite") != 1 {
			t.Fatalf("a claim %s old: %+v, %v, %d invitations; want it taken over, one invitation", r.inv.ClaimTTL, out, err, r.g.writeCount("invite"))
		}
	})
}
