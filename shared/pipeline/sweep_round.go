package pipeline

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

// A sweep round may take many invocations: each reads pages of the target
// until its budget runs out and sends the rest on as a continuation that
// carries the cursor. The direction's state names its current round
// (galsync.SweepRound), so that:
//   - a newer request replaces the round under way and deletes its pages,
//     and the replaced round's messages, when they come, stop (and delete
//     any page they saved meanwhile);
//   - the request that began a round, delivered again, restarts that round
//     (what it sends again folds as duplicates), or does nothing once the
//     round has finished;
//   - a failure after a page was read is retried from the page where it
//     failed (a *ResumeError for the Retrier), not from the first.

// begin finds where the sweep of req stands. current is false when the
// round it belongs to was replaced by a newer one or has finished.
func (s *Sweeper) begin(ctx context.Context, d *Direction, req galsync.PullRequest) (cur galsync.SweepCursor, current bool, err error) {
	now := s.Now()
	if req.Sweep != nil {
		cur = *req.Sweep
		err = s.updateState(ctx, d, func(st *galsync.DirectionState) bool {
			if st.Sweep == nil {
				// Sent before rounds were recorded: it is the one under way.
				st.Sweep, current = &galsync.SweepRound{Round: cur.Round, StartedAt: now}, true
				return true
			}
			current = st.Sweep.Round == cur.Round && st.Sweep.FinishedAt.IsZero()
			return false
		})
		return cur, current, err
	}
	cur = galsync.SweepCursor{Round: sweepRound(req, now)}
	var replaces string
	err = s.updateState(ctx, d, func(st *galsync.DirectionState) bool {
		old := st.Sweep
		switch {
		case old != nil && old.Round == cur.Round:
			// Delivered again: the round starts over unless it finished.
			current, replaces = old.FinishedAt.IsZero(), old.Replaces
			return false
		case old != nil && !req.RequestedAt.IsZero() && req.RequestedAt.Before(old.RequestedAt):
			current = false // a newer request has begun a round since
			return false
		}
		current, replaces = true, ""
		if old != nil {
			replaces = old.Round
		}
		st.Sweep = &galsync.SweepRound{Round: cur.Round, RequestedAt: req.RequestedAt, StartedAt: now, Replaces: replaces}
		return true
	})
	if err != nil || !current || replaces == "" {
		return cur, current, err
	}
	// After the state names the new round: the replaced round, if still
	// running, then sees that it was replaced before it finishes.
	if err := s.Store.DeleteRound(ctx, d.Name, replaces); err != nil {
		return cur, current, fmt.Errorf("sweep %s: delete the pages of round %s: %w", d.Name, replaces, err)
	}
	return cur, current, nil
}

// current reports whether round is the direction's sweep round under way.
func (s *Sweeper) current(ctx context.Context, d *Direction, round string) (bool, error) {
	st, err := s.Store.GetDirectionState(ctx, d.Name)
	if err != nil && !errors.Is(err, galsync.ErrNotFound) {
		return false, fmt.Errorf("sweep %s: read direction state: %w", d.Name, err)
	}
	return st.Sweep != nil && st.Sweep.Round == round && st.Sweep.FinishedAt.IsZero(), nil
}

// superseded ends an invocation whose round is no longer current (or, with
// err, that could not tell): it deletes the pages it may have saved after
// the newer round deleted the others.
func (s *Sweeper) superseded(ctx context.Context, d *Direction, cur galsync.SweepCursor, res SweepResult, err error) (SweepResult, error) {
	if err != nil {
		return res, s.resumable(d, cur, res, err)
	}
	if err := s.Store.DeleteRound(ctx, d.Name, cur.Round); err != nil {
		return res, s.resumable(d, cur, res, fmt.Errorf("sweep %s: delete the pages of replaced round %s: %w", d.Name, cur.Round, err))
	}
	s.Logger.Info("sweep round replaced by a newer one, or finished; stopping", "direction", d.Name, "round", cur.Round)
	res.Superseded = true
	return res, nil
}

// resumable is err as the Retrier should settle it. Once this invocation
// has read a page, the message it was given starts too early: the
// continuation from cur goes in its place. nil stays nil.
func (s *Sweeper) resumable(d *Direction, cur galsync.SweepCursor, res SweepResult, err error) error {
	if err == nil || res.Pages == 0 {
		return err
	}
	next, merr := sweepContinuation(d.Name, cur, s.Now())
	if merr != nil {
		return errors.Join(err, merr)
	}
	return &ResumeError{Next: next, Err: err}
}

// updateState changes the direction's state under its ETag; change
// reports whether it changed anything to write.
func (s *Sweeper) updateState(ctx context.Context, d *Direction, change func(*galsync.DirectionState) bool) error {
	for try := 0; ; try++ {
		st, err := s.Store.GetDirectionState(ctx, d.Name)
		if err != nil && !errors.Is(err, galsync.ErrNotFound) {
			return fmt.Errorf("sweep %s: read direction state: %w", d.Name, err)
		}
		st.Direction = d.Name
		if !change(&st) {
			return nil
		}
		st.UpdatedAt = s.Now()
		_, err = s.Store.PutDirectionState(ctx, st)
		if errors.Is(err, galsync.ErrConflict) && try < 3 {
			continue
		}
		if err != nil {
			return fmt.Errorf("sweep %s: write direction state: %w", d.Name, err)
		}
		return nil
	}
}

// sweepRound names the round a sweep request starts. The request
// delivered again (a retry, a redelivery after a lost lock) names the same
// round, so what it sends again is dropped as a duplicate; a request that
// carries no time gets a round of its own.
func sweepRound(req galsync.PullRequest, now time.Time) string {
	if req.RequestedAt.IsZero() {
		return "sweep-" + newRoundID(now)
	}
	at := req.RequestedAt.UTC()
	sum := sha256.Sum256([]byte(req.Direction + "\x00" + req.Trigger + "\x00" + at.Format(time.RFC3339Nano)))
	return "sweep-" + roundID(at, [4]byte(sum[:4]))
}

// sweepContinuation is the request that carries a sweep on from cur. Its
// id names the round and the page, so a copy of it folds.
func sweepContinuation(dir string, cur galsync.SweepCursor, now time.Time) (queue.Message, error) {
	m, err := SweepMessage(dir, "continue", now)
	if err != nil {
		return m, err
	}
	body, err := encodeSweepContinuation(dir, cur, now)
	if err != nil {
		return m, err
	}
	m.Body, m.ID = body, queue.FitID(fmt.Sprintf("sweep:%s:%s:%d", dir, cur.Round, cur.Page))
	return m, nil
}
