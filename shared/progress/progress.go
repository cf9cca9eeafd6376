// Package progress tallies the provisioning log as it is written, for the
// running summary `galsync local` prints: invited, joined, updated, skipped
// by reason, failed.
package progress

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/store"
)

// Tally counts log entries by action and outcome, and skips by reason.
type Tally struct {
	mu      sync.Mutex
	actions map[string]int
	skips   map[string]string // source user → why it is skipped (latest)
	failed  map[string]bool   // source users whose latest attempt failed
}

// NewTally returns an empty tally.
func NewTally() *Tally {
	return &Tally{actions: map[string]int{}, skips: map[string]string{}, failed: map[string]bool{}}
}

// Observe counts entries.
func (t *Tally) Observe(entries ...galsync.LogEntry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range entries {
		key := e.Direction + "/" + e.SourceUserID
		if e.SourceUserID == "" && e.Action == galsync.ActionGroup {
			// A mirrored group's own notes (made, nested, deleted) are not
			// a user's.
			continue
		}
		switch e.Outcome {
		case galsync.OutcomeFailed:
			t.failed[key] = true
			continue
		case galsync.OutcomeSkipped:
			if e.Action == galsync.ActionPause {
				t.actions[galsync.ActionPause]++
				continue
			}
			t.skips[key] = e.Reason
			delete(t.failed, key)
			continue
		case galsync.OutcomeSuccess:
			t.actions[e.Action]++
		}
		delete(t.failed, key)
		delete(t.skips, key)
	}
}

// Summary is a snapshot of the tally.
type Summary struct {
	Invited, Joined, Updated, Reenabled, Disabled, Deleted, Resyncs, Pauses int
	// Converted counts target members converted in place.
	Converted int
	// Skipped counts users by the reason they are (still) skipped.
	Skipped map[string]int
	// Failing counts users whose latest attempt failed (they are retried).
	Failing int
}

// Summary returns the counts so far.
func (t *Tally) Summary() Summary {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.actions
	skipped := map[string]int{}
	for _, reason := range t.skips {
		skipped[reason]++
	}
	return Summary{
		Invited: a[galsync.ActionInvite], Joined: a[galsync.ActionJoin], Updated: a[galsync.ActionUpdate],
		Reenabled: a[galsync.ActionReenable], Disabled: a[galsync.ActionDisable], Deleted: a[galsync.ActionDelete],
		Resyncs: a[galsync.ActionResync], Pauses: a[galsync.ActionPause], Skipped: skipped, Failing: len(t.failed),
		Converted: a[galsync.ActionConvert],
	}
}

// String renders the summary on a few lines.
func (s Summary) String() string {
	var b strings.Builder
	skipped := 0
	for _, n := range s.Skipped {
		skipped += n
	}
	fmt.Fprintf(&b, "invited %d, joined %d, updated %d, re-enabled %d, disabled %d, deleted %d, skipped %d, failing %d",
		s.Invited, s.Joined, s.Updated, s.Reenabled, s.Disabled, s.Deleted, skipped, s.Failing)
	if s.Converted > 0 {
		fmt.Fprintf(&b, "\n  converted %d target member(s) to external users in place", s.Converted)
	}
	if s.Pauses > 0 {
		fmt.Fprintf(&b, "\n  PAUSED %d time(s) by the accidental-deletion threshold: deprovisioning awaits approval", s.Pauses)
	}
	for _, reason := range slices.Sorted(maps.Keys(s.Skipped)) {
		fmt.Fprintf(&b, "\n  skipped %5d: %s", s.Skipped[reason], reason)
	}
	return b.String()
}

// Store wraps a store so every log entry it appends is also tallied.
func Store(s store.Store, t *Tally) store.Store { return &tallied{Store: s, t: t} }

type tallied struct {
	store.Store
	t *Tally
}

func (s *tallied) AppendLog(ctx context.Context, entries ...galsync.LogEntry) error {
	if err := s.Store.AppendLog(ctx, entries...); err != nil {
		return err
	}
	s.t.Observe(entries...)
	return nil
}
