package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

// SweepStore is what a sweep reads and writes.
type SweepStore interface {
	LinkStore
	ListLinks(ctx context.Context, direction string, fn func(galsync.Link) error) error
	SaveRoundPage(ctx context.Context, p galsync.RoundPage) error
	RoundPages(ctx context.Context, direction, round string) ([]galsync.RoundPage, error)
	DeleteRound(ctx context.Context, direction, round string) error
	GetDirectionState(ctx context.Context, direction string) (galsync.DirectionState, error)
	PutDirectionState(ctx context.Context, s galsync.DirectionState) (galsync.DirectionState, error)
}

// TargetLister pages through a target tenant's users.
type TargetLister interface {
	ListUsers(ctx context.Context, tenant, link string, selectAttrs []string) ([]galsync.TargetUser, string, error)
}

// Sweeper is the reconciliation sweep: it compares every linked guest with
// its desired state and sends work only for the guests that differ, so what
// no event reported (a guest edited in the target, a lost update, a guest
// deleted in the target) is repaired. It reads the target a page of up to
// 999 users at a time with $select of the mapped properties, never one GET
// per user, and writes nothing to Graph itself: the update worker does,
// as for any other item.
type Sweeper struct {
	Directions Catalog
	Store      SweepStore
	Graph      TargetLister
	Queue      queue.Sender
	// Managers reads guests' managers, 20 to a JSON batch, for directions
	// that map the manager (nil: managers are not compared).
	Managers ManagerReader
	Now      galsync.Clock
	// Budget bounds one invocation; a longer sweep continues in a
	// follow-up message.
	Budget time.Duration
	Logger *slog.Logger
}

// SweepResult counts what a sweep did.
type SweepResult struct {
	// Round names the sweep's round.
	Round       string
	Pages, Read int
	// Drifted guests differ from their desired state; Missing are linked
	// guests the target no longer lists; Conflicts are looked at again.
	Drifted, Missing, Conflicts int
	// PendingAcceptance: linked guests that have not redeemed their
	// invitation.
	PendingAcceptance   int
	Finished, Continued bool
	// Superseded: the round was replaced by a newer one, or has finished
	// already; this invocation stopped.
	Superseded bool
}

// Sweep runs (or continues) a sweep of req.Direction. A failure after it
// has read a page is a *ResumeError naming the continuation from where it
// stood, so the Retrier's retry (or put-off) does not read the target from
// its first page again.
func (s *Sweeper) Sweep(ctx context.Context, req galsync.PullRequest, invocationID string) (SweepResult, error) {
	var res SweepResult
	d, err := s.Directions.Get(req.Direction)
	if err != nil {
		return res, err
	}
	cur, current, err := s.begin(ctx, d, req)
	res.Round = cur.Round
	if err != nil || !current {
		res.Superseded = err == nil
		return res, err
	}
	index, err := s.index(ctx, d)
	if err != nil {
		return res, err
	}
	managers, err := s.managerIndex(ctx, d)
	if err != nil {
		return res, err
	}
	started := s.Now()
	for !cur.Read() {
		if cur, err = s.sweepPage(ctx, d, cur, index, managers, &res); err != nil {
			return res, s.resumable(d, cur, res, err)
		}
		if current, err := s.current(ctx, d, cur.Round); err != nil || !current {
			return s.superseded(ctx, d, cur, res, err)
		}
		if !cur.Read() && s.Budget > 0 && s.Now().Sub(started) > s.Budget {
			m, err := sweepContinuation(d.Name, cur, s.Now())
			if err == nil {
				err = continueLater(ctx, s.Queue, "sweep "+d.Name, m)
			}
			res.Continued = err == nil
			return res, s.resumable(d, cur, res, err)
		}
	}
	pages, err := s.Store.RoundPages(ctx, d.Name, cur.Round)
	if err != nil {
		return res, s.resumable(d, cur, res, fmt.Errorf("sweep %s: read pages: %w", d.Name, err))
	}
	// A round replaced while its pages were read may have lost some to the
	// new round, and would take their guests for missing. The new round
	// records itself before it deletes, so a check after the read sees it.
	if current, err := s.current(ctx, d, cur.Round); err != nil || !current {
		return s.superseded(ctx, d, cur, res, err)
	}
	if err := s.finish(ctx, d, cur.Round, pages, index, &res, invocationID); err != nil {
		return res, s.resumable(d, cur, res, err)
	}
	return res, nil
}

