package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/funcproto"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/sim"
)

// doubleSender sends every message twice under different message ids, so
// duplicate detection cannot fold them: the workers see each piece of work
// twice, as after a redelivery whose first attempt did its effect.
type doubleSender struct {
	next queue.Sender
	sent atomic.Int64
}

func (d *doubleSender) Send(ctx context.Context, q string, msgs ...queue.Message) error {
	twice := make([]queue.Message, 0, 2*len(msgs))
	for _, m := range msgs {
		dup := m
		dup.ID = m.ID + "#again"
		twice = append(twice, m, dup)
	}
	d.sent.Add(int64(len(twice)))
	return d.next.Send(ctx, q, twice...)
}

// TestDuplicateDelivery: every message delivered twice ends in the same
// target state with the same Graph writes as single delivery.
func TestDuplicateDelivery(t *testing.T) { runOnBackends(t, testDuplicateDelivery) }

func testDuplicateDelivery(t *testing.T, backend string) {
	opts := harnessOptions{seed: sim.SeedSpec{Count: 300, Guests: 10, Disabled: 5, NoMail: 5, Seed: 21},
		deprovision: galsync.DeprovisionDisable, thresholdPercent: 50, backend: backend}
	once := newHarness(t, opts)
	once.mustSync()
	baseline := once.writes()

	twice := newHarness(t, opts)
	d := &doubleSender{}
	out, err := twice.syncWith(func(a *app) {
		d.next = a.queue
		a.deps.Puller.Queue, a.deps.Queue = d, d
	})
	if err != nil {
		t.Fatalf("sync with duplicates: %v\n%s", err, out)
	}
	if d.sent.Load() == 0 {
		t.Fatal("the duplicating sender sent nothing: the test did not exercise duplicates")
	}
	got := twice.writes()
	for _, kind := range []string{"invitations", "patch", "delete"} {
		if len(got[kind]) != len(baseline[kind]) {
			t.Errorf("%s: %d with duplicate delivery, %d without", kind, len(got[kind]), len(baseline[kind]))
		}
	}
	a, b := once.guests(), twice.guests()
	if len(a) != len(b) || len(b) != len(inScope(twice.source)) {
		t.Fatalf("guests: %d with duplicates, %d without, %d in scope", len(b), len(a), len(inScope(twice.source)))
	}
	for _, u := range inScope(twice.source) {
		g, ok := b[strings.ToLower(u.Mail)]
		if !ok {
			t.Errorf("user %s has no guest", u.ID)
			continue
		}
		checkAttributes(t, u, g)
	}
}

// TestExpiredDeltaTokenResyncs: an expired delta token starts a full resync
// whose sweep retires users that disappeared meanwhile, and writes nothing
// for the rest.
func TestExpiredDeltaTokenResyncs(t *testing.T) {
	h := newHarness(t, harnessOptions{seed: sim.SeedSpec{Count: 300, Seed: 22},
		deprovision: galsync.DeprovisionDisable, thresholdPercent: 50})
	h.mustSync()
	gone := h.source[:3]
	for _, u := range gone {
		if err := h.sim.DeleteUser(srcTenantID, u.ID, false); err != nil { // hard: absent from a full sync
			t.Fatal(err)
		}
	}
	if err := h.sim.InvalidateDeltaTokens(srcTenantID); err != nil {
		t.Fatal(err)
	}
	h.sim.ResetRequests()
	h.mustSync()

	gone410 := 0
	for _, r := range h.sim.FindRequests(sim.RequestFilter{Tenant: srcTenantID, Kind: "delta"}) {
		if r.Status == 410 {
			gone410++
		}
	}
	if gone410 == 0 {
		t.Fatal("the simulator never answered 410 Gone: the resync path was not exercised")
	}
	w := h.writes()
	if len(w["patch"]) != 3 || len(w["invitations"]) != 0 || len(w["delete"]) != 0 {
		t.Fatalf("resync wrote %d PATCHes, %d invitations, %d DELETEs; want 3 (the disables), 0, 0",
			len(w["patch"]), len(w["invitations"]), len(w["delete"]))
	}
	guests := h.guests()
	for _, u := range gone {
		if g := guests[strings.ToLower(u.Mail)]; g.AccountEnabled {
			t.Errorf("guest of vanished user %s still enabled", u.ID)
		}
	}
	h.withBackends(func(db *backends) {
		if r := logFor(t, db.store, galsync.LogQuery{Action: galsync.ActionResync}); len(r) == 0 {
			t.Error("the resync is not in the provisioning log")
		}
	})
}

