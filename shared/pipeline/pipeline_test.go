package pipeline

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/clocktest"
	"github.com/galsync/galsync/shared/embedded"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

type rig struct {
	t   *testing.T
	g   *fakeGraph
	db  *embedded.DB
	p   *Puller
	inv *Inviter
	upd *Updater
	sw  *Sweeper
	// twice handles every delivery two times (duplicate delivery).
	twice bool
}

func testTopology(policy string, th galsync.Threshold) galsync.Topology {
	return galsync.Topology{
		Tenants: []galsync.Tenant{
			{Name: "src", TenantID: "11111111-1111-1111-1111-111111111111", Cloud: galsync.CloudPublic, Domain: "src.onmicrosoft.com"},
			{Name: "tgt", TenantID: "22222222-2222-2222-2222-222222222222", Cloud: galsync.CloudPublic, Domain: "tgt.onmicrosoft.com"},
		},
		Directions: []galsync.Direction{{Name: "src-to-tgt", Source: "src", Target: "tgt", InviteRedirectURL: "https://myapps.microsoft.com",
			Deprovision: galsync.Deprovision{Action: policy, Threshold: th}}},
	}
}

func newRig(t *testing.T, topo galsync.Topology) *rig {
	t.Helper()
	return newRigWith(t, topo, embedded.Options{})
}

