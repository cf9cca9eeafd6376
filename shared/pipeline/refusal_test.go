package pipeline

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

// errDenied is Graph's answer to a write the app has no permission for
// (learn.microsoft.com/graph/errors: 403 "Authorization_RequestDenied").
// It is about the app, not the attribute: permanent, but no refusal.
var errDenied = graphErr(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")

// A 403 to a PATCH is parked with Graph's code, not recorded as a refusal
// of every attribute: once the permission is granted, the next reconcile
// writes them.
func TestForbiddenPatchIsParkedNotRefused(t *testing.T) {
	r := newRig(t, testTopology(galsync.DeprovisionDisable, galsync.Threshold{}))
	r.syncOne()
	r.g.put("a", map[string]any{"jobTitle": "Lead", "city": "Bergen"})
	r.g.deny["jobTitle"], r.g.deny["city"] = errDenied, errDenied
	r.pull()
	ctx := context.Background()
	ds, err := r.db.Receive(ctx, galsync.QueueUpdates, 10, 0)
	if err != nil || len(ds) != 1 {
		t.Fatalf("%d deliveries, %v", len(ds), err)
	}
	item, err := galsync.DecodeWorkItem(ds[0].Body)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.upd.Handle(ctx, item, "t")
	if !galsync.IsPermanent(err) || !strings.Contains(err.Error(), "Authorization_RequestDenied") {
		t.Fatalf("update under a 403 = %v, want the permanent error returned", err)
	}
	rt := &Retrier{Queue: r.db, Log: r.db, Now: time.Now, Logger: r.p.Logger}
	if s, err := rt.Fail(ctx, galsync.QueueUpdates, ds[0].Message, err, "t"); err != nil || !s.Parked {
		t.Fatalf("retrier = %+v, %v; want parked", s, err)
	}
	if err := r.db.Complete(ctx, ds[0]); err != nil {
		t.Fatal(err)
	}
	parked := r.peekAll(galsync.QueueParked)
	if len(parked) != 1 || !strings.Contains(parked[0].Properties[queue.PropParkedReason], "Authorization_RequestDenied") {
		t.Fatalf("parked = %+v", parked)
	}
	l := r.link("a")
	if len(l.Refused) != 0 || len(r.logOf("a", galsync.ActionRefused)) != 0 {
		t.Fatalf("a 403 recorded refusals: link %+v", l.Refused)
	}
	// The permission is granted: a reconcile writes both attributes.
	clear(r.g.deny)
	out, err := r.upd.Handle(ctx, reconcileItem(r.upd.Directions["src-to-tgt"], l), "t")
	if err != nil {
		t.Fatal(err)
	}
	g := r.g.guests()[l.TargetUserID]
	if g.Attributes["jobTitle"] != "Lead" || g.Attributes["city"] != "Bergen" || len(out.Attributes) != 2 {
		t.Errorf("after the grant: outcome %+v, guest %v", out, g.Attributes)
	}
}

// The address-list write takes a 400 as a refusal of showInAddressList
// and returns any other permanent error.
func TestAddressListWriteRefusedOnlyBy400(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		refused bool
	}{
		{"400", graphErr(400, "Request_BadRequest", "Unable to update the specified properties for on-premises mastered Directory Sync objects."), true},
		{"403", errDenied, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topo := testTopology(galsync.DeprovisionDisable, galsync.Threshold{})
			topo.Directions[0].AddressList = "graph"
			r := newRig(t, topo)
			r.g.deny["showInAddressList"] = tc.err
			r.seed(1)
			r.pull()
			ctx := context.Background()
			inv := r.takeOne(galsync.QueueInvites)
			out, err := r.inv.Handle(ctx, inv, "t")
			if err != nil || out.HandOff == nil {
				t.Fatalf("invite = %+v, %v", out, err)
			}
			_, err = r.upd.Handle(ctx, out.HandOff.Item, "t")
			_, refused := r.link("a").Refused["showInAddressList"]
			switch {
			case tc.refused && (err != nil || !refused):
				t.Errorf("400: err %v, refused %v; want a recorded refusal", err, refused)
			case !tc.refused && (!galsync.IsPermanent(err) || refused):
				t.Errorf("403: err %v, refused %v; want the error returned and no refusal", err, refused)
			}
		})
	}
}