// TestMalformedMessageIsParked: a message no worker can read fails for
// good: it is parked at once with the reason (not retried, not redelivered
// until the broker gives up), while the rest of the work flows on.
func TestMalformedMessageIsParked(t *testing.T) {
	h := newHarness(t, harnessOptions{seed: sim.SeedSpec{Count: 100, Seed: 23}, deprovision: galsync.DeprovisionDisable})
	h.withBackends(func(db *backends) {
		if err := db.queue.Send(context.Background(), galsync.QueueInvites, queue.Message{ID: "garbage-1", Body: []byte(`{"direction":`)}); err != nil {
			t.Fatal(err)
		}
	})
	out, err := h.sync()
	if err == nil || !strings.Contains(err.Error(), "1 message(s) were dead-lettered or parked") {
		t.Fatalf("sync error = %v, want a report of one parked message\n%s", err, out)
	}
	if n := len(h.guests()); n != 100 {
		t.Fatalf("%d guests, want 100: the bad message held up the rest", n)
	}
	h.withBackends(func(db *backends) {
		parked, err := db.queue.Peek(context.Background(), galsync.QueueParked, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(parked) != 1 || parked[0].ID != "garbage-1/parked" || string(parked[0].Body) != `{"direction":` {
			t.Fatalf("parked: %d messages (%+v), want the malformed one with its body", len(parked), parked)
		}
		p := parked[0].Properties
		if p[queue.PropParkedFrom] != galsync.QueueInvites || !strings.Contains(p[queue.PropParkedReason], "not valid JSON") {
			t.Errorf("parked from %q because %q; want invites, and the decode error", p[queue.PropParkedFrom], p[queue.PropParkedReason])
		}
		if dead, _ := queue.Count(context.Background(), db.queue, queue.DeadLetterQueue(galsync.QueueInvites), 10); dead != 0 {
			t.Errorf("%d dead-lettered as well", dead)
		}
	})
}

// TestThrottledTenantConverges: with Graph's throttling limits scaled down
// and galsync's own pacing off, so that thousands of requests answer 429,
// every 429 is waited out: all users arrive, nothing is set aside.
func TestThrottledTenantConverges(t *testing.T) {
	h := newHarness(t, harnessOptions{seed: sim.SeedSpec{Count: 300, Seed: 24},
		deprovision: galsync.DeprovisionDisable, throttleScale: 0.01, noPacing: true})
	// Many workers against Graph's rates (30 invitations and 20 writes a
	// second per tenant, the simulator's burst scaled to 1%): most of
	// their requests are throttled.
	h.setenv("GALSYNC_QUEUE_CONCURRENCY", "100")
	out := h.mustSync()
	throttled := 0
	for _, r := range h.sim.FindRequests(sim.RequestFilter{}) {
		if r.Fault == "throttled" {
			throttled++
		}
	}
	if throttled < 1000 {
		t.Fatalf("%d requests throttled: the scenario needs thousands of 429s", throttled)
	}
	if n := len(h.guests()); n != 300 {
		t.Fatalf("%d guests, want 300\n%s", n, out)
	}
	h.withBackends(func(db *backends) {
		for _, e := range logFor(t, db.store, galsync.LogQuery{Action: galsync.ActionPark}) {
			t.Errorf("parked under throttling: %+v", e)
		}
	})
	if n := parked(h); n != 0 {
		t.Errorf("%d messages set aside under throttling", n)
	}
	checkConverged(t, h, inScope(h.source))
	t.Logf("%d requests throttled", throttled)
}

// TestBadConfigurationExitsTwo: a broken configuration stops startup with
// exit code 2 and names every problem.
func TestBadConfigurationExitsTwo(t *testing.T) {
	dir := t.TempDir()
	topo := filepath.Join(dir, "topology.json")
	doc := `{"tenants":[{"name":"src","tenantId":"not-a-guid","cloud":"public","domain":"a.onmicrosoft.com","auth":{"method":"clientSecret","clientId":"0c5a1f3e-6b7d-4e8f-9a0b-1c2d3e4f5a11","clientSecretSetting":"X"}}],
	 "directions":[{"name":"d","source":"src","target":"nowhere","inviteRedirectUrl":"http://insecure","deprovision":{"action":"shred"}}]}`
	if err := os.WriteFile(topo, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GALSYNC_TOPOLOGY_FILE", topo)
	t.Setenv("GALSYNC_DATA_DIR", filepath.Join(dir, "data"))
	t.Setenv("GALSYNC_QUEUE_CONCURRENCY", "0")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"local", "--once"}, os.Getenv, &stdout, &stderr)
	if code := exitCode(err, &stderr); code != exitUsage {
		t.Fatalf("exit code %d, want %d; stderr:\n%s", code, exitUsage, stderr.String())
	}
	for _, want := range []string{"GALSYNC_QUEUE_CONCURRENCY", `tenantId "not-a-guid"`, `target "nowhere"`,
		"inviteRedirectUrl must be an https URL", `deprovision.action "shred"`} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr does not name %q:\n%s", want, stderr.String())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Errorf("a bad configuration still created the data directory (stat: %v)", err)
	}
}

