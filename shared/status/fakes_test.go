package status

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

// fakeStore holds the records a test sets; a non-nil error field fails
// that read.
type fakeStore struct {
	cursors   map[string]galsync.Cursor
	states    map[string]galsync.DirectionState
	subs      []galsync.Subscription
	log       []galsync.LogEntry
	cursorErr error
	stateErr  error
	subsErr   error
	logErr    error
	queries   []galsync.LogQuery
	pairs     map[string][]galsync.GroupPair // by direction
}

func (f *fakeStore) GetCursor(_ context.Context, dir string) (galsync.Cursor, error) {
	if f.cursorErr != nil {
		return galsync.Cursor{}, f.cursorErr
	}
	c, ok := f.cursors[dir]
	if !ok {
		return c, fmt.Errorf("fake: cursor %s: %w", dir, galsync.ErrNotFound)
	}
	return c, nil
}

func (f *fakeStore) GetDirectionState(_ context.Context, dir string) (galsync.DirectionState, error) {
	if f.stateErr != nil {
		return galsync.DirectionState{}, f.stateErr
	}
	s, ok := f.states[dir]
	if !ok {
		return s, fmt.Errorf("fake: state %s: %w", dir, galsync.ErrNotFound)
	}
	return s, nil
}

func (f *fakeStore) ListGroupPairs(_ context.Context, dir string) ([]galsync.GroupPair, error) {
	return f.pairs[dir], nil
}

func (f *fakeStore) ListSubscriptions(context.Context) ([]galsync.Subscription, error) {
	return f.subs, f.subsErr
}

// QueryLog filters as the store port says: oldest first, at most Limit.
func (f *fakeStore) QueryLog(_ context.Context, q galsync.LogQuery) ([]galsync.LogEntry, error) {
	f.queries = append(f.queries, q)
	if f.logErr != nil {
		return nil, f.logErr
	}
	var out []galsync.LogEntry
	for _, e := range f.log {
		if (q.Direction == "" || e.Direction == q.Direction) && (q.Action == "" || e.Action == q.Action) && !e.Time.Before(q.Since) {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b galsync.LogEntry) int { return a.Time.Compare(b.Time) })
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// fakeQueue holds messages per queue name (dead-letter subqueues
// included) with increasing sequence numbers, and peeks as Service Bus
// does: from a sequence number on, at most max.
type fakeQueue struct {
	msgs  map[string][]queue.Delivery
	seq   int64
	err   map[string]error
	peeks atomic.Int64
}

func (f *fakeQueue) add(name, direction string, n int) {
	if f.msgs == nil {
		f.msgs = map[string][]queue.Delivery{}
	}
	for range n {
		f.seq += 3 // gaps, as in a queue whose messages were completed
		f.msgs[name] = append(f.msgs[name], queue.Delivery{Queue: name, SequenceNumber: f.seq,
			Message: queue.Message{ID: fmt.Sprintf("m%d", f.seq), Properties: map[string]string{queue.PropDirection: direction}}})
	}
}

func (f *fakeQueue) Peek(_ context.Context, name string, from int64, limit int) ([]queue.Delivery, error) {
	f.peeks.Add(1)
	if err := f.err[name]; err != nil {
		return nil, err
	}
	var out []queue.Delivery
	for _, d := range f.msgs[name] {
		if d.SequenceNumber >= from && len(out) < limit {
			out = append(out, d)
		}
	}
	return out, nil
}

// fixed is a clock stopped at t.
func fixed(t time.Time) galsync.Clock { return func() time.Time { return t } }