// sweepPage reads the page at cur, sends work for its guests that differ
// and saves what it saw; it returns the cursor of the next page.
func (s *Sweeper) sweepPage(ctx context.Context, d *Direction, cur galsync.SweepCursor, index map[string]sweepEntry, managers managerIndex, res *SweepResult) (galsync.SweepCursor, error) {
	users, next, err := s.Graph.ListUsers(ctx, d.Target.Name, cur.Link, d.Rules.TargetSelect())
	if err != nil {
		return cur, fmt.Errorf("sweep %s: read target: %w", d.Name, err)
	}
	seen, drifted, err := s.comparePage(ctx, d, index, users, managers)
	if err != nil {
		return cur, err
	}
	if err := s.send(ctx, d, galsync.QueueUpdates, cur.Round, drifted); err != nil {
		return cur, err
	}
	page := galsync.RoundPage{Direction: d.Name, Round: cur.Round, Page: cur.Page, Seen: seen, Read: len(users), Drifted: len(drifted)}
	for _, u := range users {
		if _, linked := index[u.ID]; linked && u.ExternalUserState == "PendingAcceptance" {
			page.PendingAcceptance++
		}
	}
	if err := s.Store.SaveRoundPage(ctx, page); err != nil {
		return cur, fmt.Errorf("sweep %s: save page: %w", d.Name, err)
	}
	res.Pages++
	res.Read += page.Read
	res.Drifted += page.Drifted
	res.PendingAcceptance += page.PendingAcceptance
	return galsync.SweepCursor{Round: cur.Round, Link: next, Page: cur.Page + 1}, nil
}

// sweepEntry is what the sweep keeps of a link: enough to find it again.
type sweepEntry struct {
	source string
	state  galsync.LinkState
}

