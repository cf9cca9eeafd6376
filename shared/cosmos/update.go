package cosmos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/galsync/galsync/shared/galsync"
)

// DefaultAttempts is a sensible bound for Update: enough to ride out a
// burst of writers on one record, few enough to surface a hot spot.
const DefaultAttempts = 5

// Update is a read-modify-write of one ETag-guarded record with bounded
// retry. It reads the record with get, lets change modify it in place and
// writes it with put, guarded by the ETag it read. When the write loses to
// another writer (galsync.ErrConflict: HTTP 412, or 409 for two creates)
// it starts over from a fresh read, at most attempts tries in all, after a
// short, growing, jittered pause. A missing record reaches change as the
// zero value with an empty ETag, so change must set its keys and the write
// creates it. An error from change, get or put ends Update and is returned;
// after the last lost try the error wraps galsync.ErrConflict.
//
// It works over any store.Store method pair, e.g. for a cursor:
//
//	cur, err := cosmos.Update(ctx, cosmos.DefaultAttempts,
//		func(ctx context.Context) (galsync.Cursor, error) { return s.GetCursor(ctx, dir) },
//		s.PutCursor,
//		func(c *galsync.Cursor) error { c.Direction = dir; c.NextSeq++; return nil })
//
// Only use it where re-applying change to a newer record is right: the
// cursor advance of a delta round is not such a case (a lost advance means
// another puller moved the round on; the loser must stop, not overwrite).
func Update[T any](ctx context.Context, attempts int,
	get func(context.Context) (T, error), put func(context.Context, T) (T, error),
	change func(*T) error) (T, error) {
	var zero T
	attempts = max(attempts, 1)
	var lastErr error
	for try := range attempts {
		if try > 0 {
			if err := pause(ctx, try); err != nil {
				return zero, fmt.Errorf("update: %w (after %v)", err, lastErr)
			}
		}
		cur, err := get(ctx)
		if errors.Is(err, galsync.ErrNotFound) {
			cur, err = zero, nil
		}
		if err != nil {
			return zero, err
		}
		if err := change(&cur); err != nil {
			return zero, err
		}
		written, err := put(ctx, cur)
		if err == nil {
			return written, nil
		}
		if !errors.Is(err, galsync.ErrConflict) {
			return zero, err
		}
		lastErr = err
	}
	return zero, fmt.Errorf("update: gave up after %d tries: %w", attempts, lastErr)
}

// pause waits before try (1, 2, ...): 10ms doubling to at most 320ms, each
// drawn from its upper half so writers that collided spread out.
func pause(ctx context.Context, try int) error {
	d := 10 * time.Millisecond << min(try-1, 5)
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
