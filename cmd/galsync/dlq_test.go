package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/galsync/galsync/functions"
	"github.com/galsync/galsync/shared/deadletter"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/pipeline"
	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/sim"
)

// TestDlqReplayConverges is issue 5's acceptance scenario: 100 invitations
// dead-lettered by a fault are replayed once the fault is gone; every user
// converges with one guest, the dead-letter queue empties, and replaying
// again changes nothing.
func TestDlqReplayConverges(t *testing.T) { runOnBackends(t, testDlqReplayConverges) }

func testDlqReplayConverges(t *testing.T, backend string) {
	h := newHarness(t, harnessOptions{seed: sim.SeedSpec{Count: 100, Seed: 51}, deprovision: galsync.DeprovisionDisable, backend: backend})
	users := inScope(h.source)
	if len(users) != 100 {
		t.Fatalf("%d users in scope, want 100", len(users))
	}
	start := time.Now()
	parkInvitations(t, h, len(users))
	t.Logf("%s: 100 messages parked in %s", backend, time.Since(start).Round(time.Millisecond))

	// list and show read without changing anything, and print no address.
	stdout := dlqOK(t, "list", "--queue", "invites", "--json")
	var listed []deadletter.Letter
	if err := json.Unmarshal([]byte(stdout), &listed); err != nil || len(listed) != 100 {
		t.Fatalf("list --json: %d letters (%v)", len(listed), err)
	}
	if strings.Contains(stdout, "@") {
		t.Error("list prints an address")
	}
	if out := dlqOK(t, "show", listed[0].MessageID); strings.Contains(out, "@") || !strings.Contains(out, "add --body") {
		t.Errorf("show without --body prints an address, or does not say how to see the body:\n%s", out)
	}
	if listed[0].Queue != galsync.QueueParked || listed[0].Origin != galsync.QueueInvites || listed[0].Reason != deadletter.ReasonParked ||
		!strings.Contains(listed[0].Description, "retry budget") {
		t.Errorf("listed letter = %+v, want parked from invites after the retry budget", listed[0])
	}
	if out := dlqOK(t, "show", listed[0].MessageID, "--body"); !strings.Contains(out, `"source"`) {
		t.Errorf("show --body does not print the body:\n%s", out)
	}
	if out := dlqOK(t, "replay", "--dry-run"); !strings.Contains(out, "would replay 100") {
		t.Errorf("dry run does not report 100 to replay:\n%s", out)
	}
	var dry dlqReportJSON
	if err := json.Unmarshal([]byte(dlqOK(t, "replay", "--dry-run", "--json", "--limit", "10")), &dry); err != nil ||
		!dry.DryRun || dry.Counts[deadletter.WouldReplay] != 10 || len(dry.Items) != 10 {
		t.Errorf("replay --dry-run --json --limit 10: %+v (%v)", dry.Counts, err)
	}
	if d := setAside(h); d[galsync.QueueParked] != 100 {
		t.Fatalf("after a dry run %v are set aside, want 100 parked", d)
	}

	start = time.Now()
	out := dlqOK(t, "replay")
	if !strings.Contains(out, "replayed 100") {
		t.Fatalf("replay does not report 100 replayed:\n%s", out)
	}
	t.Logf("%s: replay took %s", backend, time.Since(start).Round(time.Millisecond))
	h.mustSync()
	checkConverged(t, h, users)
	if d := setAside(h); d[galsync.QueueInvites]+d[galsync.QueueUpdates]+d[galsync.QueuePulls]+d[galsync.QueueParked] != 0 {
		t.Fatalf("set aside after the replay: %v, want nothing", d)
	}
	if n := len(h.writes()["invitations"]); n != 100 {
		t.Fatalf("%d invitations accepted, want 100", n)
	}

	writes := countWrites(h.writes())
	if out := dlqOK(t, "replay"); !strings.Contains(out, "Nothing to replay") {
		t.Fatalf("a second replay does not report nothing to replay:\n%s", out)
	}
	h.mustSync()
	if got := countWrites(h.writes()); got != writes {
		t.Fatalf("the second replay and sync made %d Graph write(s), want none", got-writes)
	}
	checkConverged(t, h, users)
}

