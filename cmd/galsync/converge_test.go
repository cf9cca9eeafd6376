package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/shared/status"
	"github.com/galsync/galsync/sim"
)

// The scenarios of issue 10: galsync converges as Graph really behaves,
// with the simulator's replication delay on (2 s by default here), PATCH
// validated per the v1.0 "Update user" page, and showInAddressList refused
// on mail-enabled guests.

// retries counts the scheduled retries the provisioning log recorded.
func retries(t *testing.T, h *harness) int {
	t.Helper()
	n := 0
	h.withBackends(func(db *backends) {
		for _, e := range logFor(t, db.store, galsync.LogQuery{}) {
			if e.Outcome == galsync.OutcomeFailed && strings.HasPrefix(e.Reason, "retry ") {
				n++
			}
		}
	})
	return n
}

// parked counts what galsync parked and the queues dead-lettered.
func parked(h *harness) int {
	n := 0
	for _, c := range setAside(h) {
		n += c
	}
	return n
}

// A mapping with one property Graph refuses: every other attribute lands,
// the refused one is in `galsync log` and on the status page; after the
// mapping is fixed, the next run converges with no manual step.
func TestRefusedAttributeThenMappingFix(t *testing.T) {
	long := strings.Repeat("Distinguished ", 10) // 140 characters: jobTitle allows 128
	mapping := map[string]any{
		"displayName": map[string]any{"source": "displayName"}, "mail": map[string]any{"source": "mail"},
		"city": map[string]any{"source": "city"}, "department": map[string]any{"source": "department"},
		"jobTitle": map[string]any{"expression": fmt.Sprintf("Prefix(%q, [jobTitle])", long)},
	}
	h := newHarness(t, harnessOptions{seed: sim.SeedSpec{Count: 50, Seed: 61}, deprovision: galsync.DeprovisionDisable, mapping: mapping})
	users := inScope(h.source)
	h.mustSync()
	guests := h.guests()
	for _, u := range users {
		g := guests[strings.ToLower(u.Mail)]
		if g.City != u.City || g.Department != u.Department || g.DisplayName != u.DisplayName {
			t.Fatalf("guest %s: city %q department %q: the refused jobTitle held the others back", g.ID, g.City, g.Department)
		}
		if g.JobTitle != "" {
			t.Fatalf("guest %s has jobTitle %q, which Graph refuses", g.ID, g.JobTitle)
		}
	}
	if n := parked(h); n != 0 {
		t.Fatalf("%d messages set aside for a refused attribute", n)
	}
	out, _, err := runCLI(t, "log", "--direction", direction, "--user", users[0].ID, "--action", galsync.ActionRefused, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var entries []galsync.LogEntry
	if err := json.Unmarshal([]byte(out), &entries); err != nil || len(entries) != 1 ||
		entries[0].Attributes[0] != "jobTitle" || !strings.Contains(entries[0].Reason, "jobTitle") || strings.Contains(entries[0].Reason, long) {
		t.Fatalf("galsync log --action refused: %v %+v", err, entries)
	}
	status := statusReport(t)
	d := status.Directions[0]
	if r := d.Attention.Refused["jobTitle"]; r.Users != len(users) {
		t.Errorf("status attention = %+v, want jobTitle refused for %d users", d.Attention, len(users))
	}
	if !strings.Contains(strings.Join(d.Warnings, "\n"), "Graph refuses jobTitle for 50 users") {
		t.Errorf("status warnings %q do not name the refused attribute", d.Warnings)
	}

	// The mapping is fixed: the next run converges on its own.
	mapping["jobTitle"] = map[string]any{"source": "jobTitle"}
	h.rewriteTopology(harnessOptions{deprovision: galsync.DeprovisionDisable, mapping: mapping})
	h.sim.ResetRequests()
	h.mustSync()
	guests = h.guests()
	for _, u := range users {
		if g := guests[strings.ToLower(u.Mail)]; g.JobTitle != u.JobTitle {
			t.Errorf("guest %s jobTitle %q after the fix, want %q", g.ID, g.JobTitle, u.JobTitle)
		}
	}
	if w := h.writes(); len(w["patch"]) != len(users) || len(w["invitations"]) != 0 {
		t.Errorf("the fix wrote %d PATCHes and %d invitations, want %d and 0", len(w["patch"]), len(w["invitations"]), len(users))
	}
}

// rewriteTopology writes the topology file again with other options, as
// an operator edits it.
func (h *harness) rewriteTopology(o harnessOptions) {
	h.t.Helper()
	if err := os.WriteFile(h.env["GALSYNC_TOPOLOGY_FILE"], h.topology(o), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

// Messages dead-lettered by galsync before level-based workers (their body
// is a desired state computed once, with showInAddressList in it) are
// replayed after the upgrade: every user converges with the mapping in
// force, and users already right get no write.
func TestReplayOfOldDesiredStateConverges(t *testing.T) {
	h := newHarness(t, harnessOptions{seed: sim.SeedSpec{Count: 100, Seed: 62}, deprovision: galsync.DeprovisionDisable})
	users := inScope(h.source)
	h.mustSync()
	// Half the guests kept only displayName and mail, as the old version
	// left them when its PATCH carrying showInAddressList was refused.
	broken := map[string]bool{}
	guests := h.guests()
	for _, u := range users[:50] {
		g := guests[strings.ToLower(u.Mail)]
		broken[g.ID] = true
		if _, err := h.sim.UpdateUser(dstTenantID, g.ID, map[string]any{"jobTitle": "", "department": "", "city": "",
			"givenName": "", "surname": "", "companyName": "", "officeLocation": "", "country": "", "mobilePhone": "",
			"employeeId": "", "businessPhones": []string{}}); err != nil {
			t.Fatal(err)
		}
	}
	h.waitReplication()
	// The old version's dead letters: one per user, in its body format.
	h.withBackends(func(b *backends) {
		ctx := context.Background()
		for i, u := range users {
			body, _ := json.Marshal(map[string]any{"direction": direction, "sourceUserId": u.ID, "seq": i + 1, "kind": "upsert",
				"inviteAddress": u.Mail, "desired": map[string]any{"displayName": u.DisplayName, "jobTitle": u.JobTitle, "showInAddressList": true}})
			m := queue.Message{ID: fmt.Sprintf("%s:%s:%d:upsert", direction, u.ID, i+1), Body: body, ContentType: "application/json",
				Subject: "upsert", Properties: map[string]string{queue.PropDirection: direction, queue.PropSourceUser: u.ID}}
			if err := b.queue.Send(ctx, galsync.QueueUpdates, m); err != nil {
				t.Fatal(err)
			}
			ds, err := b.queue.Receive(ctx, galsync.QueueUpdates, 1, time.Second)
			if err != nil || len(ds) != 1 {
				t.Fatalf("receive: %d, %v", len(ds), err)
			}
			if err := b.queue.DeadLetter(ctx, ds[0], queue.ReasonMaxDeliveryCount, "400 Request_BadRequest: showInAddressList"); err != nil {
				t.Fatal(err)
			}
		}
	})
	h.sim.ResetRequests()
	if out := dlqOK(t, "replay"); !strings.Contains(out, "replayed 100") {
		t.Fatalf("replay:\n%s", out)
	}
	h.mustSync()
	checkConverged(t, h, users)
	perGuest := map[string]int{}
	for _, r := range h.writes()["patch"] {
		perGuest[r.Path[strings.LastIndex(r.Path, "/")+1:]]++
		if strings.Contains(string(r.Body), "showInAddressList") {
			t.Errorf("a replay wrote showInAddressList: %s", r.Body)
		}
	}
	for id, n := range perGuest {
		if !broken[id] {
			t.Errorf("guest %s was already right and got %d PATCH(es)", id, n)
		} else if n != 1 {
			t.Errorf("broken guest %s got %d PATCHes, want 1", id, n)
		}
	}
	if len(perGuest) != 50 || parked(h) != 0 {
		t.Errorf("%d guests patched, want the 50 broken; %d set aside", len(perGuest), parked(h))
	}
}

// Drift: guests edited in the target are corrected by the sweep with
// exactly one PATCH each; a sweep of unchanged guests writes nothing.
func TestSweepRepairsDrift(t *testing.T) {
	h := newHarness(t, harnessOptions{seed: sim.SeedSpec{Count: 1000, Seed: 63}, deprovision: galsync.DeprovisionDisable,
		replicationDelay: -1})
	users := inScope(h.source)
	h.mustSync()
	guests := h.guests()
	for i, u := range users[:20] {
		field := "jobTitle"
		if i%2 == 1 {
			field = "displayName"
		}
		if _, err := h.sim.UpdateUser(dstTenantID, guests[strings.ToLower(u.Mail)].ID, map[string]any{field: "Edited in the target"}); err != nil {
			t.Fatal(err)
		}
	}
	h.sim.ResetRequests()
	start := time.Now()
	if out, err := h.sweep(); err != nil {
		t.Fatalf("sweep: %v\n%s", err, out)
	}
	took := time.Since(start)
	if w := h.writes(); len(w["patch"]) != 20 || len(w["invitations"]) != 0 {
		t.Fatalf("the sweep wrote %d PATCHes and %d invitations, want 20 and 0", len(w["patch"]), len(w["invitations"]))
	}
	checkConverged(t, h, users)
	lists := len(h.sim.FindRequests(sim.RequestFilter{Tenant: dstTenantID, Kind: "users"}))
	t.Logf("sweep of %d guests with 20 drifted: %d list requests, %d PATCHes, %s", len(users), lists, 20, took.Round(time.Millisecond))

	h.sim.ResetRequests()
	start = time.Now()
	if out, err := h.sweep(); err != nil {
		t.Fatalf("sweep: %v\n%s", err, out)
	}
	if w := h.writes(); countWrites(w) != 0 {
		t.Fatalf("a sweep of converged guests wrote %v", w)
	}
	t.Logf("sweep of %d unchanged guests: %d target requests, 0 writes, %s", len(users),
		len(h.sim.FindRequests(sim.RequestFilter{Tenant: dstTenantID})), time.Since(start).Round(time.Millisecond))

	// The same guests edited again, seconds later: well within the queues'
	// duplicate-detection window, a third sweep repairs them all the same.
	for _, u := range users[:20] {
		if _, err := h.sim.UpdateUser(dstTenantID, guests[strings.ToLower(u.Mail)].ID, map[string]any{"jobTitle": "Edited again"}); err != nil {
			t.Fatal(err)
		}
	}
	h.sim.ResetRequests()
	if out, err := h.sweep(); err != nil {
		t.Fatalf("sweep: %v\n%s", err, out)
	}
	if w := h.writes(); len(w["patch"]) != 20 {
		t.Fatalf("the third sweep wrote %d PATCHes, want 20", len(w["patch"]))
	}
	checkConverged(t, h, users)
}

// Guests invited by hand whose address is only in otherMails, or only in
// proxyAddresses, are joined and corrected: no second invitation.
func TestJoinsGuestsInvitedByHand(t *testing.T) {
	h := newHarness(t, harnessOptions{seed: sim.SeedSpec{Count: 20, Seed: 64}, deprovision: galsync.DeprovisionDisable})
	users := inScope(h.source)
	a, b := users[0], users[1]
	for i, u := range []sim.User{a, b} {
		g := sim.User{DisplayName: "Invited by hand", UserType: "Guest", CreationType: "Invitation", AccountEnabled: true,
			ExternalUserState: "Accepted", UserPrincipalName: fmt.Sprintf("hand%d_partner.example#EXT#@target.onmicrosoft.com", i)}
		if i == 0 {
			g.OtherMails = []string{u.Mail}
		} else {
			g.ProxyAddresses = []string{"SMTP:" + strings.ToUpper(u.Mail)}
		}
		if _, err := h.sim.UpsertUser(dstTenantID, g); err != nil {
			t.Fatal(err)
		}
	}
	h.waitReplication()
	h.mustSync()
	if n := len(h.writes()["invitations"]); n != len(users)-2 {
		t.Fatalf("%d invitations, want %d (the two invited by hand joined)", n, len(users)-2)
	}
	all, err := h.sim.Users(dstTenantID)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []sim.User{a, b} {
		var found []sim.User
		for _, g := range all {
			if strings.EqualFold(g.Mail, u.Mail) || contains(g.OtherMails, u.Mail) {
				found = append(found, g)
			}
		}
		if len(found) != 1 || !strings.HasPrefix(found[0].UserPrincipalName, "hand") {
			t.Fatalf("user %s: target users holding the address: %+v", u.ID, found)
		}
		checkAttributes(t, u, found[0])
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// A target member with the same mail: one conflict entry, nothing set
// aside, at most two lookups.
func TestMemberWithTheSameMailIsOneConflict(t *testing.T) {
	h := newHarness(t, harnessOptions{seed: sim.SeedSpec{Count: 20, Seed: 65}, deprovision: galsync.DeprovisionDisable})
	u := inScope(h.source)[0]
	if _, err := h.sim.UpsertUser(dstTenantID, sim.User{DisplayName: "Member namesake", Mail: u.Mail, UserType: "Member",
		UserPrincipalName: "namesake@target.onmicrosoft.com", AccountEnabled: true}); err != nil {
		t.Fatal(err)
	}
	h.waitReplication()
	h.sim.ResetRequests()
	h.mustSync()
	h.mustSync() // a second run looks again only if the user changed
	lookups := 0
	for _, r := range h.sim.FindRequests(sim.RequestFilter{Tenant: dstTenantID, Kind: "users"}) {
		q, _ := url.ParseQuery(r.Query)
		if strings.Contains(strings.ToLower(q.Get("$filter")), strings.ToLower(u.Mail)) {
			lookups++
		}
	}
	if lookups == 0 || lookups > 2 {
		t.Errorf("%d lookups of the conflicting address, want 1 or 2", lookups)
	}
	if n := parked(h); n != 0 {
		t.Errorf("%d set aside for a conflict", n)
	}
	h.withBackends(func(db *backends) {
		es := logFor(t, db.store, galsync.LogQuery{SourceUserID: u.ID, Action: galsync.ActionConflict})
		if len(es) != 1 || !strings.Contains(es[0].Reason, "member") {
			t.Errorf("conflict entries = %+v, want one", es)
		}
	})
	if m, err := h.sim.User(dstTenantID, "namesake@target.onmicrosoft.com"); err != nil || m.DisplayName != "Member namesake" || m.UserType != "Member" {
		t.Errorf("the member was changed: %+v, %v", m, err)
	}
}

// A source user whose delta entry lacks creationType but whose user
// principal name has #EXT# is never synced onward.
func TestExternalUPNIsNeverSyncedOnward(t *testing.T) {
	h := newHarness(t, harnessOptions{seed: sim.SeedSpec{Count: 10, Seed: 66}, deprovision: galsync.DeprovisionDisable})
	ext, err := h.sim.UpsertUser(srcTenantID, sim.User{DisplayName: "Partner via direct connect", Mail: "pat@partner.example",
		UserPrincipalName: "pat_partner.example#EXT#@source.onmicrosoft.com", UserType: "Member", AccountEnabled: true})
	if err != nil {
		t.Fatal(err)
	}
	h.waitReplication()
	h.mustSync()
	if _, ok := h.guests()["pat@partner.example"]; ok {
		t.Fatal("a user with an #EXT# user principal name was synced onward")
	}
	h.withBackends(func(db *backends) {
		es := logFor(t, db.store, galsync.LogQuery{SourceUserID: ext.ID, Action: galsync.ActionSkip})
		if len(es) != 1 || !strings.Contains(es[0].Reason, "#EXT#") {
			t.Errorf("skip entries = %+v", es)
		}
	})
}

// statusReport runs `galsync status --json`.
func statusReport(t *testing.T) status.Report {
	t.Helper()
	out, errOut, _ := runCLI(t, "status", "--json")
	var rep status.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Directions) == 0 {
		t.Fatalf("galsync status --json: %v\n%s%s", err, out, errOut)
	}
	return rep
}

// count404 counts the target's requests answered 404 (a guest not yet
// replicated, read or written too early).
func count404(h *harness) int {
	n := 0
	for _, r := range h.sim.FindRequests(sim.RequestFilter{Tenant: dstTenantID}) {
		if r.Status == 404 {
			n++
		}
	}
	return n
}
