package main

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/pipeline"
	"github.com/galsync/galsync/shared/status"
	"github.com/galsync/galsync/shared/syncplan"
	"github.com/galsync/galsync/sim"
)

// The scenarios of issue 12: members converted in place, managers, and
// mirrored security groups, against the simulator (which models
// invite-internal-users, the manager $ref calls and manager@delta,
// groups, group members and groups/delta from Microsoft's pages), under
// its 2 s replication delay.

// connectMembers creates target members as Microsoft Entra Connect syncs
// the partner's people: the source users' mail, userType Member,
// onPremisesSyncEnabled, and (unless onPrem) no onPremisesUserPrincipalName.
func connectMembers(t *testing.T, h *harness, users []sim.User, onPrem bool) []sim.User {
	t.Helper()
	synced := true
	var out []sim.User
	for _, u := range users {
		m := sim.User{DisplayName: u.DisplayName + " (Connect)", Mail: u.Mail, UserType: "Member", AccountEnabled: true,
			OnPremisesSyncEnabled: &synced}
		if onPrem {
			m.OnPremisesUserPrincipalName = strings.Replace(u.Mail, "@", "@corp.", 1)
		}
		made, err := h.sim.UpsertUser(dstTenantID, m)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, made)
	}
	return out
}

// conversionCase is the first scenario: 50 members as Connect
// makes them, and one that Microsoft will not convert.
func conversionCase(t *testing.T, policy string) (*harness, []sim.User, []sim.User, sim.User, string) {
	h := newHarness(t, harnessOptions{seed: sim.SeedSpec{Count: 51, Seed: 121}, deprovision: galsync.DeprovisionDisable,
		direction: map[string]any{"existingMembers": policy, "inviteRedirectUrl": ""}})
	users := inScope(h.source)
	if len(users) != 51 {
		t.Fatalf("%d users in scope, want 51", len(users))
	}
	members := connectMembers(t, h, users[:50], false)
	blocked := connectMembers(t, h, users[50:], true)[0]
	h.waitReplication()
	p := planNow(t)
	converts := 50
	if policy != galsync.ExistingMembersConvert {
		converts = 0
	}
	if p.Counts[pipeline.PlanConvert] != converts || p.Counts[pipeline.PlanConflict] != 51-converts {
		t.Errorf("plan counts %v, want %d to convert and %d conflicts", p.Counts, converts, 51-converts)
	}
	h.sim.ResetRequests()
	out := h.mustSync()
	return h, users, members, blocked, out
}

func TestConvertExistingMembers(t *testing.T) {
	h, users, members, blocked, out := conversionCase(t, galsync.ExistingMembersConvert)
	all, err := h.sim.Users(dstTenantID)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 51 {
		t.Errorf("%d users in the target, want the 51 members (no new user)", len(all))
	}
	w := h.writes()
	if n := len(w["invitations"]); n != 50 {
		t.Errorf("%d invitations, want 50 (one per conversion)", n)
	}
	for _, r := range w["invitations"] {
		var body map[string]any
		_ = json.Unmarshal(r.Body, &body)
		ref, _ := body["invitedUser"].(map[string]any)
		if ref["id"] == nil || body["inviteRedirectUrl"] != "https://myapps.microsoft.com/?tenantid="+dstTenantID || body["sendInvitationMessage"] != false {
			t.Errorf("conversion request %s", r.Body)
			break
		}
	}
	for i, m := range members {
		got, err := h.sim.User(dstTenantID, m.ID)
		if err != nil {
			t.Fatalf("member %s is gone: %v", m.ID, err)
		}
		if got.ExternalUserState == "" || got.UserType != "Guest" {
			t.Errorf("member %s: externalUserState %q userType %q, want external and Guest", m.ID, got.ExternalUserState, got.UserType)
		}
		checkAttributes(t, users[i], got)
	}
	var conflicts []galsync.LogEntry
	h.withBackends(func(b *backends) {
		conflicts = logFor(t, b.store, galsync.LogQuery{Action: galsync.ActionConflict})
		if n := len(logFor(t, b.store, galsync.LogQuery{Action: galsync.ActionConvert})); n != 50 {
			t.Errorf("%d convert entries, want 50", n)
		}
		for _, e := range logFor(t, b.store, galsync.LogQuery{SourceUserID: users[50].ID}) {
			if e.Outcome == galsync.OutcomeFailed {
				t.Errorf("the refused member was retried or failed: %+v", e)
			}
		}
	})
	if len(conflicts) != 1 || conflicts[0].SourceUserID != users[50].ID || conflicts[0].TargetUserID != blocked.ID ||
		!strings.Contains(conflicts[0].Reason, "onPremisesUserPrincipalName") {
		t.Errorf("conflicts %+v, want one for the member with onPremisesUserPrincipalName", conflicts)
	}
	if u, _ := h.sim.User(dstTenantID, blocked.ID); u.ExternalUserState != "" || parked(h) != 0 {
		t.Errorf("the refused member changed (%+v) or work was parked (%d)", u, parked(h))
	}
	d := statusReport(t).Directions[0]
	if d.Attention.Converted != 50 || d.Attention.Conflicts != 1 {
		t.Errorf("status attention %+v, want 50 converted and 1 conflict", d.Attention)
	}
	t.Logf("conversion of 50 members and 1 refusal: Graph requests by kind %v; %s", graphCalls(h), summaryOf(out))
}

