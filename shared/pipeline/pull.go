package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/shared/store"
)

// Puller is delta-pull: for one direction it pages users/delta from the
// stored cursor, decides each change, enqueues the work, and only then
// advances the cursor (invariant 1: a crash re-reads, never skips). The
// cursor write is ETag-guarded, so of two concurrent pulls of a direction
// only one advances it; the other's messages are duplicates the queue and
// the workers absorb.
type Puller struct {
	Directions Catalog
	Store      store.Store
	Graph      DeltaReader
	Queue      queue.Sender
	Now        galsync.Clock
	// Budget bounds one invocation; a longer round continues in a
	// follow-up pull message.
	Budget time.Duration
	// Users, if set, completes partial delta entries: Graph may return only
	// the changed properties of an updated user ("at least the properties
	// that have been updated", delta-query-overview), and deciding scope on
	// a missing mail or accountEnabled would retire a guest by mistake. An
	// entry without accountEnabled (never null, and always selected) is
	// read in full first.
	Users UserReader
	// Groups reads the scope groups' changes (groups/delta) of directions
	// with scope.includeGroups.
	Groups GroupDeltaReader
	// Tracer gives each changed user a trace of its own; Metrics records
	// the pull lag. Nil: none.
	Tracer  ChangeTracer
	Metrics Metrics
	Logger  *slog.Logger
}

// partial reports a delta entry that lacks properties it was asked for.
func partial(u galsync.SourceUser) bool {
	if u.Removed != "" {
		return false
	}
	_, ok := u.Attributes["accountEnabled"]
	return !ok
}

// PullResult counts what one pull did.
type PullResult struct {
	Pages, Users                            int
	Invites, Updates, Deprovisions, Skipped int
	// Unchanged: users seen again exactly as their guests were reconciled.
	Unchanged int
	// SweepRequested: the direction's configuration changed since its
	// last round, so a sweep was asked for.
	SweepRequested                           bool
	RoundFinished, Resynced, Paused, Blocked bool
	// Continued: the budget ran out and a follow-up pull was enqueued.
	Continued bool
	// Superseded: another pull advanced the cursor first.
	Superseded bool
}

// Pull runs one pull request.
func (p *Puller) Pull(ctx context.Context, req galsync.PullRequest, invocationID string) (PullResult, error) {
	var res PullResult
	d, err := p.Directions.Get(req.Direction)
	if err != nil {
		return res, err
	}
	state, err := p.Store.GetDirectionState(ctx, d.Name)
	if err != nil && !errors.Is(err, galsync.ErrNotFound) {
		return res, fmt.Errorf("delta-pull %s: read direction state: %w", d.Name, err)
	}
	if state.Paused {
		// Paused by the accidental-deletion threshold: the cursor stays where
		// it is until an operator approves, so nothing is skipped.
		res.Blocked = true
		return res, nil
	}
	cur, err := p.loadCursor(ctx, d.Name)
	if err != nil {
		return res, err
	}
	if cur.Config != d.Rules.Fingerprint() {
		if cur.ETag != "" {
			// The mapping or the worker settings changed: every guest may
			// now differ from its desired state, and an incremental round
			// shows only users that changed in the source.
			if err := p.requestSweep(ctx, d, "configuration changed"); err != nil {
				return res, err
			}
			res.SweepRequested = true
		}
		cur.Config = d.Rules.Fingerprint()
	}
	if req.Mode == galsync.PullFull && !cur.Full {
		// A full round starts at a round's boundary; one in progress
		// finishes first and the next round is full.
		cur.FullRequested = true
	}
	if cur.FullRequested && cur.Page == 0 && cur.Link != "" {
		now := p.Now()
		cur.Link, cur.Full, cur.FullRequested = "", true, false
		cur.Round, cur.RoundStartedAt = newRoundID(now), now
		cur.LastResyncAt, cur.ResyncReason = now, "scheduled full round"
	}
	started := p.Now()
	if !req.RequestedAt.IsZero() {
		metricsOr(p.Metrics).PullLag(ctx, d.Name, started.Sub(req.RequestedAt))
	}
	scope, err := p.refreshScope(ctx, d)
	if err != nil {
		return res, err
	}
	if cur, err = p.scopeChanges(ctx, d, cur, scope, &res, invocationID); err != nil {
		if errors.Is(err, galsync.ErrConflict) {
			res.Superseded = true
			return res, nil
		}
		return res, err
	}
	if err := p.saveScope(ctx, d, scope); err != nil {
		return res, err
	}
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		page, err := p.Graph.DeltaPage(ctx, d.Source.Name, cur.Link, d.Rules.Select())
		if errors.Is(err, galsync.ErrDeltaExpired) {
			if cur, err = p.resync(ctx, d, cur, err, invocationID); err != nil {
				return res, err
			}
			res.Resynced = true
			continue
		}
		if err != nil {
			return res, fmt.Errorf("delta-pull %s: %w", d.Name, err)
		}
		next, err := p.processPage(ctx, d, cur, page, &res, invocationID, scope)
		if err != nil {
			return res, err
		}
		saved, err := p.Store.PutCursor(ctx, next)
		if errors.Is(err, galsync.ErrConflict) {
			res.Superseded = true
			p.Logger.Info("delta-pull superseded by a concurrent pull", "direction", d.Name, "invocation", invocationID)
			return res, nil
		}
		if err != nil {
			return res, fmt.Errorf("delta-pull %s: save cursor: %w", d.Name, err)
		}
		if page.DeltaLink != "" {
			if err := requestGroups(ctx, p.Queue, d, "pull", p.Now()); err != nil {
				return res, err
			}
			if cur.Round != next.Round {
				// The finished round's pages are no longer needed once the
				// cursor has moved past them.
				if err := p.Store.DeleteRound(ctx, d.Name, cur.Round); err != nil {
					p.Logger.Warn("delta-pull: could not delete finished round", "direction", d.Name, "err", err)
				}
			}
			return res, nil
		}
		cur = saved
		if p.Budget > 0 && p.Now().Sub(started) > p.Budget {
			m, err := continuationMessage(d.Name, cur, p.Now())
			if err == nil {
				err = continueLater(ctx, p.Queue, "delta-pull "+d.Name, m)
			}
			res.Continued = err == nil
			return res, err
		}
	}
}