// TestDlqReplayWhileWorkersRun: dead letters replayed while the workers
// run, racing newer changes to the same users, never make a second guest
// or a second invitation.
func TestDlqReplayWhileWorkersRun(t *testing.T) { runOnBackends(t, testDlqReplayWhileWorkersRun) }

func testDlqReplayWhileWorkersRun(t *testing.T, backend string) {
	h := newHarness(t, harnessOptions{seed: sim.SeedSpec{Count: 100, Seed: 52}, deprovision: galsync.DeprovisionDisable, backend: backend})
	users := inScope(h.source)
	parkInvitations(t, h, len(users))
	// Newer changes to the same users: the workers' pull sends new items
	// for them while the replayed ones arrive.
	for _, u := range users {
		if _, err := h.sim.UpdateUser(srcTenantID, u.ID, map[string]any{"jobTitle": "Replay Tester"}); err != nil {
			t.Fatal(err)
		}
	}

	a, stop := startWorkers(t)
	if backend == "azure" {
		if out := dlqOK(t, "replay"); !strings.Contains(out, "replayed 100") {
			t.Errorf("replay does not report 100 replayed:\n%s", out)
		}
	} else {
		// The embedded file is the running workers'; replay through their
		// queue, and check that the command says what to do instead.
		r, err := deadletter.Replay(context.Background(), a.queue, deadletter.ReplayOptions{
			Options: deadletter.Options{Filter: deadletter.Filter{Queues: galsync.Queues()}}})
		if err != nil || r.Count(deadletter.Replayed) != 100 {
			t.Errorf("replay: %d replayed, %v", r.Count(deadletter.Replayed), err)
		}
		_, stderr, err := runCLI(t, "dlq", "list")
		if code := exitCode(err, io.Discard); code != exitFailed || !strings.Contains(err.Error(), "stop it") {
			t.Errorf("dlq on an embedded file in use: exit %d, error %v; want 1 and what to do\n%s", code, err, stderr)
		}
	}
	waitConverged(t, h, a)
	stop()

	h.mustSync()
	current := make([]sim.User, len(users))
	for i, u := range users {
		var err error
		if current[i], err = h.sim.User(srcTenantID, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	checkConverged(t, h, current)
	if n := len(h.writes()["invitations"]); n != 100 {
		t.Fatalf("%d invitations accepted, want 100: one per user", n)
	}
	if d := setAside(h); d[galsync.QueueInvites]+d[galsync.QueueUpdates]+d[galsync.QueuePulls]+d[galsync.QueueParked] != 0 {
		t.Fatalf("set aside: %v, want nothing", d)
	}
}

// TestDlqRefusesOverReplayedMessages: a message replayed --max-replays
// times is refused with exit 1 and told what to do; --force replays it,
// and purge needs --yes.
func TestDlqRefusesOverReplayedMessages(t *testing.T) {
	h := newHarness(t, harnessOptions{deprovision: galsync.DeprovisionDisable})
	tired := queue.Message{ID: "source-to-target:u1:3:upsert/replay-5", Body: []byte(`{"direction":"source-to-target"}`),
		Properties: map[string]string{queue.PropDirection: direction, queue.PropReplayCount: "5"}}
	h.withBackends(func(b *backends) {
		ctx := context.Background()
		if err := b.queue.Send(ctx, galsync.QueueUpdates, tired); err != nil {
			t.Fatal(err)
		}
		ds, err := b.queue.Receive(ctx, galsync.QueueUpdates, 1, time.Second)
		if err != nil || len(ds) != 1 {
			t.Fatalf("receive: %d, %v", len(ds), err)
		}
		if err := b.queue.DeadLetter(ctx, ds[0], "Conflict", "a member holds the address"); err != nil {
			t.Fatal(err)
		}
	})
	stdout, _, err := runCLI(t, "dlq", "replay")
	if code := exitCode(err, io.Discard); code != exitFailed || !strings.Contains(err.Error(), "--force") || !strings.Contains(stdout, "refused") {
		t.Fatalf("replay of a message replayed 5 times: exit %d, %v\n%s", code, err, stdout)
	}
	if out := dlqOK(t, "list"); !strings.Contains(out, "Conflict") {
		t.Errorf("list does not show the reason:\n%s", out)
	}
	if out := dlqOK(t, "replay", "--dry-run"); !strings.Contains(out, "refused 1") {
		t.Errorf("replay --dry-run does not report the refusal (or exits non-zero):\n%s", out)
	}
	if out := dlqOK(t, "replay", "--max-replays", "6", "--dry-run"); !strings.Contains(out, "would replay 1") {
		t.Errorf("replay --max-replays 6 --dry-run:\n%s", out)
	}
	if out := dlqOK(t, "purge", "--dry-run"); !strings.Contains(out, "would purge 1") {
		t.Errorf("purge --dry-run:\n%s", out)
	}
	if out := dlqOK(t, "replay", "--force"); !strings.Contains(out, "source-to-target:u1:3:upsert/replay-6") {
		t.Errorf("replay --force does not send the copy as replay-6:\n%s", out)
	}
	if out := dlqOK(t, "list"); !strings.Contains(out, "No dead letter matches") {
		t.Errorf("after the forced replay:\n%s", out)
	}
}

// TestDlqProgressBar: the bar is drawn only on a terminal, and cleared.
func TestDlqProgressBar(t *testing.T) {
	var buf bytes.Buffer
	if b := newDlqProgressBar(&buf, true); b.w != nil {
		t.Fatal("a progress bar on a buffer, which is no terminal")
	}
	b := &dlqProgressBar{w: &buf}
	b.update(deadletter.Progress{Op: deadletter.OpReplay, Queue: "invites", Done: 50, Total: 100})
	b.finish()
	want := "\r\033[Kreplay [" + strings.Repeat("#", 15) + strings.Repeat(".", 15) + "] 50/100 invites\r\033[K"
	if buf.String() != want {
		t.Errorf("drew %q, want %q", buf.String(), want)
	}
}

// TestDlqUsage: --help documents examples and exit codes; mistakes exit 2
// and say what to do, before anything is opened.
func TestDlqUsage(t *testing.T) {
	stdout, _, err := runCLI(t, "dlq", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Examples:", "Exit codes:", "--dry-run", "--body", "invite addresses", "replay-count"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dlq --help does not mention %q", want)
		}
	}
	if out, _, err := runCLI(t, "dlq", "replay", "-h"); err != nil || !strings.Contains(out, "Exit codes:") {
		t.Errorf("dlq replay -h: %v", err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"dlq"}, "list, show, replay or purge"},
		{[]string{"dlq", "frobnicate"}, "unknown command"},
		{[]string{"dlq", "purge"}, "add --yes"},
		{[]string{"dlq", "list", "--queue", "everything"}, "pulls, invites, updates, parked or all"},
		{[]string{"dlq", "replay", "--older-than", "3x"}, "such as 90s"},
		{[]string{"dlq", "list", "--older-than", "1h", "--newer-than", "30m"}, "select nothing"},
		{[]string{"dlq", "replay", "--body"}, "flag provided but not defined"},
		{[]string{"dlq", "list", "stray"}, "unexpected argument"},
	} {
		_, _, err := runCLI(t, tc.args...)
		if code := exitCode(err, io.Discard); code != exitUsage || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: exit %d, error %v; want 2 and %q", tc.args, code, err, tc.want)
		}
	}
}