func TestSkipExistingMembers(t *testing.T) {
	h, _, members, _, _ := conversionCase(t, galsync.ExistingMembersSkip)
	if n := countWrites(h.writes()); n != 0 {
		t.Errorf("%d writes with existingMembers skip, want 0", n)
	}
	h.withBackends(func(b *backends) {
		if n := len(logFor(t, b.store, galsync.LogQuery{Action: galsync.ActionConflict})); n != 51 {
			t.Errorf("%d conflicts, want 51", n)
		}
	})
	for _, m := range members {
		if u, _ := h.sim.User(dstTenantID, m.ID); u.ExternalUserState != "" {
			t.Fatalf("member %s was converted with skip", m.ID)
		}
	}
	// The operator does what the conflict says: existingMembers convert.
	// The changed configuration sweeps the direction, which looks at the
	// conflicts again.
	h.rewriteTopology(harnessOptions{deprovision: galsync.DeprovisionDisable,
		direction: map[string]any{"existingMembers": galsync.ExistingMembersConvert}})
	h.sim.ResetRequests()
	h.mustSync()
	if n := len(h.writes()["invitations"]); n != 50 {
		t.Errorf("%d conversions after switching to convert, want 50", n)
	}
	for _, m := range members {
		if u, _ := h.sim.User(dstTenantID, m.ID); u.ExternalUserState == "" || u.UserType != "Guest" {
			t.Fatalf("member %s not converted after switching to convert: %+v", m.ID, u)
		}
	}
}

