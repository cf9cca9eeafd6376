package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/galsync/galsync/shared/galsync"
)

// Invariant 1, deterministically: the cursor moves only after the work of
// the pages it covers is durably queued, so a pull that dies anywhere and
// runs again queues exactly the messages an undisturbed pull queues —
// the same ids, none missing, none extra — and leaves the same cursor.
// The pull dies where a fault is injected: the Nth send to the queue
// fails, or the Nth cursor save (each comes after its page's sends).
// Every N the undisturbed pull reaches is tried, in two rounds: the first
// (every user new: invitations) and the next (changes, departures and
// arrivals: updates, invitations, and the deprovisions sent when the
// round ends).

// crashRound prepares the source for round 1 or 2.
func crashRound(r *rig, round int) {
	switch round {
	case 1:
		r.seed(7)
	case 2:
		r.g.put("a", map[string]any{"jobTitle": "Lead"})
		r.g.put("c", map[string]any{"city": "Bergen"})
		r.remove("d")
		r.remove("e")
		r.g.put("x", map[string]any{"mail": "x@src.example", "displayName": "User x"})
		r.g.put("f", map[string]any{"jobTitle": "Architect"})
		r.g.put("y", map[string]any{"mail": "y@src.example", "displayName": "User y"})
	}
}

// crashRig is a rig whose puller sends through a faultSender and saves its
// cursor through a faultStore, with the rounds before round done.
func crashRig(t *testing.T, round int) (*rig, *faultSender, *faultStore) {
	t.Helper()
	r := newRig(t, testTopology("disable", galsync.Threshold{}))
	for before := 1; before < round; before++ {
		crashRound(r, before)
		r.pull()
		r.drain()
	}
	crashRound(r, round)
	s, st := &faultSender{next: r.db}, &faultStore{Store: r.db}
	r.p.Queue, r.p.Store = s, st
	return r, s, st
}

// queued is what the round queued: the ids waiting on the work queues,
// sorted, and the cursor it left.
type queued struct {
	invites, updates []string
	cursor           galsync.Cursor
}

func (r *rig) queued() queued {
	r.t.Helper()
	var q queued
	for name, ids := range map[string]*[]string{galsync.QueueInvites: &q.invites, galsync.QueueUpdates: &q.updates} {
		for _, d := range r.peekAll(name) {
			*ids = append(*ids, d.ID)
		}
		slices.Sort(*ids)
	}
	cur, err := r.db.GetCursor(context.Background(), "src-to-tgt")
	if err != nil {
		r.t.Fatal(err)
	}
	q.cursor = cur
	return q
}

// seqs are the sequence numbers of the work items' ids
// (direction:user:seq:kind), sorted.
func seqs(ids ...[]string) []int64 {
	var out []int64
	for _, list := range ids {
		for _, id := range list {
			parts := strings.Split(id, ":")
			n, _ := strconv.ParseInt(parts[2], 10, 64)
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// checkSame compares a round that died and ran again with the undisturbed
// one.
func checkSame(t *testing.T, got, want queued) {
	t.Helper()
	if !slices.Equal(got.invites, want.invites) || !slices.Equal(got.updates, want.updates) {
		t.Errorf("queued after the re-run:\n invites %v\n updates %v\nundisturbed:\n invites %v\n updates %v",
			got.invites, got.updates, want.invites, want.updates)
	}
	s := seqs(got.invites, got.updates)
	for i := 1; i < len(s); i++ {
		if s[i] != s[i-1]+1 {
			t.Errorf("sequence numbers %v have a gap after %d", s, s[i-1])
			break
		}
	}
	if got.cursor.NextSeq != want.cursor.NextSeq || got.cursor.Link != want.cursor.Link || got.cursor.Page != want.cursor.Page {
		t.Errorf("cursor after the re-run: next seq %d, link %q, page %d; undisturbed: %d, %q, %d",
			got.cursor.NextSeq, got.cursor.Link, got.cursor.Page, want.cursor.NextSeq, want.cursor.Link, want.cursor.Page)
	}
}

// pullDying runs the round's pull, which must die of the injected fault,
// then runs it again until it finishes.
func pullDying(t *testing.T, r *rig) {
	t.Helper()
	ctx := context.Background()
	req := galsync.PullRequest{Direction: "src-to-tgt"}
	if _, err := r.p.Pull(ctx, req, "crash"); !errors.Is(err, errInjected) {
		t.Fatalf("the pull did not die of the injected fault: %v", err)
	}
	res, err := r.p.Pull(ctx, req, "re-run")
	if err != nil || !res.RoundFinished {
		t.Fatalf("the re-run: %+v, %v", res, err)
	}
}

func TestPullThatDiesAndRunsAgainQueuesTheSameMessages(t *testing.T) {
	for round := 1; round <= 2; round++ {
		r, s, st := crashRig(t, round)
		r.pull()
		want := r.queued()
		sends, saves := s.sends(), st.cursorPuts
		if len(want.invites) == 0 || round == 2 && (len(want.updates) == 0 || saves < 3 || sends < 4) {
			t.Fatalf("round %d queues too little to test: %d sends, %d cursor saves, %+v", round, sends, saves, want)
		}
		t.Logf("round %d: %d sends, %d cursor saves, %d invites, %d updates", round, sends, saves, len(want.invites), len(want.updates))

		for n := 1; n <= sends; n++ {
			t.Run(fmt.Sprintf("round %d, send %d of %d fails", round, n, sends), func(t *testing.T) {
				r, s, _ := crashRig(t, round)
				s.failOn = n
				pullDying(t, r)
				checkSame(t, r.queued(), want)
			})
		}
		for n := 1; n <= saves; n++ {
			t.Run(fmt.Sprintf("round %d, cursor save %d of %d fails", round, n, saves), func(t *testing.T) {
				r, _, st := crashRig(t, round)
				st.failCursorOn = n
				pullDying(t, r)
				checkSame(t, r.queued(), want)
			})
		}
	}
}