// requestSweep asks for a sweep of the direction, once per configuration.
func (p *Puller) requestSweep(ctx context.Context, d *Direction, why string) error {
	m, err := SweepMessage(d.Name, why, p.Now())
	if err != nil {
		return err
	}
	m.ID = queue.FitID("sweep:" + d.Name + ":config:" + d.Rules.Fingerprint())
	if err := p.Queue.Send(ctx, galsync.QueuePulls, m); err != nil {
		return fmt.Errorf("delta-pull %s: request a sweep: %w", d.Name, err)
	}
	return nil
}

func (p *Puller) loadCursor(ctx context.Context, dir string) (galsync.Cursor, error) {
	cur, err := p.Store.GetCursor(ctx, dir)
	if errors.Is(err, galsync.ErrNotFound) {
		now := p.Now()
		return galsync.Cursor{Direction: dir, Full: true, Round: newRoundID(now), NextSeq: 1, RoundStartedAt: now}, nil
	}
	if err != nil {
		return cur, fmt.Errorf("delta-pull %s: read cursor: %w", dir, err)
	}
	return cur, nil
}

// resync starts a full round after Graph refused the delta token.
func (p *Puller) resync(ctx context.Context, d *Direction, cur galsync.Cursor, cause error, invocationID string) (galsync.Cursor, error) {
	if cur.Link == "" {
		// A fresh round was refused too: that is not an expired token.
		return cur, fmt.Errorf("delta-pull %s: full round refused: %w", d.Name, cause)
	}
	now := p.Now()
	p.Logger.Warn("delta token refused; starting a full resync", "direction", d.Name, "invocation", invocationID)
	cur.Link, cur.Full, cur.Page = "", true, 0
	cur.Round, cur.RoundStartedAt = newRoundID(now), now
	cur.LastResyncAt, cur.ResyncReason = now, cause.Error()
	if err := p.Store.AppendLog(ctx, galsync.LogEntry{Time: now, Direction: d.Name, Action: galsync.ActionResync,
		Outcome: galsync.OutcomeSuccess, Reason: cause.Error(), InvocationID: invocationID}); err != nil {
		return cur, fmt.Errorf("delta-pull %s: log resync: %w", d.Name, err)
	}
	saved, err := p.Store.PutCursor(ctx, cur)
	if err != nil {
		return cur, fmt.Errorf("delta-pull %s: save resync cursor: %w", d.Name, err)
	}
	return saved, nil
}

// continueLater sends m, the request that carries a pull or a sweep (what)
// on from where its invocation's budget ran out.
func continueLater(ctx context.Context, q queue.Sender, what string, m queue.Message) error {
	if err := q.Send(ctx, galsync.QueuePulls, m); err != nil {
		return fmt.Errorf("%s: enqueue continuation: %w", what, err)
	}
	return nil
}

// newRoundID names a round that begins now, with four random bytes.
func newRoundID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return roundID(now, b)
}

// roundID names a round by when it began and four bytes of its own.
func roundID(at time.Time, tag [4]byte) string {
	return at.UTC().Format("20060102T150405") + "-" + hex.EncodeToString(tag[:])
}

// skipEntry is the provisioning-log line of a user the pull does not sync.
func skipEntry(now time.Time, dir, src, reason, invocationID string) galsync.LogEntry {
	return galsync.LogEntry{Time: now, Direction: dir, SourceUserID: src, Action: galsync.ActionSkip,
		Outcome: galsync.OutcomeSkipped, Reason: reason, InvocationID: invocationID}
}
