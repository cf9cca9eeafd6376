package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/galsync/galsync/shared/deadletter"
	"github.com/galsync/galsync/shared/embedded"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

func (r *rig) link(id string) galsync.Link {
	r.t.Helper()
	l, err := r.db.GetLink(context.Background(), "src-to-tgt", id)
	if err != nil {
		r.t.Fatalf("link %s: %v", id, err)
	}
	return l
}

func (r *rig) logOf(id, action string) []galsync.LogEntry {
	r.t.Helper()
	es, err := r.db.QueryLog(context.Background(), galsync.LogQuery{Direction: "src-to-tgt", SourceUserID: id, Action: action})
	if err != nil {
		r.t.Fatal(err)
	}
	return es
}

// withMapping recompiles the rig's direction with another mapping, as a
// restart with a changed topology would.
func (r *rig) withMapping(m map[string]galsync.AttributeMapping) {
	r.t.Helper()
	topo := testTopology("disable", galsync.Threshold{})
	topo.Directions[0].Mapping = m
	cat, err := NewCatalog(topo)
	if err != nil {
		r.t.Fatal(err)
	}
	r.p.Directions, r.inv.Directions, r.upd.Directions, r.sw.Directions = cat, cat, cat, cat
}

// One refused property never blocks the others: they land, the refused one
// is recorded (log and link) and not tried again until its mapping or
// value changes; after the mapping is fixed, the next run converges.
func TestRefusedPropertyDoesNotBlockTheOthers(t *testing.T) {
	r := newRig(t, testTopology("disable", galsync.Threshold{}))
	m := map[string]galsync.AttributeMapping{"displayName": {Source: "displayName"}, "jobTitle": {Source: "jobTitle"},
		"city": {Source: "city"}, "showInAddressList": {Constant: true}}
	r.withMapping(m)
	r.g.refuse["showInAddressList"] = true
	r.seed(3)
	r.pull()
	r.drain()
	for _, g := range r.g.guests() {
		if g.Attributes["jobTitle"] != "Engineer" || g.Attributes["city"] != "Oslo" {
			t.Fatalf("guest %s = %v: the refusal of one property lost the others", g.ID, g.Attributes)
		}
	}
	l := r.link("a")
	if _, ok := l.Refused["showInAddressList"]; !ok || len(l.Refused) != 1 {
		t.Fatalf("link refusals = %+v", l.Refused)
	}
	es := r.logOf("a", galsync.ActionRefused)
	if len(es) != 1 || es[0].Attributes[0] != "showInAddressList" || !strings.Contains(es[0].Reason, "read-only") {
		t.Fatalf("refusal log = %+v", es)
	}
	// Reconciled again with nothing changed: the refused property is not
	// tried again, and nothing is written.
	before := len(r.g.writes)
	if _, err := r.upd.Handle(context.Background(), reconcileItem(r.upd.Directions["src-to-tgt"], l), "t"); err != nil {
		t.Fatal(err)
	}
	if len(r.g.writes) != before {
		t.Fatalf("a reconcile retried the refused property: %+v", r.g.writes[before:])
	}
	// The mapping is fixed (the property dropped, jobTitle now a constant):
	// a pull asks for a sweep, which converges every guest.
	delete(m, "showInAddressList")
	m["jobTitle"] = galsync.AttributeMapping{Constant: "Staff"}
	r.withMapping(m)
	if res := r.pull(); !res.SweepRequested {
		t.Fatalf("pull after a mapping change = %+v, want a sweep requested", res)
	}
	r.runSweeps()
	r.drain()
	for _, g := range r.g.guests() {
		if g.Attributes["jobTitle"] != "Staff" {
			t.Errorf("guest %s jobTitle = %v after the fix", g.ID, g.Attributes["jobTitle"])
		}
	}
	if l := r.link("a"); len(l.Refused) != 0 {
		t.Errorf("refusals kept after the mapping dropped the property: %+v", l.Refused)
	}
}