// The ages take what galsync log --since takes (galsync.ParseSince).
func TestDlqAgeFlag(t *testing.T) {
	for in, want := range map[string]time.Duration{"90s": 90 * time.Second, "2h": 2 * time.Hour, "7d": 7 * 24 * time.Hour, "1d12h": 36 * time.Hour} {
		var a dlqAgeFlag
		if err := a.Set(in); err != nil || a.d != want {
			t.Errorf("%q: %s, %v; want %s", in, a.d, err, want)
		}
	}
	var a dlqAgeFlag
	at := time.Now().Add(-3 * time.Hour).UTC().Format(time.RFC3339)
	if err := a.Set(at); err != nil || a.d < 3*time.Hour-time.Second || a.d > 3*time.Hour+time.Minute {
		t.Errorf("%q: %s, %v; want about 3h", at, a.d, err)
	}
	for _, bad := range []string{"", "0s", "-1h", "d", "3x", "1d-2d", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)} {
		var a dlqAgeFlag
		if err := a.Set(bad); err == nil {
			t.Errorf("%q accepted as %s", bad, a.d)
		}
	}
}

// dlqOK runs `galsync dlq args...` through run and fails the test on an
// error; it returns stdout.
func dlqOK(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, err := runCLI(t, slices.Concat([]string{"dlq"}, args, []string{"--no-progress"})...)
	if err != nil {
		t.Fatalf("galsync dlq %s: %v\n%s\n%s", strings.Join(args, " "), err, stdout, stderr)
	}
	return stdout
}

