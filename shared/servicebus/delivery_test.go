package servicebus_test

import (
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/shared/servicebus"
)

func ptr[T any](v T) *T { return &v }

func TestToDelivery(t *testing.T) {
	enqueued := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	m := &azservicebus.ReceivedMessage{
		MessageID:     "update-u1-9",
		Body:          []byte("{}"),
		ContentType:   ptr("application/json"),
		Subject:       ptr("update"),
		CorrelationID: ptr("pull-1"),
		SessionID:     ptr("a-to-b"),
		ApplicationProperties: map[string]any{
			queue.PropDirection:          "a-to-b",
			queue.PropLastError:          "graph: 503",
			"count":                      int64(3),
			"DeadLetterReason":           queue.ReasonMaxDeliveryCount,
			"DeadLetterErrorDescription": "Message could not be consumed after 10 delivery attempts.",
		},
		DeadLetterReason:           ptr(queue.ReasonMaxDeliveryCount),
		DeadLetterErrorDescription: ptr("Message could not be consumed after 10 delivery attempts."),
		LockToken:                  [16]byte{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10},
		SequenceNumber:             ptr(int64(42)),
		DeliveryCount:              10,
		EnqueuedTime:               &enqueued,
		LockedUntil:                ptr(enqueued.Add(time.Minute)),
		TimeToLive:                 ptr(time.Duration(0)),
		ExpiresAt:                  &enqueued, // what the SDK computes from a zero TTL
	}
	d := servicebus.ToDelivery("updates/$deadletterqueue", m)
	if d.LockToken != "01020304-0506-0708-090a-0b0c0d0e0f10" {
		t.Errorf("lock token %q", d.LockToken)
	}
	if d.ID != "update-u1-9" || d.ContentType != "application/json" || d.Subject != "update" || d.CorrelationID != "pull-1" || d.SessionID != "a-to-b" {
		t.Errorf("message fields: %+v", d.Message)
	}
	want := map[string]string{queue.PropDirection: "a-to-b", queue.PropLastError: "graph: 503", "count": "3"}
	if len(d.Properties) != len(want) {
		t.Errorf("properties %v, want %v (dead-letter properties belong in their fields)", d.Properties, want)
	}
	for k, v := range want {
		if d.Properties[k] != v {
			t.Errorf("property %s = %q, want %q", k, d.Properties[k], v)
		}
	}
	if d.Queue != "updates/$deadletterqueue" || d.SequenceNumber != 42 || d.DeliveryCount != 10 || !d.EnqueuedAt.Equal(enqueued) || !d.LockedUntil.Equal(enqueued.Add(time.Minute)) {
		t.Errorf("delivery fields: %+v", d)
	}
	if !d.ExpiresAt.IsZero() {
		t.Errorf("ExpiresAt %v for a message without time-to-live, want zero", d.ExpiresAt)
	}
	if !strings.Contains(d.DeadLetterDescription, "10 delivery attempts") || !strings.Contains(d.DeadLetterDescription, "graph: 503") {
		t.Errorf("max-delivery description %q should carry the count and the last error", d.DeadLetterDescription)
	}

	peeked := servicebus.ToDelivery("updates", &azservicebus.ReceivedMessage{MessageID: "p"})
	if peeked.LockToken != "" || peeked.Properties != nil {
		t.Errorf("peeked message: lock token %q properties %v, want none", peeked.LockToken, peeked.Properties)
	}
}

func TestLockTableForgetsLongExpiredLocks(t *testing.T) {
	now := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	locks := servicebus.NewLockTable(clock)
	locks.Hold("a", now.Add(30*time.Second))
	locks.Hold("b", now.Add(10*time.Minute))
	locks.Hold("", now.Add(time.Minute)) // peeked: nothing to hold

	now = now.Add(30*time.Second + servicebus.LockGrace - time.Second)
	if !locks.Has("a") {
		t.Errorf("lock a forgotten within the grace after its end")
	}
	now = now.Add(2 * time.Second)
	if locks.Has("a") {
		t.Errorf("lock a still held past the grace after its end")
	}
	// Unread expired entries go when a later hold prunes.
	locks.Hold("c", now.Add(time.Minute))
	now = now.Add(10*time.Minute + servicebus.LockGrace + servicebus.PruneEvery)
	locks.Hold("d", now.Add(time.Minute))
	if n := locks.Len(); n != 1 {
		t.Errorf("%d locks held after pruning, want 1 (d)", n)
	}
}
