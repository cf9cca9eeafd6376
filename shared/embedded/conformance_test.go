package embedded_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/embedded"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/shared/queue/queuetest"
	"github.com/galsync/galsync/shared/store"
	"github.com/galsync/galsync/shared/store/storetest"
)

// open opens the database at path (a fresh one in a temporary directory
// if none is given) and closes it at cleanup.
func open(t testing.TB, opts embedded.Options, path ...string) *embedded.DB {
	t.Helper()
	p := filepath.Join(t.TempDir(), "galsync.db")
	if len(path) > 0 {
		p = path[0]
	}
	db, err := embedded.Open(p, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return db
}

func allQueues(o queue.Options) map[string]queue.Options {
	return map[string]queue.Options{galsync.QueuePulls: o, galsync.QueueInvites: o, galsync.QueueUpdates: o}
}

func TestQueueConformance(t *testing.T) {
	queuetest.Run(t, func(t *testing.T, o queue.Options) queuetest.QueueUnderTest {
		return open(t, embedded.Options{Queues: allQueues(o)})
	})
}

func TestQueueConformanceDurable(t *testing.T) {
	queuetest.RunDurable(t, func(t *testing.T, dir string, o queue.Options) queuetest.DurableQueue {
		return open(t, embedded.Options{Queues: allQueues(o)}, filepath.Join(dir, "galsync.db"))
	})
}

func TestStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, embedded.Options{})
	})
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func msg(id string) queue.Message {
	return queue.Message{ID: id, Body: []byte(id), ContentType: "text/plain"}
}

func receiveOne(t testing.TB, db *embedded.DB, name string) queue.Delivery {
	t.Helper()
	ds, err := db.Receive(t.Context(), name, 1, 5*time.Second)
	must(t, err)
	if len(ds) != 1 {
		t.Fatalf("receive from %s: %d messages, want 1", name, len(ds))
	}
	return ds[0]
}

func deliveryIDs(ds []queue.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}
