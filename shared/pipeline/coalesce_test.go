package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"testing"
	"testing/synctest"
	"time"

	"github.com/galsync/galsync/shared/clocktest"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

func decodePulls(t *testing.T, msgs []queue.Message) []galsync.PullRequest {
	t.Helper()
	out := make([]galsync.PullRequest, len(msgs))
	for i, m := range msgs {
		req, err := galsync.DecodePullRequest(m.Body)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = req
	}
	return out
}

// recordingQueue keeps every message sent, in order.
type recordingQueue struct{ msgs []queue.Message }

func (q *recordingQueue) Send(_ context.Context, name string, msgs ...queue.Message) error {
	if name != galsync.QueuePulls {
		return errors.New("sent to " + name)
	}
	q.msgs = append(q.msgs, msgs...)
	return nil
}

// Requests of one direction within a window share one message id, which
// carries the window's end; what this process sent for a window is not
// sent again, and what it failed to send is.
func TestRequestsOfAWindowFoldIntoOneMessage(t *testing.T) {
	at := time.Date(2026, 11, 2, 9, 0, 7, 250_000_000, time.UTC)
	clock := clocktest.New(at)
	q := &recordingQueue{}
	c := &Coalescer{Queue: q, Now: clock.Now, Window: time.Second}
	ctx := context.Background()
	if err := c.Request(ctx, map[string]string{"contoso-to-fabrikam": "notification", "adatum-to-fabrikam": "lifecycle"}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(700 * time.Millisecond)
	if err := c.Request(ctx, map[string]string{"contoso-to-fabrikam": "notification"}); err != nil {
		t.Fatal(err)
	}
	if len(q.msgs) != 2 {
		t.Fatalf("%d messages sent in one window, want one per direction", len(q.msgs))
	}
	reqs := decodePulls(t, q.msgs)
	end := time.Date(2026, 11, 2, 9, 0, 8, 0, time.UTC)
	for i, want := range []struct{ dir, trigger string }{{"adatum-to-fabrikam", "lifecycle"}, {"contoso-to-fabrikam", "notification"}} {
		if r := reqs[i]; r.Direction != want.dir || r.Trigger != want.trigger || !r.NotBefore.Equal(end) || !r.RequestedAt.Equal(at) {
			t.Errorf("request %d = %+v, want %s by %s, not before %s", i, r, want.dir, want.trigger, end)
		}
	}
	if q.msgs[1].ID != "pull:contoso-to-fabrikam:1793610007" || q.msgs[1].Properties[queue.PropDirection] != "contoso-to-fabrikam" {
		t.Errorf("message %+v", q.msgs[1])
	}

	// The next window: a message of its own.
	clock.Advance(50 * time.Millisecond)
	if err := c.Request(ctx, map[string]string{"contoso-to-fabrikam": "notification"}); err != nil {
		t.Fatal(err)
	}
	if len(q.msgs) != 3 || q.msgs[2].ID == q.msgs[1].ID {
		t.Fatalf("the next window's request: %d messages, ids %q and %q", len(q.msgs), q.msgs[1].ID, q.msgs[len(q.msgs)-1].ID)
	}

	// A send that failed is not taken for sent.
	failing := &faultSender{next: q, failOn: 1}
	c2 := &Coalescer{Queue: failing, Now: clock.Now, Window: time.Second}
	if err := c2.Request(ctx, map[string]string{"contoso-to-fabrikam": "notification"}); !errors.Is(err, errInjected) {
		t.Fatalf("failed send: %v", err)
	}
	if err := c2.Request(ctx, map[string]string{"contoso-to-fabrikam": "notification"}); err != nil || failing.sends() != 2 {
		t.Fatalf("after a failed send the request was not sent again: %v, %d sends", err, failing.sends())
	}
}

// The timer's pulls fold in their own, longer window; a pull asked for at
// startup or after an approval, and a round's continuation, fold into
// nothing earlier and start at once.
func TestTickNowAndContinuationMessages(t *testing.T) {
	at := time.Date(2026, 11, 2, 9, 0, 7, 0, time.UTC)
	c := &Coalescer{Now: func() time.Time { return at }, TickWindow: 30 * time.Second}
	first, err := c.TickMessage("d", at)
	if err != nil {
		t.Fatal(err)
	}
	same, _ := c.TickMessage("d", at.Add(20*time.Second))
	next, _ := c.TickMessage("d", at.Add(23*time.Second))
	if first.ID != same.ID || first.ID == next.ID {
		t.Errorf("tick ids %q %q %q", first.ID, same.ID, next.ID)
	}
	if r := decodePulls(t, []queue.Message{first})[0]; r.Trigger != "timer" || !r.NotBefore.Equal(time.Date(2026, 11, 2, 9, 0, 30, 0, time.UTC)) {
		t.Errorf("tick request %+v", r)
	}

	q := &recordingQueue{}
	c.Queue = q
	if err := c.RequestNow(context.Background(), "startup", "d", "e"); err != nil {
		t.Fatal(err)
	}
	at = at.Add(time.Nanosecond)
	if err := c.RequestNow(context.Background(), "approve", "d"); err != nil {
		t.Fatal(err)
	}
	if len(q.msgs) != 3 || q.msgs[0].ID == q.msgs[2].ID {
		t.Fatalf("pulls asked for at once: %+v", q.msgs)
	}
	for _, r := range decodePulls(t, q.msgs) {
		if !r.NotBefore.IsZero() {
			t.Errorf("a pull asked for at once waits until %s", r.NotBefore)
		}
	}

	cont, err := continuationMessage("d", galsync.Cursor{Round: "20261102T090007-0a1b2c3d", Page: 7}, at)
	if err != nil {
		t.Fatal(err)
	}
	if r := decodePulls(t, []queue.Message{cont})[0]; cont.ID != "pull:d:continue:20261102T090007-0a1b2c3d:7" || r.Trigger != "continue" || !r.NotBefore.IsZero() {
		t.Errorf("continuation %q %+v", cont.ID, r)
	}
}

// Hold waits for the pull's window to close, at most Window; a pull whose
// window is over, or that names none, runs at once; an ended context ends
// the wait. In a synctest bubble the timers run on a fake clock, so the
// waits are exact and cost no real time.
func TestHoldWaitsForTheWindowToClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &Coalescer{Now: time.Now, Window: time.Second}
		ctx := context.Background()
		for _, tc := range []struct {
			name      string
			notBefore time.Duration // from now; 0: none
			want      time.Duration
		}{
			{"inside the window", 600 * time.Millisecond, 600 * time.Millisecond},
			{"a longer window", time.Hour, time.Second},
			{"window over", -time.Second, 0},
			{"no window", 0, 0},
		} {
			req := galsync.PullRequest{Direction: "d"}
			if tc.notBefore != 0 {
				req.NotBefore = time.Now().Add(tc.notBefore)
			}
			start := time.Now()
			if err := c.Hold(ctx, req); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if held := time.Since(start); held != tc.want {
				t.Errorf("%s: held %s, want %s", tc.name, held, tc.want)
			}
		}

		ctx, cancel := context.WithCancel(ctx)
		done := make(chan error)
		go func() { done <- c.Hold(ctx, galsync.PullRequest{NotBefore: time.Now().Add(time.Second)}) }()
		synctest.Wait() // the hold is blocked on its timer
		start := time.Now()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) || time.Since(start) != 0 {
			t.Errorf("cancelled hold: %v after %s", err, time.Since(start))
		}
	})
}

