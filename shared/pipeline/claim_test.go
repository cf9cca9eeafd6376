package pipeline

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/galsync/galsync/shared/galsync"
)

// The Graph work done under a claim ends galsync.ClaimMargin(ttl) before the
// claim may be taken over, however long the Graph client would keep
// trying: a worker never writes after its claim expired, and the work is
// retried later. In a synctest bubble, so the stalled calls' deadlines
// pass at once.
func TestWorkUnderAClaimEndsBeforeTheClaimExpires(t *testing.T) {
	const ttl = 2 * time.Minute
	steps := []struct {
		name string
		run  func(r *rig) (time.Time, error) // returns when the claim was taken
	}{
		{"invite", func(r *rig) (time.Time, error) {
			item := r.takeOne(galsync.QueueInvites)
			start := time.Now()
			_, err := r.inv.Handle(context.Background(), item, "t")
			return start, err
		}},
		{"update", func(r *rig) (time.Time, error) {
			r.g.stall = false
			r.drain()
			r.change(map[string]any{"jobTitle": "Lead"})
			r.g.stall = true
			start := time.Now()
			_, err := r.upd.Handle(context.Background(), r.takeOne(galsync.QueueUpdates), "t")
			return start, err
		}},
		{"disable", func(r *rig) (time.Time, error) {
			r.g.stall = false
			r.drain()
			r.change(map[string]any{"accountEnabled": false})
			r.g.stall = true
			start := time.Now()
			_, err := r.upd.Handle(context.Background(), r.takeOne(galsync.QueueUpdates), "t")
			return start, err
		}},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, testTopology(galsync.DeprovisionDisable, galsync.Threshold{}))
				r.inv.ClaimTTL, r.upd.ClaimTTL = ttl, ttl
				r.seed(1)
				r.pull()
				r.g.stall = true
				start, err := step.run(r)
				if _, retried := galsync.RetryDelay(err); !retried || galsync.IsPermanent(err) || !strings.Contains(err.Error(), "claim's time ran out") {
					t.Fatalf("err = %v, want a transient failure naming the claim", err)
				}
				if len(r.g.stalledUntil) != 1 {
					t.Fatalf("%d stalled calls, want 1", len(r.g.stalledUntil))
				}
				// start is a little before the claim: the store's writes
				// take the bubble's time too (bbolt batches them).
				if cut := r.g.stalledUntil[0].Sub(start); cut > ttl-galsync.ClaimMargin(ttl)+time.Second || cut < ttl/2 {
					t.Errorf("the Graph call was cut off %s after the claim, want at its %s less the %s margin", cut, ttl, galsync.ClaimMargin(ttl))
				}
				l := r.link("a")
				if !l.ClaimedAt.IsZero() || l.State == galsync.LinkInviting {
					t.Errorf("link after the cut-off = %+v, want the claim released", l)
				}
			})
		})
	}
}
