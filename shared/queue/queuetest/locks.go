package queuetest

import (
	"bytes"
	"maps"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/queue"
)

func testLockHidesUntilExpiry(t *testing.T, newQueue NewQueue) {
	h := newHarness(t, newQueue, options(shortLock))
	h.send(qInvites, message("locked"))
	first := h.receiveOne(qInvites)
	ds, err := h.q.Receive(t.Context(), qInvites, 10, quiet)
	if err != nil {
		t.Fatalf("second receive: %v", err)
	}
	if len(ds) > 0 {
		if time.Now().Before(first.LockedUntil) {
			t.Fatalf("message delivered again while locked until %v", first.LockedUntil)
		}
		t.Fatalf("inconclusive: a %s receive outlasted the %s lock; the machine is overloaded", quiet, shortLock)
	}
	second := h.receiveOne(qInvites) // after the lock expires
	if time.Now().Before(first.LockedUntil) {
		t.Errorf("redelivered before the lock expired at %v", first.LockedUntil)
	}
	if second.ID != first.ID || second.DeliveryCount != 2 {
		t.Errorf("redelivery: got %q delivery %d, want %q delivery 2", second.ID, second.DeliveryCount, first.ID)
	}
	if second.LockToken == first.LockToken {
		t.Errorf("redelivery reuses lock token %q", first.LockToken)
	}
	h.expectLockLost(first)
	h.complete(second)
}

func testAbandon(t *testing.T, newQueue NewQueue) {
	h := newHarness(t, newQueue, options(longLock))
	m := message("abandoned")
	m.Properties = map[string]string{"keep": "1", "replace": "old"}
	h.send(qUpdates, m)
	d1 := h.receiveOne(qUpdates)
	h.abandon(d1, map[string]string{"replace": "new", queue.PropLastError: "boom"})
	// The lock is long: only the abandon can release it within patience.
	d2 := h.receiveOne(qUpdates)
	want := map[string]string{"keep": "1", "replace": "new", queue.PropLastError: "boom"}
	if d2.ID != m.ID || d2.DeliveryCount != 2 || !bytes.Equal(d2.Body, m.Body) {
		t.Errorf("after abandon: got %q delivery %d body %s, want %q delivery 2 body %s", d2.ID, d2.DeliveryCount, d2.Body, m.ID, m.Body)
	}
	if !maps.Equal(d2.Properties, want) {
		t.Errorf("abandon merged properties into %v, want %v", d2.Properties, want)
	}
	h.expectLockLost(d1)
	h.abandon(d2, nil)
	d3 := h.receiveOne(qUpdates)
	if d3.DeliveryCount != 3 || !maps.Equal(d3.Properties, want) {
		t.Errorf("after abandon without properties: delivery %d properties %v, want 3 and %v", d3.DeliveryCount, d3.Properties, want)
	}
	h.complete(d3)
}

func testRenewLock(t *testing.T, newQueue NewQueue) {
	const lock = 2 * shortLock
	h := newHarness(t, newQueue, options(lock))
	h.send(qPulls, message("renewed"))
	d := h.receiveOne(qPulls)
	h.expectNone(qPulls, lock/2)
	renewed, err := h.q.RenewLock(t.Context(), d)
	if err != nil {
		t.Fatalf("renew lock: %v", err)
	}
	if !renewed.After(d.LockedUntil) {
		t.Fatalf("renewed lock ends %v, not after the first lock's end %v", renewed, d.LockedUntil)
	}
	// Wait past the first lock's end: the renewed lock must still hide it.
	ds, err := h.q.Receive(t.Context(), qPulls, 1, time.Until(d.LockedUntil)+lock/6)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	if !time.Now().Before(renewed) {
		t.Fatalf("inconclusive: the renewed lock (until %v) ran out while waiting; the machine is overloaded", renewed)
	}
	if len(ds) > 0 {
		t.Fatalf("redelivered while the renewed lock held until %v", renewed)
	}
	if err := h.q.Complete(t.Context(), d); err != nil {
		t.Errorf("complete under the renewed lock: %v", err)
	}
}

func testStaleLock(t *testing.T, newQueue NewQueue) {
	h := newHarness(t, newQueue, options(shortLock))
	h.send(qInvites, message("stale"))
	d := h.receiveOne(qInvites)
	// Let the lock lapse with nobody receiving the message again.
	time.Sleep(time.Until(d.LockedUntil) + 50*time.Millisecond)
	h.expectLockLost(d)
	again := h.receiveOne(qInvites)
	if again.ID != d.ID || again.DeliveryCount != 2 {
		t.Errorf("after an expired lock: got %q delivery %d, want %q delivery 2", again.ID, again.DeliveryCount, d.ID)
	}
	h.complete(again)
	h.expectLockLost(again) // settled already
}