// runSweeps runs the sweep requests on the pulls queue (and completes the
// other pull requests there unread).
func (r *rig) runSweeps() {
	r.t.Helper()
	ctx := context.Background()
	ds, err := r.db.Receive(ctx, galsync.QueuePulls, 100, 0)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, d := range ds {
		req, err := galsync.DecodePullRequest(d.Body)
		if err != nil {
			r.t.Fatal(err)
		}
		if req.Mode == galsync.PullSweep {
			if _, err := r.sw.Sweep(ctx, req, "test"); err != nil {
				r.t.Fatal(err)
			}
		}
		if err := r.db.Complete(ctx, d); err != nil {
			r.t.Fatal(err)
		}
	}
}

// A level-based worker reads the target: a guest edited there is reverted
// when the user is reconciled, and an item carrying an older source state
// than the link knows reconciles from the link's.
func TestReconcileRevertsTargetEditsAndUsesTheNewestSource(t *testing.T) {
	r := newRig(t, testTopology("disable", galsync.Threshold{}))
	r.seed(2)
	r.pull()
	r.drain()
	l := r.link("a")
	r.g.mu.Lock()
	r.g.target[l.TargetUserID].Attributes["jobTitle"] = "Edited in the target"
	r.g.mu.Unlock()
	before := len(r.g.writes)
	old := galsync.WorkItem{Direction: "src-to-tgt", SourceUserID: "a", Seq: l.SourceSeq, Kind: galsync.WorkReconcile,
		Source: galsync.Snapshot{"id": "a", "mail": "a@src.example", "displayName": "Stale", "accountEnabled": true}}
	out, err := r.upd.Handle(context.Background(), old, "t")
	if err != nil {
		t.Fatal(err)
	}
	writes := r.g.writes[before:]
	if len(writes) != 1 || len(writes[0].Changes) != 1 || writes[0].Changes["jobTitle"] != "Engineer" {
		t.Fatalf("writes = %+v (outcome %+v), want one PATCH restoring jobTitle", writes, out)
	}
}

