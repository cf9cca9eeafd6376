package pipeline

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/embedded"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

// hourWindow opens the rig's queues as infra/servicebus.tf declares the
// invites and updates queues: duplicate detection over one hour.
func hourWindow() embedded.Options {
	qs := map[string]queue.Options{}
	for _, q := range galsync.Queues() {
		o := queue.DefaultOptions()
		o.DuplicateDetectionWindow = time.Hour
		qs[q] = o
	}
	return embedded.Options{Queues: qs}
}

// sweepNow runs a sweep asked for now, as the sweep timer asks.
func (r *rig) sweepNow() (SweepResult, queue.Message) {
	r.t.Helper()
	m, err := SweepMessage("src-to-tgt", "test", time.Now())
	if err != nil {
		r.t.Fatal(err)
	}
	return r.sweepMessage(m), m
}

func (r *rig) sweepMessage(m queue.Message) SweepResult {
	r.t.Helper()
	req, err := galsync.DecodePullRequest(m.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	res, err := r.sw.Sweep(context.Background(), req, "test")
	if err != nil {
		r.t.Fatalf("sweep: %v", err)
	}
	return res
}

func (r *rig) depth(q string) int {
	r.t.Helper()
	n, err := queue.Count(context.Background(), r.db, q, 1000)
	if err != nil {
		r.t.Fatal(err)
	}
	return n
}

// editTarget changes an attribute of the guests of the source users in
// the target, as an administrator there would.
func (r *rig) editTarget(attr string, value any, sources ...string) {
	r.t.Helper()
	r.g.mu.Lock()
	defer r.g.mu.Unlock()
	for _, id := range sources {
		l, err := r.db.GetLink(context.Background(), "src-to-tgt", id)
		if err != nil {
			r.t.Fatalf("link %s: %v", id, err)
		}
		r.g.target[l.TargetUserID].Attributes[attr] = value
	}
}

func (r *rig) targetAttr(source, attr string) any {
	r.t.Helper()
	l := r.link(source)
	r.g.mu.Lock()
	defer r.g.mu.Unlock()
	return r.g.target[l.TargetUserID].Attributes[attr]
}

// Two sweeps within the queues' duplicate-detection window (an hour on
// Service Bus) both repair a guest edited in the target, and both look at
// a conflict again: each round's items pass duplicate detection.
func TestSecondSweepWithinTheDuplicateWindowRepairs(t *testing.T) {
	r := newRigWith(t, testTopology("disable", galsync.Threshold{}), hourWindow())
	r.g.target["member-1"] = &galsync.TargetUser{ID: "member-1", UserType: "Member",
		Attributes: map[string]any{"mail": "c@src.example", "displayName": "Member C", "accountEnabled": true}}
	r.seed(4)
	r.pull()
	r.drain()
	r.runSweeps()
	if l := r.link("c"); l.State != galsync.LinkConflict {
		t.Fatalf("link c = %+v, want a conflict", l)
	}
	for i := 1; i <= 2; i++ {
		r.editTarget("jobTitle", fmt.Sprintf("Edited %d", i), "b")
		res, _ := r.sweepNow()
		updates, invites := r.depth(galsync.QueueUpdates), r.depth(galsync.QueueInvites)
		if res.Drifted != 1 || res.Conflicts != 1 || updates != 1 || invites != 1 {
			t.Fatalf("sweep %d = %+v: %d item(s) on updates and %d on invites, want 1 and 1", i, res, updates, invites)
		}
		r.drain()
		if got := r.targetAttr("b", "jobTitle"); got != "Engineer" {
			t.Fatalf("after sweep %d the guest's jobTitle is %v, want it repaired", i, got)
		}
	}
}

// Within one sweep round duplicate detection still folds copies: a sweep
// message delivered again sends nothing a second time.
func TestRedeliveredSweepSendsNothingTwice(t *testing.T) {
	r := newRigWith(t, testTopology("disable", galsync.Threshold{}), hourWindow())
	r.seed(10)
	r.pull()
	r.drain()
	r.runSweeps()
	r.editTarget("jobTitle", "Edited", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j")
	r.sw.Budget = time.Nanosecond // a page per invocation
	ctx := context.Background()
	_, first := r.sweepNow()
	sent := r.depth(galsync.QueueUpdates)
	r.sweepMessage(first) // the first message again
	if n := r.depth(galsync.QueueUpdates); sent != 3 || n != sent {
		t.Fatalf("the first page sent %d item(s), and %d after its message came again; want 3 and 3", sent, n)
	}
	for range 10 {
		ds, err := r.db.Receive(ctx, galsync.QueuePulls, 10, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			break
		}
		for _, d := range ds {
			before := r.depth(galsync.QueueUpdates)
			r.sweepMessage(d.Message)
			sent := r.depth(galsync.QueueUpdates)
			r.sweepMessage(d.Message) // delivered twice
			if n := r.depth(galsync.QueueUpdates); n != sent {
				t.Fatalf("continuation %s sent %d item(s), and %d more delivered again", d.ID, sent-before, n-sent)
			}
			if err := r.db.Complete(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := r.depth(galsync.QueueUpdates); n != 10 {
		t.Fatalf("%d repair item(s) queued, want the 10 edited guests once each", n)
	}
	r.drain()
	for _, id := range []string{"a", "e", "j"} {
		if got := r.targetAttr(id, "jobTitle"); got != "Engineer" {
			t.Errorf("guest of %s: jobTitle %v, want repaired", id, got)
		}
	}
}
