package queuetest

import (
	"errors"
	"strings"
	"testing"

	"github.com/galsync/galsync/shared/queue"
)

// testLimits: what Service Bus refuses (an id over 128 characters, a
// message over 256 KB) fails the send, names the error kind, and leaves
// nothing sent; what it accepts at the limit goes through.
// https://learn.microsoft.com/azure/service-bus-messaging/service-bus-quotas
func testLimits(t *testing.T, newQueue NewQueue) {
	h := newHarness(t, newQueue, options(longLock))
	ctx := t.Context()

	atLimit := message(strings.Repeat("i", queue.MaxMessageIDLength))
	overLimit := message(strings.Repeat("i", queue.MaxMessageIDLength+1))
	if err := h.q.Send(ctx, qInvites, message("first"), overLimit); !errors.Is(err, queue.ErrMessageIDTooLong) {
		t.Errorf("send with a %d-character id: %v, want ErrMessageIDTooLong", queue.MaxMessageIDLength+1, err)
	}
	fitted := overLimit
	fitted.ID = queue.FitID(overLimit.ID)
	h.send(qInvites, atLimit, fitted)

	big := message("big")
	big.Body = make([]byte, queue.MaxMessageSize)
	if err := h.q.Send(ctx, qInvites, message("second"), big); !errors.Is(err, queue.ErrMessageTooLarge) {
		t.Errorf("send of a %d-byte body: %v, want ErrMessageTooLarge", len(big.Body), err)
	}
	// Room for the envelope of a batch: the message alone must fit.
	large := message("large")
	large.Body = make([]byte, queue.MaxMessageSize-1024)
	h.send(qInvites, large)

	got := h.receiveN(qInvites, 3, 10)
	want := []string{atLimit.ID, fitted.ID, large.ID}
	for i, d := range got {
		if d.ID != want[i] {
			t.Errorf("received %q as message %d, want %q: a refused send must send nothing", d.ID, i, want[i])
		}
		h.complete(d)
	}
	h.expectNone(qInvites, quiet)
}
