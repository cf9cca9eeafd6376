package servicebus_test

import (
	"testing"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/shared/queue/queuetest"
	"github.com/galsync/galsync/shared/servicebus"
	"github.com/galsync/galsync/shared/servicebus/sbtest"
)

var allQueues = []string{galsync.QueuePulls, galsync.QueueInvites, galsync.QueueUpdates}

// open starts a broker with opts and opens a client on it, both closed at
// cleanup.
func open(t testing.TB, b sbtest.Broker) *servicebus.Client {
	t.Helper()
	if b.Queues == nil {
		b.Queues = allQueues
	}
	cs := sbtest.StartBroker(t, b)
	c, err := servicebus.Open(t.Context(), servicebus.Config{ConnectionString: cs})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return c
}

func TestQueueConformance(t *testing.T) {
	queuetest.Run(t, func(t *testing.T, o queue.Options) queuetest.QueueUnderTest {
		return open(t, sbtest.Broker{Options: o})
	})
}
