package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
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

// syncedRig is a rig whose n users are synced and swept once, on queues
// with the hour's duplicate detection.
func syncedRig(t *testing.T, n int) *rig {
	t.Helper()
	r := newRigWith(t, testTopology("disable", galsync.Threshold{}), hourWindow())
	r.seed(n)
	r.pull()
	r.drain()
	r.runSweeps()
	return r
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
	r := syncedRig(t, 10)
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

// failingLister fails the failOn-th page read (1 for the first) with err.
type failingLister struct {
	next TargetLister

	mu     sync.Mutex
	calls  int
	failOn int
	err    error
}

func (l *failingLister) ListUsers(ctx context.Context, tenant, link string, sel []string) ([]galsync.TargetUser, string, error) {
	l.mu.Lock()
	l.calls++
	fail := l.calls == l.failOn
	l.mu.Unlock()
	if fail {
		return nil, "", l.err
	}
	return l.next.ListUsers(ctx, tenant, link, sel)
}

// A sweep that fails on page 3 of 5, whether Graph failed or the tenant's
// Graph budget put it off, is settled by the Retrier with its cursor: the
// retry reads pages 3 to 5, not 1 to 5 again, each drifted guest is sent
// once, and no page of the round is left in the store.
func TestFailedSweepResumesWhereItStopped(t *testing.T) {
	for name, cause := range map[string]error{
		"transient": galsync.RetryAfter(errors.New("graph: 503 Service Unavailable"), 0),
		"put off":   galsync.Defer(errors.New("graph: tenant budget spent"), time.Second),
	} {
		t.Run(name, func(t *testing.T) {
			r := syncedRig(t, 15) // 15 guests, 3 to a page: 5 pages
			all := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o"}
			r.editTarget("jobTitle", "Edited", all...)
			ctx := context.Background()
			r.sw.Graph = &failingLister{next: r.g, failOn: 3, err: cause}
			m, err := SweepMessage("src-to-tgt", "test", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			req, _ := galsync.DecodePullRequest(m.Body)
			res, err := r.sw.Sweep(ctx, req, "inv-1")
			if err == nil || res.Pages != 2 {
				t.Fatalf("sweep = %+v, %v: want a failure after 2 pages", res, err)
			}
			// What queueHandler does with a failure.
			rt := &Retrier{Queue: r.db, Log: r.db, Now: time.Now, Jitter: func() float64 { return 0 }, Logger: r.p.Logger}
			if _, err := rt.Fail(ctx, galsync.QueuePulls, m, fmt.Errorf("message %s (delivery 1): %w", m.ID, err), "inv-1"); err != nil {
				t.Fatal(err)
			}
			retries := r.peekAll(galsync.QueuePulls)
			if len(retries) != 1 {
				t.Fatalf("%d message(s) on pulls, want the retry", len(retries))
			}
			retry, err := galsync.DecodePullRequest(retries[0].Body)
			if err != nil || retry.Sweep == nil || retry.Sweep.Page != 2 || retry.Sweep.Link == "" {
				t.Fatalf("the retry asks for %+v (%v), want the sweep from its third page", retry, err)
			}
			r.sw.Graph = r.g
			lists := r.g.lists
			res = r.sweepMessage(retries[0].Message)
			if !res.Finished || res.Pages != 3 || r.g.lists-lists != 3 {
				t.Fatalf("retry = %+v after %d page read(s), want pages 3 to 5", res, r.g.lists-lists)
			}
			if n := r.depth(galsync.QueueUpdates); n != 15 {
				t.Fatalf("%d repair item(s) queued, want 15", n)
			}
			if pages, err := r.db.RoundPages(ctx, "src-to-tgt", retry.Sweep.Round); err != nil || len(pages) != 0 {
				t.Fatalf("round %s left %d page(s) (%v)", retry.Sweep.Round, len(pages), err)
			}
			patches := r.g.writeCount("patch")
			r.drain()
			if n := r.g.writeCount("patch") - patches; n != 15 {
				t.Errorf("%d PATCHes, want one per edited guest", n)
			}
		})
	}
}

// A sweep asked for again while one is still under way starts a round of
// its own and deletes the pages of the one it replaces; that round's
// continuation, when it comes, stops without sending anything, and the
// older request retried starts nothing.
func TestNewSweepRoundDeletesTheRoundItReplaces(t *testing.T) {
	r := syncedRig(t, 15)
	ctx := context.Background()
	r.sw.Budget = time.Nanosecond
	_, older := r.sweepNow()
	ds, err := r.db.Receive(ctx, galsync.QueuePulls, 10, 0)
	if err != nil || len(ds) != 1 {
		t.Fatalf("continuations = %d, %v; want 1", len(ds), err)
	}
	cont, _ := galsync.DecodePullRequest(ds[0].Body)
	if pages, _ := r.db.RoundPages(ctx, "src-to-tgt", cont.Sweep.Round); len(pages) != 1 {
		t.Fatalf("the first round saved %d page(s), want 1", len(pages))
	}
	r.sw.Budget = 0
	r.editTarget("jobTitle", "Edited", "a", "o")
	res, _ := r.sweepNow()
	if !res.Finished || res.Drifted != 2 {
		t.Fatalf("the new sweep = %+v", res)
	}
	if pages, _ := r.db.RoundPages(ctx, "src-to-tgt", cont.Sweep.Round); len(pages) != 0 {
		t.Fatalf("the replaced round still has %d page(s)", len(pages))
	}
	before := r.depth(galsync.QueueUpdates)
	res = r.sweepMessage(ds[0].Message)
	if res.Pages != 0 || res.Finished || r.depth(galsync.QueueUpdates) != before {
		t.Fatalf("the replaced round's continuation = %+v, and it queued %d item(s)", res, r.depth(galsync.QueueUpdates)-before)
	}
	if pages, _ := r.db.RoundPages(ctx, "src-to-tgt", cont.Sweep.Round); len(pages) != 0 {
		t.Fatalf("the replaced round's continuation left %d page(s)", len(pages))
	}
	if err := r.db.Complete(ctx, ds[0]); err != nil {
		t.Fatal(err)
	}
	if res := r.sweepMessage(older); res.Pages != 0 || r.depth(galsync.QueuePulls) != 0 {
		t.Fatalf("the older request, retried: %+v, %d message(s) on pulls", res, r.depth(galsync.QueuePulls))
	}
}

// What the status page shows of a sweep counts its whole round, not the
// invocation that finished it.
func TestSweepAttentionCountsTheWholeRound(t *testing.T) {
	r := syncedRig(t, 15)
	r.editTarget("jobTitle", "Edited", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o")
	r.sw.Budget = time.Nanosecond // five invocations
	_, m := r.sweepNow()
	ctx := context.Background()
	for range 10 {
		ds, err := r.db.Receive(ctx, galsync.QueuePulls, 1, 0)
		if err != nil || len(ds) == 0 {
			break
		}
		r.sweepMessage(ds[0].Message)
		_ = r.db.Complete(ctx, ds[0])
	}
	st, err := r.db.GetDirectionState(ctx, "src-to-tgt")
	if err != nil || st.Attention == nil || st.Sweep == nil {
		t.Fatalf("state = %+v, %v", st, err)
	}
	req, _ := galsync.DecodePullRequest(m.Body)
	if st.Attention.Drifted != 15 || st.Sweep.Round != sweepRound(req, time.Now()) || st.Sweep.FinishedAt.IsZero() {
		t.Fatalf("attention = %+v, sweep %+v: want 15 drifted, the round finished", st.Attention, st.Sweep)
	}
	es, err := r.db.QueryLog(ctx, galsync.LogQuery{Direction: "src-to-tgt", Action: galsync.ActionSweep})
	if err != nil || len(es) == 0 || !strings.Contains(es[len(es)-1].Reason, "read 15 target user(s) in 5 page(s): 15 drifted") {
		t.Fatalf("sweep log = %+v, %v", es, err)
	}
}
