package embedded_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/embedded"
	"github.com/galsync/galsync/shared/galsync"
)

// TestPruneLog deletes old entries in several transactions and keeps both
// indexes consistent with the log.
func TestPruneLog(t *testing.T) {
	db := open(t, embedded.WithoutSync(embedded.Options{}))
	ctx := t.Context()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 2500 // more than one prune transaction
	entries := make([]galsync.LogEntry, n)
	for i := range entries {
		entries[i] = galsync.LogEntry{Time: start.Add(time.Duration(i) * time.Second), Direction: fmt.Sprintf("d%d", i%2),
			SourceUserID: fmt.Sprintf("u%d", i%5), Action: galsync.ActionUpdate, Outcome: galsync.OutcomeSuccess}
	}
	must(t, db.AppendLog(ctx, entries...))
	cut := start.Add(2100 * time.Second)
	pruned, err := db.PruneLog(ctx, cut)
	must(t, err)
	if pruned != 2100 {
		t.Errorf("pruned %d entries, want 2100", pruned)
	}
	for _, q := range []galsync.LogQuery{{}, {Direction: "d1"}, {SourceUserID: "u3"}, {Direction: "d0", SourceUserID: "u2"}} {
		got, err := db.QueryLog(ctx, q)
		if err != nil {
			t.Fatalf("query %+v after prune: %v", q, err)
		}
		want := 0
		for _, e := range entries[2100:] {
			if (q.Direction == "" || e.Direction == q.Direction) && (q.SourceUserID == "" || e.SourceUserID == q.SourceUserID) {
				want++
			}
		}
		if len(got) != want || (len(got) > 0 && got[0].Time.Before(cut)) {
			t.Errorf("query %+v after prune: %d entries, want %d from %v on", q, len(got), want, cut)
		}
	}
	if again, err := db.PruneLog(ctx, cut); err != nil || again != 0 {
		t.Errorf("second prune: %d, %v; want 0", again, err)
	}
}

// TestAppendLogStampsTime: an entry without a time gets the clock's.
func TestAppendLogStampsTime(t *testing.T) {
	c := newClock()
	db := open(t, embedded.WithoutSync(embedded.Options{Now: c.Now}))
	must(t, db.AppendLog(t.Context(), galsync.LogEntry{Direction: "d", Action: galsync.ActionSkip}))
	got, err := db.QueryLog(t.Context(), galsync.LogQuery{Direction: "d"})
	must(t, err)
	if len(got) != 1 || !got[0].Time.Equal(c.Now()) {
		t.Errorf("entries %+v, want one stamped %v", got, c.Now())
	}
}

// TestAppendLogLeavesCallerEntries: stamping the time works on a copy.
func TestAppendLogLeavesCallerEntries(t *testing.T) {
	db := open(t, embedded.WithoutSync(embedded.Options{Now: newClock().Now}))
	entries := []galsync.LogEntry{{Direction: "d", Action: galsync.ActionSkip}}
	must(t, db.AppendLog(t.Context(), entries...))
	if !entries[0].Time.IsZero() {
		t.Errorf("AppendLog changed the caller's entry: time %v", entries[0].Time)
	}
}
