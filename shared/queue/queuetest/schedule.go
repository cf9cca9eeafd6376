package queuetest

import (
	"slices"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/queue"
)

// scheduleDelay is how far ahead the suite schedules: long enough that a
// busy machine still sends, receives and peeks what it must before the
// time comes.
const scheduleDelay = 2 * time.Second

// scheduledIn is a message scheduled d from now, to the millisecond (Service
// Bus carries the time as an AMQP timestamp, in milliseconds).
func scheduledIn(id string, d time.Duration) queue.Message {
	m := message(id)
	m.ScheduledAt = time.Now().Add(d).Truncate(time.Millisecond)
	return m
}

// testScheduled: a scheduled message, sent in a batch between two others,
// is invisible to receivers until its time, peeked and counted as
// scheduled meanwhile, then received once with a new sequence number
// (Service Bus appends it when it becomes active); an abandon redelivers
// it at once.
func testScheduled(t *testing.T, newQueue NewQueue) {
	h := newHarness(t, newQueue, options(longLock))
	ctx := t.Context()
	s := scheduledIn("scheduled", scheduleDelay)
	h.send(qInvites, message("before"), s, message("after"))
	got := h.receiveN(qInvites, 2, 1)
	if !slices.Equal(ids(got), []string{"before", "after"}) {
		if time.Now().Before(s.ScheduledAt) {
			t.Fatalf("received %v, want [before after]: the scheduled message must wait", ids(got))
		}
		t.Fatalf("inconclusive: received %v after the scheduled time; the machine is overloaded", ids(got))
	}
	if ds, err := h.q.Receive(ctx, qInvites, 10, quiet); err != nil || len(ds) > 0 {
		if time.Now().Before(s.ScheduledAt) {
			t.Fatalf("received %v (%v) before the scheduled time %v", ids(ds), err, s.ScheduledAt)
		}
		t.Fatalf("inconclusive: the scheduled time passed before the check; the machine is overloaded")
	}

	peeked, err := h.q.Peek(ctx, qInvites, 0, 10)
	if err != nil {
		t.Fatalf("peek: %v", err)
	}
	if !slices.Equal(ids(peeked), []string{"before", "scheduled", "after"}) {
		t.Errorf("peek: got %v, want [before scheduled after]: Service Bus peeks scheduled messages of a queue", ids(peeked))
	} else if !peeked[1].ScheduledAt.Equal(s.ScheduledAt) || !peeked[1].Scheduled(time.Now()) {
		t.Errorf("peeked scheduled message has ScheduledAt %v, want %v", peeked[1].ScheduledAt, s.ScheduledAt)
	}
	active, aerr := queue.Count(ctx, h.q, qInvites, 100)
	scheduled, serr := queue.CountScheduled(ctx, h.q, qInvites, 100)
	if time.Now().Before(s.ScheduledAt) && (active != 2 || scheduled != 1 || aerr != nil || serr != nil) {
		t.Errorf("counts while scheduled: active %d (%v), scheduled %d (%v); want 2 active (locked), 1 scheduled", active, aerr, scheduled, serr)
	}
	for _, d := range got {
		h.complete(d)
	}

	d := h.receiveOne(qInvites)
	if now := time.Now(); now.Before(s.ScheduledAt) {
		t.Errorf("scheduled message received at %v, before its time %v", now, s.ScheduledAt)
	}
	if d.ID != s.ID || d.DeliveryCount != 1 || !d.ScheduledAt.Equal(s.ScheduledAt) {
		t.Errorf("scheduled message: got %q delivery %d scheduled at %v; want %q delivery 1 at %v", d.ID, d.DeliveryCount, d.ScheduledAt, s.ID, s.ScheduledAt)
	}
	if d.SequenceNumber <= got[1].SequenceNumber {
		t.Errorf("scheduled message has sequence number %d, want one above %d: it joins the queue when its time comes", d.SequenceNumber, got[1].SequenceNumber)
	}
	if d.EnqueuedAt.Before(s.ScheduledAt.Add(-clockSlack)) {
		t.Errorf("scheduled message enqueued at %v, want at its time %v or later", d.EnqueuedAt, s.ScheduledAt)
	}
	// The lock is long: only the abandon can release it within patience,
	// and the message does not wait for its (past) time again.
	h.abandon(d, nil)
	again := h.receiveOne(qInvites)
	if again.ID != s.ID || again.DeliveryCount != 2 {
		t.Errorf("after abandon: got %q delivery %d, want %q delivery 2", again.ID, again.DeliveryCount, s.ID)
	}
	h.complete(again)
	h.expectNone(qInvites, quiet)
	if scheduled, err := queue.CountScheduled(ctx, h.q, qInvites, 100); err != nil || scheduled != 0 {
		t.Errorf("scheduled count after delivery: %d, %v; want 0", scheduled, err)
	}
}

// clockSlack allows for a backend's clock being a little behind the test's
// (another process on this machine, timestamps in milliseconds).
const clockSlack = 50 * time.Millisecond

// testScheduledInThePast: a scheduled time that has passed sends the
// message at once.
func testScheduledInThePast(t *testing.T, newQueue NewQueue) {
	h := newHarness(t, newQueue, options(longLock))
	h.send(qUpdates, scheduledIn("past", -time.Minute))
	d := h.receiveOne(qUpdates)
	if d.ID != "past" {
		t.Errorf("got %q, want past", d.ID)
	}
	h.complete(d)
}

// testScheduledDuplicate: duplicate detection applies to a scheduled
// message by id from the moment it is sent, as in Service Bus; a later
// send of the same id, scheduled or not, is dropped.
func testScheduledDuplicate(t *testing.T, newQueue NewQueue) {
	h := newHarness(t, newQueue, options(longLock))
	first := scheduledIn("dup", scheduleDelay/2)
	first.Body = []byte("scheduled")
	h.send(qPulls, first)
	h.send(qPulls, withBody("dup", "immediate"))
	again := scheduledIn("dup", scheduleDelay/4)
	again.Body = []byte("rescheduled")
	h.send(qPulls, again)
	d := h.receiveOne(qPulls)
	if string(d.Body) != "scheduled" || time.Now().Before(first.ScheduledAt) {
		t.Errorf("got body %q at %v, want the first send's (scheduled) at %v or later", d.Body, time.Now(), first.ScheduledAt)
	}
	h.complete(d)
	h.expectNone(qPulls, quiet)
}