// The sweep compares every linked guest with its desired state, reading
// the target in pages, and sends work only for the guests that differ.
func TestSweepFindsDriftAndWritesNothingElse(t *testing.T) {
	r := newRig(t, testTopology("disable", galsync.Threshold{}))
	r.seed(10)
	r.pull()
	r.drain()
	r.runSweeps() // the first pull's configuration record asks for none
	edited := []string{"b", "e"}
	r.g.mu.Lock()
	for _, id := range edited {
		l := r.link(id)
		r.g.target[l.TargetUserID].Attributes["displayName"] = "Changed by an admin"
	}
	gone := r.link("h")
	delete(r.g.target, gone.TargetUserID)
	r.g.mu.Unlock()
	before, lists := len(r.g.writes), r.g.lists
	m, err := SweepMessage("src-to-tgt", "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := galsync.DecodePullRequest(m.Body)
	res, err := r.sw.Sweep(context.Background(), req, "t")
	if err != nil {
		t.Fatal(err)
	}
	if res.Drifted != 2 || !res.Finished || res.Pages != r.g.lists-lists || res.Pages != 3 {
		t.Fatalf("sweep = %+v (list calls %d)", res, r.g.lists-lists)
	}
	if len(r.g.writes) != before {
		t.Fatal("the sweep wrote to Graph itself")
	}
	r.drain()
	writes := r.g.writes[before:]
	patches := 0
	for _, w := range writes {
		if w.Op == "patch" {
			patches++
			if len(w.Changes) != 1 || w.Changes["displayName"] == nil {
				t.Errorf("patch = %+v", w)
			}
		}
	}
	// The guest deleted in the target was invited long enough ago? No:
	// within the replication grace it is left alone.
	if patches != 2 || res.Missing != 0 {
		t.Fatalf("writes after the sweep = %+v, missing %d", writes, res.Missing)
	}
	// A second sweep over the converged guests sends nothing.
	m, err = SweepMessage("src-to-tgt", "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req, _ = galsync.DecodePullRequest(m.Body)
	res, err = r.sw.Sweep(context.Background(), req, "t")
	if err != nil || res.Drifted != 0 || !res.Finished || res.Pages != 3 {
		t.Fatalf("second sweep = %+v, %v", res, err)
	}
	if n, _ := queue.Count(context.Background(), r.db, galsync.QueueUpdates, 10); n != 0 {
		t.Fatalf("second sweep queued %d item(s)", n)
	}
	st, err := r.db.GetDirectionState(context.Background(), "src-to-tgt")
	if err != nil || st.Attention == nil || st.Attention.Conflicts != 0 {
		t.Fatalf("attention = %+v, %v", st.Attention, err)
	}
}

// A guest invited by hand whose address is only in otherMails (mail empty)
// is found and joined, then reconciled: no second invitation.
func TestJoinFindsTheAddressInOtherMails(t *testing.T) {
	r := newRig(t, testTopology("disable", galsync.Threshold{}))
	r.g.target["hand-1"] = &galsync.TargetUser{ID: "hand-1", UserType: "Guest", CreationType: "Invitation",
		Attributes: map[string]any{"otherMails": []string{"a@src.example"}, "displayName": "a", "accountEnabled": true}}
	r.g.target["hand-2"] = &galsync.TargetUser{ID: "hand-2", UserType: "Guest", CreationType: "Invitation",
		Attributes: map[string]any{"proxyAddresses": []string{"SMTP:b@src.example"}, "displayName": "b", "accountEnabled": true}}
	r.seed(2)
	r.pull()
	r.drain()
	if n := r.g.writeCount("invite"); n != 0 {
		t.Fatalf("%d invitations, want 0 (both joined)", n)
	}
	for id, want := range map[string]string{"a": "hand-1", "b": "hand-2"} {
		if l := r.link(id); l.TargetUserID != want || l.State != galsync.LinkActive {
			t.Errorf("link %s = %+v, want joined to %s", id, l, want)
		}
		g := r.g.guests()[want]
		if g.Attributes["mail"] != id+"@src.example" || g.Attributes["jobTitle"] != "Engineer" {
			t.Errorf("joined guest %s = %v, want reconciled", want, g.Attributes)
		}
	}
}

// A target member holding the address is one conflict entry, not a
// failure; unchanged, it is not looked up again.
func TestMemberHoldingTheAddressIsAConflict(t *testing.T) {
	r := newRig(t, testTopology("disable", galsync.Threshold{}))
	r.g.target["member-1"] = &galsync.TargetUser{ID: "member-1", UserType: "Member",
		Attributes: map[string]any{"mail": "a@src.example", "displayName": "Member A", "accountEnabled": true}}
	r.seed(2)
	r.pull()
	r.drain()
	if l := r.link("a"); l.State != galsync.LinkConflict || !strings.Contains(l.Conflict, "member") {
		t.Fatalf("link = %+v", l)
	}
	if es := r.logOf("a", galsync.ActionConflict); len(es) != 1 {
		t.Fatalf("conflict entries = %+v", es)
	}
	lookups := r.g.lookups
	// A full round sees the user again, unchanged: no lookup, no entry.
	r.p.Graph = &expireOnce{fakeGraph: r.g}
	if _, err := r.p.Pull(context.Background(), galsync.PullRequest{Direction: "src-to-tgt"}, "t"); err != nil {
		t.Fatal(err)
	}
	r.p.Graph = r.g
	r.drain()
	if r.g.lookups != lookups {
		t.Errorf("%d more lookups for an unchanged conflict", r.g.lookups-lookups)
	}
	if es := r.logOf("a", galsync.ActionConflict); len(es) != 1 {
		t.Errorf("conflict entries after a second round = %d", len(es))
	}
	if r.g.target["member-1"].Attributes["displayName"] != "Member A" || r.g.writeCount("invite") != 1 {
		t.Errorf("the member was written to, or a was invited: %+v", r.g.writes)
	}
}

// A new guest Graph does not show yet (replication delay) is retried after
// the replication wait, not taken for deleted. In a synctest bubble: the
// fake Graph's delay and the workers' clock are the bubble's.
func TestReplicationDelayIsWaitedOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, testTopology("disable", galsync.Threshold{}))
		r.g.replicationDelay = 3 * time.Second
		r.seed(1)
		r.pull()
		ctx := context.Background()
		ds, _ := r.db.Receive(ctx, galsync.QueueInvites, 1, 0)
		item, _ := galsync.DecodeWorkItem(ds[0].Body)
		out, err := r.inv.Handle(ctx, item, "t")
		if err != nil || out.HandOff == nil || time.Until(out.HandOff.NotBefore) < 2*time.Second {
			t.Fatalf("invite outcome = %+v, %v: want a hand-off scheduled after the replication wait", out, err)
		}
		_, err = r.upd.Handle(ctx, out.HandOff.Item, "t")
		if after, ok := galsync.RetryDelay(err); !ok || after != DefaultReplicationWait {
			t.Fatalf("update of an unreplicated guest: %v", err)
		}
		time.Sleep(r.g.replicationDelay)
		if out, err := r.upd.Handle(ctx, out.HandOff.Item, "t"); err != nil || len(out.Attributes) == 0 {
			t.Fatalf("update after replication: %+v, %v", out, err)
		}
		if r.g.writeCount("invite") != 1 {
			t.Error("invited twice")
		}
	})
}

