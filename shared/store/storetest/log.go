package storetest

import (
	"fmt"
	"testing"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/store"
)

// logEntry is entry n of the log test: at(n), every field set.
func logEntry(n int, direction, user, action string) galsync.LogEntry {
	return galsync.LogEntry{
		Time: at(n), Direction: direction, SourceUserID: user, TargetUserID: fmt.Sprintf("target-%d", n),
		Action: action, Outcome: galsync.OutcomeSuccess, Reason: fmt.Sprintf("reason %d", n),
		Attributes: []string{"displayName", "jobTitle"}, Seq: int64(n * 10), InvocationID: fmt.Sprintf("inv-%d", n),
	}
}

func testLog(t *testing.T, s store.Store) {
	ctx := t.Context()
	entries := map[int]galsync.LogEntry{
		1: logEntry(1, "a", "u1", galsync.ActionInvite),
		2: logEntry(2, "a", "u10", galsync.ActionInvite), // u1 is a prefix of u10
		3: logEntry(3, "ab", "u1", galsync.ActionUpdate), // a is a prefix of ab
		4: logEntry(4, "a", "u1", galsync.ActionUpdate),
		5: logEntry(5, "b", "u2", galsync.ActionSkip),
		6: logEntry(6, "a", "u1", galsync.ActionUpdate),
		7: logEntry(7, "a", "", galsync.ActionPause),
	}
	if got, err := s.QueryLog(ctx, galsync.LogQuery{}); err != nil || len(got) != 0 {
		t.Fatalf("empty log: %d entries, %v", len(got), err)
	}
	// Appended out of time order, several per call: the order is by time.
	for _, batch := range [][]int{{6, 2}, {1}, {5, 3, 7, 4}} {
		var es []galsync.LogEntry
		for _, n := range batch {
			es = append(es, entries[n])
		}
		if err := s.AppendLog(ctx, es...); err != nil {
			t.Fatalf("append %v: %v", batch, err)
		}
	}
	tests := []struct {
		name string
		q    galsync.LogQuery
		want []int
	}{
		{"all", galsync.LogQuery{}, []int{1, 2, 3, 4, 5, 6, 7}},
		{"direction", galsync.LogQuery{Direction: "a"}, []int{1, 2, 4, 6, 7}},
		{"other direction", galsync.LogQuery{Direction: "ab"}, []int{3}},
		{"unknown direction", galsync.LogQuery{Direction: "zz"}, nil},
		{"user", galsync.LogQuery{SourceUserID: "u1"}, []int{1, 3, 4, 6}},
		{"direction and user", galsync.LogQuery{Direction: "a", SourceUserID: "u1"}, []int{1, 4, 6}},
		{"action", galsync.LogQuery{Action: galsync.ActionUpdate}, []int{3, 4, 6}},
		{"direction and action", galsync.LogQuery{Direction: "a", Action: galsync.ActionUpdate}, []int{4, 6}},
		{"since is inclusive", galsync.LogQuery{Since: at(4)}, []int{4, 5, 6, 7}},
		{"since, direction and user", galsync.LogQuery{Direction: "a", SourceUserID: "u1", Since: at(4)}, []int{4, 6}},
		{"limit", galsync.LogQuery{Limit: 2}, []int{1, 2}},
		{"direction and limit", galsync.LogQuery{Direction: "a", Limit: 3}, []int{1, 2, 4}},
		{"user, since and limit", galsync.LogQuery{SourceUserID: "u1", Since: at(2), Limit: 1}, []int{3}},
		{"limit past the end", galsync.LogQuery{Direction: "ab", Limit: 5}, []int{3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.QueryLog(ctx, tc.q)
			if err != nil {
				t.Fatalf("query: %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d entries %v, want entries %v", len(got), seqs(got), tc.want)
			}
			for i, n := range tc.want {
				if d := diff(got[i], entries[n]); d != "" {
					t.Errorf("entry %d: want entry %d: %s", i, n, d)
				}
			}
		})
	}
}

// seqs names entries by their Seq/10, which is their number in testLog.
func seqs(es []galsync.LogEntry) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.Seq / 10
	}
	return out
}