// impatientInvites gives each invitation a quarter of a second. The simulator's
// fault answers 503 with Retry-After 1, which Graph's client retries ten
// times before the worker fails; the test needs the failures, not the
// waits, to spend the retry budget.
type impatientInvites struct{ pipeline.GuestDirectory }

func (g impatientInvites) Invite(ctx context.Context, tenant string, inv galsync.Invitation) (galsync.TargetUser, error) {
	ctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
	defer cancel()
	return g.GuestDirectory.Invite(ctx, tenant, inv)
}

// parkInvitations makes every invitation fail in the target tenant (503),
// syncs under a retry budget of a second until exactly n invitations were
// retried past it and parked, and removes the fault.
func parkInvitations(t *testing.T, h *harness, n int) {
	t.Helper()
	h.setenv("GALSYNC_QUEUE_CONCURRENCY", "32")
	h.setenv("GALSYNC_RETRY_BUDGET", "1s")
	h.setenv("GALSYNC_RETRY_MIN_DELAY", "200ms")
	h.setenv("GALSYNC_RETRY_MAX_DELAY", "400ms")
	defer func() {
		h.setenv("GALSYNC_RETRY_BUDGET", "24h")
		h.setenv("GALSYNC_RETRY_MIN_DELAY", "500ms")
		h.setenv("GALSYNC_RETRY_MAX_DELAY", "5s")
	}()
	if err := h.sim.SetFaults(dstTenantID, sim.Faults{DisableThrottling: true, ErrorRate: 1, Kinds: []string{"invitations"}}); err != nil {
		t.Fatal(err)
	}
	out, err := h.syncWith(func(a *app) {
		a.deps.Inviter.Graph = impatientInvites{a.deps.Inviter.Graph}
	})
	if want := fmt.Sprintf("%d message(s) were dead-lettered or parked", n); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("sync with failing invitations: %v; want %q\n%s", err, want, out)
	}
	d := setAside(h)
	if d[galsync.QueueParked] != n || d[galsync.QueueInvites]+d[galsync.QueueUpdates]+d[galsync.QueuePulls] != 0 {
		t.Fatalf("set aside: %v, want exactly %d parked", d, n)
	}
	if got := len(h.guests()); got != 0 {
		t.Fatalf("%d guests made while every invitation failed", got)
	}
	if err := h.sim.SetFaults(dstTenantID, sim.Faults{DisableThrottling: true}); err != nil {
		t.Fatal(err)
	}
}

// setAside counts each queue's dead letters, and the parked messages.
func setAside(h *harness) map[string]int {
	h.t.Helper()
	out := map[string]int{}
	h.withBackends(func(b *backends) {
		for _, q := range galsync.Queues() {
			n, err := queue.Count(context.Background(), b.queue, deadletter.Source(q), 100000)
			if err != nil {
				h.t.Fatal(err)
			}
			out[q] = n
		}
	})
	return out
}

// startWorkers runs `galsync local` without timers in the background, as
// a deployment's functions run, until stop is called.
func startWorkers(t *testing.T) (*app, func()) {
	t.Helper()
	logs := &lockedBuffer{}
	a, err := buildApp(os.Getenv, logs)
	if err != nil {
		t.Fatalf("buildApp: %v\n%s", err, logs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runLocal(ctx, a, localOptions{functions: functions.FS, noTimers: true}, os.Getenv, logs)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("workers: %v\n%s", err, logs)
			}
			if err := a.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return a, stop
}

// waitConverged waits until the target has a guest for every in-scope
// user with the source's job title, and the queues are idle.
func waitConverged(t *testing.T, h *harness, a *app) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	want := len(inScope(h.source))
	for {
		done := 0
		for _, g := range h.guests() {
			if g.JobTitle == "Replay Tester" {
				done++
			}
		}
		if done == want {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d of %d guests converged before the deadline", done, want)
		case <-time.After(200 * time.Millisecond):
		}
	}
	if err := waitIdle(ctx, a, 100*time.Millisecond, 5); err != nil {
		t.Fatalf("queues never went idle: %v", err)
	}
}