// The retrier reschedules a transient failure no earlier than its cause
// asks, parks a permanent one at once, and parks one retried past the
// budget; message ids stay within Service Bus's 128 characters.
func TestRetrierReschedulesOrParks(t *testing.T) {
	r := newRig(t, testTopology("disable", galsync.Threshold{}))
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	rt := &Retrier{Queue: r.db, Log: r.db, Now: func() time.Time { return now }, // the zero policy: DefaultRetryPolicy
		Jitter: func() float64 { return 0 }, Logger: r.p.Logger}
	long := strings.Repeat("d", 63)
	m := queue.Message{ID: long + ":" + strings.Repeat("u", 36) + ":123456789:upsert", Body: []byte(`{}`), Subject: galsync.WorkUpsert,
		Properties: map[string]string{queue.PropDirection: "src-to-tgt", queue.PropSourceUser: "u1"}}
	ctx := context.Background()
	s, err := rt.Fail(ctx, galsync.QueueUpdates, m, galsync.RetryAfter(errors.New("429"), 7*time.Second), "inv")
	if err != nil || s.Parked || s.Attempt != 1 || s.Delay != 7*time.Second {
		t.Fatalf("first failure: %+v, %v", s, err)
	}
	got := r.peekAll(galsync.QueueUpdates)
	if len(got) != 1 || len(got[0].ID) > 128 || got[0].Properties[queue.PropAttempt] != "1" {
		t.Fatalf("rescheduled = %+v", got)
	}
	// The fifth retry waits out the backoff (2 s doubled four times,
	// jittered to its lower half), more than a short Retry-After.
	m5 := got[0].Message
	m5.Properties[queue.PropAttempt] = "4"
	if s, _ := rt.Fail(ctx, galsync.QueueUpdates, m5, galsync.RetryAfter(errors.New("503"), time.Second), "inv"); s.Delay != 16*time.Second {
		t.Errorf("attempt 5 delay = %s, want 16s", s.Delay)
	}
	// Past the budget: parked.
	old := got[0].Message
	old.Properties[queue.PropRetrySince] = now.Add(-25 * time.Hour).Format(time.RFC3339Nano)
	if s, _ := rt.Fail(ctx, galsync.QueueUpdates, old, errors.New("still 503"), "inv"); !s.Parked || !strings.Contains(s.Reason, "retry budget") {
		t.Errorf("past the budget: %+v", s)
	}
	// Permanent: parked at once, with Graph's message as the reason. (A
	// second park of one message would fold into the first: same id.)
	m.ID = "another-message"
	if s, _ := rt.Fail(ctx, galsync.QueueInvites, m, galsync.Permanent(errors.New("400 Request_BadRequest: bad")), "inv"); !s.Parked {
		t.Errorf("permanent: %+v", s)
	}
	parked := r.peekAll(galsync.QueueParked)
	if len(parked) != 2 || parked[1].Properties[queue.PropParkedFrom] != galsync.QueueInvites ||
		!strings.Contains(parked[1].Properties[queue.PropParkedReason], "Request_BadRequest") || len(parked[1].ID) > 128 {
		t.Fatalf("parked = %+v", parked)
	}
	if es := r.logOf("u1", galsync.ActionPark); len(es) != 2 {
		t.Errorf("park log entries = %d, want 2", len(es))
	}
}