// TestCrashAnywhereConverges kills the galsync process (SIGKILL) five
// times in the middle of a sync, restarts it each time, and then lets it
// finish: the target ends exactly as after an uninterrupted sync, with no
// second guest for anyone. The kills are placed by progress, not by the
// clock: each waits until the simulator has served a given number of
// writes, so every kill lands while work is in flight.
func TestCrashAnywhereConverges(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it; skipped with -short")
	}
	bin := buildBinary(t)
	h := newHarness(t, harnessOptions{seed: sim.SeedSpec{Count: 1000, Guests: 20, Disabled: 10, NoMail: 10, Seed: 25},
		deprovision: galsync.DeprovisionDisable, thresholdPercent: 10})
	// Service Bus's default max delivery count: a message in flight at a
	// kill loses its lock, and that counts as a delivery, as in Service Bus.
	h.setenv("GALSYNC_MAX_DELIVERY_COUNT", "10")
	// A killed worker's claims are taken over after the claim TTL (5 min by
	// default); the final run waits out the claims of the last kill. The
	// simulator answers in milliseconds, so a Graph attempt is bounded at
	// 4 s and the budget wait at 1 s, which lets the configuration accept
	// an 8 s claim (one call's 5 s, then a 2 s margin).
	h.setenv("GALSYNC_GRAPH_TIMEOUT", "4s")
	h.setenv("GALSYNC_GRAPH_MAX_WAIT", "1s")
	h.setenv("GALSYNC_INVITE_CLAIM_TTL", "8s")
	want := inScope(h.source)
	start := time.Now()
	for kill, writes := range []int{30, 300, 700, 1100, 1500} {
		cmd := h.command(bin, "local", "--no-timers", "--progress", "0", "--http", "127.0.0.1:0")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		deadline := time.After(2 * time.Minute)
	wait:
		for countWrites(h.writes()) < writes {
			select {
			case <-done:
				t.Fatalf("galsync exited before %d writes:\n%s", writes, out.String())
			case <-deadline:
				t.Fatalf("galsync did not reach %d writes in 2 minutes:\n%s", writes, out.String())
			case <-time.After(10 * time.Millisecond):
				continue wait
			}
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-done
		w := h.writes()
		t.Logf("kill %d at %d writes (%d invitations, %d PATCHes), %s in", kill+1, countWrites(w), len(w["invitations"]), len(w["patch"]),
			time.Since(start).Round(time.Millisecond))
	}
	cmd := h.command(bin, "local", "--no-timers", "--once", "--progress", "0", "--http", "127.0.0.1:0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	checkConverged(t, h, want)
	w := h.writes()
	if len(w["invitations"]) != len(want) {
		t.Errorf("%d invitations for %d users", len(w["invitations"]), len(want))
	}
	t.Logf("after 5 kills: %d invitations, %d PATCHes for %d users", len(w["invitations"]), len(w["patch"]), len(want))
}

func buildBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "galsync")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// command runs the built binary with the harness's configuration.
func (h *harness) command(bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = os.Environ()
	for k, v := range h.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

// TestServeRefusesLocalBackends: on Azure, the embedded queue and store
// would lose work; serve says what to set instead.
func TestServeRefusesLocalBackends(t *testing.T) {
	t.Setenv("GALSYNC_TOPOLOGY", "{}")
	var stderr bytes.Buffer
	err := run(context.Background(), nil, func(k string) string {
		switch k {
		case "FUNCTIONS_CUSTOMHANDLER_PORT":
			return "40123"
		case "WEBSITE_INSTANCE_ID":
			return "0123abcd" // set by the platform on Azure
		}
		return os.Getenv(k)
	}, &bytes.Buffer{}, &stderr)
	if code := exitCode(err, &stderr); code != exitUsage {
		t.Fatalf("exit %d, want %d: %v", code, exitUsage, err)
	}
	for _, want := range []string{"GALSYNC_QUEUE_BACKEND", "servicebus", "GALSYNC_STORE_BACKEND", "cosmos"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
}

// TestServeAnswersTheHost: `galsync serve` (no subcommand, as the host starts
// it) answers the host's readiness probe and a timer invocation encoded as
// the host encodes it.
func TestServeAnswersTheHost(t *testing.T) {
	h := newHarness(t, harnessOptions{seed: sim.SeedSpec{Count: 5, Seed: 26}, deprovision: galsync.DeprovisionDisable})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	h.setenv("FUNCTIONS_CUSTOMHANDLER_PORT", port)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, os.Getenv, &bytes.Buffer{}, &lockedBuffer{}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	base := "http://127.0.0.1:" + port
	waitFor(t, 10*time.Second, "the handler's readiness", func() bool {
		resp, err := http.Get(base + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	payload, err := funcproto.EncodeTimer("timer", funcproto.TimerInfo{}, funcproto.NewSys("delta-timer", time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(base+"/delta-timer", "application/json", bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("delta-timer: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if _, err := funcproto.DecodeResponse(body); err != nil {
		t.Errorf("answer is no custom-handler response: %v (%s)", err, body)
	}
}
