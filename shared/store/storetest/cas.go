package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/galsync/galsync/shared/galsync"
)

// casKind describes an ETag-guarded record type (cursor, link, direction
// state) so one test covers the create / update / conflict contract of all.
type casKind[T any] struct {
	get func(ctx context.Context, id string) (T, error)
	put func(ctx context.Context, v T) (T, error)
	// sample is a record for id with every field set; n varies the values.
	sample  func(id string, n int) T
	etag    func(T) string
	setETag func(T, string) T
}

func (k casKind[T]) create(t *testing.T, id string, n int) T {
	t.Helper()
	v, err := k.put(t.Context(), k.sample(id, n))
	if err != nil {
		t.Fatalf("create %s: %v", id, err)
	}
	return v
}

func testCAS[T any](t *testing.T, k casKind[T]) {
	ctx := t.Context()
	if _, err := k.get(ctx, "r1"); !errors.Is(err, galsync.ErrNotFound) {
		t.Fatalf("get missing: got %v, want ErrNotFound", err)
	}
	created := k.create(t, "r1", 1)
	if k.etag(created) == "" {
		t.Fatal("create returned no ETag")
	}
	got, err := k.get(ctx, "r1")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if d := diff(got, k.sample("r1", 1)); d != "" {
		t.Errorf("read back differs: %s", d)
	}
	if k.etag(got) != k.etag(created) {
		t.Errorf("get ETag %q, create returned %q", k.etag(got), k.etag(created))
	}
	if _, err := k.put(ctx, k.sample("r1", 2)); !errors.Is(err, galsync.ErrConflict) {
		t.Errorf("second create: got %v, want ErrConflict", err)
	}
	updated, err := k.put(ctx, k.setETag(k.sample("r1", 2), k.etag(created)))
	if err != nil {
		t.Fatalf("update with the current ETag: %v", err)
	}
	if k.etag(updated) == "" || k.etag(updated) == k.etag(created) {
		t.Errorf("update returned ETag %q after %q; want a new one", k.etag(updated), k.etag(created))
	}
	if _, err := k.put(ctx, k.setETag(k.sample("r1", 3), k.etag(created))); !errors.Is(err, galsync.ErrConflict) {
		t.Errorf("update with a stale ETag: got %v, want ErrConflict", err)
	}
	if _, err := k.put(ctx, k.setETag(k.sample("r2", 1), k.etag(updated))); !errors.Is(err, galsync.ErrConflict) {
		t.Errorf("update of a missing record: got %v, want ErrConflict", err)
	}
	got, err = k.get(ctx, "r1")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if d := diff(got, k.sample("r1", 2)); d != "" || k.etag(got) != k.etag(updated) {
		t.Errorf("after the failed writes, the record is not the update: %s (ETag %q, want %q)", d, k.etag(got), k.etag(updated))
	}
	if _, err := k.get(ctx, "r2"); !errors.Is(err, galsync.ErrNotFound) {
		t.Errorf("get r2: got %v, want ErrNotFound", err)
	}
}

// testRace has two writers update one record from the same ETag, 50 times:
// exactly one may win each time, and the record holds the winner's value.
func testRace[T any](t *testing.T, k casKind[T]) {
	for round := range 50 {
		id := fmt.Sprintf("race-%02d", round)
		base := k.create(t, id, 0)
		start := make(chan struct{})
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for w := range 2 {
			wg.Go(func() {
				<-start
				_, errs[w] = k.put(t.Context(), k.setETag(k.sample(id, w+1), k.etag(base)))
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for w, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("round %d: both writers won from ETag %q", round, k.etag(base))
			case err == nil:
				winner = w
			case !errors.Is(err, galsync.ErrConflict):
				t.Fatalf("round %d: loser got %v, want ErrConflict", round, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: neither writer won: %v", round, errs)
		}
		got, err := k.get(t.Context(), id)
		if err != nil {
			t.Fatalf("round %d: get: %v", round, err)
		}
		if d := diff(got, k.sample(id, winner+1)); d != "" {
			t.Fatalf("round %d: record is not the winner's: %s", round, d)
		}
	}
}
