package queuetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func testReceiveWaits(t *testing.T, newQueue NewQueue) {
	h := newHarness(t, newQueue, options(longLock))
	ctx := t.Context()

	start := time.Now()
	ds, err := h.q.Receive(ctx, qPulls, 1, 0)
	if err != nil || len(ds) != 0 || time.Since(start) > time.Second {
		t.Errorf("receive without wait on an empty queue: %d message(s), %v after %s; want none at once", len(ds), err, time.Since(start))
	}

	const wait = 300 * time.Millisecond
	start = time.Now()
	ds, err = h.q.Receive(ctx, qPulls, 1, wait)
	if err != nil || len(ds) != 0 {
		t.Errorf("receive timed out with %d message(s), %v; want none and no error", len(ds), err)
	}
	if waited := time.Since(start); waited < wait-20*time.Millisecond {
		t.Errorf("receive gave up after %s, want about %s", waited, wait)
	}

	const long = 10 * time.Second
	timer := time.AfterFunc(150*time.Millisecond, func() { _ = h.q.Send(context.Background(), qPulls, message("late")) })
	defer timer.Stop()
	start = time.Now()
	ds, err = h.q.Receive(ctx, qPulls, 1, long)
	if err != nil || len(ds) != 1 || ds[0].ID != "late" {
		t.Fatalf("receive while a message arrives: %d message(s), %v", len(ds), err)
	}
	if waited := time.Since(start); waited > long/2 {
		t.Errorf("receive returned after %s; it should return as soon as the message arrives", waited)
	}
}

func testReceiveContext(t *testing.T, newQueue NewQueue) {
	h := newHarness(t, newQueue, options(longLock))
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := h.q.Receive(cancelled, qInvites, 1, patience); !errors.Is(err, context.Canceled) {
		t.Errorf("receive with a cancelled context: got %v, want context.Canceled", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	timer := time.AfterFunc(100*time.Millisecond, cancel)
	defer timer.Stop()
	start := time.Now()
	_, err := h.q.Receive(ctx, qInvites, 1, 10*time.Second)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("receive cancelled while waiting: got %v, want context.Canceled", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("receive took %s to notice the cancellation", waited)
	}
}

// testConcurrentReceivers has 8 receivers drain 500 messages under a long
// lock: every message must be delivered, and completed, exactly once.
func testConcurrentReceivers(t *testing.T, newQueue NewQueue) {
	const total, workers = 500, 8
	h := newHarness(t, newQueue, options(longLock))
	msgs := numbered("c", total)
	for i := 0; i < total; i += 50 {
		h.send(qUpdates, msgs[i:i+50]...)
	}
	var (
		mu        sync.Mutex
		delivered = map[string]int{}
		completed atomic.Int64
		failures  = make(chan error, workers)
		wg        sync.WaitGroup
	)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for range workers {
		wg.Go(func() {
			for completed.Load() < total && ctx.Err() == nil {
				ds, err := h.q.Receive(ctx, qUpdates, 10, 200*time.Millisecond)
				if err != nil {
					failures <- err
					return
				}
				for _, d := range ds {
					mu.Lock()
					delivered[d.ID]++
					mu.Unlock()
					if err := h.q.Complete(ctx, d); err != nil {
						failures <- err
						return
					}
					completed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	close(failures)
	for err := range failures {
		t.Errorf("receiver: %v", err)
	}
	if n := completed.Load(); n != total {
		t.Errorf("completed %d messages, want %d", n, total)
	}
	for _, id := range messageIDs(msgs) {
		if delivered[id] != 1 {
			t.Errorf("message %s delivered %d times, want once", id, delivered[id])
		}
	}
	h.expectNone(qUpdates, quiet)
}
