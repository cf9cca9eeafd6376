package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/functions"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/pipeline"
	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/sim"
)

// TestSyncLifecycle walks one direction through its life: the initial sync
// of 1,000 users, a cycle with nothing to do, ten attribute changes and five
// departures, each checked against the target tenant and the Graph writes
// the simulator recorded.
func TestSyncLifecycle(t *testing.T) { runOnBackends(t, testSyncLifecycle) }

func testSyncLifecycle(t *testing.T, backend string) {
	// Graph's replicas may not show a new guest for seconds: 3 s here.
	h := newHarness(t, harnessOptions{
		seed:        sim.SeedSpec{Count: 1000, Guests: 50, Disabled: 20, NoMail: 10, Seed: 11},
		deprovision: galsync.DeprovisionDisable, thresholdPercent: 10, backend: backend,
		replicationDelay: 3 * time.Second,
	})
	want := inScope(h.source)
	if len(want) != 920 {
		t.Fatalf("seeded %d users in scope, the scenario needs 920", len(want))
	}

	// Initial sync, one `galsync local --once` under the replication delay:
	// exactly 920 guests, each with the mapped attributes, at one invitation
	// and at most one PATCH apiece, nothing set aside.
	start := time.Now()
	out := h.mustSync()
	t.Logf("%s: initial sync of 920 users under a 3 s replication delay: %s, %d delayed retries, %d requests answered 404",
		backend, time.Since(start).Round(time.Millisecond), retries(t, h), count404(h))
	if n := parked(h); n != 0 {
		t.Fatalf("%d messages set aside in the initial sync", n)
	}
	checkNoSecrets(t, h, "galsync's output", out)
	guests := h.guests()
	if len(guests) != 920 {
		t.Fatalf("target has %d guests after the initial sync, want 920", len(guests))
	}
	for _, u := range want {
		g, ok := guests[strings.ToLower(u.Mail)]
		if !ok {
			t.Errorf("source user %s has no guest", u.ID)
			continue
		}
		checkAttributes(t, u, g)
	}
	w := h.writes()
	t.Logf("%s: writes per new user: %.2f (%d invitations, %d PATCHes)", backend,
		float64(len(w["invitations"])+len(w["patch"]))/920, len(w["invitations"]), len(w["patch"]))
	if len(w["invitations"]) != 920 || len(w["patch"]) > 920 || len(w["delete"]) != 0 {
		t.Errorf("initial sync wrote %d invitations, %d PATCHes, %d DELETEs; want 920, <=920, 0",
			len(w["invitations"]), len(w["patch"]), len(w["delete"]))
	}

	// Every user left out is in the provisioning log with the reason.
	h.withBackends(func(db *backends) {
		skipped := map[string]string{}
		for _, e := range logFor(t, db.store, galsync.LogQuery{Action: galsync.ActionSkip}) {
			skipped[e.SourceUserID] = e.Reason
		}
		inScopeIDs := map[string]bool{}
		for _, u := range want {
			inScopeIDs[u.ID] = true
		}
		for _, u := range h.source {
			if inScopeIDs[u.ID] {
				continue
			}
			reason, ok := skipped[u.ID]
			switch {
			case !ok:
				t.Errorf("out-of-scope user %s has no skip entry in the provisioning log", u.ID)
			case reason == "":
				t.Errorf("skip entry of %s has no reason", u.ID)
			}
		}
		if len(skipped) != 80 {
			t.Errorf("provisioning log has skips for %d users, want 80", len(skipped))
		}
		all, err := json.Marshal(logFor(t, db.store, galsync.LogQuery{}))
		if err != nil {
			t.Fatal(err)
		}
		checkNoSecrets(t, h, "the provisioning log", string(all))
	})

	// A cycle with no source change writes nothing.
	h.sim.ResetRequests()
	h.mustSync()
	if w := h.writes(); countWrites(w) != 0 {
		t.Fatalf("no-op cycle wrote to the target: %d invitations, %d PATCHes, %d DELETEs",
			len(w["invitations"]), len(w["patch"]), len(w["delete"]))
	}

	// Ten jobTitle changes: exactly ten PATCHes carrying jobTitle alone.
	h.sim.ResetRequests()
	changed := map[string]string{}
	for i, u := range want[:10] {
		title := fmt.Sprintf("Principal Engineer %d", i)
		if _, err := h.sim.UpdateUser(srcTenantID, u.ID, map[string]any{"jobTitle": title}); err != nil {
			t.Fatal(err)
		}
		changed[strings.ToLower(u.Mail)] = title
	}
	h.mustSync()
	w = h.writes()
	if len(w["patch"]) != 10 || len(w["invitations"]) != 0 || len(w["delete"]) != 0 {
		t.Fatalf("10 jobTitle changes wrote %d PATCHes, %d invitations, %d DELETEs; want 10, 0, 0",
			len(w["patch"]), len(w["invitations"]), len(w["delete"]))
	}
	for _, r := range w["patch"] {
		var body map[string]any
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatalf("PATCH body: %v", err)
		}
		if len(body) != 1 || body["jobTitle"] == nil {
			t.Errorf("PATCH %s carried %v, want jobTitle only", r.Path, keys(body))
		}
	}
	guests = h.guests()
	for mail, title := range changed {
		if guests[mail].JobTitle != title {
			t.Errorf("guest %s jobTitle %q, want %q", guests[mail].ID, guests[mail].JobTitle, title)
		}
	}

	// Five departures under the disable policy: five guests disabled, none
	// deleted, and the log says why.
	h.sim.ResetRequests()
	gone := want[10:15]
	for _, u := range gone {
		if err := h.sim.DeleteUser(srcTenantID, u.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	h.mustSync()
	w = h.writes()
	if len(w["patch"]) != 5 || len(w["delete"]) != 0 || len(w["invitations"]) != 0 {
		t.Fatalf("5 departures wrote %d PATCHes, %d DELETEs, %d invitations; want 5, 0, 0",
			len(w["patch"]), len(w["delete"]), len(w["invitations"]))
	}
	guests = h.guests()
	disabled := 0
	for _, g := range guests {
		if !g.AccountEnabled {
			disabled++
		}
	}
	for _, u := range gone {
		if g := guests[strings.ToLower(u.Mail)]; g.AccountEnabled {
			t.Errorf("guest %s of departed user %s is still enabled", g.ID, u.ID)
		}
	}
	if disabled != 5 {
		t.Errorf("%d guests disabled, want 5", disabled)
	}
	h.withBackends(func(db *backends) {
		for _, u := range gone {
			entries := logFor(t, db.store, galsync.LogQuery{SourceUserID: u.ID, Action: galsync.ActionDisable})
			if len(entries) != 1 || entries[0].Outcome != galsync.OutcomeSuccess || entries[0].Reason == "" {
				t.Errorf("log for departed user %s: %+v, want one successful disable with a reason", u.ID, entries)
			}
		}
	})
}

// TestDeletionPolicyAndThreshold: departures under the delete policy delete
// the guests; a mass departure past the threshold pauses the direction and
// deletes nothing.
func TestDeletionPolicyAndThreshold(t *testing.T) { runOnBackends(t, testDeletionPolicyAndThreshold) }

func testDeletionPolicyAndThreshold(t *testing.T, backend string) {
	h := newHarness(t, harnessOptions{
		seed:        sim.SeedSpec{Count: 200, Seed: 12},
		deprovision: galsync.DeprovisionDelete, thresholdPercent: 10, backend: backend,
	})
	h.mustSync()
	if n := len(h.guests()); n != 200 {
		t.Fatalf("initial sync made %d guests, want 200", n)
	}

	h.sim.ResetRequests()
	for _, u := range h.source[:5] {
		if err := h.sim.DeleteUser(srcTenantID, u.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	h.mustSync()
	w := h.writes()
	if len(w["delete"]) != 5 || len(w["patch"]) != 0 || len(w["invitations"]) != 0 {
		t.Fatalf("5 departures under delete wrote %d DELETEs, %d PATCHes, %d invitations; want 5, 0, 0",
			len(w["delete"]), len(w["patch"]), len(w["invitations"]))
	}
	if n := len(h.guests()); n != 195 {
		t.Fatalf("target has %d guests after 5 deletions, want 195", n)
	}

	// 30% leave at once: past the 10% threshold.
	h.sim.ResetRequests()
	mass := h.source[5:65]
	for _, u := range mass {
		if err := h.sim.DeleteUser(srcTenantID, u.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	h.mustSync()
	if w := h.writes(); countWrites(w) != 0 {
		t.Fatalf("mass departure past the threshold wrote %d DELETEs, %d PATCHes", len(w["delete"]), len(w["patch"]))
	}
	if n := len(h.guests()); n != 195 {
		t.Fatalf("target has %d guests after a paused mass departure, want 195", n)
	}
	h.withBackends(func(db *backends) {
		st, err := db.store.GetDirectionState(context.Background(), direction)
		if err != nil {
			t.Fatal(err)
		}
		if !st.Paused || st.PauseReason == "" {
			t.Errorf("direction state %+v, want paused with a reason", st)
		}
		held := map[string]bool{}
		if err := db.store.ListHeld(context.Background(), direction, func(p galsync.HeldPage) error {
			for _, it := range p.Items {
				held[it.SourceUserID] = true
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if st.HeldCount != len(mass) {
			t.Errorf("direction state counts %d held, want %d", st.HeldCount, len(mass))
		}
		for _, u := range mass {
			if !held[u.ID] {
				t.Errorf("departed user %s is not among the held deprovisions", u.ID)
			}
		}
		if len(held) != len(mass) {
			t.Errorf("%d deprovisions held, want %d", len(held), len(mass))
		}
		if pauses := logFor(t, db.store, galsync.LogQuery{Action: galsync.ActionPause}); len(pauses) == 0 {
			t.Error("the pause is not in the provisioning log")
		}
	})

	// While paused, further pulls still hold off: nothing is written.
	h.sim.ResetRequests()
	h.mustSync()
	if w := h.writes(); countWrites(w) != 0 {
		t.Fatalf("a paused direction wrote %d DELETEs, %d PATCHes", len(w["delete"]), len(w["patch"]))
	}
}

// checkNoSecrets fails if text holds a client secret or a mail address.
func checkNoSecrets(t *testing.T, h *harness, what, text string) {
	t.Helper()
	for k, v := range h.env {
		if strings.Contains(k, "SECRET") && strings.Contains(text, v) {
			t.Errorf("%s contains the client secret of %s", what, k)
		}
	}
	if strings.Contains(text, "@") {
		i := strings.Index(text, "@")
		t.Errorf("%s contains a mail address or token near %q", what, text[max(0, i-40):min(len(text), i+40)])
	}
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestRealTimeChange: with timers off, a change in the source reaches the
// target through Graph's change notification alone.
func TestRealTimeChange(t *testing.T) {
	h := newHarness(t, harnessOptions{seed: sim.SeedSpec{Count: 50, Seed: 13}, deprovision: galsync.DeprovisionDisable})
	h.mustSync()
	// That run subscribed with its own (now closed) endpoint; the next one
	// must replace the subscription with one to its endpoint.
	var before string
	h.withBackends(func(b *backends) {
		subs, err := b.store.ListSubscriptions(context.Background())
		if err != nil || len(subs) != 1 {
			t.Fatalf("subscriptions after a run: %v, %v", subs, err)
		}
		before = subs[0].NotificationURL
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &lockedBuffer{}
	a, err := buildApp(os.Getenv, out)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- runLocal(ctx, a, localOptions{functions: functions.FS, noTimers: true, noStartPull: true, httpAddr: "127.0.0.1:0"}, os.Getenv, out)
	}()
	defer func() {
		cancel()
		<-done
		_ = a.Close()
	}()
	waitFor(t, 20*time.Second, "the subscription", func() bool {
		subs, err := a.store.ListSubscriptions(context.Background())
		return err == nil && len(subs) == 1 && subs[0].ID != "" && subs[0].NotificationURL != before
	})
	u := inScope(h.source)[7]
	start := time.Now()
	if _, err := h.sim.UpdateUser(srcTenantID, u.ID, map[string]any{"jobTitle": "Real-Time Engineer"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the change in the target", func() bool {
		return h.guests()[strings.ToLower(u.Mail)].JobTitle == "Real-Time Engineer"
	})
	t.Logf("change reached the target %v after it was made, with no timer", time.Since(start).Round(time.Millisecond))
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAzureBackendsEndToEnd is the smoke scenario of the Azure backends:
// the whole program on Service Bus (the real azservicebus client against
// the repository's AMQP broker) and Cosmos DB (the real azcosmos client
// against the npm Cosmos server): an initial sync across the queue hops
// with scheduled hand-offs, changes, departures, a duplicate message, and
// a message parked, listed and purged with galsync dlq. The backends'
// conformance suites test the rest of their contract.
func TestAzureBackendsEndToEnd(t *testing.T) {
	h := newHarness(t, harnessOptions{seed: sim.SeedSpec{Count: 100, Guests: 5, Disabled: 3, NoMail: 2, Seed: 12},
		deprovision: galsync.DeprovisionDisable, thresholdPercent: 50, backend: "azure"})
	want := inScope(h.source)
	h.mustSync()
	checkConverged(t, h, want)
	if w := h.writes(); len(w["invitations"]) != len(want) || len(w["patch"]) != len(want) {
		t.Fatalf("initial sync: %d invitations, %d PATCHes for %d users", len(w["invitations"]), len(w["patch"]), len(want))
	}

	// Three changes and two departures; and a copy of a work message under
	// another id (a duplicate that duplicate detection cannot fold).
	h.sim.ResetRequests()
	for _, u := range want[:3] {
		if _, err := h.sim.UpdateUser(srcTenantID, u.ID, map[string]any{"jobTitle": "Smoke Tester"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range want[3:5] {
		if err := h.sim.DeleteUser(srcTenantID, u.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	h.withBackends(func(b *backends) {
		l, err := b.store.GetLink(context.Background(), direction, want[6].ID)
		if err != nil {
			t.Fatal(err)
		}
		m, err := pipeline.WorkMessage(galsync.WorkItem{Direction: direction, SourceUserID: want[6].ID, Seq: l.SourceSeq,
			Kind: galsync.WorkReconcile, Source: l.Source})
		if err != nil {
			t.Fatal(err)
		}
		m.ID += "#copy"
		if err := b.queue.Send(context.Background(), galsync.QueueUpdates, m); err != nil {
			t.Fatal(err)
		}
		if err := b.queue.Send(context.Background(), galsync.QueueInvites, queue.Message{ID: "smoke-garbage", Body: []byte(`[]`)}); err != nil {
			t.Fatal(err)
		}
	})
	out, err := h.sync()
	if err == nil || !strings.Contains(err.Error(), "1 message(s) were dead-lettered or parked") {
		t.Fatalf("sync: %v, want the malformed message parked\n%s", err, out)
	}
	w := h.writes()
	if len(w["patch"]) != 5 || len(w["invitations"]) != 0 {
		t.Errorf("3 changes and 2 departures wrote %d PATCHes and %d invitations, want 5 and 0", len(w["patch"]), len(w["invitations"]))
	}
	guests := h.guests()
	for _, u := range want[:3] {
		if g := guests[strings.ToLower(u.Mail)]; g.JobTitle != "Smoke Tester" {
			t.Errorf("guest %s jobTitle %q", g.ID, g.JobTitle)
		}
	}
	for _, u := range want[3:5] {
		if g := guests[strings.ToLower(u.Mail)]; g.AccountEnabled {
			t.Errorf("guest %s of a departed user is enabled", g.ID)
		}
	}
	if out := dlqOK(t, "list", "--queue", "parked"); !strings.Contains(out, "smoke-garbage") {
		t.Errorf("dlq list does not show the parked message:\n%s", out)
	}
	if out := dlqOK(t, "purge", "--yes"); !strings.Contains(out, "purged 1") {
		t.Errorf("dlq purge:\n%s", out)
	}
	if n := parked(h); n != 0 {
		t.Errorf("%d set aside after the purge", n)
	}
}
