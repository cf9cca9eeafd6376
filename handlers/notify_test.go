package handlers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/sim"
)

// Graph's handshake: the token (text with spaces and colons, URL-encoded
// with '+' for spaces, as Graph's are) comes back decoded, 200 text/plain.
func TestValidationHandshakeEchoesTheDecodedToken(t *testing.T) {
	e := newEnv(t, envOptions{})
	token := "Validation: Testing client application reachability for subscription Request-Id: 4a1b2c3d-0000-4000-8000-000000000001"
	for _, function := range []string{FuncGraphNotify, FuncGraphLifecycle} {
		out := e.postHTTP(function, url.Values{"validationToken": {token}}.Encode(), nil)
		if out.StatusCode != http.StatusOK || out.Body != token || !strings.HasPrefix(out.Headers["Content-Type"], "text/plain") ||
			out.Headers["X-Content-Type-Options"] != "nosniff" {
			t.Errorf("%s: %+v", function, out)
		}
	}
	if out := e.postHTTP(FuncGraphNotify, "validationToken=", nil); out.StatusCode != http.StatusBadRequest {
		t.Errorf("empty token: %+v", out)
	}
	// The same through the Functions host's front, as Graph calls it.
	resp, err := http.Post(e.front.URL+"/api/notify?"+url.Values{"validationToken": {token}}.Encode(), "text/plain; charset=utf-8", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != token || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("through the front: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
}

func TestValidNotificationAsksOnePullPerDirectionOfItsTenant(t *testing.T) {
	e := newEnv(t, envOptions{})
	rec := e.ensureSubscriptions()
	out := e.postHTTP(FuncGraphNotify, "", body(t, notification(rec, rec.ClientState, "u1"), notification(rec, rec.ClientState, "u2")))
	if out.StatusCode != http.StatusAccepted {
		t.Fatalf("answer %+v", out)
	}
	pulls := e.pulls()
	if len(pulls) != 1 || pulls[0].Direction != dirSource || pulls[0].Trigger != "notification" {
		t.Fatalf("pulls %+v: want one, of %s only (partner-to-target's source is another tenant)", pulls, dirSource)
	}
	// The pull starts when its window closes, so it covers the window.
	if w := pulls[0].NotBefore.Sub(pulls[0].RequestedAt); w <= 0 || w > time.Second {
		t.Errorf("pull requested at %s, not before %s", pulls[0].RequestedAt, pulls[0].NotBefore)
	}
	if logs := e.logs.String(); strings.Contains(logs, rec.ClientState) {
		t.Errorf("the clientState is in the logs:\n%s", logs)
	}
}

// Refused input enqueues nothing and gets the status Graph should see.
func TestRefusedNotificationsEnqueueNothing(t *testing.T) {
	e := newEnv(t, envOptions{})
	rec := e.ensureSubscriptions()
	wrongTenant := notification(rec, rec.ClientState, "u1")
	wrongTenant["tenantId"] = partnerID
	unknown := notification(rec, rec.ClientState, "u1")
	unknown["subscriptionId"] = "0b9d0bd5-0000-4000-8000-000000000000"
	for _, tc := range []struct {
		name   string
		body   []byte
		status int
	}{
		{"wrong clientState", body(t, notification(rec, "guessed-client-state", "u1")), http.StatusAccepted},
		{"unknown subscription", body(t, unknown), http.StatusAccepted},
		{"other tenant", body(t, wrongTenant), http.StatusAccepted},
		{"malformed JSON", []byte(`{"value":[{"subscriptionId":`), http.StatusBadRequest},
		{"not a collection", []byte(`[{"subscriptionId":"x"}]`), http.StatusBadRequest},
		{"empty body", nil, http.StatusBadRequest},
		{"over 1 MiB", append([]byte(`{"value":[]}`), bytes.Repeat([]byte(" "), 1<<20)...), http.StatusRequestEntityTooLarge},
		{"10 MB", bytes.Repeat([]byte("x"), 10_000_000), http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := e.postHTTP(FuncGraphNotify, "", tc.body)
			if out.StatusCode != tc.status {
				t.Errorf("status %d, want %d (%+v)", out.StatusCode, tc.status, out)
			}
			if p := e.pulls(); len(p) != 0 {
				t.Errorf("pulls enqueued: %+v", p)
			}
		})
	}
	logs := e.logs.String()
	for _, secret := range []string{rec.ClientState, "guessed-client-state"} {
		if strings.Contains(logs, secret) {
			t.Errorf("a clientState is in the logs:\n%s", logs)
		}
	}
	if !strings.Contains(logs, "wrong-client-state 1") || !strings.Contains(logs, "unknown-subscription 1") || !strings.Contains(logs, "wrong-tenant 1") {
		t.Errorf("the refusals are not logged with their reason:\n%s", logs)
	}

	// The same through the Functions host's front, as Graph posts.
	for _, tc := range []struct {
		name   string
		body   []byte
		status int
	}{
		{"empty body", nil, http.StatusBadRequest},
		{"malformed JSON", []byte("{"), http.StatusBadRequest},
		{"wrong clientState", body(t, notification(rec, "nope", "u1")), http.StatusAccepted},
		{"10 MB", bytes.Repeat([]byte("x"), 10_000_000), http.StatusRequestEntityTooLarge},
	} {
		resp, err := http.Post(e.front.URL+"/api/notify", "application/json", bytes.NewReader(tc.body))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s through the front: %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
	}
	if p := e.pulls(); len(p) != 0 {
		t.Errorf("pulls enqueued: %+v", p)
	}
}

// A burst of 1,000 notifications for one direction, in batches as Graph
// sends them, asks for a handful of pulls, not a thousand.
func TestBurstOfNotificationsCoalesces(t *testing.T) {
	e := newEnv(t, envOptions{})
	rec := e.ensureSubscriptions()
	for batch := range 10 {
		items := make([]map[string]any, 100)
		for i := range items {
			items[i] = notification(rec, rec.ClientState, fmt.Sprintf("u%d", batch*100+i))
		}
		if out := e.postHTTP(FuncGraphNotify, "", body(t, items...)); out.StatusCode != http.StatusAccepted {
			t.Fatalf("batch %d: %+v", batch, out)
		}
	}
	if n := len(e.pulls()); n < 1 || n > 2 {
		t.Errorf("%d pull messages for 1,000 notifications within a second", n)
	}
}

// The coalescing fix: a notification folded into a pull message that a
// worker already holds is still covered, because the pull waits for its
// window to close before reading the changes.
func TestNotificationAfterItsPullWasEnqueuedIsCovered(t *testing.T) {
	const window = 600 * time.Millisecond
	e := newEnv(t, envOptions{notifyWindow: window})
	rec := e.ensureSubscriptions()
	ctx := context.Background()
	// A first round, so later pulls read changes only.
	first, err := e.deps.Puller.Pull(ctx, galsync.PullRequest{Direction: dirSource, Trigger: "test"}, "setup")
	if err != nil || !first.RoundFinished {
		t.Fatalf("first round: %+v %v", first, err)
	}
	// Start just after a window opens, so both notifications fall in it:
	// the clock galsync and the simulator share moves there.
	now := e.clock.Now()
	e.clock.Advance(now.Truncate(window).Add(window + 20*time.Millisecond).Sub(now))

	ada, err := e.sim.UpsertUser(sourceID, sim.User{DisplayName: "Ada", Mail: "ada@source.onmicrosoft.com", AccountEnabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if out := e.postHTTP(FuncGraphNotify, "", body(t, notification(rec, rec.ClientState, ada.ID))); out.StatusCode != http.StatusAccepted {
		t.Fatalf("first notification: %+v", out)
	}
	msg, ok := e.receivePull(time.Second)
	if !ok {
		t.Fatal("no pull message")
	}
	// A worker takes the pull at once...
	e.sim.ResetRequests()
	pulled := make(chan string, 1)
	go func() { pulled <- strings.Join(e.deliver(FuncDeltaPull, msg).Logs, "; ") }()
	waitFor(t, 5*time.Second, "the pull's invocation", func() bool { return e.invocations(FuncDeltaPull) == 1 })

	// ...and then Grace changes and Graph says so, in the same window: the
	// pull request this asks for is a duplicate and dropped.
	grace, err := e.sim.UpsertUser(sourceID, sim.User{DisplayName: "Grace", Mail: "grace@source.onmicrosoft.com", AccountEnabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if out := e.postHTTP(FuncGraphNotify, "", body(t, notification(rec, rec.ClientState, grace.ID))); out.StatusCode != http.StatusAccepted {
		t.Fatalf("second notification: %+v", out)
	}
	if reads := e.sim.FindRequests(sim.RequestFilter{Kind: "delta", Tenant: sourceID}); len(reads) != 0 {
		t.Fatalf("the pull read the changes before its window closed: %d delta read(s)", len(reads))
	}
	if _, ok := e.receivePull(100 * time.Millisecond); ok {
		t.Fatal("the second pull request was not folded into the first")
	}
	summary := <-pulled
	if !strings.Contains(summary, "2 user(s): 2 invite") {
		t.Fatalf("the pull did not cover both changes: %s", summary)
	}
	invites, err := e.db.Peek(ctx, galsync.QueueInvites, 0, 10)
	if err != nil || len(invites) != 2 {
		t.Errorf("%d invite work items, want Ada's and Grace's (%v)", len(invites), err)
	}
}

// Timer pulls keep working: their 30 s window is longer than the hold, so
// delta-pull waits at most the notification window, then pulls.
func TestTimerPullWaitsAtMostTheNotificationWindow(t *testing.T) {
	e := newEnv(t, envOptions{notifyWindow: 300 * time.Millisecond})
	if status, resp := e.fireTimer(FuncDeltaTimer); status != http.StatusOK {
		t.Fatalf("delta-timer: %d %v", status, resp.Logs)
	}
	if _, err := e.sim.UpsertUser(sourceID, sim.User{DisplayName: "Ada", Mail: "ada@source.onmicrosoft.com", AccountEnabled: true}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // one per direction
		msg, ok := e.receivePull(time.Second)
		if !ok {
			t.Fatal("no pull message")
		}
		req, _ := galsync.DecodePullRequest(msg.Body)
		start := time.Now()
		logs := strings.Join(e.deliver(FuncDeltaPull, msg).Logs, ";")
		if held := time.Since(start); held > time.Second || req.Trigger != "timer" {
			t.Errorf("%s: held %s (window ends in %s)", req.Direction, held, time.Until(req.NotBefore))
		}
		if !strings.Contains(logs, "finished=true") {
			t.Errorf("pull: %s", logs)
		}
		if req.Direction == dirSource && !strings.Contains(logs, "1 invite") {
			t.Errorf("the timer pull missed Ada: %s", logs)
		}
	}
}
