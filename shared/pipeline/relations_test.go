package pipeline

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

// relRig is a rig whose direction is changed by mutate, with managers,
// direct reports and groups in the fake tenants.
func relRig(t *testing.T, mutate func(d *galsync.Direction)) (*rig, *fakeRelations, *GroupSyncer) {
	t.Helper()
	topo := testTopology("disable", galsync.Threshold{})
	mutate(&topo.Directions[0])
	r := newRig(t, topo)
	f := newFakeRelations(r.g)
	reader := &fullReader{g: r.g}
	r.p.Groups, r.p.Users = f, reader
	r.upd.Managers, r.upd.Reports, r.upd.Queue, r.upd.Source = f, f, r.db, reader
	r.inv.Source = reader
	r.sw.Managers = f
	gs := &GroupSyncer{Directions: r.p.Directions, Store: r.db, Graph: f, Now: time.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return r, f, gs
}

var managerMapping = map[string]galsync.AttributeMapping{"displayName": {Source: "displayName"}, "mail": {Source: "mail"},
	"jobTitle": {Source: "jobTitle"}, "manager": {Source: "manager"}}

func (r *rig) guestOf(id string) string {
	r.t.Helper()
	return r.link(id).TargetUserID
}

// TestManagerSyncedAfterItsReports: the report's delta entry comes before
// its manager's; the reference waits and is written once the manager's
// guest exists, exactly once; a manager change costs one write, a manager
// removed one removal, and a manager retired takes its reference along.
func TestManagerSyncedAfterItsReports(t *testing.T) {
	r, f, _ := relRig(t, func(d *galsync.Direction) { d.Mapping = managerMapping })
	r.g.put("rep", map[string]any{"mail": "rep@src.example", "displayName": "Rep", "manager": "boss"})
	r.g.put("boss", map[string]any{"mail": "boss@src.example", "displayName": "Boss"})
	r.g.put("other", map[string]any{"mail": "other@src.example", "displayName": "Other"})
	r.g.pageSize = 1 // rep's page is decided, and its work done, before boss is seen
	r.pull()
	r.drain()
	rep, boss := r.guestOf("rep"), r.guestOf("boss")
	if f.managers[rep] != boss {
		t.Fatalf("manager of rep's guest = %q, want boss's guest %s (writes %v)", f.managers[rep], boss, f.managerWrites)
	}
	if len(f.managerWrites) != 1 {
		t.Errorf("manager writes = %v, want exactly one", f.managerWrites)
	}
	if l := r.link("rep"); l.ManagerPending != "" {
		t.Errorf("pending manager left on the link: %q", l.ManagerPending)
	}

	// A change of manager: one write. The manager removed: one removal.
	r.g.put("rep", map[string]any{"manager": "other"})
	r.pull()
	r.drain()
	if f.managers[rep] != r.guestOf("other") || len(f.managerWrites) != 2 {
		t.Fatalf("after a manager change: %v", f.managerWrites)
	}
	r.g.put("rep", map[string]any{"manager": nil})
	r.pull()
	r.drain()
	if _, ok := f.managers[rep]; ok || len(f.managerWrites) != 3 || f.managerWrites[2] != "remove:"+rep {
		t.Fatalf("after the manager was removed: %v", f.managerWrites)
	}
	// An unrelated change of the report writes no manager.
	r.g.put("rep", map[string]any{"manager": "boss"})
	r.pull()
	r.drain()
	r.g.put("rep", map[string]any{"jobTitle": "Lead"})
	r.pull()
	r.drain()
	if len(f.managerWrites) != 4 {
		t.Fatalf("manager writes after an unrelated change: %v", f.managerWrites)
	}
	// The manager leaves scope (disabled): its guest is retired and the
	// report loses the reference.
	r.g.put("boss", map[string]any{"accountEnabled": false})
	r.pull()
	r.drain()
	if _, ok := f.managers[rep]; ok {
		t.Fatalf("the report still has the retired manager: %v", f.managerWrites)
	}
	if es := r.logOf("rep", galsync.ActionManager); len(es) < 4 {
		t.Errorf("manager log entries = %+v", es)
	}
}

// TestManagerOutOfScopeThenIn: a manager out of scope gives its reports
// no manager; when it comes into scope, its new guest announces itself and
// the reports get it.
func TestManagerOutOfScopeThenIn(t *testing.T) {
	r, f, _ := relRig(t, func(d *galsync.Direction) { d.Mapping = managerMapping })
	r.g.put("boss", map[string]any{"displayName": "Boss"}) // no mail: out of scope
	r.g.put("rep", map[string]any{"mail": "rep@src.example", "displayName": "Rep", "manager": "boss"})
	r.pull()
	r.drain()
	rep := r.guestOf("rep")
	if _, ok := f.managers[rep]; ok || len(f.managerWrites) != 0 {
		t.Fatalf("a manager out of scope was referenced: %v", f.managerWrites)
	}
	r.g.put("boss", map[string]any{"mail": "boss@src.example"})
	r.pull()
	r.drain()
	if f.managers[rep] != r.guestOf("boss") || len(f.managerWrites) != 1 {
		t.Fatalf("after the manager came into scope: %v", f.managerWrites)
	}
}

// TestSweepRepairsManagers: a manager reference changed in the target is
// put back by the sweep, with one write.
func TestSweepRepairsManagers(t *testing.T) {
	r, f, _ := relRig(t, func(d *galsync.Direction) { d.Mapping = managerMapping })
	r.g.put("boss", map[string]any{"mail": "boss@src.example", "displayName": "Boss"})
	r.g.put("rep", map[string]any{"mail": "rep@src.example", "displayName": "Rep", "manager": "boss"})
	r.pull()
	r.drain()
	rep := r.guestOf("rep")
	f.managers[rep] = "someone-else"
	writes := len(f.managerWrites)
	sweepNow(t, r)
	r.drain()
	if f.managers[rep] != r.guestOf("boss") || len(f.managerWrites) != writes+1 {
		t.Fatalf("sweep: manager %q, writes %v", f.managers[rep], f.managerWrites[writes:])
	}
	sweepNow(t, r)
	r.drain()
	if len(f.managerWrites) != writes+1 {
		t.Errorf("a second sweep wrote %v", f.managerWrites[writes+1:])
	}
}

func sweepNow(t *testing.T, r *rig) {
	t.Helper()
	if _, err := r.sw.Sweep(context.Background(), galsync.PullRequest{Direction: "src-to-tgt", Mode: galsync.PullSweep}, "t"); err != nil {
		t.Fatal(err)
	}
}

// TestConvertExistingMember: with existingMembers convert, the member
// holding the address is converted in place (same id, one invitation naming
// it), then gets the direction's userType and the mapping; a member with an
// onPremisesUserPrincipalName is one conflict with the documented reason,
// and no invitation; outside convertDomains, a member stays a conflict.
func TestConvertExistingMember(t *testing.T) {
	r, _, _ := relRig(t, func(d *galsync.Direction) {
		d.ExistingMembers, d.ConvertDomains = galsync.ExistingMembersConvert, []string{"src.example"}
	})
	member := func(id, mail, onPrem string) {
		r.g.target[id] = &galsync.TargetUser{ID: id, UserType: "Member", OnPremisesUserPrincipalName: onPrem,
			Attributes: map[string]any{"mail": mail, "displayName": "Old " + id, "accountEnabled": true}}
	}
	member("m-a", "a@src.example", "")
	member("m-b", "b@src.example", "b@corp.src.example")
	member("m-c", "c@other.example", "")
	r.seed(2)
	r.g.put("c", map[string]any{"mail": "c@other.example", "displayName": "User c"})
	r.pull()
	r.drain()
	if l := r.link("a"); l.TargetUserID != "m-a" || l.State != galsync.LinkActive || l.ConvertedAt.IsZero() {
		t.Fatalf("converted link = %+v", l)
	}
	a := r.g.guests()["m-a"]
	if a.ExternalUserState == "" || a.UserType != "Guest" || a.Attributes["displayName"] != "User a" || a.Attributes["jobTitle"] != "Engineer" {
		t.Errorf("converted user = %+v", a)
	}
	if r.g.writeCount("convert") != 1 || r.g.writeCount("invite") != 0 {
		t.Errorf("writes = %+v, want one conversion and no invitation", r.g.writes)
	}
	if l := r.link("b"); l.State != galsync.LinkConflict || !strings.Contains(l.Conflict, "onPremisesUserPrincipalName") {
		t.Errorf("member with onPremisesUserPrincipalName: %+v", l)
	}
	if es := r.logOf("b", galsync.ActionConflict); len(es) != 1 {
		t.Errorf("conflict entries for b = %d, want 1", len(es))
	}
	if l := r.link("c"); l.State != galsync.LinkConflict || !strings.Contains(l.Conflict, "convertDomains") {
		t.Errorf("member outside convertDomains: %+v", l)
	}
	if es := r.logOf("a", galsync.ActionConvert); len(es) != 1 || es[0].TargetUserID != "m-a" {
		t.Errorf("convert log = %+v", es)
	}
	// Nothing changed: a second cycle converts nothing again.
	before := len(r.g.writes)
	r.pull()
	r.drain()
	if len(r.g.writes) != before {
		t.Errorf("a no-op cycle wrote %+v", r.g.writes[before:])
	}
}

// TestMirroredGroups: three overlapping groups get three target groups with
// the guests of their in-scope members; a change of members costs one
// membership write each; a run with no change writes nothing; members
// galsync does not manage stay; nested groups are reported, not flattened;
// a deleted source group leaves its target group.
func TestMirroredGroups(t *testing.T) {
	const g1, g2, g3 = "aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-000000000002", "aaaaaaaa-0000-4000-8000-000000000003"
	r, f, gs := relRig(t, func(d *galsync.Direction) { d.MirrorGroups = []string{g1, g2, g3} })
	r.seed(8) // a..h
	r.g.put("nomail", map[string]any{"displayName": "No mail"})
	f.setGroup(g1, "Finance", "a", "b", "c", "nomail")
	f.setGroup(g2, "Sales", "c", "d", "e", "group:"+g3)
	f.setGroup(g3, "All", "a", "b", "c", "d", "e", "f")
	r.pull()
	r.drain()
	ctx := context.Background()
	res, err := gs.Run(ctx, galsync.PullRequest{Direction: "src-to-tgt", Mode: galsync.PullGroups}, "t")
	if err != nil || res.Created != 3 || res.Added != 12 {
		t.Fatalf("first run: %+v, %v", res, err)
	}
	pairs, _ := r.db.ListGroupPairs(ctx, "src-to-tgt")
	target := map[string]string{}
	for _, p := range pairs {
		target[p.SourceGroupID] = p.TargetGroupID
	}
	guests := func(ids ...string) []string {
		var out []string
		for _, id := range ids {
			out = append(out, r.guestOf(id))
		}
		slices.Sort(out)
		return out
	}
	for g, want := range map[string][]string{g1: guests("a", "b", "c"), g2: guests("c", "d", "e"), g3: guests("a", "b", "c", "d", "e", "f")} {
		if got := f.members(target[g]); !slices.Equal(got, want) {
			t.Errorf("group %s members %v, want %v", g, got, want)
		}
	}
	if f.targets[target[g1]].DisplayName != "Finance (src)" {
		t.Errorf("target name %q", f.targets[target[g1]].DisplayName)
	}
	nested := r.logOfGroup(g3)
	if !slices.ContainsFunc(nested, func(e galsync.LogEntry) bool { return strings.Contains(e.Reason, "not flattened") }) {
		t.Errorf("nested group not reported: %+v", nested)
	}
	// A second run: nothing read in the target, nothing written.
	changes := f.memberChanges
	if res, err := gs.Run(ctx, galsync.PullRequest{Direction: "src-to-tgt", Mode: galsync.PullGroups}, "t"); err != nil || res.Unchanged != 3 {
		t.Fatalf("second run: %+v, %v", res, err)
	}
	if f.memberChanges != changes {
		t.Fatalf("a run with no change wrote %d members", f.memberChanges-changes)
	}
	// Someone adds a member of their own in the target: it stays.
	f.targetMembers[target[g1]] = append(f.targetMembers[target[g1]], "not-a-guest")
	// 2 added, 1 removed in the source.
	f.setGroup(g1, "Finance", "a", "c", "g", "h", "nomail")
	if _, err := gs.Run(ctx, galsync.PullRequest{Direction: "src-to-tgt", Mode: galsync.PullGroups}, "t"); err != nil {
		t.Fatal(err)
	}
	if n := f.memberChanges - changes; n != 3 {
		t.Errorf("2 added and 1 removed cost %d membership writes, want 3", n)
	}
	if got, want := f.members(target[g1]), append(guests("a", "c", "g", "h"), "not-a-guest"); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("members after the change %v, want %v", got, want)
	}
	// A guest leaving scope (disabled in the source) leaves the groups.
	r.g.put("c", map[string]any{"accountEnabled": false})
	r.pull()
	r.drain()
	if _, err := gs.Run(ctx, galsync.PullRequest{Direction: "src-to-tgt", Mode: galsync.PullGroups}, "t"); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{g1, g2, g3} {
		if slices.Contains(f.members(target[g]), r.guestOf("c")) {
			t.Errorf("retired guest still in group %s", g)
		}
	}
	// The verify run of the sweep repairs a target edit.
	f.targetMembers[target[g2]] = nil
	if _, err := gs.Run(ctx, galsync.PullRequest{Direction: "src-to-tgt", Mode: galsync.PullGroups, Verify: true}, "t"); err != nil {
		t.Fatal(err)
	}
	if got := f.members(target[g2]); !slices.Equal(got, guests("d", "e")) {
		t.Errorf("after the verify run: %v", got)
	}
	// The source group is deleted: its target group stays, reported.
	f.deleteGroup(g1)
	if _, err := gs.Run(ctx, galsync.PullRequest{Direction: "src-to-tgt", Mode: galsync.PullGroups}, "t"); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.targets[target[g1]]; !ok || len(f.members(target[g1])) == 0 {
		t.Error("the target group of a deleted source group was removed or emptied")
	}
	if es := r.logOfGroup(g1); !slices.ContainsFunc(es, func(e galsync.LogEntry) bool { return strings.Contains(e.Reason, "deleted in the source") }) {
		t.Errorf("deletion not reported: %+v", es)
	}
}