// index maps the target id of every linked guest to its source user. It
// holds ids only, so a sweep's memory grows by tens of bytes per guest.
func (s *Sweeper) index(ctx context.Context, d *Direction) (map[string]sweepEntry, error) {
	index := map[string]sweepEntry{}
	err := s.Store.ListLinks(ctx, d.Name, func(l galsync.Link) error {
		switch {
		case l.HasGuest():
			index[l.TargetUserID] = sweepEntry{source: l.SourceUserID, state: l.State}
		case l.State == galsync.LinkConflict:
			index["conflict:"+l.SourceUserID] = sweepEntry{source: l.SourceUserID, state: l.State}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sweep %s: list links: %w", d.Name, err)
	}
	return index, nil
}

// comparePage compares the page's linked guests with their desired state
// and returns the ids it saw and the items for the guests that differ.
func (s *Sweeper) comparePage(ctx context.Context, d *Direction, index map[string]sweepEntry, users []galsync.TargetUser, managers managerIndex) ([]string, []galsync.WorkItem, error) {
	var seen []string
	var drifted []galsync.WorkItem
	var settled []galsync.Link
	for _, u := range users {
		e, ok := index[u.ID]
		if !ok {
			continue
		}
		seen = append(seen, u.ID)
		if e.state != galsync.LinkActive {
			continue // a retired guest is left as retired
		}
		link, err := s.Store.GetLink(ctx, d.Name, e.source)
		if errors.Is(err, galsync.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("sweep %s: read link: %w", d.Name, err)
		}
		if !link.HasGuest() || link.TargetUserID != u.ID || link.State != galsync.LinkActive {
			continue
		}
		if len(link.Source) > 0 {
			if in, _ := d.Rules.InScope(galsync.SourceUser{ID: link.SourceUserID, Attributes: link.Source}); !in {
				continue // the pull retires it
			}
			p := planReconcile(d, link, u, link.Source)
			// A guest the target disabled is sent once, for the update
			// worker to record it (Link.DisabledInTargetAt) and report it.
			if len(p.changes) == 0 && !p.addressList && (!p.blocked || !link.DisabledInTargetAt.IsZero()) {
				settled = append(settled, link)
				continue
			}
		}
		drifted = append(drifted, reconcileItem(d, link))
	}
	// Guests whose attributes match may still have the wrong manager.
	wrong, err := s.managerDrift(ctx, d, managers, settled)
	if err != nil {
		return nil, nil, err
	}
	return seen, append(drifted, wrong...), nil
}

func reconcileItem(d *Direction, l galsync.Link) galsync.WorkItem {
	return galsync.WorkItem{Direction: d.Name, SourceUserID: l.SourceUserID, Seq: l.SourceSeq, Kind: galsync.WorkReconcile, Source: l.Source}
}

// send sends the sweep's items under its round: each round's repairs pass
// the queue's duplicate detection, copies within a round do not (see
// galsync.WorkItem.MessageID).
func (s *Sweeper) send(ctx context.Context, d *Direction, queueName, round string, items []galsync.WorkItem) error {
	for i := range items {
		items[i].Round = round
	}
	if err := sendItems(ctx, s.Queue, queueName, items); err != nil {
		return fmt.Errorf("sweep %s: %w", d.Name, err)
	}
	return nil
}

// finish sends work for the linked guests the round's pages did not list
// (deleted in the target, unless invited so recently that they may not
// show yet) and for the conflicts, records what needs an operator's
// attention and that the round has finished, and drops the round's pages.
// Each step can be done again: a retry of the round's end sends the same
// items under the same ids.
func (s *Sweeper) finish(ctx context.Context, d *Direction, round string, pages []galsync.RoundPage, index map[string]sweepEntry, res *SweepResult, invocationID string) error {
	// The round's counts: its pages may have been read by many invocations.
	var total galsync.RoundPage
	for _, p := range pages {
		for _, id := range p.Seen {
			delete(index, id)
		}
		total.Read += p.Read
		total.Drifted += p.Drifted
		total.PendingAcceptance += p.PendingAcceptance
	}
	var missing, conflicts []galsync.WorkItem
	for _, key := range slices.Sorted(maps.Keys(index)) {
		e := index[key]
		link, err := s.Store.GetLink(ctx, d.Name, e.source)
		if errors.Is(err, galsync.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sweep %s: read link: %w", d.Name, err)
		}
		switch {
		case link.State == galsync.LinkConflict:
			conflicts = append(conflicts, reconcileItem(d, link))
		case link.State == galsync.LinkActive && s.Now().Sub(link.InvitedAt) > DefaultReplicationGrace:
			missing = append(missing, reconcileItem(d, link))
		}
	}
	if err := s.send(ctx, d, galsync.QueueUpdates, round, missing); err != nil {
		return err
	}
	if err := s.send(ctx, d, galsync.QueueInvites, round, conflicts); err != nil {
		return err
	}
	res.Missing, res.Conflicts, res.Finished = len(missing), len(conflicts), true
	if err := s.verifyGroups(ctx, d, round); err != nil {
		return err
	}
	if err := s.recordAttention(ctx, d, round, galsync.Attention{Drifted: total.Drifted, Missing: len(missing),
		PendingAcceptance: total.PendingAcceptance}); err != nil {
		return err
	}
	if err := s.Store.DeleteRound(ctx, d.Name, round); err != nil {
		// The next round deletes them (SweepRound.Replaces).
		s.Logger.Warn("sweep: could not delete its pages", "direction", d.Name, "round", round, "err", err)
	}
	return s.Store.AppendLog(ctx, galsync.LogEntry{Time: s.Now(), Direction: d.Name, Action: galsync.ActionSweep,
		Outcome: galsync.OutcomeSuccess, InvocationID: invocationID,
		Reason: fmt.Sprintf("read %d target user(s) in %d page(s): %d drifted, %d missing, %d conflict(s) looked at again",
			total.Read, len(pages), total.Drifted, res.Missing, res.Conflicts)})
}

// recordAttention keeps, on the direction's state, what the round found
// (att's counts) and what the links say needs an operator: refused
// attributes and conflicts. The status page shows it. The same write marks
// the round finished.
func (s *Sweeper) recordAttention(ctx context.Context, d *Direction, round string, att galsync.Attention) error {
	att.Refused, att.At = map[string]galsync.RefusedAttribute{}, s.Now()
	err := s.Store.ListLinks(ctx, d.Name, func(l galsync.Link) error {
		if l.State == galsync.LinkConflict {
			att.Conflicts++
			if len(att.ConflictSamples) < 10 {
				att.ConflictSamples = append(att.ConflictSamples, l.SourceUserID)
			}
		}
		if !l.ConvertedAt.IsZero() && l.HasGuest() {
			att.Converted++
		}
		if l.ManagerPending != "" && l.State == galsync.LinkActive {
			att.ManagersPending++
		}
		if !l.DisabledInTargetAt.IsZero() && l.State == galsync.LinkActive {
			att.DisabledInTarget++
		}
		for attr, r := range l.Refused {
			ra := att.Refused[attr]
			ra.Users++
			if ra.Message == "" {
				ra.Message = r.Message
			}
			att.Refused[attr] = ra
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sweep %s: list links: %w", d.Name, err)
	}
	return s.updateState(ctx, d, func(st *galsync.DirectionState) bool {
		st.Attention = &att
		if st.Sweep != nil && st.Sweep.Round == round {
			st.Sweep.FinishedAt = s.Now()
		}
		return true
	})
}

// DriftOf reports what reconciling a guest would change, for previews:
// the attribute names (managed ones included) and the action.
func DriftOf(d *Direction, link galsync.Link, target galsync.TargetUser) ([]string, string) {
	p := planReconcile(d, link, target, link.Source)
	names := slices.Sorted(maps.Keys(p.changes))
	if p.addressList {
		names = append(names, "showInAddressList")
	}
	return names, p.action
}
