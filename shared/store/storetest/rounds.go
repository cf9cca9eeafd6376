package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/store"
)

func roundPage(direction, round string, page int, seen ...string) galsync.RoundPage {
	if seen == nil {
		seen = []string{fmt.Sprintf("%s-%s-%d-a", direction, round, page), "b"}
	}
	return galsync.RoundPage{
		Direction: direction, Round: round, Page: page, Seen: seen,
		Deprovisions: []galsync.WorkItem{{Direction: direction, SourceUserID: fmt.Sprintf("gone-%d", page),
			Seq: int64(page + 1), Kind: galsync.WorkDeprovision, Reason: "deleted"}},
	}
}

func pageNumbers(pages []galsync.RoundPage) []int {
	out := make([]int, len(pages))
	for i, p := range pages {
		out[i] = p.Page
	}
	return out
}

func testRoundPages(t *testing.T, s store.Store) {
	ctx := t.Context()
	pages := func(direction, round string) []galsync.RoundPage {
		t.Helper()
		ps, err := s.RoundPages(ctx, direction, round)
		if err != nil {
			t.Fatalf("round pages %s/%s: %v", direction, round, err)
		}
		return ps
	}
	save := func(p galsync.RoundPage) {
		t.Helper()
		if err := s.SaveRoundPage(ctx, p); err != nil {
			t.Fatalf("save page %d: %v", p.Page, err)
		}
	}
	if got := pages("d", "r1"); len(got) != 0 {
		t.Fatalf("missing round has %d pages", len(got))
	}
	for _, n := range []int{11, 2, 0, 1, 10} {
		save(roundPage("d", "r1", n))
	}
	save(roundPage("d", "r2", 0))
	save(roundPage("d", "r10", 0)) // shares r1's prefix
	save(roundPage("d2", "r1", 0))

	got := pages("d", "r1")
	if want := []int{0, 1, 2, 10, 11}; !slices.Equal(pageNumbers(got), want) {
		t.Fatalf("pages %v, want %v in page order", pageNumbers(got), want)
	}
	for _, p := range got {
		if d := diff(p, roundPage("d", "r1", p.Page)); d != "" {
			t.Errorf("page %d read back differs: %s", p.Page, d)
		}
	}

	save(roundPage("d", "r1", 1, "replaced"))
	got = pages("d", "r1")
	if len(got) != 5 || !slices.Equal(got[1].Seen, []string{"replaced"}) {
		t.Errorf("after replacing page 1: pages %v, page 1 saw %v", pageNumbers(got), got[1].Seen)
	}

	if err := s.DeleteRound(ctx, "d", "r1"); err != nil {
		t.Fatalf("delete round: %v", err)
	}
	if got := pages("d", "r1"); len(got) != 0 {
		t.Errorf("deleted round still has pages %v", pageNumbers(got))
	}
	for _, k := range [][2]string{{"d", "r2"}, {"d", "r10"}, {"d2", "r1"}} {
		if got := pages(k[0], k[1]); len(got) != 1 {
			t.Errorf("deleting d/r1 took pages of %s/%s: %d left, want 1", k[0], k[1], len(got))
		}
	}
	if err := s.DeleteRound(ctx, "d", "no-such-round"); err != nil {
		t.Errorf("delete a missing round: %v", err)
	}
}
