package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/config"
	"github.com/galsync/galsync/shared/cosmos"
	"github.com/galsync/galsync/shared/cosmos/cosmostest"
	"github.com/galsync/galsync/shared/embedded"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/shared/store"
)

// heldAtScale is the size of the mass deletion the pause must hold: at
// about 160 bytes a held item, far past the 2 MB one Cosmos DB item takes
// (issue 11: 15,000 held in the direction's state were 2.46 MB).
const heldAtScale = 50_000

// TestPauseHoldsAMassDeletion pauses a direction holding 50,000
// deprovisions, lists them and approves them, on the embedded backend and
// on the Cosmos DB test server, both enforcing Cosmos DB's 2 MB per item.
func TestPauseHoldsAMassDeletion(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		db := openEmbedded(t)
		testPauseAtScale(t, db, db)
	})
	t.Run("cosmos", func(t *testing.T) {
		testPauseAtScale(t, openCosmos(t), openEmbedded(t))
	})
}

func testPauseAtScale(t *testing.T, st store.Store, q *embedded.DB) {
	ctx := t.Context()
	const dir = "contoso-to-fabrikam"
	d := &Direction{Direction: galsync.Direction{Name: dir,
		Deprovision: galsync.Deprovision{Action: galsync.DeprovisionDisable, Threshold: galsync.Threshold{Percent: 10}}}}
	items := make([]galsync.WorkItem, heldAtScale)
	for i := range items {
		items[i] = galsync.WorkItem{Direction: dir, SourceUserID: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i),
			Seq: int64(1000 + i), Kind: galsync.WorkDeprovision, Reason: "deleted in the source tenant"}
	}

	// The state record alone cannot hold them: the backend refuses it as
	// Cosmos DB would.
	_, err := st.PutDirectionState(ctx, galsync.DirectionState{Direction: dir, Paused: true, LegacyHeld: items})
	if !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("a direction state holding %d deprovisions: %v, want ErrTooLarge", len(items), err)
	}

	p := &Puller{Store: st, Now: time.Now, Logger: slog.New(slog.DiscardHandler)}
	start := time.Now()
	if err := p.pause(ctx, d, items, 2*heldAtScale, "test"); err != nil {
		t.Fatalf("pause: %v", err)
	}
	paused := time.Since(start)
	state, err := st.GetDirectionState(ctx, dir)
	if err != nil || !state.Paused || state.HeldCount != heldAtScale || len(state.LegacyHeld) != 0 {
		t.Fatalf("state after the pause: paused %v, held %d (legacy %d), %v; want paused holding %d apart",
			state.Paused, state.HeldCount, len(state.LegacyHeld), err, heldAtScale)
	}

	ap := &Approval{Directions: Catalog{dir: d}, Store: st, Queue: q, Now: time.Now}
	reviewed, err := ap.Held(ctx, dir)
	if err != nil {
		t.Fatalf("review: %v", err)
	}
	listed := map[string]bool{}
	if err := ap.ListHeld(ctx, reviewed, func(it galsync.WorkItem) error {
		listed[it.SourceUserID] = true
		return nil
	}); err != nil || len(listed) != heldAtScale {
		t.Fatalf("listed %d held deprovisions, %v; want %d", len(listed), err, heldAtScale)
	}

	start = time.Now()
	n, err := ap.Approve(ctx, dir, "tester", false)
	if err != nil || n != heldAtScale {
		t.Fatalf("approve: released %d, %v; want %d", n, err, heldAtScale)
	}
	approved := time.Since(start)
	if state, err := st.GetDirectionState(ctx, dir); err != nil || state.Paused || state.Held() != 0 {
		t.Errorf("state after approval: paused %v, held %d, %v", state.Paused, state.Held(), err)
	}
	left := 0
	if err := st.ListHeld(ctx, dir, func(galsync.HeldPage) error { left++; return nil }); err != nil || left != 0 {
		t.Errorf("%d held pages left after approval, %v", left, err)
	}
	released := map[string]bool{}
	for from := int64(0); ; {
		page, err := q.Peek(ctx, galsync.QueueUpdates, from, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, m := range page {
			released[m.Properties[queue.PropSourceUser]] = true
		}
		from = page[len(page)-1].SequenceNumber + 1
	}
	for u := range listed {
		if !released[u] {
			t.Fatalf("held deprovision of %s was not released (%d of %d released)", u, len(released), len(listed))
		}
	}
	if len(released) != heldAtScale {
		t.Errorf("%d users released, want %d", len(released), heldAtScale)
	}
	t.Logf("%d held deprovisions: paused in %s, approved in %s", heldAtScale, paused.Round(time.Millisecond), approved.Round(time.Millisecond))
}

func openEmbedded(t *testing.T) *embedded.DB {
	t.Helper()
	db, err := embedded.Open(filepath.Join(t.TempDir(), "galsync.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func openCosmos(t *testing.T) *cosmos.Store {
	t.Helper()
	env := map[string]string{config.CosmosConnection: cosmostest.Start(t), cosmos.DatabaseSetting: cosmostest.DatabaseName(t)}
	cfg, err := cosmos.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	s, err := cosmos.Open(context.Background(), cfg, cosmos.Options{EnsureContainers: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestHeldPages: held pages keep sequence order, hold at most
// heldPageItems items and heldPageBytes of them, and are keyed by their
// first item.
func TestHeldPages(t *testing.T) {
	var items []galsync.WorkItem
	for i := range 2500 {
		items = append(items, galsync.WorkItem{Direction: "d", SourceUserID: fmt.Sprintf("u%d", i), Seq: int64(10 + i), Kind: galsync.WorkDeprovision})
	}
	big := galsync.WorkItem{Direction: "d", SourceUserID: "big", Seq: 5000, Kind: galsync.WorkUpsert,
		Source: galsync.Snapshot{"aboutMe": strings.Repeat("x", heldPageBytes/2)}}
	items = append(items, big, big, big)
	pages, err := heldPages("d", items)
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	next := 0
	for _, p := range pages {
		sizes = append(sizes, len(p.Items))
		if p.Direction != "d" || p.FirstSeq != p.Items[0].Seq {
			t.Errorf("page %s/%d starts with seq %d", p.Direction, p.FirstSeq, p.Items[0].Seq)
		}
		data, _ := json.Marshal(p)
		if len(data) > heldPageBytes+len(`{"direction":"d","firstSeq":5000,"items":[]}`) {
			t.Errorf("page %d encodes to %d bytes, over %d", p.FirstSeq, len(data), heldPageBytes)
		}
		for _, it := range p.Items {
			if it.Seq != items[next].Seq {
				t.Fatalf("item %d has seq %d, want %d: order lost", next, it.Seq, items[next].Seq)
			}
			next++
		}
	}
	// The first large item still fits beside the last 500 small ones.
	if want := []int{1000, 1000, 501, 1, 1}; !slices.Equal(sizes, want) {
		t.Errorf("page sizes %v, want %v", sizes, want)
	}
}
