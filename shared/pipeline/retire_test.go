package pipeline

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/galsync"
)

// takeOne receives the one item waiting on q and completes its message, as
// a worker that failed it and scheduled a retry would: the item lives on
// in the retry.
func (r *rig) takeOne(q string) galsync.WorkItem {
	r.t.Helper()
	ctx := context.Background()
	ds, err := r.db.Receive(ctx, q, 10, 0)
	if err != nil || len(ds) != 1 {
		r.t.Fatalf("%s: %d deliveries, %v; want 1", q, len(ds), err)
	}
	item, err := galsync.DecodeWorkItem(ds[0].Body)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.db.Complete(ctx, ds[0]); err != nil {
		r.t.Fatal(err)
	}
	return item
}

// syncOne syncs one user, a, and returns its guest.
func (r *rig) syncOne() string {
	r.t.Helper()
	r.seed(1)
	r.pull()
	r.drain()
	return r.link("a").TargetUserID
}

// change changes user a in the source and pulls the change.
func (r *rig) change(attrs map[string]any) {
	r.t.Helper()
	r.g.put("a", attrs)
	r.pull()
}

// retiredAfterAFailedChange syncs user a, fails its next change (seq 2)
// with a transient error, then disables a in the source (seq 3) and lets
// the workers retire its guest. It returns the failed item, which a
// scheduled retry (or an operator's replay) brings back later.
func retiredAfterAFailedChange(t *testing.T, policy string) (*rig, galsync.WorkItem, galsync.Link) {
	t.Helper()
	r := newRig(t, testTopology(policy, galsync.Threshold{}))
	r.syncOne()
	synced := r.link("a")
	ctx := context.Background()

	r.g.put("a", map[string]any{"jobTitle": "Lead"})
	r.g.patchErrs = []error{galsync.RetryAfter(errors.New("fake: 503 serviceUnavailable"), 0)}
	r.pull()
	change := r.takeOne(galsync.QueueUpdates)
	if _, err := r.upd.Handle(ctx, change, "t"); err == nil {
		t.Fatal("the injected 503 did not fail the change")
	}

	r.change(map[string]any{"accountEnabled": false})
	r.drain()
	if l := r.link("a"); change.Seq <= synced.SourceSeq || l.SourceSeq <= change.Seq || l.Live() || l.RetiredSeq != l.SourceSeq {
		t.Fatalf("seqs: synced %d, change %d; link after retirement %+v", synced.SourceSeq, change.Seq, l)
	}
	return r, change, synced
}

// An old retry, arriving after the guest was disabled because its user
// left scope, changes nothing: the guest stays disabled.
func TestStaleRetryDoesNotReenableARetiredGuest(t *testing.T) {
	r, change, synced := retiredAfterAFailedChange(t, galsync.DeprovisionDisable)
	if g := r.g.guests()[synced.TargetUserID]; g.Attributes["accountEnabled"] != false {
		t.Fatalf("guest after the retirement = %v, want disabled", g.Attributes)
	}
	before := len(r.g.writes)
	out, err := r.upd.Handle(context.Background(), change, "t")
	if err != nil {
		t.Fatal(err)
	}
	if out.Action != galsync.ActionSkip || out.HandOff != nil || !strings.Contains(out.Reason, "retired") {
		t.Errorf("outcome of the stale retry = %+v, want a skip naming the retirement", out)
	}
	if w := r.g.writes[before:]; len(w) != 0 {
		t.Errorf("the stale retry wrote %+v", w)
	}
	if l := r.link("a"); l.State != galsync.LinkDisabled {
		t.Errorf("link = %s, want disabled", l.State)
	}
	if g := r.g.guests()[synced.TargetUserID]; g.Attributes["accountEnabled"] != false {
		t.Errorf("guest = %v, want still disabled", g.Attributes)
	}
	// A reconcile naming the link's own state (the sweep, an operator) is
	// no newer than the retirement either.
	if out, err := r.upd.Handle(context.Background(), reconcileItem(r.upd.Directions["src-to-tgt"], r.link("a")), "t"); err != nil ||
		out.Action != galsync.ActionSkip || len(r.g.writes) != before {
		t.Errorf("reconcile of the retired link = %+v, %v; writes %+v", out, err, r.g.writes[before:])
	}
}

