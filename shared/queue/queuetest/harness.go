package queuetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/queue"
)

// harness wraps a backend with calls that fail the test on error.
type harness struct {
	t *testing.T
	q QueueUnderTest
}

func newHarness(t *testing.T, newQueue NewQueue, opts queue.Options) harness {
	return harness{t: t, q: newQueue(t, opts)}
}

func message(id string) queue.Message {
	return queue.Message{ID: id, Body: []byte(`{"id":"` + id + `"}`), ContentType: "application/json"}
}

func (h harness) send(name string, msgs ...queue.Message) {
	h.t.Helper()
	if err := h.q.Send(h.t.Context(), name, msgs...); err != nil {
		h.t.Fatalf("send to %s: %v", name, err)
	}
}

// receiveOne waits for exactly one message.
func (h harness) receiveOne(name string) queue.Delivery {
	h.t.Helper()
	ds, err := h.q.Receive(h.t.Context(), name, 1, patience)
	if err != nil {
		h.t.Fatalf("receive from %s: %v", name, err)
	}
	if len(ds) != 1 {
		h.t.Fatalf("receive from %s: got %d messages within %s, want 1", name, len(ds), patience)
	}
	return ds[0]
}

// receiveN receives until it holds n messages, in the order they came.
func (h harness) receiveN(name string, n, batch int) []queue.Delivery {
	h.t.Helper()
	var all []queue.Delivery
	deadline := time.Now().Add(patience)
	for len(all) < n && time.Now().Before(deadline) {
		ds, err := h.q.Receive(h.t.Context(), name, batch, time.Until(deadline))
		if err != nil {
			h.t.Fatalf("receive from %s: %v", name, err)
		}
		if len(ds) > batch {
			h.t.Fatalf("receive from %s with max %d returned %d messages", name, batch, len(ds))
		}
		all = append(all, ds...)
	}
	if len(all) != n {
		h.t.Fatalf("receive from %s: got %d messages, want %d", name, len(all), n)
	}
	return all
}

// expectNone fails if a message arrives within wait.
func (h harness) expectNone(name string, wait time.Duration) {
	h.t.Helper()
	ds, err := h.q.Receive(h.t.Context(), name, 10, wait)
	if err != nil {
		h.t.Fatalf("receive from %s: %v", name, err)
	}
	if len(ds) > 0 {
		h.t.Fatalf("receive from %s: got %d message(s) (first %q, delivery %d), want none", name, len(ds), ds[0].ID, ds[0].DeliveryCount)
	}
}

func (h harness) complete(d queue.Delivery) {
	h.t.Helper()
	if err := h.q.Complete(h.t.Context(), d); err != nil {
		h.t.Fatalf("complete %q: %v", d.ID, err)
	}
}

func (h harness) abandon(d queue.Delivery, props map[string]string) {
	h.t.Helper()
	if err := h.q.Abandon(h.t.Context(), d, props); err != nil {
		h.t.Fatalf("abandon %q: %v", d.ID, err)
	}
}

// expectLockLost checks that every settlement of d fails with ErrLockLost.
func (h harness) expectLockLost(d queue.Delivery) {
	h.t.Helper()
	ctx := h.t.Context()
	_, renewErr := h.q.RenewLock(ctx, d)
	for op, err := range map[string]error{
		"complete":    h.q.Complete(ctx, d),
		"abandon":     h.q.Abandon(ctx, d, map[string]string{"x": "y"}),
		"dead-letter": h.q.DeadLetter(ctx, d, "r", "d"),
		"renew lock":  renewErr,
	} {
		if !errors.Is(err, queue.ErrLockLost) {
			h.t.Errorf("%s with a lost lock: got %v, want ErrLockLost", op, err)
		}
	}
}

func ids(ds []queue.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

func messageIDs(msgs []queue.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

func numbered(prefix string, n int) []queue.Message {
	msgs := make([]queue.Message, n)
	for i := range msgs {
		msgs[i] = message(fmt.Sprintf("%s-%03d", prefix, i))
	}
	return msgs
}
