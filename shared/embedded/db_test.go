package embedded_test

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/embedded"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

func TestDefaults(t *testing.T) {
	c := newClock()
	db := open(t, embedded.WithoutSync(embedded.Options{Now: c.Now}))
	if got, want := db.Queues(), []string{"invites", "parked", "pulls", "updates"}; !slices.Equal(got, want) {
		t.Errorf("Queues() = %v, want %v", got, want)
	}
	must(t, db.Send(t.Context(), galsync.QueuePulls, msg("m")))
	d := receiveOne(t, db, galsync.QueuePulls)
	if lock := d.LockedUntil.Sub(c.Now()); lock != queue.DefaultOptions().LockDuration {
		t.Errorf("default lock duration %s, want %s", lock, queue.DefaultOptions().LockDuration)
	}
}

func TestOpenRefusesBadQueueNames(t *testing.T) {
	for _, name := range []string{"", "a/b", queue.DeadLetterQueue("invites")} {
		_, err := embedded.Open(filepath.Join(t.TempDir(), "x.db"), embedded.Options{Queues: map[string]queue.Options{name: {}}})
		if err == nil {
			t.Errorf("Open accepted queue name %q", name)
		}
	}
}

func TestDepth(t *testing.T) {
	db := open(t, embedded.WithoutSync(embedded.Options{}))
	ctx := t.Context()
	q := galsync.QueueInvites
	must(t, db.Send(ctx, q, msg("a"), msg("b"), msg("c")))
	must(t, db.DeadLetter(ctx, receiveOne(t, db, q), "r", "d"))
	receiveOne(t, db, q) // locked messages still count as active
	if active, dead := depth(t, db, q); active != 2 || dead != 1 {
		t.Errorf("depth %d active, %d dead-lettered; want 2, 1", active, dead)
	}
	for _, name := range []string{"nope", queue.DeadLetterQueue(q)} {
		if _, _, err := db.Depth(ctx, name); !errors.Is(err, queue.ErrUnknownQueue) {
			t.Errorf("Depth(%q): %v, want ErrUnknownQueue", name, err)
		}
	}
}

func TestSendToDeadLetterQueueRefused(t *testing.T) {
	db := open(t, embedded.WithoutSync(embedded.Options{}))
	if err := db.Send(t.Context(), queue.DeadLetterQueue(galsync.QueuePulls), msg("m")); !errors.Is(err, queue.ErrUnknownQueue) {
		t.Errorf("send to a dead-letter queue: %v, want ErrUnknownQueue", err)
	}
	must(t, db.Send(t.Context(), galsync.QueuePulls, msg("m")))
	d := receiveOne(t, db, galsync.QueuePulls)
	must(t, db.DeadLetter(t.Context(), d, "r", "d"))
	dl := receiveOne(t, db, queue.DeadLetterQueue(galsync.QueuePulls))
	if err := db.DeadLetter(t.Context(), dl, "again", ""); err == nil {
		t.Error("dead-lettered a dead letter")
	}
}

func TestKeysWithNULRefused(t *testing.T) {
	db := open(t, embedded.WithoutSync(embedded.Options{}))
	ctx := t.Context()
	if _, err := db.GetLink(ctx, "a\x00b", "u"); err == nil || errors.Is(err, galsync.ErrNotFound) {
		t.Errorf("GetLink with a NUL in the direction: %v, want a refusal", err)
	}
	if _, err := db.PutLink(ctx, galsync.Link{Direction: "a", SourceUserID: ""}); err == nil {
		t.Error("PutLink accepted an empty source user id")
	}
	if err := db.AppendLog(ctx, galsync.LogEntry{Direction: "a", SourceUserID: "u\x00"}); err == nil {
		t.Error("AppendLog accepted a NUL in the source user id")
	}
}

// TestCloseWakesReceivers: a receiver waiting when the database closes
// returns ErrClosed at once, and later calls fail the same way.
func TestCloseWakesReceivers(t *testing.T) {
	db, err := embedded.Open(filepath.Join(t.TempDir(), "galsync.db"), embedded.WithoutSync(embedded.Options{}))
	must(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := db.Receive(t.Context(), galsync.QueuePulls, 1, time.Minute)
		done <- err
	}()
	time.AfterFunc(50*time.Millisecond, func() { _ = db.Close() })
	select {
	case err := <-done:
		if !errors.Is(err, embedded.ErrClosed) {
			t.Errorf("waiting receive after close: %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("waiting receive did not return after close")
	}
	if err := db.Send(t.Context(), galsync.QueuePulls, msg("m")); !errors.Is(err, embedded.ErrClosed) {
		t.Errorf("send after close: %v, want ErrClosed", err)
	}
	if _, err := db.GetCursor(t.Context(), "d"); !errors.Is(err, embedded.ErrClosed) {
		t.Errorf("get cursor after close: %v, want ErrClosed", err)
	}
}
