package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/functions"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/pipeline"
	"github.com/galsync/galsync/sim"
)

// runCLI runs a galsync command in-process and returns its output.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = run(context.Background(), args, os.Getenv, &out, &errb)
	return out.String(), errb.String(), err
}

// graphCalls counts the recorded Graph requests (not sign-in) by kind.
func graphCalls(h *harness) map[string]int {
	out := map[string]int{}
	for _, r := range h.sim.FindRequests(sim.RequestFilter{}) {
		switch r.Kind {
		case "token", "openid", "redeem":
		default:
			out[r.Kind]++
		}
	}
	return out
}

// TestProvisionOnDemand: one user of a 10,000-user direction is provisioned
// with one user's worth of Graph calls, and every step is reported.
func TestProvisionOnDemand(t *testing.T) {
	h := newHarness(t, harnessOptions{seed: sim.SeedSpec{Count: 10000, Guests: 100, Seed: 41},
		deprovision: galsync.DeprovisionDisable})
	u := inScope(h.source)[1234]
	h.sim.ResetRequests()
	out, errOut, err := runCLI(t, "provision", "--direction", direction, "--user", u.UserPrincipalName, "--json")
	if err != nil {
		t.Fatalf("provision: %v\n%s%s", err, out, errOut)
	}
	var rep pipeline.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	if rep.Result != galsync.OutcomeSuccess || rep.SourceUserID != u.ID || rep.TargetUserID == "" || rep.Duration == "" {
		t.Fatalf("report = %+v", rep)
	}
	var names []string
	for _, s := range rep.Steps {
		names = append(names, s.Name+":"+s.Outcome)
	}
	want := []string{pipeline.StepRead + ":success", pipeline.StepScope + ":success", pipeline.StepInvite + ":success", pipeline.StepUpdate + ":success"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("steps = %v, want %v", names, want)
	}
	if last := rep.Steps[len(rep.Steps)-1]; len(last.Attributes) == 0 {
		t.Errorf("the update step names no attributes: %+v", last)
	}
	calls := graphCalls(h)
	total := 0
	for _, n := range calls {
		total += n
	}
	// One read of the source user, one lookup by address, one invitation,
	// one read of the new guest (the reconcile compares it with its
	// desired state), one PATCH: nothing proportional to the 10,000 users.
	// The simulator's replication delay answers the guest's first reads
	// 404 until the guest shows; those reads are not counted here.
	if calls["user"] != 2 || calls["users"] != 1 || calls["invitations"] != 1 || calls["patch"] != 1 || total != 5 {
		t.Errorf("Graph calls = %v, want user 2, users 1, invitations 1, patch 1", calls)
	}
	guests := h.guests()
	if len(guests) != 1 {
		t.Fatalf("%d guests after provisioning one user", len(guests))
	}
	checkAttributes(t, u, guests[strings.ToLower(u.Mail)])

	// Again: the guest is current, so nothing is written.
	h.sim.ResetRequests()
	out, errOut, err = runCLI(t, "provision", "--direction", direction, "--user", u.ID)
	if err != nil {
		t.Fatalf("provision again: %v\n%s%s", err, out, errOut)
	}
	if w := h.writes(); countWrites(w) != 0 {
		t.Errorf("a second provision of a current guest wrote %v", w)
	}
	if !strings.Contains(out, "unchanged") {
		t.Errorf("the second report does not say the guest is unchanged:\n%s", out)
	}

	// An out-of-scope user is reported as skipped with the reason.
	var guest sim.User
	for _, s := range h.source {
		if s.CreationType == "Invitation" {
			guest = s
			break
		}
	}
	out, _, err = runCLI(t, "provision", "--direction", direction, "--user", guest.ID)
	if err != nil || !strings.Contains(out, "SKIPPED") || !strings.Contains(out, "creationType Invitation") {
		t.Errorf("provisioning a source guest: err %v, report:\n%s", err, out)
	}
}