// A failure after progress is settled as the message that takes the work
// up where it stood, with the retry state of the message that failed.
func TestRetrierSettlesTheResumption(t *testing.T) {
	r := newRig(t, testTopology("disable", galsync.Threshold{}))
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	rt := &Retrier{Queue: r.db, Log: r.db, Now: func() time.Time { return now }, Jitter: func() float64 { return 0 }, Logger: r.p.Logger}
	since := now.Add(-time.Hour).Format(time.RFC3339Nano)
	m := queue.Message{ID: "sweep:src-to-tgt:1/r2", Body: []byte(`{"from":"the start"}`),
		Properties: map[string]string{queue.PropDirection: "src-to-tgt", queue.PropAttempt: "2", queue.PropRetrySince: since}}
	next := queue.Message{ID: "sweep:src-to-tgt:round:7", Body: []byte(`{"from":"page 7"}`),
		Properties: map[string]string{queue.PropDirection: "src-to-tgt"}}
	ctx := context.Background()
	cause := fmt.Errorf("message %s: %w", m.ID, &ResumeError{Next: next, Err: errors.New("503")})
	if s, err := rt.Fail(ctx, galsync.QueuePulls, m, cause, "inv"); err != nil || s.Attempt != 3 || s.Parked {
		t.Fatalf("settlement = %+v, %v", s, err)
	}
	cause = &ResumeError{Next: next, Err: galsync.Permanent(errors.New("403 Authorization_RequestDenied"))}
	if s, err := rt.Fail(ctx, galsync.QueuePulls, m, cause, "inv"); err != nil || !s.Parked {
		t.Fatalf("permanent settlement = %+v, %v", s, err)
	}
	got := append(r.peekAll(galsync.QueuePulls), r.peekAll(galsync.QueueParked)...)
	if len(got) != 2 {
		t.Fatalf("%d message(s) settled, want 2", len(got))
	}
	for i, want := range []string{"sweep:src-to-tgt:round:7/r3", "sweep:src-to-tgt:round:7/parked"} {
		if d := got[i]; d.ID != want || string(d.Body) != `{"from":"page 7"}` {
			t.Errorf("settled %d = %s %s, want %s from page 7", i, d.ID, d.Body, want)
		}
	}
	if p := got[0].Properties; p[queue.PropRetrySince] != since || p[queue.PropAttempt] != "3" {
		t.Errorf("the retry's state = %v, want the failed message's carried on", p)
	}
}

func (r *rig) peekAll(q string) []queue.Delivery {
	r.t.Helper()
	ds, err := r.db.Peek(context.Background(), q, 0, 100)
	if err != nil {
		r.t.Fatal(err)
	}
	return ds
}

