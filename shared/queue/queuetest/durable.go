package queuetest

import (
	"testing"
	"time"

	"github.com/galsync/galsync/shared/queue"
)

// DurableQueue is a backend that keeps its messages across a restart.
type DurableQueue interface {
	QueueUnderTest
	Close() error
}

// OpenDurable opens the backend kept in dir, creating it if dir is new,
// serving the queues pulls, invites and updates with opts. The suite
// closes what it opens; the backend may close it again at cleanup.
type OpenDurable func(t *testing.T, dir string, opts queue.Options) DurableQueue

// RunDurable runs the subtests of a backend that persists its messages
// itself (the embedded queue; Service Bus is durable on Azure's side):
// what it holds must survive a restart.
func RunDurable(t *testing.T, open OpenDurable) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open OpenDurable)
	}{
		{"ScheduledSurvivesRestart", testScheduledSurvivesRestart},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open)
		})
	}
}

// testScheduledSurvivesRestart closes the backend holding two scheduled
// messages: one whose time passes while it is closed is received at once
// after the restart, the other still waits for its time.
func testScheduledSurvivesRestart(t *testing.T, open OpenDurable) {
	dir := t.TempDir()
	opts := options(longLock)
	q := open(t, dir, opts)
	soon := scheduledIn("soon", 100*time.Millisecond)
	later := scheduledIn("later", 2*scheduleDelay)
	if err := q.Send(t.Context(), qInvites, soon, later); err != nil {
		t.Fatalf("send: %v", err)
	}
	if err := q.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	time.Sleep(time.Until(soon.ScheduledAt) + 50*time.Millisecond)

	h := harness{t: t, q: open(t, dir, opts)}
	d := h.receiveOne(qInvites)
	if d.ID != soon.ID || !d.ScheduledAt.Equal(soon.ScheduledAt) {
		t.Fatalf("after restart: got %q scheduled at %v, want %q at %v", d.ID, d.ScheduledAt, soon.ID, soon.ScheduledAt)
	}
	h.complete(d)
	if ds, err := h.q.Receive(t.Context(), qInvites, 10, quiet); err != nil || len(ds) > 0 {
		if time.Now().Before(later.ScheduledAt) {
			t.Fatalf("after restart received %v (%v) before the scheduled time %v", ids(ds), err, later.ScheduledAt)
		}
		t.Fatalf("inconclusive: the scheduled time passed before the check; the machine is overloaded")
	}
	if n, err := queue.CountScheduled(t.Context(), h.q, qInvites, 10); err != nil || n != 1 {
		t.Errorf("scheduled after restart: %d, %v; want 1", n, err)
	}
	d = h.receiveOne(qInvites)
	if d.ID != later.ID || time.Now().Before(later.ScheduledAt) {
		t.Errorf("got %q at %v, want %q at %v or later", d.ID, time.Now(), later.ID, later.ScheduledAt)
	}
	h.complete(d)
}