// The manager reference likewise: a 403 is returned, not recorded as a
// refusal of "manager", and the reference is written once permitted.
func TestForbiddenManagerWriteIsNotARefusal(t *testing.T) {
	r, f, _ := relRig(t, func(d *galsync.Direction) { d.Mapping = managerMapping })
	r.g.put("rep", map[string]any{"mail": "rep@src.example", "displayName": "Rep"})
	r.g.put("boss", map[string]any{"mail": "boss@src.example", "displayName": "Boss"})
	r.pull()
	r.drain()
	r.g.put("rep", map[string]any{"manager": "boss"})
	f.setErr = errDenied
	r.pull()
	ctx := context.Background()
	_, err := r.upd.Handle(ctx, r.takeOne(galsync.QueueUpdates), "t")
	if !galsync.IsPermanent(err) || !strings.Contains(err.Error(), "Authorization_RequestDenied") {
		t.Fatalf("manager write under a 403 = %v, want the permanent error", err)
	}
	if l := r.link("rep"); len(l.Refused) != 0 {
		t.Fatalf("a 403 recorded refusals: %+v", l.Refused)
	}
	f.setErr = nil
	if _, err := r.upd.Handle(ctx, reconcileItem(r.upd.Directions["src-to-tgt"], r.link("rep")), "t"); err != nil {
		t.Fatal(err)
	}
	if f.managers[r.guestOf("rep")] != r.guestOf("boss") {
		t.Errorf("manager after the grant = %q, writes %v", f.managers[r.guestOf("rep")], f.managerWrites)
	}
}

// What is kept of a refusal is Graph's code and its message without the
// values it may quote.
func TestRefusalTextKeepsNoValue(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{graphErr(400, "Request_BadRequest", "Property 'jobTitle' is read-only and cannot be set."),
			"Request_BadRequest: Property 'jobTitle' is read-only and cannot be set."},
		{graphErr(400, "Request_BadRequest", "Invalid value 'Chief Cat Herder' specified for property 'jobTitle' of resource 'User'."),
			"Request_BadRequest: Invalid value '…' specified for property 'jobTitle' of resource 'User'."},
		{graphErr(400, "Request_BadRequest", "Another object with the same value for property jobTitle already exists: 12345."),
			"Request_BadRequest: Another object with the same value for property jobTitle already exists."},
		{graphErr(400, "Request_BadRequest", `The value "x y" doesn't match the pattern for jobTitle`),
			`Request_BadRequest: The value "…" doesn't match the pattern for jobTitle`},
		{graphErr(400, "Request_BadRequest", "Unclosed 'value and more"), "Request_BadRequest: Unclosed"},
		{graphErr(400, "Request_BadRequest", ""), "Request_BadRequest: Graph refused jobTitle"},
		{errors.New("no Graph answer: the value was x"), "Graph refused jobTitle"},
	} {
		if got := refusalText("jobTitle", tc.err); got != tc.want {
			t.Errorf("refusalText(%v)\n = %q\nwant %q", tc.err, got, tc.want)
		}
	}
}

// Through the worker: the link, the log and so the status page hold the
// code and the message, never the value refused.
func TestRefusalRecordedWithoutTheValue(t *testing.T) {
	r := newRig(t, testTopology(galsync.DeprovisionDisable, galsync.Threshold{}))
	r.g.deny["jobTitle"] = galsync.Refused("jobTitle", graphErr(400, "Request_BadRequest",
		"Invalid value 'Engineer' specified for property 'jobTitle' of resource 'User'."))
	r.syncOne()
	const want = "Request_BadRequest: Invalid value '…' specified for property 'jobTitle' of resource 'User'."
	if got := r.link("a").Refused["jobTitle"].Message; got != want {
		t.Errorf("link refusal = %q, want %q", got, want)
	}
	es := r.logOf("a", galsync.ActionRefused)
	if len(es) != 1 || es[0].Reason != want {
		t.Errorf("refusal log = %+v", es)
	}
	if g := r.g.guests()[r.link("a").TargetUserID]; g.Attributes["city"] != "Oslo" {
		t.Errorf("the other attributes did not land: %v", g.Attributes)
	}
}
