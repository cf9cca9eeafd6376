package deadletter_test

import (
	"testing"
	"time"

	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/shared/servicebus"
	"github.com/galsync/galsync/shared/servicebus/sbtest"
)

// openServiceBus starts the Service Bus test broker and opens a client on
// it, both closed at cleanup.
func openServiceBus(t *testing.T) *servicebus.Client {
	t.Helper()
	cs := sbtest.Start(t, allQueues, queue.Options{LockDuration: 30 * time.Second, MaxDeliveryCount: 5, DuplicateDetectionWindow: 10 * time.Minute})
	c, err := servicebus.Open(t.Context(), servicebus.Config{ConnectionString: cs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}
