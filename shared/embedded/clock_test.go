package embedded_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/clocktest"
	"github.com/galsync/galsync/shared/embedded"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

// newClock is a manual clock: time moves only when a test says so.
func newClock() *clocktest.Clock { return clocktest.New(time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)) }

func clockDB(t *testing.T, c *clocktest.Clock, o queue.Options) *embedded.DB {
	return open(t, embedded.WithoutSync(embedded.Options{Queues: allQueues(o), Now: c.Now}))
}

func depth(t *testing.T, db *embedded.DB, name string) (int, int) {
	t.Helper()
	active, dead, err := db.Depth(t.Context(), name)
	must(t, err)
	return active, dead
}

// TestLockExpiresByClock: the lock is judged by the injected clock, not by
// whether the expiry timer has fired yet.
func TestLockExpiresByClock(t *testing.T) {
	c := newClock()
	db := clockDB(t, c, queue.Options{LockDuration: time.Minute, MaxDeliveryCount: 5})
	q := galsync.QueueInvites
	must(t, db.Send(t.Context(), q, msg("m")))
	d := receiveOne(t, db, q)
	if want := c.Now().Add(time.Minute); !d.LockedUntil.Equal(want) || !d.EnqueuedAt.Equal(c.Now()) {
		t.Errorf("locked until %v, enqueued %v; want %v, %v", d.LockedUntil, d.EnqueuedAt, want, c.Now())
	}
	c.Advance(30 * time.Second)
	renewed, err := db.RenewLock(t.Context(), d)
	if err != nil || !renewed.Equal(c.Now().Add(time.Minute)) {
		t.Errorf("renew: %v, %v; want %v", renewed, err, c.Now().Add(time.Minute))
	}
	if ds, _ := db.Receive(t.Context(), q, 1, 0); len(ds) != 0 {
		t.Fatal("received a locked message")
	}
	c.Advance(time.Minute)
	if err := db.Complete(t.Context(), d); !errors.Is(err, queue.ErrLockLost) {
		t.Errorf("complete after the lock expired by the clock: %v, want ErrLockLost", err)
	}
	again := receiveOne(t, db, q)
	if again.DeliveryCount != 2 {
		t.Errorf("redelivery count %d, want 2", again.DeliveryCount)
	}
}

// TestDuplicateWindowByClock: ids are remembered for the window from their
// first send, and pruned after it.
func TestDuplicateWindowByClock(t *testing.T) {
	c := newClock()
	db := clockDB(t, c, queue.Options{LockDuration: time.Minute, DuplicateDetectionWindow: 10 * time.Minute})
	q := galsync.QueuePulls
	send := func(id string) { must(t, db.Send(t.Context(), q, msg(id))) }
	send("x")
	c.Advance(9 * time.Minute)
	send("x") // dropped, and does not extend the window
	if active, _ := depth(t, db, q); active != 1 {
		t.Fatalf("%d messages inside the window, want 1", active)
	}
	c.Advance(time.Minute)
	send("x")
	send("y")
	if active, _ := depth(t, db, q); active != 3 {
		t.Errorf("%d messages after the window, want 3", active)
	}
}

// TestAbandonPastMaxDeadLettersAtOnce: as in Service Bus, the abandon that
// uses up the last delivery moves the message, without waiting for the
// next receive.
func TestAbandonPastMaxDeadLettersAtOnce(t *testing.T) {
	c := newClock()
	db := clockDB(t, c, queue.Options{LockDuration: time.Minute, MaxDeliveryCount: 2})
	q := galsync.QueueUpdates
	must(t, db.Send(t.Context(), q, msg("m")))
	for range 2 {
		must(t, db.Abandon(t.Context(), receiveOne(t, db, q), map[string]string{queue.PropLastError: "boom"}))
	}
	if active, dead := depth(t, db, q); active != 0 || dead != 1 {
		t.Errorf("after the last abandon: %d active, %d dead-lettered; want 0, 1", active, dead)
	}
}

// TestDuplicateHistoryPruned: expired ids are forgotten a batch at a time
// by later sends, and an expired id not yet pruned is still accepted.
func TestDuplicateHistoryPruned(t *testing.T) {
	c := newClock()
	db := clockDB(t, c, queue.Options{LockDuration: time.Minute, DuplicateDetectionWindow: time.Minute})
	q := galsync.QueueInvites
	batch := make([]queue.Message, 300) // more than one send prunes
	for i := range batch {
		batch[i] = msg(fmt.Sprintf("m-%03d", i))
	}
	must(t, db.Send(t.Context(), q, batch...))
	c.Advance(time.Minute)
	must(t, db.Send(t.Context(), q, batch...))
	if active, _ := depth(t, db, q); active != 600 {
		t.Errorf("%d messages, want 600: every id was past its window", active)
	}
	if ids, expiries := embedded.DedupIDs(db, q); ids != 300 || expiries != 300 {
		t.Errorf("remembers %d ids with %d expiries, want the 300 of the second send", ids, expiries)
	}
	c.Advance(time.Minute)
	for range 2 {
		must(t, db.Send(t.Context(), q, msg("late")))
	}
	if ids, expiries := embedded.DedupIDs(db, q); ids != 1 || expiries != 1 {
		t.Errorf("remembers %d ids with %d expiries after two more sends, want 1 (late)", ids, expiries)
	}
}

// TestScheduledByClock: a scheduled message becomes active by the injected
// clock at the next receive, whether or not the schedule timer (on real
// time) has fired, with a new sequence number and enqueued at that moment;
// until then Depth leaves it out and ScheduledDepth counts it.
func TestScheduledByClock(t *testing.T) {
	c := newClock()
	db := clockDB(t, c, queue.Options{LockDuration: time.Minute})
	q := galsync.QueueUpdates
	s := msg("s")
	s.ScheduledAt = c.Now().Add(time.Hour)
	must(t, db.Send(t.Context(), q, s, msg("now")))
	first := receiveOne(t, db, q)
	if first.ID != "now" {
		t.Fatalf("received %q, want now", first.ID)
	}
	if ds, _ := db.Receive(t.Context(), q, 1, 0); len(ds) != 0 {
		t.Fatalf("received %q an hour before its time", ds[0].ID)
	}
	scheduled, err := db.ScheduledDepth(t.Context(), q)
	must(t, err)
	if active, _ := depth(t, db, q); active != 1 || scheduled != 1 {
		t.Errorf("depth %d active, %d scheduled; want 1 (locked), 1", active, scheduled)
	}
	must(t, db.Complete(t.Context(), first))
	c.Advance(time.Hour)
	d := receiveOne(t, db, q)
	if d.ID != "s" || d.SequenceNumber <= first.SequenceNumber || !d.EnqueuedAt.Equal(c.Now()) || !d.ScheduledAt.Equal(s.ScheduledAt) {
		t.Errorf("activated: %q seq %d enqueued %v scheduled %v; want s, seq above %d, enqueued %v, scheduled %v",
			d.ID, d.SequenceNumber, d.EnqueuedAt, d.ScheduledAt, first.SequenceNumber, c.Now(), s.ScheduledAt)
	}
	if scheduled, err := db.ScheduledDepth(t.Context(), q); err != nil || scheduled != 0 {
		t.Errorf("scheduled depth after activation: %d, %v; want 0", scheduled, err)
	}
}
