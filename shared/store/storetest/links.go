package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/store"
)

// putLinks creates n links of direction, 8 at a time.
func putLinks(t *testing.T, s store.Store, direction string, n int) map[string]galsync.Link {
	t.Helper()
	var mu sync.Mutex
	links := make(map[string]galsync.Link, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			l := linkKind(s).sample(fmt.Sprintf("user-%04d", i), i)
			l.Direction = direction
			if _, err := s.PutLink(t.Context(), l); err != nil {
				t.Errorf("put link: %v", err)
				return
			}
			mu.Lock()
			links[l.SourceUserID] = l
			mu.Unlock()
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return links
}

func testListLinks(t *testing.T, s store.Store) {
	ctx := t.Context()
	err := s.ListLinks(ctx, "a", func(l galsync.Link) error {
		t.Errorf("empty direction listed %s", l.SourceUserID)
		return nil
	})
	if err != nil {
		t.Fatalf("list empty direction: %v", err)
	}
	want := putLinks(t, s, "a", 300)
	putLinks(t, s, "ab", 5) // shares a's prefix
	putLinks(t, s, "b", 5)

	// fn may write to the store while the walk goes on.
	seen := map[string]int{}
	err = s.ListLinks(ctx, "a", func(l galsync.Link) error {
		seen[l.SourceUserID]++
		if w, ok := want[l.SourceUserID]; !ok {
			t.Errorf("listed %s/%s, which is not a link of a", l.Direction, l.SourceUserID)
		} else if d := diff(l, w); d != "" || l.ETag == "" {
			t.Errorf("listed %s differs: %s (ETag %q)", l.SourceUserID, d, l.ETag)
		}
		l.State = galsync.LinkDisabled
		_, err := s.PutLink(ctx, l)
		return err
	})
	if err != nil {
		t.Fatalf("list links: %v", err)
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("link %s listed %d times, want once", id, seen[id])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("listed %d links, want %d", len(seen), len(want))
	}
	got, err := s.GetLink(ctx, "a", "user-0007")
	if err != nil || got.State != galsync.LinkDisabled {
		t.Errorf("write made during the walk: state %q, %v; want disabled", got.State, err)
	}
}

func testListLinksStops(t *testing.T, s store.Store) {
	putLinks(t, s, "a", 20)
	stop := errors.New("stop here")
	calls := 0
	err := s.ListLinks(t.Context(), "a", func(galsync.Link) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) {
		t.Errorf("list links returned %v, want fn's error", err)
	}
	if calls != 1 {
		t.Errorf("fn called %d times after failing, want 1", calls)
	}
}
