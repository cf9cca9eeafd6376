package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/store"
)

// heldPage is a page of n deprovisions from sequence number first on.
func heldPage(direction string, first int64, n int) galsync.HeldPage {
	p := galsync.HeldPage{Direction: direction, FirstSeq: first}
	for i := range n {
		seq := first + int64(i)
		p.Items = append(p.Items, galsync.WorkItem{Direction: direction, SourceUserID: fmt.Sprintf("u%06d", seq), Seq: seq,
			Kind: galsync.WorkDeprovision, Reason: "deleted in the source tenant"})
	}
	return p
}

// listHeld lists a direction's held pages, by first sequence number.
func listHeld(t *testing.T, s store.Store, direction string) []galsync.HeldPage {
	t.Helper()
	var out []galsync.HeldPage
	if err := s.ListHeld(t.Context(), direction, func(p galsync.HeldPage) error {
		out = append(out, p)
		return nil
	}); err != nil {
		t.Fatalf("list held of %s: %v", direction, err)
	}
	slices.SortFunc(out, func(a, b galsync.HeldPage) int { return cmp.Compare(a.FirstSeq, b.FirstSeq) })
	return out
}

// samePages reports whether two lists of held pages match, item by item.
func samePages(got, want []galsync.HeldPage) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d pages, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Direction != w.Direction || g.FirstSeq != w.FirstSeq || len(g.Items) != len(w.Items) {
			return fmt.Sprintf("page %d: %s/%d with %d items, want %s/%d with %d", i, g.Direction, g.FirstSeq, len(g.Items), w.Direction, w.FirstSeq, len(w.Items))
		}
		for j := range g.Items {
			if d := diff(g.Items[j], w.Items[j]); d != "" {
				return fmt.Sprintf("page %d item %d: %s", i, j, d)
			}
		}
	}
	return ""
}

// testHeld: held pages are keyed by direction and first sequence number,
// saving a page again replaces it, a direction lists only its own, a
// delete of a page that is gone is no error, and they live apart from the
// direction's state.
func testHeld(t *testing.T, s store.Store) {
	ctx := t.Context()
	const a, b = "a-to-b", "a-to-c"
	if got := listHeld(t, s, a); len(got) != 0 {
		t.Fatalf("held pages of a new direction: %d, want none", len(got))
	}
	withUpsert := heldPage(a, 1, 3)
	withUpsert.Items[2].Kind, withUpsert.Items[2].Source = galsync.WorkUpsert, snapshot(3)
	for _, p := range []galsync.HeldPage{withUpsert, heldPage(a, 4, 2), heldPage(b, 1, 1)} {
		if err := s.SaveHeld(ctx, p); err != nil {
			t.Fatalf("save held page %s/%d: %v", p.Direction, p.FirstSeq, err)
		}
	}
	replaced := heldPage(a, 4, 5)
	if err := s.SaveHeld(ctx, replaced); err != nil {
		t.Fatalf("save a held page again: %v", err)
	}
	if d := samePages(listHeld(t, s, a), []galsync.HeldPage{withUpsert, replaced}); d != "" {
		t.Errorf("held pages of %s: %s", a, d)
	}
	if d := samePages(listHeld(t, s, b), []galsync.HeldPage{heldPage(b, 1, 1)}); d != "" {
		t.Errorf("held pages of %s: %s", b, d)
	}
	if _, err := s.GetDirectionState(ctx, a); !errors.Is(err, galsync.ErrNotFound) {
		t.Errorf("direction state after saving held pages: %v, want ErrNotFound (they live apart)", err)
	}

	stop := errors.New("stop")
	calls := 0
	err := s.ListHeld(ctx, a, func(galsync.HeldPage) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("list held stopped by fn: %v after %d call(s), want fn's error after 1", err, calls)
	}

	for _, first := range []int64{1, 99} {
		if err := s.DeleteHeld(ctx, a, first); err != nil {
			t.Fatalf("delete held page %d: %v", first, err)
		}
	}
	if d := samePages(listHeld(t, s, a), []galsync.HeldPage{replaced}); d != "" {
		t.Errorf("held pages after a delete: %s", d)
	}
	if got := listHeld(t, s, b); len(got) != 1 {
		t.Errorf("deleting in %s touched %s: %d pages", a, b, len(got))
	}
}

// testHeldWhileDeleting: walks whose fn deletes the page it is given (as
// approving does) leave nothing behind when repeated until empty, and
// never hand out a page twice.
func testHeldWhileDeleting(t *testing.T, s store.Store) {
	ctx := t.Context()
	const dir = "a-to-b"
	const pages = 120 // more than one read of the embedded store, and of a small Cosmos DB page
	for i := range int64(pages) {
		if err := s.SaveHeld(ctx, heldPage(dir, 1+10*i, 3)); err != nil {
			t.Fatalf("save held: %v", err)
		}
	}
	seen := map[int64]int{}
	for range pages + 1 {
		walked := 0
		err := s.ListHeld(ctx, dir, func(p galsync.HeldPage) error {
			walked++
			seen[p.FirstSeq]++
			return s.DeleteHeld(ctx, dir, p.FirstSeq)
		})
		if err != nil {
			t.Fatalf("walk deleting: %v", err)
		}
		if walked == 0 {
			break
		}
	}
	for i := range int64(pages) {
		if n := seen[1+10*i]; n != 1 {
			t.Errorf("page %d handed out %d times, want once", 1+10*i, n)
		}
	}
	if got := listHeld(t, s, dir); len(got) != 0 {
		t.Errorf("%d held pages left", len(got))
	}
}

// testHeldLimits: a held page Cosmos DB cannot store is refused like any
// record.
func testHeldLimits(t *testing.T, s store.Store) {
	big := heldPage("a-to-b", 1, 1)
	big.Items[0].Source = galsync.Snapshot{"aboutMe": strings.Repeat("x", store.MaxItemSize)}
	expectRefused(t, "a held page of 2 MB", s.SaveHeld(t.Context(), big), store.ErrTooLarge, 413)
	if got := listHeld(t, s, "a-to-b"); len(got) != 0 {
		t.Errorf("%d held pages after the refused save, want none", len(got))
	}
}