func (r *rig) logOfGroup(gid string) []galsync.LogEntry {
	r.t.Helper()
	var out []galsync.LogEntry
	for _, e := range r.logOf("", galsync.ActionGroup) {
		if strings.Contains(e.Reason, gid) {
			out = append(out, e)
		}
	}
	return out
}

// TestNewGuestsAskForOneGroupsRun: guests arriving within the window ask
// for one run of the mirrored groups, scheduled for the window's end.
func TestNewGuestsAskForOneGroupsRun(t *testing.T) {
	r, _, _ := relRig(t, func(d *galsync.Direction) { d.MirrorGroups = []string{"aaaaaaaa-0000-4000-8000-000000000001"} })
	r.seed(5)
	r.pull()
	r.drain()
	ctx := context.Background()
	scheduled, err := queue.CountScheduled(ctx, r.db, galsync.QueuePulls, 100)
	if err != nil {
		t.Fatal(err)
	}
	if scheduled < 1 || scheduled > 2 { // one per window the five arrivals fell in
		t.Errorf("%d scheduled groups runs for 5 arrivals", scheduled)
	}
}

// TestScopeGroups: only members of the scope group are synced; a user
// added to it is invited on the next pull, one removed is retired.
func TestScopeGroups(t *testing.T) {
	const sg = "bbbbbbbb-0000-4000-8000-000000000001"
	r, f, _ := relRig(t, func(d *galsync.Direction) { d.Scope.IncludeGroups = []string{sg} })
	r.seed(4)
	f.setGroup(sg, "Partners", "a", "b")
	if res := r.pull(); res.Invites != 2 || res.Skipped != 2 {
		t.Fatalf("first pull = %+v", res)
	}
	r.drain()
	f.setGroup(sg, "Partners", "b", "c")
	res := r.pull()
	if res.Invites != 1 || res.Deprovisions != 1 {
		t.Fatalf("pull after a membership change = %+v, want c invited and a retired", res)
	}
	r.drain()
	if l := r.link("a"); l.State != galsync.LinkDisabled {
		t.Errorf("a removed from the scope group: %+v", l)
	}
	if l := r.link("c"); l.State != galsync.LinkActive {
		t.Errorf("c added to the scope group: %+v", l)
	}
	// Nothing changed: no work.
	if res := r.pull(); res.Invites+res.Updates+res.Deprovisions != 0 {
		t.Errorf("no-op pull = %+v", res)
	}
}