// idCheckingSender refuses, as Service Bus does, a message id longer than
// 128 characters, and records every id it sent.
type idCheckingSender struct {
	t    *testing.T
	next queue.Sender
	ids  []string
}

func (s *idCheckingSender) Send(ctx context.Context, q string, msgs ...queue.Message) error {
	for _, m := range msgs {
		if err := queue.CheckID(m.ID); err != nil {
			s.t.Errorf("%s: %v (id %q)", q, err, m.ID)
		}
		s.ids = append(s.ids, m.ID)
	}
	return s.next.Send(ctx, q, msgs...)
}

// With a 63-character direction name (the longest the configuration
// allows) every message id stays within Service Bus's 128 characters
// through every hop: pull, invite, hand-off, retry, put-off, park, sweep
// and a replay of what was parked.
func TestMessageIDsFitServiceBusThroughEveryHop(t *testing.T) {
	topo := testTopology("disable", galsync.Threshold{})
	name := strings.Repeat("d", 63)
	topo.Directions[0].Name = name
	r := newRig(t, topo)
	sender := &idCheckingSender{t: t, next: r.db}
	r.p.Queue, r.sw.Queue = sender, sender
	const user = "0a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d" // object ids are GUIDs
	r.g.put(user, map[string]any{"mail": "long@src.example", "displayName": "Long", "jobTitle": "Engineer"})
	ctx := context.Background()
	if _, err := r.p.Pull(ctx, galsync.PullRequest{Direction: name}, "t"); err != nil {
		t.Fatal(err)
	}
	rt := &Retrier{Queue: sender, Log: r.db, Policy: DefaultRetryPolicy(), Now: time.Now, Logger: r.p.Logger}
	for round := 0; round < 10; round++ {
		worked := false
		for _, q := range []string{galsync.QueueInvites, galsync.QueueUpdates} {
			ds, err := r.db.Receive(ctx, q, 10, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				worked = true
				item, err := galsync.DecodeWorkItem(d.Body)
				if err != nil {
					t.Fatal(err)
				}
				var out Outcome
				if q == galsync.QueueInvites {
					out, err = r.inv.Handle(ctx, item, "t")
				} else {
					out, err = r.upd.Handle(ctx, item, "t")
				}
				if err != nil {
					t.Fatal(err)
				}
				if out.HandOff != nil {
					h := *out.HandOff
					h.NotBefore = time.Time{}
					if err := SendHandOff(ctx, sender, &h); err != nil {
						t.Fatal(err)
					}
				}
				// Every hop also fails once: a retry, a put-off and a park.
				for _, cause := range []error{errors.New("503"), galsync.Defer(errors.New("budget"), time.Second),
					galsync.Permanent(errors.New("400"))} {
					if _, err := rt.Fail(ctx, q, d.Message, cause, "t"); err != nil {
						t.Fatal(err)
					}
				}
				if err := r.db.Complete(ctx, d); err != nil {
					t.Fatal(err)
				}
			}
		}
		if !worked {
			break
		}
	}
	// The sweep, its continuation, and its repair of the guest (edited in
	// the target) under the sweep's round, retried, put off and parked.
	l, err := r.db.GetLink(ctx, name, user)
	if err != nil {
		t.Fatal(err)
	}
	r.g.mu.Lock()
	r.g.target[l.TargetUserID].Attributes["jobTitle"] = "Edited in the target"
	for _, id := range []string{"member-1", "member-2"} { // pages of their own
		r.g.target[id] = &galsync.TargetUser{ID: id, UserType: "Member", Attributes: map[string]any{"displayName": id}}
	}
	r.g.listPage = 1
	r.g.mu.Unlock()
	m, err := SweepMessage(name, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	sender.ids = append(sender.ids, m.ID)
	if err := queue.CheckID(m.ID); err != nil {
		t.Error(err)
	}
	r.sw.Budget = time.Nanosecond
	for range 5 {
		req, err := galsync.DecodePullRequest(m.Body)
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.sw.Sweep(ctx, req, "t")
		if err != nil {
			t.Fatal(err)
		}
		if !res.Continued {
			break
		}
		ds, err := r.db.Receive(ctx, galsync.QueuePulls, 1, 0)
		if err != nil || len(ds) != 1 {
			t.Fatalf("the sweep's continuation: %d, %v", len(ds), err)
		}
		m = ds[0].Message
		_ = r.db.Complete(ctx, ds[0])
	}
	repairs, err := r.db.Receive(ctx, galsync.QueueUpdates, 10, 0)
	if err != nil || len(repairs) != 1 {
		t.Fatalf("the sweep's repairs: %d, %v", len(repairs), err)
	}
	if item, _ := galsync.DecodeWorkItem(repairs[0].Body); item.Round == "" {
		t.Fatalf("the sweep's repair %+v names no round", item)
	}
	for _, cause := range []error{errors.New("503"), galsync.Defer(errors.New("budget"), time.Second),
		galsync.Permanent(errors.New("400"))} {
		if _, err := rt.Fail(ctx, galsync.QueueUpdates, repairs[0].Message, cause, "t"); err != nil {
			t.Fatal(err)
		}
	}
	_ = r.db.Complete(ctx, repairs[0])
	// A sweep that fails after its first page: its continuation retried,
	// put off and parked.
	r.sw.Budget, r.sw.Graph = 0, &failingLister{next: r.g, failOn: 2, err: errors.New("503")}
	m, err = SweepMessage(name, "again", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := galsync.DecodePullRequest(m.Body)
	_, err = r.sw.Sweep(ctx, req, "t")
	var resume *ResumeError
	if !errors.As(err, &resume) {
		t.Fatalf("a sweep failing on its second page: %v, want a resumption", err)
	}
	for _, cause := range []error{err, &ResumeError{Next: resume.Next, Err: galsync.Defer(errors.New("budget"), time.Second)},
		&ResumeError{Next: resume.Next, Err: galsync.Permanent(errors.New("403"))}} {
		if _, err := rt.Fail(ctx, galsync.QueuePulls, m, cause, "t"); err != nil {
			t.Fatal(err)
		}
	}
	r.sw.Graph = r.g
	// A replay of what was parked, twice (a replay of a replayed copy).
	for range 2 {
		rep, err := deadletter.Replay(ctx, checkedQueue{DB: r.db, sender: sender}, deadletter.ReplayOptions{
			Options: deadletter.Options{Filter: deadletter.Filter{Queues: []string{galsync.QueueParked}}}})
		if err != nil || rep.Count(deadletter.Replayed) == 0 {
			t.Fatalf("replay: %+v, %v", rep, err)
		}
		for _, q := range []string{galsync.QueueInvites, galsync.QueueUpdates} {
			ds, _ := r.db.Receive(ctx, q, 10, 0)
			for _, d := range ds {
				if _, err := rt.Fail(ctx, q, d.Message, galsync.Permanent(errors.New("400 again")), "t"); err != nil {
					t.Fatal(err)
				}
				_ = r.db.Complete(ctx, d)
			}
		}
	}
	longest := 0
	for _, id := range sender.ids {
		longest = max(longest, queue.IDLength(id))
	}
	if len(sender.ids) < 12 || longest > queue.MaxMessageIDLength {
		t.Fatalf("%d ids sent, the longest %d characters", len(sender.ids), longest)
	}
	t.Logf("%d message ids, the longest %d characters", len(sender.ids), longest)
}

// checkedQueue is the embedded queue with its sends checked.
type checkedQueue struct {
	*embedded.DB
	sender *idCheckingSender
}

func (c checkedQueue) Send(ctx context.Context, q string, msgs ...queue.Message) error {
	return c.sender.Send(ctx, q, msgs...)
}