// newRigWith is newRig on an embedded database opened with opts.
func newRigWith(t *testing.T, topo galsync.Topology, opts embedded.Options) *rig {
	t.Helper()
	db, err := embedded.Open(filepath.Join(t.TempDir(), "galsync.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	cat, err := NewCatalog(topo)
	if err != nil {
		t.Fatal(err)
	}
	g := newFakeGraph()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	now := galsync.Clock(time.Now)
	return &rig{t: t, g: g, db: db,
		p:   &Puller{Directions: cat, Store: db, Graph: g, Queue: db, Now: now, Budget: time.Minute, Logger: logger},
		inv: &Inviter{Directions: cat, Store: db, Graph: g, Now: now, ClaimTTL: time.Minute, Logger: logger},
		upd: &Updater{Directions: cat, Store: db, Graph: g, Now: now, Logger: logger},
		sw:  &Sweeper{Directions: cat, Store: db, Graph: g, Queue: db, Now: now, Logger: logger},
	}
}

func (r *rig) pull() PullResult {
	r.t.Helper()
	res, err := r.p.Pull(context.Background(), galsync.PullRequest{Direction: "src-to-tgt"}, "test")
	if err != nil {
		r.t.Fatalf("pull: %v", err)
	}
	return res
}

// drain runs the invite and update workers until both queues are empty.
func (r *rig) drain() {
	r.t.Helper()
	ctx := context.Background()
	for round := 0; round < 100; round++ {
		worked := false
		for _, q := range []string{galsync.QueueInvites, galsync.QueueUpdates} {
			ds, err := r.db.Receive(ctx, q, 100, 0)
			if err != nil {
				r.t.Fatal(err)
			}
			for _, d := range ds {
				worked = true
				r.handle(q, d)
			}
		}
		if !worked {
			return
		}
	}
	r.t.Fatal("queues did not drain in 100 rounds")
}

func (r *rig) handle(q string, d queue.Delivery) {
	ctx := context.Background()
	item, err := galsync.DecodeWorkItem(d.Body)
	if err != nil {
		r.t.Fatalf("decode: %v", err)
	}
	times := 1
	if r.twice {
		times = 2
	}
	for i := 0; i < times; i++ {
		var out Outcome
		if q == galsync.QueueInvites {
			out, err = r.inv.Handle(ctx, item, "test")
		} else {
			out, err = r.upd.Handle(ctx, item, "test")
		}
		if err != nil {
			r.t.Fatalf("%s: %v", q, err)
		}
		if out.HandOff != nil {
			// Scheduling is the queue's (its conformance suite tests it);
			// here the hand-off is taken at once.
			h := *out.HandOff
			h.NotBefore = time.Time{}
			if err := SendHandOff(ctx, r.db, &h); err != nil {
				r.t.Fatal(err)
			}
		}
	}
	if err := r.db.Complete(ctx, d); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) seed(n int) {
	for i := 0; i < n; i++ {
		id := string(rune('a' + i))
		r.g.put(id, map[string]any{"mail": id + "@src.example", "displayName": "User " + id, "jobTitle": "Engineer", "city": "Oslo"})
	}
}

func TestInitialSyncCostsOneInviteAndOnePatchPerUser(t *testing.T) {
	r := newRig(t, testTopology("disable", galsync.Threshold{}))
	r.seed(5)
	r.g.put("guest", map[string]any{"mail": "g@x.example", "displayName": "G", "creationType": "Invitation", "userType": "Guest"})
	r.g.put("nomail", map[string]any{"displayName": "N"})
	res := r.pull()
	if res.Invites != 5 || res.Skipped != 2 || !res.RoundFinished || res.Pages != 4 {
		t.Fatalf("pull = %+v", res)
	}
	r.drain()
	if n := len(r.g.guests()); n != 5 {
		t.Fatalf("%d guests, want 5", n)
	}
	if inv, patch := r.g.writeCount("invite"), r.g.writeCount("patch"); inv != 5 || patch != 5 {
		t.Fatalf("writes: %d invites, %d patches; want 5 and 5", inv, patch)
	}
	for _, w := range r.g.writes {
		if w.Op == "patch" {
			if _, ok := w.Changes["displayName"]; ok {
				t.Errorf("patch repeats what the invitation set: %v", w.Changes)
			}
			if w.Changes["jobTitle"] != "Engineer" || w.Changes["city"] != "Oslo" {
				t.Errorf("patch = %v", w.Changes)
			}
		}
	}
	// A second cycle with no change: no work, no writes.
	before := r.g.writeCount("")
	if res := r.pull(); res.Users != 0 || res.Invites+res.Updates != 0 {
		t.Fatalf("no-op pull = %+v", res)
	}
	r.drain()
	if after := r.g.writeCount(""); after != before {
		t.Fatalf("no-op cycle wrote %d times", after-before)
	}
	skips, err := r.db.QueryLog(context.Background(), galsync.LogQuery{Direction: "src-to-tgt", Action: galsync.ActionSkip})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, e := range skips {
		reasons[e.SourceUserID] = e.Reason
	}
	if reasons["guest"] == "" || reasons["nomail"] == "" {
		t.Errorf("skips not logged with reasons: %v", reasons)
	}
}

func TestDuplicateDeliveryWritesNothingMore(t *testing.T) {
	once := newRig(t, testTopology("disable", galsync.Threshold{}))
	twice := newRig(t, testTopology("disable", galsync.Threshold{}))
	twice.twice = true
	for _, r := range []*rig{once, twice} {
		r.seed(6)
		r.pull()
		r.drain()
		r.g.put("b", map[string]any{"jobTitle": "Lead"})
		r.remove("c")
		r.pull()
		r.drain()
	}
	if a, b := once.g.writeCount(""), twice.g.writeCount(""); a != b {
		t.Fatalf("writes: once %d, twice %d", a, b)
	}
	if a, b := len(once.g.guests()), len(twice.g.guests()); a != b || a != 6 {
		t.Fatalf("guests: once %d, twice %d", a, b)
	}
}

func (r *rig) remove(id string) { r.g.remove(id) }

func TestChangedAttributeCostsOnePatchOfOnlyThatAttribute(t *testing.T) {
	r := newRig(t, testTopology("disable", galsync.Threshold{}))
	r.seed(4)
	r.pull()
	r.drain()
	before := len(r.g.writes)
	r.g.put("a", map[string]any{"jobTitle": "Architect"})
	r.g.put("b", map[string]any{"jobTitle": "Architect"})
	r.pull()
	r.drain()
	writes := r.g.writes[before:]
	if len(writes) != 2 {
		t.Fatalf("writes = %+v", writes)
	}
	for _, w := range writes {
		if w.Op != "patch" || len(w.Changes) != 1 || w.Changes["jobTitle"] != "Architect" {
			t.Errorf("write = %+v", w)
		}
	}
}

func TestStaleItemChangesNothing(t *testing.T) {
	r := newRig(t, testTopology("disable", galsync.Threshold{}))
	r.seed(1)
	r.pull()
	r.drain()
	link, err := r.db.GetLink(context.Background(), "src-to-tgt", "a")
	if err != nil {
		t.Fatal(err)
	}
	before, reads := len(r.g.writes), r.g.reads
	old := galsync.WorkItem{Direction: "src-to-tgt", SourceUserID: "a", Seq: link.ReconciledSeq - 1, Kind: galsync.WorkUpsert,
		Source: galsync.Snapshot{"id": "a", "mail": "a@src.example", "displayName": "Old name", "accountEnabled": true}}
	out, err := r.upd.Handle(context.Background(), old, "test")
	if err != nil || out.Action != galsync.ActionSkip {
		t.Fatalf("stale item: %+v, %v", out, err)
	}
	if len(r.g.writes) != before || r.g.reads != reads {
		t.Fatal("a stale item read or wrote Graph")
	}
	// A duplicate of the newest item is reconciled (read) but writes nothing.
	dup := galsync.WorkItem{Direction: "src-to-tgt", SourceUserID: "a", Seq: link.ReconciledSeq, Kind: galsync.WorkUpsert, Source: link.Source}
	if out, err := r.upd.Handle(context.Background(), dup, "test"); err != nil || len(out.Attributes) != 0 {
		t.Fatalf("duplicate item: %+v, %v", out, err)
	}
	if len(r.g.writes) != before {
		t.Fatal("a duplicate item wrote to Graph")
	}
}

func TestDeprovisionPolicies(t *testing.T) {
	for _, tt := range []struct {
		policy string
		guests int
		op     string
	}{{"disable", 6, "patch"}, {"delete", 4, "delete"}, {"none", 6, ""}} {
		t.Run(tt.policy, func(t *testing.T) {
			r := newRig(t, testTopology(tt.policy, galsync.Threshold{}))
			r.seed(6)
			r.pull()
			r.drain()
			before := len(r.g.writes)
			r.remove("a")
			r.remove("b")
			r.pull()
			r.drain()
			if n := len(r.g.guests()); n != tt.guests {
				t.Fatalf("%d guests, want %d", n, tt.guests)
			}
			writes := r.g.writes[before:]
			if tt.op == "" {
				if len(writes) != 0 {
					t.Fatalf("policy none wrote %+v", writes)
				}
				return
			}
			if len(writes) != 2 {
				t.Fatalf("writes = %+v", writes)
			}
			for _, w := range writes {
				if w.Op != tt.op || (tt.op == "patch" && w.Changes["accountEnabled"] != false) {
					t.Errorf("write = %+v", w)
				}
			}
		})
	}
}

func TestThresholdPausesWithoutDeleting(t *testing.T) {
	r := newRig(t, testTopology("delete", galsync.Threshold{Percent: 10}))
	r.seed(10)
	r.pull()
	r.drain()
	before := len(r.g.writes)
	for _, id := range []string{"a", "b", "c"} {
		r.remove(id)
	}
	if res := r.pull(); !res.Paused {
		t.Fatalf("pull = %+v, want paused", res)
	}
	r.drain()
	if len(r.g.writes) != before {
		t.Fatalf("paused direction wrote %+v", r.g.writes[before:])
	}
	st, err := r.db.GetDirectionState(context.Background(), "src-to-tgt")
	if err != nil || !st.Paused || st.HeldCount != 3 {
		t.Fatalf("state = %+v, %v", st, err)
	}
	if res := r.pull(); !res.Blocked {
		t.Fatalf("pull of a paused direction = %+v", res)
	}
}

func TestExpiredTokenResyncsAndSweeps(t *testing.T) {
	r := newRig(t, testTopology("disable", galsync.Threshold{}))
	r.seed(6)
	r.pull()
	r.drain()
	invites := r.g.writeCount("invite")
	// Deleted without a trace in the change log: only a full resync notices.
	r.g.mu.Lock()
	delete(r.g.source, "d")
	r.g.mu.Unlock()
	r.g.put("z", map[string]any{"mail": "z@src.example", "displayName": "Z"})
	res, err := r.pullOnceExpired()
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resynced || !res.RoundFinished || res.Deprovisions != 1 {
		t.Fatalf("pull = %+v", res)
	}
	r.drain()
	if got := r.g.writeCount("invite") - invites; got != 1 {
		t.Fatalf("resync invited %d, want 1 (only z)", got)
	}
	link, err := r.db.GetLink(context.Background(), "src-to-tgt", "d")
	if err != nil || link.State != galsync.LinkDisabled {
		t.Fatalf("link of removed user = %+v, %v", link, err)
	}
}

// pullOnceExpired answers the first delta call with an expired token, then
// serves normally.
func (r *rig) pullOnceExpired() (PullResult, error) {
	r.p.Graph = &expireOnce{fakeGraph: r.g}
	defer func() { r.p.Graph = r.g }()
	return r.p.Pull(context.Background(), galsync.PullRequest{Direction: "src-to-tgt"}, "test")
}

type expireOnce struct {
	*fakeGraph
	done bool
}

func (e *expireOnce) DeltaPage(ctx context.Context, tenant, link string, sel []string) (galsync.DeltaPage, error) {
	if !e.done && link != "" {
		e.done = true
		return galsync.DeltaPage{}, galsync.ErrDeltaExpired
	}
	return e.fakeGraph.DeltaPage(ctx, tenant, link, sel)
}

func TestConcurrentPullsAdvanceTheCursorOnce(t *testing.T) {
	r := newRig(t, testTopology("disable", galsync.Threshold{}))
	r.seed(3)
	// Both pulls read the (missing) cursor before either writes one.
	barrier := &barrierGraph{fakeGraph: r.g, wait: make(chan struct{})}
	r.p.Graph = barrier
	results := make(chan PullResult, 2)
	for i := 0; i < 2; i++ {
		go func() {
			res, err := r.p.Pull(context.Background(), galsync.PullRequest{Direction: "src-to-tgt"}, "test")
			if err != nil {
				t.Error(err)
			}
			results <- res
		}()
	}
	a, b := <-results, <-results
	if a.Superseded == b.Superseded {
		t.Fatalf("want exactly one pull superseded: %+v / %+v", a, b)
	}
	r.drain()
	if n := len(r.g.guests()); n != 3 {
		t.Fatalf("%d guests, want 3 (duplicates absorbed)", n)
	}
}

// barrierGraph holds the first delta call until a second one arrives.
type barrierGraph struct {
	*fakeGraph
	mu    sync.Mutex
	calls int
	wait  chan struct{}
}

func (b *barrierGraph) DeltaPage(ctx context.Context, tenant, link string, sel []string) (galsync.DeltaPage, error) {
	b.mu.Lock()
	b.calls++
	if b.calls == 2 {
		close(b.wait)
	}
	b.mu.Unlock()
	<-b.wait
	return b.fakeGraph.DeltaPage(ctx, tenant, link, sel)
}

// TestGuestDeletedInTheTarget: a guest someone deleted in the target is
// invited again on the next change; but a 404 for a guest invited moments
// ago is taken as directory replication and retried, not re-invited.
func TestGuestDeletedInTheTarget(t *testing.T) {
	r := newRig(t, testTopology("disable", galsync.Threshold{}))
	clock := clocktest.New(time.Now())
	r.inv.Now, r.upd.Now, r.p.Now = clock.Now, clock.Now, clock.Now
	r.seed(1)
	r.pull()
	r.drain()
	link, err := r.db.GetLink(context.Background(), "src-to-tgt", "a")
	if err != nil {
		t.Fatal(err)
	}
	r.g.mu.Lock()
	delete(r.g.target, link.TargetUserID)
	r.g.mu.Unlock()

	// Within the replication grace: the update fails (to be retried), and
	// nothing is invited.
	r.g.put("a", map[string]any{"jobTitle": "Architect"})
	r.pull()
	ds, err := r.db.Receive(context.Background(), galsync.QueueUpdates, 10, 0)
	if err != nil || len(ds) != 1 {
		t.Fatalf("updates queue: %d, %v", len(ds), err)
	}
	item, _ := galsync.DecodeWorkItem(ds[0].Body)
	_, err = r.upd.Handle(context.Background(), item, "test")
	if after, ok := galsync.RetryDelay(err); !ok || after <= 0 || !strings.Contains(err.Error(), "replication") {
		t.Fatalf("update of a just-invited guest that Graph does not find: %v, want a retry after the replication wait", err)
	}
	if n := r.g.writeCount("invite"); n != 1 {
		t.Fatalf("%d invitations within the grace, want the first only", n)
	}
	if err := r.db.Abandon(context.Background(), ds[0], nil); err != nil {
		t.Fatal(err)
	}

	// Later: the guest really is gone; the retry invites it again.
	clock.Advance(DefaultReplicationGrace + time.Minute)
	r.drain()
	if n := r.g.writeCount("invite"); n != 2 {
		t.Fatalf("%d invitations after the grace, want 2 (the guest invited again)", n)
	}
	guests := r.g.guests()
	if len(guests) != 1 {
		t.Fatalf("%d guests, want 1", len(guests))
	}
	for _, g := range guests {
		if g.Attributes["jobTitle"] != "Architect" {
			t.Errorf("re-invited guest has jobTitle %v; writes %+v", g.Attributes["jobTitle"], r.g.writes)
		}
	}
}

// fullReader answers GetUser from the fake source with every property.
type fullReader struct {
	g     *fakeGraph
	calls int
}

func (f *fullReader) GetUser(_ context.Context, _, id string, _ []string) (galsync.SourceUser, error) {
	f.g.mu.Lock()
	defer f.g.mu.Unlock()
	f.calls++
	attrs, ok := f.g.source[id]
	if !ok || attrs == nil {
		return galsync.SourceUser{}, galsync.ErrNotFound
	}
	full := maps.Clone(attrs)
	full["accountEnabled"] = true
	return galsync.SourceUser{ID: id, Attributes: full}, nil
}

// partialDelta returns the fake's delta pages with the entries of the
// users in strip cut down to jobTitle alone, as a Graph that sends only
// changed properties would.
type partialDelta struct {
	g     *fakeGraph
	strip map[string]bool
}

func (p partialDelta) DeltaPage(ctx context.Context, tenant, link string, sel []string) (galsync.DeltaPage, error) {
	page, err := p.g.DeltaPage(ctx, tenant, link, sel)
	for i, u := range page.Users {
		if p.strip[u.ID] && u.Removed == "" {
			page.Users[i].Attributes = map[string]any{"jobTitle": u.Attributes["jobTitle"]}
		}
	}
	return page, err
}

// TestPartialDeltaEntryIsReadInFull: an update carrying only the changed
// property (no mail, no accountEnabled) does not retire the guest; the
// user is read in full and only the change is written.
func TestPartialDeltaEntryIsReadInFull(t *testing.T) {
	r := newRig(t, testTopology("disable", galsync.Threshold{}))
	reader := &fullReader{g: r.g}
	r.p.Users = reader
	r.seed(2)
	r.pull()
	r.drain()
	before, calls := len(r.g.writes), reader.calls
	r.p.Graph = partialDelta{g: r.g, strip: map[string]bool{"a": true}}
	r.g.put("a", map[string]any{"jobTitle": "Architect"})
	r.pull()
	r.drain()
	writes := r.g.writes[before:]
	if len(writes) != 1 || writes[0].Op != "patch" || len(writes[0].Changes) != 1 || writes[0].Changes["jobTitle"] != "Architect" {
		t.Fatalf("writes after a partial entry = %+v, want one PATCH of jobTitle", writes)
	}
	if reader.calls != calls+1 {
		t.Errorf("GetUser calls = %d, want one for the partial entry", reader.calls-calls)
	}
}

// TestRoundFinishedTwiceHoldsEachUserOnce: two pulls that finish the same
// round (concurrently, or again after a crash) hold each deprovision once.
func TestRoundFinishedTwiceHoldsEachUserOnce(t *testing.T) {
	held := mergeHeld(nil, []galsync.WorkItem{{SourceUserID: "a", Seq: 3}, {SourceUserID: "b", Seq: 4}})
	held = mergeHeld(held, []galsync.WorkItem{{SourceUserID: "a", Seq: 3}, {SourceUserID: "b", Seq: 9}, {SourceUserID: "c", Seq: 5}})
	if len(held) != 3 || held[0].Seq != 3 || held[1].Seq != 9 || held[2].SourceUserID != "c" {
		t.Errorf("held = %+v, want a@3, b@9, c@5", held)
	}
}