// planNow runs `galsync plan --json`.
func planNow(t *testing.T) pipeline.Plan {
	t.Helper()
	out, errOut, err := runCLI(t, "plan", "--direction", direction, "--json")
	if err != nil {
		t.Fatalf("plan: %v\n%s", err, errOut)
	}
	var p pipeline.Plan
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// summaryOf is the summary `galsync local --once` ends with.
func summaryOf(out string) string {
	for line := range strings.SplitSeq(out, "\n") {
		if strings.Contains(line, "galsync local: stopped.") {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// hierarchy gives 1,000 users five levels: one head, 5 reporting to it,
// 25, 125, and the rest under the 125 of level 3. It returns each user's
// manager.
func hierarchy(t *testing.T, h *harness, users []sim.User) map[string]string {
	t.Helper()
	bounds := []int{0, 1, 6, 31, 156, len(users)}
	manager := map[string]string{}
	for level := 1; level < len(bounds)-1; level++ {
		above := users[bounds[level-1]:bounds[level]]
		for i, u := range users[bounds[level]:bounds[level+1]] {
			m := above[i%len(above)]
			if err := h.sim.SetManager(srcTenantID, u.ID, m.ID); err != nil {
				t.Fatal(err)
			}
			manager[u.ID] = m.ID
		}
	}
	return manager
}

func managerMapping() map[string]any {
	m := map[string]any{}
	for k, v := range syncplan.DefaultMapping {
		m[k] = map[string]any{"source": v.Source}
	}
	m["manager"] = map[string]any{"source": "manager"}
	return m
}

// managerRequests counts the target's manager writes (PUT and DELETE of
// manager/$ref) that succeeded.
func managerRequests(h *harness) (put, del int) {
	for _, r := range h.sim.FindRequests(sim.RequestFilter{Tenant: dstTenantID, Kind: "manager"}) {
		switch {
		case r.Status >= 300:
		case r.Method == http.MethodPut:
			put++
		case r.Method == http.MethodDelete:
			del++
		}
	}
	return put, del
}

// checkManagers: every guest's manager is the guest of its source user's
// manager, or none.
func checkManagers(t *testing.T, h *harness, users []sim.User, manager map[string]string) {
	t.Helper()
	guests := h.guests()
	bySource := map[string]string{}
	for _, u := range users {
		bySource[u.ID] = guests[strings.ToLower(u.Mail)].ID
	}
	wrong := 0
	for _, u := range users {
		got, err := h.sim.Manager(dstTenantID, bySource[u.ID])
		if err != nil {
			t.Fatal(err)
		}
		if want := bySource[manager[u.ID]]; got != want {
			if wrong++; wrong <= 5 {
				t.Errorf("guest of %s has manager %q, want %q (the guest of %s)", u.ID, got, want, manager[u.ID])
			}
		}
	}
	if wrong > 0 {
		t.Errorf("%d of %d guests have the wrong manager", wrong, len(users))
	}
}

func TestManagersInAHierarchy(t *testing.T) {
	h := newHarness(t, harnessOptions{seed: sim.SeedSpec{Count: 1000, Seed: 122}, deprovision: galsync.DeprovisionDisable,
		mapping: managerMapping()})
	users := h.source
	manager := hierarchy(t, h, users)
	// A level-3 manager is out of scope at first (disabled): its reports
	// are synced before it.
	late := users[40]
	if _, err := h.sim.UpdateUser(srcTenantID, late.ID, map[string]any{"accountEnabled": false}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	h.mustSync()
	initial := time.Since(start)
	put, _ := managerRequests(h)
	withoutLate := map[string]string{}
	inScope := slices.DeleteFunc(slices.Clone(users), func(u sim.User) bool { return u.ID == late.ID })
	for id, m := range manager {
		if m != late.ID && id != late.ID {
			withoutLate[id] = m
		}
	}
	checkManagers(t, h, inScope, withoutLate)
	t.Logf("initial sync of 1,000 users with managers: %s, %d manager writes, %d retries", initial.Round(time.Second), put, retries(t, h))

	// The late manager comes into scope: its reports get it.
	if _, err := h.sim.UpdateUser(srcTenantID, late.ID, map[string]any{"accountEnabled": true}); err != nil {
		t.Fatal(err)
	}
	h.sim.ResetRequests()
	h.mustSync()
	checkManagers(t, h, users, manager)
	reports := 0
	for _, m := range manager {
		if m == late.ID {
			reports++
		}
	}
	if put, del := managerRequests(h); put != reports+1 || del != 0 { // its reports, and itself
		t.Errorf("the late manager cost %d PUT and %d DELETE, want %d and 0", put, del, reports+1)
	}

	// Ten managers changed in the source: exactly ten manager writes.
	h.sim.ResetRequests()
	for i := range 10 {
		u := users[200+i]
		other := users[31+(i*7)%125] // another level-3 manager
		if other.ID == manager[u.ID] {
			other = users[32+(i*7)%124]
		}
		if err := h.sim.SetManager(srcTenantID, u.ID, other.ID); err != nil {
			t.Fatal(err)
		}
		manager[u.ID] = other.ID
	}
	if p := planNow(t); p.Managers[pipeline.ManagerSet] != 10 || p.Managers[pipeline.ManagerRemove] != 0 || p.Drift["manager"] != 10 {
		t.Errorf("plan managers %v, drift %v: want 10 to set", p.Managers, p.Drift)
	}
	h.sim.ResetRequests()
	h.mustSync()
	checkManagers(t, h, users, manager)
	put, del := managerRequests(h)
	if put != 10 || del != 0 {
		t.Errorf("10 manager changes cost %d PUT and %d DELETE, want exactly 10 writes", put, del)
	}
	t.Logf("10 manager changes: Graph requests by kind %v", graphCalls(h))
	if w := h.writes(); len(w["patch"]) != 0 || len(w["invitations"]) != 0 {
		t.Errorf("manager changes wrote %d PATCHes and %d invitations", len(w["patch"]), len(w["invitations"]))
	}

	// A manager removed in the source is removed from the guest.
	h.sim.ResetRequests()
	gone := users[300]
	if err := h.sim.SetManager(srcTenantID, gone.ID, ""); err != nil {
		t.Fatal(err)
	}
	delete(manager, gone.ID)
	h.mustSync()
	if put, del := managerRequests(h); put != 0 || del != 1 {
		t.Errorf("a manager removed cost %d PUT and %d DELETE, want one DELETE", put, del)
	}
	checkManagers(t, h, users, manager)
	out, errOut, err := runCLI(t, "provision", "--direction", direction, "--user", users[200].ID, "--json")
	if err != nil {
		t.Fatalf("provision: %v\n%s", err, errOut)
	}
	var rep pipeline.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(rep.Steps, func(s pipeline.Step) bool {
		return s.Name == pipeline.StepManager && strings.Contains(s.Detail, manager[users[200].ID])
	}) {
		t.Errorf("provision on demand does not report the manager: %+v", rep.Steps)
	}

	// A sweep of 1,000 guests with their managers right writes nothing.
	h.sim.ResetRequests()
	if out, err := h.sweep(); err != nil {
		t.Fatalf("sweep: %v\n%s", err, out)
	}
	if put, del := managerRequests(h); put+del != 0 || countWrites(h.writes()) != 0 {
		t.Errorf("a sweep of converged guests wrote %d manager references and %d other writes", put+del, countWrites(h.writes()))
	}
	t.Logf("sweep of 1,000 guests with managers: Graph requests by kind %v", graphCalls(h))
}

// groupWrites counts the target's membership writes: members bound by a
// PATCH (members@odata.bind), added or removed by members/$ref; and the
// requests they took.
func groupWrites(h *harness) (members, requests int) {
	for _, r := range h.sim.FindRequests(sim.RequestFilter{Tenant: dstTenantID}) {
		if r.Status < 200 || r.Status > 299 {
			continue
		}
		switch {
		case r.Kind == "member":
			members++
			requests++
		case r.Kind == "group" && r.Method == http.MethodPatch:
			var body map[string]json.RawMessage
			_ = json.Unmarshal(r.Body, &body)
			var binds []string
			_ = json.Unmarshal(body["members@odata.bind"], &binds)
			members += len(binds)
			requests++
		}
	}
	return members, requests
}

// TestMirroredSecurityGroups runs on both backends: the pairs live in the
// embedded store, or in Cosmos DB's state container.
func TestMirroredSecurityGroups(t *testing.T) { runOnBackends(t, mirroredSecurityGroups) }

func mirroredSecurityGroups(t *testing.T, backend string) {
	h := newHarness(t, harnessOptions{seed: sim.SeedSpec{Count: 400, Disabled: 20, NoMail: 10, Guests: 10, Seed: 123},
		deprovision: galsync.DeprovisionDisable, backend: backend})
	users := h.source
	ids := func(us []sim.User) []string {
		out := make([]string, len(us))
		for i, u := range us {
			out[i] = u.ID
		}
		return out
	}
	var groups []sim.GroupView
	for i, span := range [][2]int{{0, 200}, {100, 300}, {150, 350}} {
		g, err := h.sim.CreateGroup(srcTenantID, sim.GroupSpec{DisplayName: []string{"Finance", "Sales", "Partners"}[i],
			Members: ids(users[span[0]:span[1]])})
		if err != nil {
			t.Fatal(err)
		}
		groups = append(groups, g)
	}
	h.rewriteTopology(harnessOptions{deprovision: galsync.DeprovisionDisable, backend: backend,
		direction: map[string]any{"mirrorGroups": []string{groups[0].ID, groups[1].ID, groups[2].ID}}})
	h.waitReplication()
	start := time.Now()
	h.mustSync()
	initial := time.Since(start)
	added, requests := groupWrites(h)
	targets := checkMirrors(t, h, groups)
	t.Logf("3 groups of 200: first sync %s, %d members written in %d requests", initial.Round(time.Second), added, requests)

	// 10 added, 5 removed in the source: exactly 15 membership writes.
	in := inScope(users)
	outside := inScope(users[350:]) // in scope, linked, in no group yet
	for i := range 10 {
		if err := h.sim.AddGroupMember(srcTenantID, groups[i%3].ID, outside[i].ID); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		g := groups[i%3]
		if err := h.sim.RemoveGroupMember(srcTenantID, g.ID, firstInScope(t, h, g.ID, in)); err != nil {
			t.Fatal(err)
		}
	}
	add, remove := 0, 0
	for _, g := range planNow(t).Groups {
		add, remove = add+g.Add, remove+g.Remove
	}
	if add != 10 || remove != 5 {
		t.Errorf("plan: %d to add, %d to remove; want 10 and 5", add, remove)
	}
	h.sim.ResetRequests()
	h.mustSync()
	members, reqs := groupWrites(h)
	if members != 15 {
		t.Errorf("10 members added and 5 removed cost %d membership writes, want 15", members)
	}
	if again := checkMirrors(t, h, groups); !maps.Equal(again, targets) {
		t.Errorf("target groups changed: %v, then %v", targets, again)
	}
	t.Logf("10 added, 5 removed: %d membership writes in %d requests", members, reqs)

	// A second run writes nothing.
	h.sim.ResetRequests()
	h.mustSync()
	if members, _ := groupWrites(h); members != 0 || countWrites(h.writes()) != 0 {
		t.Errorf("a second run wrote %d members, %d other writes", members, countWrites(h.writes()))
	}

	// A deleted source group leaves its target group, reported.
	if err := h.sim.DeleteGroup(srcTenantID, groups[0].ID, false); err != nil {
		t.Fatal(err)
	}
	h.mustSync()
	if v, err := h.sim.GroupByID(dstTenantID, targets[groups[0].ID]); err != nil || len(v.Members) == 0 {
		t.Errorf("the target group of a deleted source group: %+v, %v", v, err)
	}
	d := statusReport(t).Directions[0]
	if len(d.Groups) != 3 || !slices.ContainsFunc(d.Groups, func(g status.GroupStatus) bool { return g.SourceDeleted }) {
		t.Errorf("status groups %+v, want the deleted source group reported", d.Groups)
	}
}

// firstInScope is a member of the source group with a guest.
func firstInScope(t *testing.T, h *harness, group string, in []sim.User) string {
	t.Helper()
	v, err := h.sim.GroupByID(srcTenantID, group)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range v.Members {
		if slices.ContainsFunc(in, func(u sim.User) bool { return u.ID == m.ID }) {
			return m.ID
		}
	}
	t.Fatal("no member in scope")
	return ""
}

// checkMirrors: each source group has one target security group whose
// members are exactly the guests of its in-scope members. It returns the
// target group of each source group.
func checkMirrors(t *testing.T, h *harness, groups []sim.GroupView) map[string]string {
	t.Helper()
	guests := h.guests()
	in := map[string]string{}
	for _, u := range inScope(h.source) {
		in[u.ID] = guests[strings.ToLower(u.Mail)].ID
	}
	targets, err := h.sim.Groups(dstTenantID)
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != len(groups) {
		t.Errorf("%d target groups, want %d", len(targets), len(groups))
	}
	out := map[string]string{}
	for _, g := range groups {
		src, err := h.sim.GroupByID(srcTenantID, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, m := range src.Members {
			if guest, ok := in[m.ID]; ok {
				want = append(want, guest)
			}
		}
		slices.Sort(want)
		name := src.DisplayName + " (source)"
		i := slices.IndexFunc(targets, func(v sim.GroupView) bool { return v.DisplayName == name })
		if i < 0 {
			t.Errorf("no target group %q", name)
			continue
		}
		tg := targets[i]
		if !tg.SecurityEnabled || tg.MailEnabled {
			t.Errorf("target group %q is not a security group", name)
		}
		var got []string
		for _, m := range tg.Members {
			got = append(got, m.ID)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("target group %q has %d members, want the %d guests of its in-scope members", name, len(got), len(want))
		}
		out[g.ID] = tg.ID
	}
	return out
}

// TestScopeIncludeGroups: a direction scoped to one source group syncs its
// members only; a member added is invited, one removed is retired, by the
// next pull, with no change to the users themselves.
func TestScopeIncludeGroups(t *testing.T) {
	h := newHarness(t, harnessOptions{seed: sim.SeedSpec{Count: 60, Seed: 124}, deprovision: galsync.DeprovisionDisable})
	users := h.source
	members := make([]string, 20)
	for i := range members {
		members[i] = users[i].ID
	}
	g, err := h.sim.CreateGroup(srcTenantID, sim.GroupSpec{DisplayName: "Partners", Members: members})
	if err != nil {
		t.Fatal(err)
	}
	h.rewriteTopology(harnessOptions{deprovision: galsync.DeprovisionDisable,
		direction: map[string]any{"scope": map[string]any{"includeGroups": []string{g.ID}}}})
	h.waitReplication()
	h.mustSync()
	checkConverged(t, h, users[:20])
	for _, id := range []string{users[30].ID, users[31].ID} {
		if err := h.sim.AddGroupMember(srcTenantID, g.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.sim.RemoveGroupMember(srcTenantID, g.ID, users[0].ID); err != nil {
		t.Fatal(err)
	}
	h.sim.ResetRequests()
	h.mustSync()
	w := h.writes()
	if len(w["invitations"]) != 2 {
		t.Errorf("%d invitations for 2 users added to the scope group", len(w["invitations"]))
	}
	guests := h.guests()
	if g := guests[strings.ToLower(users[0].Mail)]; g.AccountEnabled {
		t.Errorf("the guest of a user removed from the scope group is still enabled")
	}
	for _, u := range users[30:32] {
		if _, ok := guests[strings.ToLower(u.Mail)]; !ok {
			t.Errorf("user %s added to the scope group has no guest", u.ID)
		}
	}
	if len(guests) != 22 {
		t.Errorf("%d guests, want 22", len(guests))
	}
}
