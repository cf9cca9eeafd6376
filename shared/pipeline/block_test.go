package pipeline

import (
	"context"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/galsync"
)

// setTarget changes a target user's attributes, as an administrator of
// the target tenant would.
func (r *rig) setTarget(id string, attrs map[string]any) {
	r.g.mu.Lock()
	defer r.g.mu.Unlock()
	for k, v := range attrs {
		r.g.target[id].Attributes[k] = v
	}
}

func (r *rig) sweep() SweepResult {
	r.t.Helper()
	m, err := SweepMessage("src-to-tgt", "test", time.Now())
	if err != nil {
		r.t.Fatal(err)
	}
	req, err := galsync.DecodePullRequest(m.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	res, err := r.sw.Sweep(context.Background(), req, "t")
	if err != nil {
		r.t.Fatal(err)
	}
	return res
}

// A guest the target tenant disabled (say, compromised) is not enabled
// again by galsync: neither the sweep nor a reconcile writes
// accountEnabled, the other attributes are still kept, and the guest is
// reported once as needing attention. Enabled again in the target, it is
// no longer reported.
func TestTargetAdminBlockIsKept(t *testing.T) {
	r := newRig(t, testTopology(galsync.DeprovisionDisable, galsync.Threshold{}))
	r.seed(2)
	r.pull()
	r.drain()
	r.runSweeps()
	guest := r.link("a").TargetUserID
	r.setTarget(guest, map[string]any{"accountEnabled": false})

	r.sweep()
	r.drain()
	if g := r.g.guests()[guest]; g.Attributes["accountEnabled"] != false {
		t.Fatalf("the sweep enabled a guest the target disabled: %v", g.Attributes)
	}
	// The sweep found the block on its own (no source change) and had it
	// recorded; the next sweep counts it for the status page and sends
	// nothing more.
	if l := r.link("a"); l.DisabledInTargetAt.IsZero() {
		t.Fatalf("the sweep did not have the block recorded: %+v", l)
	}
	before := len(r.peekAll(galsync.QueueUpdates)) + len(r.peekAll(galsync.QueueInvites))
	if res := r.sweep(); res.Drifted != 0 {
		t.Errorf("second sweep: %d drifted, want 0 (the block is recorded)", res.Drifted)
	}
	if after := len(r.peekAll(galsync.QueueUpdates)) + len(r.peekAll(galsync.QueueInvites)); after != before {
		t.Errorf("second sweep queued %d items, want 0", after-before)
	}
	if st, err := r.db.GetDirectionState(context.Background(), "src-to-tgt"); err != nil || st.Attention == nil || st.Attention.DisabledInTarget != 1 {
		t.Errorf("attention after the second sweep = %+v (%v), want 1 guest disabled in the target", st.Attention, err)
	}
	r.drain()
	r.change(map[string]any{"jobTitle": "Lead"})
	r.drain()
	g := r.g.guests()[guest]
	if g.Attributes["accountEnabled"] != false || g.Attributes["jobTitle"] != "Lead" {
		t.Fatalf("after a change in the source: %v, want still disabled with the new jobTitle", g.Attributes)
	}
	l := r.link("a")
	if l.DisabledInTargetAt.IsZero() || l.State != galsync.LinkActive {
		t.Errorf("link = %+v, want the block recorded on an active link", l)
	}
	if es := r.logOf("a", galsync.ActionBlocked); len(es) != 1 || es[0].Outcome != galsync.OutcomeSkipped ||
		len(es[0].Attributes) != 1 || es[0].Attributes[0] != "accountEnabled" {
		t.Fatalf("blocked entries = %+v, want one", es)
	}
	// Reconciled again: reported once only.
	if _, err := r.upd.Handle(context.Background(), reconcileItem(r.upd.Directions["src-to-tgt"], l), "t"); err != nil {
		t.Fatal(err)
	}
	if es := r.logOf("a", galsync.ActionBlocked); len(es) != 1 {
		t.Errorf("blocked entries after a second reconcile = %d, want 1", len(es))
	}
	// The target lifts the block: the next reconcile clears the record.
	r.setTarget(guest, map[string]any{"accountEnabled": true})
	if _, err := r.upd.Handle(context.Background(), reconcileItem(r.upd.Directions["src-to-tgt"], r.link("a")), "t"); err != nil {
		t.Fatal(err)
	}
	if l := r.link("a"); !l.DisabledInTargetAt.IsZero() {
		t.Errorf("block still recorded after the target enabled the guest: %+v", l)
	}
}

// What galsync disabled itself it enables again: a disabled source account
// mirrored on a guest (scope includeDisabled), and a guest retired because
// its user left scope (the disable policy), when the user is back.
func TestGalsyncEnablesWhatItDisabled(t *testing.T) {
	t.Run("mirrored", func(t *testing.T) {
		topo := testTopology(galsync.DeprovisionDisable, galsync.Threshold{})
		topo.Directions[0].Scope.IncludeDisabled = true
		r := newRig(t, topo)
		guest := r.syncOne()
		r.change(map[string]any{"accountEnabled": false})
		r.drain()
		if g := r.g.guests()[guest]; g.Attributes["accountEnabled"] != false {
			t.Fatalf("source disabled, guest %v: want disabled", g.Attributes)
		}
		r.sweep()
		r.drain()
		r.change(map[string]any{"accountEnabled": true})
		r.drain()
		if g := r.g.guests()[guest]; g.Attributes["accountEnabled"] != true {
			t.Errorf("source enabled again, guest %v: want enabled", g.Attributes)
		}
		if es := r.logOf("a", galsync.ActionBlocked); len(es) != 0 {
			t.Errorf("galsync's own disable reported as a block: %+v", es)
		}
	})
	t.Run("retired", func(t *testing.T) {
		r := newRig(t, testTopology(galsync.DeprovisionDisable, galsync.Threshold{}))
		guest := r.syncOne()
		r.change(map[string]any{"accountEnabled": false})
		r.drain()
		if l := r.link("a"); l.State != galsync.LinkDisabled {
			t.Fatalf("link = %s, want disabled", l.State)
		}
		r.change(map[string]any{"accountEnabled": true})
		r.drain()
		if g := r.g.guests()[guest]; g.Attributes["accountEnabled"] != true || r.link("a").State != galsync.LinkActive {
			t.Errorf("user back in scope, guest %v, link %s: want enabled, active", g.Attributes, r.link("a").State)
		}
	})
}
