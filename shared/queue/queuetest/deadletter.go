package queuetest

import (
	"bytes"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/galsync/galsync/shared/queue"
)

func testDeadLetter(t *testing.T, newQueue NewQueue) {
	h := newHarness(t, newQueue, options(longLock))
	dlq := queue.DeadLetterQueue(qInvites)
	m := message("poison")
	m.Properties = map[string]string{queue.PropDirection: "a-to-b"}
	h.send(qInvites, m, message("second"))
	d := h.receiveOne(qInvites)
	if err := h.q.DeadLetter(t.Context(), d, "BadInput", "sourceUserId is missing"); err != nil {
		t.Fatalf("dead-letter: %v", err)
	}
	dl := h.receiveOne(dlq)
	if dl.Queue != dlq || dl.ID != m.ID || !bytes.Equal(dl.Body, m.Body) || !maps.Equal(dl.Properties, m.Properties) {
		t.Errorf("dead letter: got queue %q id %q body %s properties %v; want %q %q %s %v",
			dl.Queue, dl.ID, dl.Body, dl.Properties, dlq, m.ID, m.Body, m.Properties)
	}
	if dl.DeadLetterReason != "BadInput" || dl.DeadLetterDescription != "sourceUserId is missing" {
		t.Errorf("dead letter reason %q description %q", dl.DeadLetterReason, dl.DeadLetterDescription)
	}
	h.expectLockLost(d)
	// The dead-letter queue has peek-lock too: abandon, then complete.
	h.abandon(dl, nil)
	again := h.receiveOne(dlq)
	if again.ID != m.ID || again.DeliveryCount != dl.DeliveryCount+1 {
		t.Errorf("dead letter after abandon: %q delivery %d, want %q delivery %d", again.ID, again.DeliveryCount, m.ID, dl.DeliveryCount+1)
	}
	h.complete(again)
	h.expectNone(dlq, quiet)
	// The other message was untouched.
	if next := h.receiveOne(qInvites); next.ID != "second" {
		t.Errorf("main queue gave %q, want second", next.ID)
	}
}

func testMaxDeliveryByAbandon(t *testing.T, newQueue NewQueue) {
	opts := options(longLock)
	opts.MaxDeliveryCount = 3
	h := newHarness(t, newQueue, opts)
	h.send(qUpdates, message("failing"))
	for i := 1; i <= opts.MaxDeliveryCount; i++ {
		d := h.receiveOne(qUpdates)
		if d.DeliveryCount != i {
			t.Fatalf("delivery %d has DeliveryCount %d", i, d.DeliveryCount)
		}
		h.abandon(d, map[string]string{queue.PropLastError: fmt.Sprintf("attempt %d failed", i)})
	}
	h.expectNone(qUpdates, quiet)
	dl := h.receiveOne(queue.DeadLetterQueue(qUpdates))
	if dl.ID != "failing" || dl.DeadLetterReason != queue.ReasonMaxDeliveryCount {
		t.Errorf("dead letter %q reason %q, want failing %q", dl.ID, dl.DeadLetterReason, queue.ReasonMaxDeliveryCount)
	}
	if !strings.Contains(dl.DeadLetterDescription, "attempt 3 failed") {
		t.Errorf("description %q does not carry the last error", dl.DeadLetterDescription)
	}
	if dl.Properties[queue.PropLastError] != "attempt 3 failed" {
		t.Errorf("last error property %q, want attempt 3 failed", dl.Properties[queue.PropLastError])
	}
	h.complete(dl)
}

func testMaxDeliveryByExpiry(t *testing.T, newQueue NewQueue) {
	opts := options(shortLock)
	opts.MaxDeliveryCount = 2
	h := newHarness(t, newQueue, opts)
	h.send(qPulls, message("stuck"))
	for i := 1; i <= opts.MaxDeliveryCount; i++ {
		if d := h.receiveOne(qPulls); d.DeliveryCount != i {
			t.Fatalf("delivery %d has DeliveryCount %d", i, d.DeliveryCount)
		}
		// Never settled: each lock expires.
	}
	h.expectNone(qPulls, 2*shortLock)
	dl := h.receiveOne(queue.DeadLetterQueue(qPulls))
	if dl.ID != "stuck" || dl.DeadLetterReason != queue.ReasonMaxDeliveryCount {
		t.Errorf("dead letter %q reason %q, want stuck %q", dl.ID, dl.DeadLetterReason, queue.ReasonMaxDeliveryCount)
	}
}