// With the delete policy the guest is gone; the old retry (through the
// update worker, or replayed straight to the invite worker) invites no new
// one.
func TestStaleRetryDoesNotReinviteADeletedGuest(t *testing.T) {
	r, change, synced := retiredAfterAFailedChange(t, galsync.DeprovisionDelete)
	if _, ok := r.g.guests()[synced.TargetUserID]; ok {
		t.Fatal("the guest was not deleted")
	}
	ctx := context.Background()
	out, err := r.upd.Handle(ctx, change, "t")
	if err != nil {
		t.Fatal(err)
	}
	if out.HandOff != nil {
		t.Errorf("the update worker handed the stale retry on: %+v", out.HandOff)
		if _, err := r.inv.Handle(ctx, out.HandOff.Item, "t"); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{galsync.QueueInvites, galsync.QueueUpdates} {
		replayed := change
		replayed.Kind = galsync.WorkUpsert
		var err error
		if q == galsync.QueueInvites {
			out, err = r.inv.Handle(ctx, replayed, "t")
		} else {
			out, err = r.upd.Handle(ctx, replayed, "t")
		}
		if err != nil || out.HandOff != nil || !strings.Contains(out.Reason, "retired") {
			t.Errorf("replay to %s = %+v, %v; want a skip naming the retirement", q, out, err)
		}
	}
	if n := r.g.writeCount("invite"); n != 1 {
		t.Errorf("%d invitations, want 1 (the first)", n)
	}
	if l := r.link("a"); l.State != galsync.LinkDeleted {
		t.Errorf("link = %s, want deleted", l.State)
	}
}

// Retirement is not forever: the user back in scope (a newer observation)
// re-enables, or invites again, as before.
func TestNewerObservationBringsARetiredGuestBack(t *testing.T) {
	for _, policy := range []string{galsync.DeprovisionDisable, galsync.DeprovisionDelete} {
		t.Run(policy, func(t *testing.T) {
			r, _, synced := retiredAfterAFailedChange(t, policy)
			r.change(map[string]any{"accountEnabled": true})
			r.drain()
			l := r.link("a")
			if l.State != galsync.LinkActive {
				t.Fatalf("link = %+v, want active", l)
			}
			g := r.g.guests()[l.TargetUserID]
			if g.Attributes["accountEnabled"] != true || g.Attributes["jobTitle"] != "Lead" {
				t.Errorf("guest = %v, want enabled with the newest jobTitle", g.Attributes)
			}
			if policy == galsync.DeprovisionDisable && l.TargetUserID != synced.TargetUserID {
				t.Errorf("a disabled guest came back as another: %s, was %s", l.TargetUserID, synced.TargetUserID)
			}
		})
	}
}

// A deprovision of a user that has no guest (a conflict with a member; a
// full round not seeing the user) touches nothing in the target, records
// the retirement so an old invite retry stays stale, and drops the
// conflict, which no longer needs an operator.
func TestDeprovisionWithoutAGuestRecordsTheRetirement(t *testing.T) {
	r := newRig(t, testTopology(galsync.DeprovisionDisable, galsync.Threshold{}))
	r.g.target["member-1"] = &galsync.TargetUser{ID: "member-1", UserType: "Member",
		Attributes: map[string]any{"mail": "a@src.example", "accountEnabled": true}}
	r.syncOne()
	l := r.link("a")
	if l.State != galsync.LinkConflict {
		t.Fatalf("link = %+v, want a conflict", l)
	}
	ctx := context.Background()
	old := galsync.WorkItem{Direction: "src-to-tgt", SourceUserID: "a", Seq: l.SourceSeq, Kind: galsync.WorkUpsert, Source: l.Source}
	reads, before := r.g.reads, len(r.g.writes)
	out, err := r.upd.Handle(ctx, galsync.WorkItem{Direction: "src-to-tgt", SourceUserID: "a", Seq: l.SourceSeq + 1,
		Kind: galsync.WorkDeprovision, Reason: "not seen"}, "t")
	if err != nil || out.Action != galsync.ActionSkip {
		t.Fatalf("deprovision = %+v, %v", out, err)
	}
	if r.g.reads != reads || len(r.g.writes) != before {
		t.Errorf("a deprovision without a guest went to Graph: %d reads, writes %+v", r.g.reads-reads, r.g.writes[before:])
	}
	if l := r.link("a"); l.State != galsync.LinkDeleted || l.Conflict != "" || l.RetiredSeq != old.Seq+1 {
		t.Errorf("link after the deprovision = %+v", l)
	}
	lookups := r.g.lookups
	if out, err := r.inv.Handle(ctx, old, "t"); err != nil || !strings.Contains(out.Reason, "retired") || r.g.lookups != lookups {
		t.Errorf("old invite retry = %+v, %v (%d lookups)", out, err, r.g.lookups-lookups)
	}
}

// A disable that fails (a 503) leaves the link as it was, so the retry
// disables the guest rather than taking it for done.
func TestFailedDisableIsRetried(t *testing.T) {
	r := newRig(t, testTopology(galsync.DeprovisionDisable, galsync.Threshold{}))
	guest := r.syncOne()
	r.change(map[string]any{"accountEnabled": false})
	item := r.takeOne(galsync.QueueUpdates)
	r.g.patchErrs = []error{galsync.RetryAfter(errors.New("fake: 503 serviceUnavailable"), 0)}
	ctx := context.Background()
	if _, err := r.upd.Handle(ctx, item, "t"); err == nil {
		t.Fatal("the injected 503 did not fail the disable")
	}
	if l := r.link("a"); l.State != galsync.LinkActive || !l.ClaimedAt.IsZero() {
		t.Fatalf("link after the failed disable = %+v, want active and unclaimed", l)
	}
	if out, err := r.upd.Handle(ctx, item, "t"); err != nil || out.Action != galsync.ActionDisable {
		t.Fatalf("retry = %+v, %v", out, err)
	}
	if g := r.g.guests()[guest]; g.Attributes["accountEnabled"] != false {
		t.Errorf("guest after the retry = %v, want disabled", g.Attributes)
	}
}

// vanishingGuest is the fake Graph in which the guest is deleted in the
// target between the worker's read and its PATCH.
type vanishingGuest struct{ *fakeGraph }

func (v vanishingGuest) UpdateUser(ctx context.Context, tenant, id string, changes map[string]any) error {
	v.mu.Lock()
	delete(v.target, id)
	v.mu.Unlock()
	return v.fakeGraph.UpdateUser(ctx, tenant, id, changes)
}

// conflictCounter counts the link writes that lost on their ETag.
type conflictCounter struct {
	LinkStore
	conflicts int
}

func (c *conflictCounter) PutLink(ctx context.Context, l galsync.Link) (galsync.Link, error) {
	saved, err := c.LinkStore.PutLink(ctx, l)
	if errors.Is(err, galsync.ErrConflict) {
		c.conflicts++
	}
	return saved, err
}

// A guest gone between the read and the PATCH (past the replication
// grace) is recorded deleted and handed to the invite worker at once: the
// link written when the claim is released is the one recorded next, not a
// stale copy that loses on its ETag.
func TestGuestGoneBeforeThePatchIsHandedOnAtOnce(t *testing.T) {
	r := newRig(t, testTopology(galsync.DeprovisionDisable, galsync.Threshold{}))
	r.syncOne()
	store := &conflictCounter{LinkStore: r.db}
	r.upd.Store, r.upd.Graph, r.upd.ReplicationGrace = store, vanishingGuest{r.g}, time.Nanosecond
	r.change(map[string]any{"jobTitle": "Lead"})
	reads := r.g.reads
	out, err := r.upd.Handle(context.Background(), r.takeOne(galsync.QueueUpdates), "t")
	if err != nil || out.HandOff == nil || out.HandOff.Queue != galsync.QueueInvites {
		t.Fatalf("outcome = %+v, %v; want a hand-off to the invite worker", out, err)
	}
	if store.conflicts != 0 || r.g.reads-reads != 1 {
		t.Errorf("%d ETag conflicts and %d reads of the guest, want 0 and 1", store.conflicts, r.g.reads-reads)
	}
	if l := r.link("a"); l.State != galsync.LinkDeleted || !l.ClaimedAt.IsZero() {
		t.Errorf("link = %+v, want deleted and unclaimed", l)
	}
}

// A user whose first invitation failed (a retry is scheduled) and who is
// then removed from the source gets no guest from that retry: the pull
// records the retirement on the guestless link, and the retry is stale.
func TestRetryOfAFailedInvitationAfterTheUserLeft(t *testing.T) {
	for _, leave := range []string{"deleted", "out of scope"} {
		t.Run(leave, func(t *testing.T) {
			r := newRig(t, testTopology(galsync.DeprovisionDisable, galsync.Threshold{}))
			ctx := context.Background()
			r.seed(1)
			r.g.inviteErrs = []error{galsync.RetryAfter(errors.New("fake: 503 serviceUnavailable"), 0)}
			r.pull()
			invite := r.takeOne(galsync.QueueInvites)
			if _, err := r.inv.Handle(ctx, invite, "t"); err == nil {
				t.Fatal("the injected 503 did not fail the invitation")
			}
			if l := r.link("a"); l.HasGuest() || l.SourceSeq != invite.Seq {
				t.Fatalf("link after the failed invitation: %+v", l)
			}

			if leave == "deleted" {
				r.remove("a")
			} else {
				r.g.put("a", map[string]any{"accountEnabled": false})
			}
			r.pull()
			r.drain()
			if l := r.link("a"); l.RetiredSeq <= invite.Seq || l.HasGuest() {
				t.Fatalf("link after the user left: %+v, want the retirement recorded past seq %d", l, invite.Seq)
			}

			if _, err := r.inv.Handle(ctx, invite, "t"); err != nil {
				t.Fatal(err)
			}
			r.drain()
			for _, w := range r.g.writes {
				t.Errorf("the stale retry wrote to the target: %+v", w)
			}
			if es := r.logOf("a", galsync.ActionSkip); len(es) == 0 || !strings.Contains(es[len(es)-1].Reason, "retire") {
				t.Errorf("log = %+v, want the stale retry logged as skipped for the retirement", es)
			}
		})
	}
}
