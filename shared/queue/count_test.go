package queue_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/embedded"
	"github.com/galsync/galsync/shared/queue"
)

// peekOnly hides the embedded queue's Depth and ScheduledDepth, so Count
// and CountScheduled must peek.
type peekOnly struct{ queue.Peeker }

// TestCountAgreesByDepthAndByPeeking: Count gives the same numbers from a
// backend's Depth as from peeking page by page, locked messages included,
// scheduled messages and dead letters apart, and stops at the limit.
func TestCountAgreesByDepthAndByPeeking(t *testing.T) {
	ctx := context.Background()
	db, err := embedded.Open(filepath.Join(t.TempDir(), "q.db"), embedded.Options{Queues: map[string]queue.Options{"q": queue.DefaultOptions()}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, id := range []string{"a", "b", "c", "d"} {
		if err := db.Send(ctx, "q", queue.Message{ID: id, Body: []byte(id)}); err != nil {
			t.Fatal(err)
		}
	}
	later := time.Now().Add(time.Hour)
	for _, id := range []string{"s1", "s2"} {
		if err := db.Send(ctx, "q", queue.Message{ID: id, Body: []byte(id), ScheduledAt: later}); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := db.Receive(ctx, "q", 2, time.Second)
	if err != nil || len(ds) != 2 {
		t.Fatalf("receive: %d, %v", len(ds), err)
	}
	if err := db.DeadLetter(ctx, ds[0], "test", "dead"); err != nil {
		t.Fatal(err)
	}
	// Left: 3 in the queue (one of them locked), 2 scheduled, 1 dead letter.
	for _, p := range []queue.Peeker{db, peekOnly{db}} {
		for _, tc := range []struct {
			name         string
			limit, wantN int
		}{{"q", 100, 3}, {"q", 2, 2}, {queue.DeadLetterQueue("q"), 100, 1}} {
			n, err := queue.Count(ctx, p, tc.name, tc.limit)
			if err != nil || n != tc.wantN {
				t.Errorf("%T: Count(%s, %d) = %d, %v; want %d", p, tc.name, tc.limit, n, err, tc.wantN)
			}
		}
		for limit, want := range map[int]int{100: 2, 1: 1} {
			if n, err := queue.CountScheduled(ctx, p, "q", limit); err != nil || n != want {
				t.Errorf("%T: CountScheduled(q, %d) = %d, %v; want %d", p, limit, n, err, want)
			}
		}
	}
}