// TestPlanMatchesTheRun: the preview of a changed source names exactly the
// actions the following run takes, and writes nothing.
func TestPlanMatchesTheRun(t *testing.T) {
	h := newHarness(t, harnessOptions{seed: sim.SeedSpec{Count: 300, Guests: 10, Seed: 42},
		deprovision: galsync.DeprovisionDisable, thresholdPercent: 50})
	h.mustSync()
	in := inScope(h.source)
	for _, u := range in[:5] {
		if _, err := h.sim.UpdateUser(srcTenantID, u.ID, map[string]any{"department": "Plan " + u.ID[:4]}); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range in[5:8] {
		if err := h.sim.DeleteUser(srcTenantID, u.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.sim.UpdateUser(srcTenantID, in[8].ID, map[string]any{"accountEnabled": false}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		if _, err := h.sim.UpsertUser(srcTenantID, sim.User{DisplayName: fmt.Sprintf("New Hire %d", i),
			UserPrincipalName: fmt.Sprintf("newhire%d@source.onmicrosoft.com", i), Mail: fmt.Sprintf("newhire%d@source.example", i),
			AccountEnabled: true, UserType: "Member"}); err != nil {
			t.Fatal(err)
		}
	}

	h.sim.ResetRequests()
	out, errOut, err := runCLI(t, "plan", "--direction", direction, "--json")
	if err != nil {
		t.Fatalf("plan: %v\n%s", err, errOut)
	}
	if w := h.writes(); countWrites(w) != 0 {
		t.Fatalf("plan wrote to the target: %v", w)
	}
	var plan pipeline.Plan
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatal(err)
	}
	planned := map[string]string{}
	for _, a := range plan.Actions {
		switch a.Action {
		case galsync.ActionSkip, pipeline.PlanUnchanged:
		default:
			planned[a.SourceUserID] = a.Action
		}
	}
	if len(planned) != 13 {
		t.Errorf("plan names %d actions, want 13 (5 updates, 4 disables, 4 invites): %v", len(planned), plan.Counts)
	}

	before := time.Now()
	h.mustSync()
	done := map[string]string{}
	h.withBackends(func(b *backends) {
		for _, e := range logFor(t, b.store, galsync.LogQuery{Since: before}) {
			switch e.Action {
			case galsync.ActionInvite, galsync.ActionJoin, galsync.ActionUpdate, galsync.ActionReenable, galsync.ActionDisable, galsync.ActionDelete:
				// The first action per user: a new guest's invitation is
				// followed by its PATCH, which the plan's "invite" implies.
				if _, seen := done[e.SourceUserID]; !seen && e.Outcome == galsync.OutcomeSuccess {
					done[e.SourceUserID] = e.Action
				}
			}
		}
	})
	for id, act := range planned {
		if done[id] != act {
			t.Errorf("user %s: plan said %s, the run did %q", id, act, done[id])
		}
	}
	for id, act := range done {
		if _, ok := planned[id]; !ok {
			t.Errorf("user %s: the run did %s, the plan did not say so", id, act)
		}
	}
}

// TestLogTellsWhatHappened: the provisioning log answers "what happened to
// user U" for invite, join, update, skip, delete, conflict and a refused
// attribute.
func TestLogTellsWhatHappened(t *testing.T) {
	// addressList graph: the simulator refuses showInAddressList on a
	// mail-enabled guest, as Graph does, which is the failure logged.
	h := newHarness(t, harnessOptions{seed: sim.SeedSpec{Count: 40, Guests: 2, Seed: 43},
		deprovision: galsync.DeprovisionDelete, thresholdPercent: 50, addressList: "graph"})
	in := inScope(h.source)
	joined, conflicted, updated, deleted := in[0], in[1], in[2], in[3]
	// The target already has an external user with joined's address, and
	// an internal member with conflicted's.
	if _, err := h.sim.UpsertUser(dstTenantID, sim.User{DisplayName: "Earlier Guest", Mail: joined.Mail,
		UserPrincipalName: strings.ReplaceAll(joined.Mail, "@", "_") + "#EXT#@target.onmicrosoft.com",
		UserType:          "Guest", CreationType: "Invitation", AccountEnabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.sim.UpsertUser(dstTenantID, sim.User{DisplayName: "Internal Namesake", Mail: conflicted.Mail,
		UserPrincipalName: "namesake@target.onmicrosoft.com", UserType: "Member", AccountEnabled: true}); err != nil {
		t.Fatal(err)
	}
	h.waitReplication() // both were there long before galsync
	h.mustSync()        // a conflict is a state of the user, not a failure of the run
	if _, err := h.sim.UpdateUser(srcTenantID, updated.ID, map[string]any{"jobTitle": "Chief Log Reader"}); err != nil {
		t.Fatal(err)
	}
	if err := h.sim.DeleteUser(srcTenantID, deleted.ID, true); err != nil {
		t.Fatal(err)
	}
	h.mustSync()

	var skipped sim.User
	for _, u := range h.source {
		if u.CreationType == "Invitation" {
			skipped = u
			break
		}
	}
	for _, tc := range []struct {
		user    sim.User
		action  string
		outcome string
	}{
		{in[4], galsync.ActionInvite, galsync.OutcomeSuccess},
		{joined, galsync.ActionJoin, galsync.OutcomeSuccess},
		{updated, galsync.ActionUpdate, galsync.OutcomeSuccess},
		{skipped, galsync.ActionSkip, galsync.OutcomeSkipped},
		{deleted, galsync.ActionDelete, galsync.OutcomeSuccess},
		{conflicted, galsync.ActionConflict, galsync.OutcomeSkipped},
		{in[5], galsync.ActionRefused, galsync.OutcomeFailed},
	} {
		who := tc.user.UserPrincipalName // resolved through Graph
		if tc.action == galsync.ActionDelete {
			who = tc.user.ID // gone from the source: by id
		}
		out, errOut, err := runCLI(t, "log", "--direction", direction, "--user", who, "--json")
		if err != nil {
			t.Fatalf("log: %v\n%s", err, errOut)
		}
		var entries []galsync.LogEntry
		if err := json.Unmarshal([]byte(out), &entries); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range entries {
			if e.SourceUserID != tc.user.ID {
				t.Errorf("log for %s returned an entry of %s", tc.user.ID, e.SourceUserID)
			}
			if e.Action == tc.action && e.Outcome == tc.outcome {
				found = true
				if tc.outcome != galsync.OutcomeSuccess && e.Reason == "" {
					t.Errorf("%s %s of %s has no reason", tc.action, tc.outcome, tc.user.ID)
				}
			}
		}
		if !found {
			t.Errorf("log for user %s lacks %s/%s: %+v", tc.user.ID, tc.action, tc.outcome, entries)
		}
	}
	out, _, err := runCLI(t, "log", "--direction", direction, "--user", updated.ID, "--since", "7d")
	if err != nil || !strings.Contains(out, "jobTitle") {
		t.Errorf("the table for the updated user does not name jobTitle (err %v):\n%s", err, out)
	}
	checkNoSecrets(t, h, "log output", out)
}

// TestApproveReleasesExactlyTheHeldBatch: after a mass departure pauses a
// direction, approve releases exactly the held deprovisions.
func TestApproveReleasesExactlyTheHeldBatch(t *testing.T) {
	h := newHarness(t, harnessOptions{seed: sim.SeedSpec{Count: 100, Seed: 44},
		deprovision: galsync.DeprovisionDelete, thresholdPercent: 10})
	h.mustSync()
	gone := h.source[:30]
	for _, u := range gone {
		if err := h.sim.DeleteUser(srcTenantID, u.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	h.mustSync()
	if n := len(h.guests()); n != 100 {
		t.Fatalf("%d guests while paused, want 100", n)
	}
	out, _, err := runCLI(t, "approve", "--direction", direction)
	if err != nil || !strings.Contains(out, "PAUSED") || !strings.Contains(out, "held: 30 deprovision(s)") {
		t.Fatalf("approve (review): err %v\n%s", err, out)
	}
	out, _, err = runCLI(t, "approve", "--direction", direction, "--json")
	var review struct {
		Direction string             `json:"direction"`
		Paused    bool               `json:"paused"`
		HeldCount int                `json:"heldCount"`
		Held      []galsync.WorkItem `json:"held"`
	}
	if err != nil || json.Unmarshal([]byte(out), &review) != nil || !review.Paused || review.HeldCount != 30 || len(review.Held) != 30 {
		t.Fatalf("approve --json (review): err %v, decoded %+v\n%s", err, review, out)
	}
	if n := len(h.guests()); n != 100 {
		t.Fatalf("reviewing deleted guests: %d left", n)
	}
	// A change made while paused is not part of the batch.
	if err := h.sim.DeleteUser(srcTenantID, h.source[50].ID, true); err != nil {
		t.Fatal(err)
	}
	h.sim.ResetRequests()
	out, errOut, err := runCLI(t, "approve", "--direction", direction, "--yes")
	if err != nil || !strings.Contains(out, "released 30") {
		t.Fatalf("approve: %v\n%s%s", err, out, errOut)
	}
	// Run only the released work: no new pull.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a, err := buildApp(os.Getenv, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	// The approval asked for a pull; drop it so only the batch runs.
	for {
		ds, err := a.queue.Receive(ctx, galsync.QueuePulls, 10, 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			break
		}
		for _, d := range ds {
			if err := a.queue.Complete(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := runLocal(ctx, a, localOptions{functions: functions.FS, noTimers: true, noStartPull: true, once: true, noSubscribe: true}, os.Getenv, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	_ = a.Close()
	w := h.writes()
	if len(w["delete"]) != 30 || len(w["patch"]) != 0 || len(w["invitations"]) != 0 {
		t.Fatalf("approval wrote %d DELETEs, %d PATCHes, %d invitations; want exactly the 30 held", len(w["delete"]), len(w["patch"]), len(w["invitations"]))
	}
	guests := h.guests()
	for _, u := range gone {
		if _, ok := guests[strings.ToLower(u.Mail)]; ok {
			t.Errorf("held user %s still has a guest", u.ID)
		}
	}
	if _, ok := guests[strings.ToLower(h.source[50].Mail)]; !ok {
		t.Error("the departure after the pause was applied with the held batch")
	}
	h.withBackends(func(b *backends) {
		st, err := b.store.GetDirectionState(context.Background(), direction)
		if err != nil || st.Paused || st.Held() != 0 {
			t.Errorf("direction state after approval: %+v, %v", st, err)
		}
		left := 0
		if err := b.store.ListHeld(context.Background(), direction, func(galsync.HeldPage) error { left++; return nil }); err != nil || left != 0 {
			t.Errorf("held pages after approval: %d, %v; want none", left, err)
		}
	})
	// The direction resumed: the next sync applies the later departure.
	h.mustSync()
	if _, ok := h.guests()[strings.ToLower(h.source[50].Mail)]; ok {
		t.Error("the resumed direction did not apply the later departure")
	}
	if _, _, err := runCLI(t, "approve", "--direction", direction, "--yes"); err == nil || !strings.Contains(err.Error(), "not paused") {
		t.Errorf("approving a running direction: %v", err)
	}
}
