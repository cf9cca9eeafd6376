// Package queuetest is the conformance suite of the queue port: every
// backend (the embedded queue, Service Bus) runs Run and so keeps Service
// Bus's peek-lock semantics. Each subtest asks for a fresh backend with the
// options it needs and relies on nothing but the port.
package queuetest

import (
	"testing"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

// QueueUnderTest is what the suite drives.
type QueueUnderTest interface {
	queue.Sender
	queue.Receiver
	queue.Peeker
}

// NewQueue returns a fresh, empty backend serving the queues pulls, invites
// and updates, each with opts, and registers its own cleanup. A backend on
// shared infrastructure (Service Bus) can map those names onto entities it
// creates for the test.
type NewQueue func(t *testing.T, opts queue.Options) QueueUnderTest

// Run runs every conformance subtest, in parallel, each on its own backend.
func Run(t *testing.T, newQueue NewQueue) {
	tests := []struct {
		name string
		fn   func(t *testing.T, newQueue NewQueue)
	}{
		{"RoundTrip", testRoundTrip},
		{"FIFOBySequenceNumber", testFIFO},
		{"LockHidesUntilExpiry", testLockHidesUntilExpiry},
		{"AbandonRedeliversAtOnce", testAbandon},
		{"RenewLockExtends", testRenewLock},
		{"StaleLockIsLost", testStaleLock},
		{"DeadLetter", testDeadLetter},
		{"MaxDeliveryCountByAbandon", testMaxDeliveryByAbandon},
		{"MaxDeliveryCountByLockExpiry", testMaxDeliveryByExpiry},
		{"DuplicateDetection", testDuplicateDetection},
		{"ReceiveWaits", testReceiveWaits},
		{"ReceiveHonoursContext", testReceiveContext},
		{"ConcurrentReceivers", testConcurrentReceivers},
		{"Peek", testPeek},
		{"UnknownQueue", testUnknownQueue},
		{"ScheduledWaitsForItsTime", testScheduled},
		{"ScheduledInThePastIsActive", testScheduledInThePast},
		{"ScheduledDuplicateDetection", testScheduledDuplicate},
		{"ServiceBusLimits", testLimits},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newQueue)
		})
	}
}

// Options the subtests start from: locks short enough that expiry tests
// take a fraction of a second, windows long enough to act within.
const (
	shortLock   = 300 * time.Millisecond
	longLock    = 30 * time.Second
	dedupWindow = time.Second
	// patience bounds every wait for a message that must come.
	patience = 5 * time.Second
	// quiet is how long a receive waits to show that nothing comes.
	quiet = 100 * time.Millisecond
)

func options(lock time.Duration) queue.Options {
	return queue.Options{LockDuration: lock, MaxDeliveryCount: 10, DuplicateDetectionWindow: dedupWindow}
}

// The suite's queues.
const (
	qPulls   = galsync.QueuePulls
	qInvites = galsync.QueueInvites
	qUpdates = galsync.QueueUpdates
)