// foldRecorder is a FoldTracer that marks what it injects and records the
// links it is asked for.
type foldRecorder struct {
	n     int
	links []string
}

func (f *foldRecorder) Inject(_ context.Context, props map[string]string) map[string]string {
	f.n++
	props = maps.Clone(props)
	if props == nil {
		props = map[string]string{}
	}
	props["traceparent"] = fmt.Sprintf("request-%d", f.n)
	return props
}

func (f *foldRecorder) Link(_ context.Context, props map[string]string) {
	f.links = append(f.links, props["traceparent"])
}

// A request folded into a pull this process already sent links that
// pull's trace.
func TestFoldedRequestLinksThePullItFoldsInto(t *testing.T) {
	db := &recordingQueue{}
	tr := &foldRecorder{}
	clock := time.Date(2026, 12, 3, 10, 0, 0, 100_000_000, time.UTC)
	c := &Coalescer{Queue: db, Now: func() time.Time { return clock }, Window: time.Second, Tracer: tr}
	for range 3 {
		if err := c.Request(context.Background(), map[string]string{"a-to-b": "notification"}); err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(100 * time.Millisecond)
	}
	if tr.n != 1 || len(tr.links) != 2 || tr.links[0] != "request-1" || tr.links[1] != "request-1" {
		t.Fatalf("injected %d, links %v: want one pull sent and the two folded requests linked to it", tr.n, tr.links)
	}
}
