package queuetest

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/queue"
)

func testRoundTrip(t *testing.T, newQueue NewQueue) {
	h := newHarness(t, newQueue, options(longLock))
	want := queue.Message{
		ID: "msg-1", Body: []byte(`{"direction":"a-to-b","seq":7}`), ContentType: "application/json",
		Subject: "upsert", CorrelationID: "corr-1", SessionID: "session-1",
		Properties: map[string]string{queue.PropDirection: "a-to-b", queue.PropSeq: "7"},
	}
	before := time.Now()
	h.send(qInvites, want)
	d := h.receiveOne(qInvites)
	if !reflect.DeepEqual(d.Message, want) {
		t.Errorf("message changed in transit:\n got %+v\nwant %+v", d.Message, want)
	}
	if d.Queue != qInvites || d.LockToken == "" || d.DeliveryCount != 1 {
		t.Errorf("delivery: queue %q, lock token %q, delivery count %d; want %q, a token, 1", d.Queue, d.LockToken, d.DeliveryCount, qInvites)
	}
	if d.EnqueuedAt.Before(before.Add(-time.Minute)) || d.EnqueuedAt.After(time.Now().Add(time.Minute)) {
		t.Errorf("EnqueuedAt %v is not around the send at %v", d.EnqueuedAt, before)
	}
	if !d.LockedUntil.After(before) {
		t.Errorf("LockedUntil %v is not after the send at %v", d.LockedUntil, before)
	}
	h.complete(d)
	h.expectNone(qInvites, quiet)
	// Queues are separate.
	h.expectNone(qUpdates, 0)
	h.expectNone(qPulls, 0)
	if left, err := h.q.Peek(t.Context(), qInvites, 0, 10); err != nil || len(left) != 0 {
		t.Errorf("peek after complete: %d message(s), %v; want none", len(left), err)
	}
}

func testFIFO(t *testing.T, newQueue NewQueue) {
	h := newHarness(t, newQueue, options(longLock))
	msgs := numbered("fifo", 20)
	for _, m := range msgs[:10] {
		h.send(qUpdates, m)
	}
	h.send(qUpdates, msgs[10:]...)
	got := h.receiveN(qUpdates, len(msgs), 7)
	want := messageIDs(msgs)
	if !slices.Equal(ids(got), want) {
		t.Errorf("received out of order:\n got %v\nwant %v", ids(got), want)
	}
	for i := 1; i < len(got); i++ {
		if got[i].SequenceNumber <= got[i-1].SequenceNumber {
			t.Errorf("sequence numbers not increasing: %d then %d", got[i-1].SequenceNumber, got[i].SequenceNumber)
		}
	}
}

func testPeek(t *testing.T, newQueue NewQueue) {
	h := newHarness(t, newQueue, options(longLock))
	ctx := t.Context()
	h.send(qPulls, numbered("peek", 5)...)
	all, err := h.q.Peek(ctx, qPulls, 0, 10)
	if err != nil {
		t.Fatalf("peek: %v", err)
	}
	if want := []string{"peek-000", "peek-001", "peek-002", "peek-003", "peek-004"}; !slices.Equal(ids(all), want) {
		t.Fatalf("peek: got %v, want %v", ids(all), want)
	}
	for _, d := range all {
		if d.LockToken != "" {
			t.Errorf("peeked %q carries lock token %q", d.ID, d.LockToken)
		}
	}
	first := h.receiveOne(qPulls) // peeking locked nothing: the first is still there
	if first.ID != "peek-000" {
		t.Fatalf("received %q after peek, want peek-000", first.ID)
	}
	if again, _ := h.q.Peek(ctx, qPulls, 0, 10); len(again) != 5 {
		t.Errorf("peek sees %d messages with one locked, want 5 (locked ones included)", len(again))
	}
	from, _ := h.q.Peek(ctx, qPulls, all[3].SequenceNumber, 10)
	if want := []string{"peek-003", "peek-004"}; !slices.Equal(ids(from), want) {
		t.Errorf("peek from sequence %d: got %v, want %v", all[3].SequenceNumber, ids(from), want)
	}
	two, _ := h.q.Peek(ctx, qPulls, 0, 2)
	if want := []string{"peek-000", "peek-001"}; !slices.Equal(ids(two), want) {
		t.Errorf("peek max 2: got %v, want %v", ids(two), want)
	}
	h.complete(first)
	if left, _ := h.q.Peek(ctx, qPulls, 0, 10); len(left) != 4 || left[0].ID != "peek-001" {
		t.Errorf("peek after completing the first: got %v, want peek-001..peek-004", ids(left))
	}
	if dead, err := h.q.Peek(ctx, queue.DeadLetterQueue(qPulls), 0, 10); err != nil || len(dead) != 0 {
		t.Errorf("peek dead-letter queue: %d message(s), %v; want none", len(dead), err)
	}
}

func testUnknownQueue(t *testing.T, newQueue NewQueue) {
	h := newHarness(t, newQueue, options(longLock))
	ctx := t.Context()
	const nope = "no-such-queue"
	_, recvErr := h.q.Receive(ctx, nope, 1, 0)
	_, dlqErr := h.q.Receive(ctx, queue.DeadLetterQueue(nope), 1, 0)
	_, peekErr := h.q.Peek(ctx, nope, 0, 1)
	for op, err := range map[string]error{
		"send":                h.q.Send(ctx, nope, message("x")),
		"receive":             recvErr,
		"receive dead-letter": dlqErr,
		"peek":                peekErr,
	} {
		if !errors.Is(err, queue.ErrUnknownQueue) {
			t.Errorf("%s on an unknown queue: got %v, want ErrUnknownQueue", op, err)
		}
	}
}
