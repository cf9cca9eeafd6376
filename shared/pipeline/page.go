package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/shared/syncplan"
)

// processPage decides every user of a page, enqueues the upserts, keeps the
// page's deprovisions and seen ids for the round's end, and returns the
// cursor to save once all of that is durable.
func (p *Puller) processPage(ctx context.Context, d *Direction, cur galsync.Cursor, page galsync.DeltaPage, res *PullResult, invocationID string, scope *scopeMembers) (galsync.Cursor, error) {
	if page.NextLink == "" && page.DeltaLink == "" {
		return cur, fmt.Errorf("delta-pull %s: Graph returned a page with neither nextLink nor deltaLink", d.Name)
	}
	now := p.Now()
	next := cur
	var invites, updates []galsync.WorkItem
	var skips []galsync.LogEntry
	rp := galsync.RoundPage{Direction: d.Name, Round: cur.Round, Page: cur.Page}
	for _, u := range latestPerUser(page.Users) {
		if u.ID == "" {
			skips = append(skips, skipEntry(now, d.Name, "", "delta entry without id", invocationID))
			continue
		}
		if p.Users != nil && partial(u) {
			full, err := p.Users.GetUser(ctx, d.Source.Name, u.ID, d.Rules.Select())
			switch {
			case err == nil:
				u = full
			case errors.Is(err, galsync.ErrNotFound):
				// Gone since: its removal arrives in a later delta entry.
				skips = append(skips, skipEntry(now, d.Name, u.ID, "partial delta entry of a user no longer readable", invocationID))
				continue
			default:
				return cur, fmt.Errorf("delta-pull %s: complete a partial delta entry: %w", d.Name, err)
			}
		}
		var link *galsync.Link
		l, err := p.Store.GetLink(ctx, d.Name, u.ID)
		switch {
		case err == nil:
			link = &l
		case !errors.Is(err, galsync.ErrNotFound):
			return cur, fmt.Errorf("delta-pull %s: read link: %w", d.Name, err)
		}
		if u.Removed == "" {
			rp.Seen = append(rp.Seen, u.ID)
		}
		carryManager(d, cur, link, &u)
		scope.mark(d, &u)
		dec := d.Rules.Decide(u, link)
		if dec.Verdict != syncplan.VerdictSkip && unchanged(d, link, u) {
			res.Unchanged++
			continue
		}
		dec.Item.Seq = next.NextSeq
		next.NextSeq++
		switch dec.Verdict {
		case syncplan.VerdictInvite:
			invites = append(invites, dec.Item)
		case syncplan.VerdictUpdate:
			updates = append(updates, dec.Item)
		case syncplan.VerdictDeprovision:
			rp.Deprovisions = append(rp.Deprovisions, dec.Item)
		default:
			if retire, ok := unguestedRetirement(d, link, dec); ok {
				updates = append(updates, retire)
			}
			skips = append(skips, skipEntry(now, d.Name, u.ID, dec.Reason, invocationID))
		}
	}
	res.Pages++
	res.Users += len(page.Users)
	res.Invites += len(invites)
	res.Updates += len(updates)
	res.Skipped += len(skips)
	if err := p.sendChanges(ctx, galsync.QueueInvites, invites); err != nil {
		return cur, fmt.Errorf("delta-pull %s: %w", d.Name, err)
	}
	if err := p.sendChanges(ctx, galsync.QueueUpdates, updates); err != nil {
		return cur, fmt.Errorf("delta-pull %s: %w", d.Name, err)
	}
	if len(rp.Seen) > 0 && cur.Full || len(rp.Deprovisions) > 0 {
		if !cur.Full {
			rp.Seen = nil
		}
		if err := p.Store.SaveRoundPage(ctx, rp); err != nil {
			return cur, fmt.Errorf("delta-pull %s: save round page: %w", d.Name, err)
		}
	}
	if err := p.Store.AppendLog(ctx, skips...); err != nil {
		return cur, fmt.Errorf("delta-pull %s: log skips: %w", d.Name, err)
	}
	next.Page++
	next.UpdatedAt = now
	if page.NextLink != "" {
		next.Link = page.NextLink
		return next, nil
	}
	if err := p.finishRound(ctx, d, &next, res, invocationID); err != nil {
		return cur, err
	}
	next.Link, next.DeltaObtainedAt = page.DeltaLink, now
	next.Full, next.Page = false, 0
	next.Round, next.RoundStartedAt = newRoundID(now), now
	res.RoundFinished = true
	return next, nil
}

// sendChanges sends one message per changed user, each the start of that
// change's own trace.
func (p *Puller) sendChanges(ctx context.Context, queueName string, items []galsync.WorkItem) error {
	if len(items) == 0 {
		return nil
	}
	tr := tracesOr(p.Tracer)
	msgs := make([]queue.Message, 0, len(items))
	for _, it := range items {
		m, err := WorkMessage(it)
		if err != nil {
			return err
		}
		cctx, end := tr.StartChange(ctx, it.Direction, it.SourceUserID)
		m.Properties = tr.Inject(cctx, m.Properties)
		end()
		msgs = append(msgs, m)
	}
	if err := p.Queue.Send(ctx, queueName, msgs...); err != nil {
		return fmt.Errorf("pipeline: send %d item(s) to %s: %w", len(msgs), queueName, err)
	}
	return nil
}

// unchanged reports a user whose guest was reconciled with exactly this
// source state under the current configuration (or whose conflict was
// recorded for it): a full round sees every user, and most have not
// changed. What drifted in the target meanwhile is the sweep's to find.
func unchanged(d *Direction, link *galsync.Link, u galsync.SourceUser) bool {
	if link == nil || u.Removed != "" || !link.Source.Equal(galsync.Snapshot(u.Attributes)) {
		return false
	}
	if link.State == galsync.LinkConflict {
		return true
	}
	return link.HasGuest() && link.State == galsync.LinkActive && link.ReconciledSeq == link.SourceSeq &&
		link.ReconciledConfig == d.Rules.Fingerprint()
}

// carryManager completes an entry's manager. users/delta names the
// manager (manager@delta) when it changed, and in a full round for every
// user that has one; an entry of an incremental round without it leaves
// the manager as it was, an entry of a full round without it has none.
func carryManager(d *Direction, cur galsync.Cursor, link *galsync.Link, u *galsync.SourceUser) {
	if !d.Rules.MapsManager() || u.Removed != "" || u.Attributes == nil {
		return
	}
	if _, ok := u.Attributes[syncplan.ManagerAttribute]; ok {
		return
	}
	var prev any
	if !cur.Full && link != nil {
		prev = link.Source[syncplan.ManagerAttribute]
	}
	u.Attributes[syncplan.ManagerAttribute] = prev
}

// latestPerUser keeps the last occurrence of each user: Graph may return a
// user more than once in a round, and the later entry is the newer state.
func latestPerUser(users []galsync.SourceUser) []galsync.SourceUser {
	last := make(map[string]int, len(users))
	for i, u := range users {
		last[u.ID] = i
	}
	out := make([]galsync.SourceUser, 0, len(last))
	for i, u := range users {
		if last[u.ID] == i {
			out = append(out, u)
		}
	}
	return out
}

// finishRound gathers the round's deprovisions (plus, after a full round,
// every live link whose user was not seen), and either enqueues them or, past
// the accidental-deletion threshold, pauses the direction and holds them.
func (p *Puller) finishRound(ctx context.Context, d *Direction, cur *galsync.Cursor, res *PullResult, invocationID string) error {
	pages, err := p.Store.RoundPages(ctx, d.Name, cur.Round)
	if err != nil {
		return fmt.Errorf("delta-pull %s: read round pages: %w", d.Name, err)
	}
	seen := map[string]bool{}
	byUser := map[string]galsync.WorkItem{}
	for _, pg := range pages {
		for _, id := range pg.Seen {
			seen[id] = true
		}
		for _, it := range pg.Deprovisions {
			if old, ok := byUser[it.SourceUserID]; !ok || it.Seq > old.Seq {
				byUser[it.SourceUserID] = it
			}
		}
	}
	live, missing, states := 0, []galsync.Link{}, map[string]galsync.LinkState{}
	err = p.Store.ListLinks(ctx, d.Name, func(l galsync.Link) error {
		states[l.SourceUserID] = l.State
		if l.Live() {
			live++
		}
		if cur.Full && !seen[l.SourceUserID] && l.State != galsync.LinkDeleted {
			missing = append(missing, l)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delta-pull %s: list links: %w", d.Name, err)
	}
	// Sorted, so a re-run after a crash numbers the same users the same way.
	slices.SortFunc(missing, func(a, b galsync.Link) int { return cmpString(a.SourceUserID, b.SourceUserID) })
	for _, l := range missing {
		if _, ok := byUser[l.SourceUserID]; ok {
			continue
		}
		if action, _ := syncplan.DeprovisionAction(d.Deprovision.Action, l.State); action == "" {
			continue
		}
		byUser[l.SourceUserID] = galsync.WorkItem{Direction: d.Name, SourceUserID: l.SourceUserID, Seq: cur.NextSeq,
			Kind: galsync.WorkDeprovision, Reason: syncplan.ReasonNotSeen}
		cur.NextSeq++
	}
	items := make([]galsync.WorkItem, 0, len(byUser))
	for _, it := range byUser {
		// Drop what is already done: a round finished again after a crash
		// (or after an approval) must not count retired guests twice.
		if action, _ := syncplan.DeprovisionAction(d.Deprovision.Action, states[it.SourceUserID]); action != "" {
			items = append(items, it)
		}
	}
	slices.SortFunc(items, func(a, b galsync.WorkItem) int { return int(a.Seq - b.Seq) })
	if len(items) == 0 {
		return nil
	}
	if d.Deprovision.Threshold.Exceeded(len(items), live) {
		res.Paused = true
		return p.pause(ctx, d, items, live, invocationID)
	}
	res.Deprovisions += len(items)
	if err := sendItems(ctx, p.Queue, galsync.QueueUpdates, items); err != nil {
		return fmt.Errorf("delta-pull %s: %w", d.Name, err)
	}
	return nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// mergeHeld adds items to the held batch, one per user (the newest): two
// pulls finishing the same round concurrently, or a round finished again
// after a crash, must not hold a user twice.
func mergeHeld(held, items []galsync.WorkItem) []galsync.WorkItem {
	at := make(map[string]int, len(held))
	for i, it := range held {
		at[it.SourceUserID] = i
	}
	for _, it := range items {
		if i, ok := at[it.SourceUserID]; ok {
			if it.Seq > held[i].Seq {
				held[i] = it
			}
			continue
		}
		at[it.SourceUserID] = len(held)
		held = append(held, it)
	}
	return held
}

// pause holds a round's deprovisions for approval and stops the direction.
// The held items go into pages of their own, keyed by their first sequence
// number, before the pause is saved: a crash in between leaves the cursor
// unsaved, so the round's end runs again and saves the same pages again.
func (p *Puller) pause(ctx context.Context, d *Direction, items []galsync.WorkItem, live int, invocationID string) error {
	now := p.Now()
	reason := fmt.Sprintf("%d deprovisions in one round exceed the accidental-deletion threshold (count %d, percent %g of %d live guests); approve to release them",
		len(items), d.Deprovision.Threshold.Count, d.Deprovision.Threshold.Percent, live)
	items = mergeHeld(nil, items) // keeps the caller's sequence order
	pages, err := heldPages(d.Name, items)
	if err != nil {
		return fmt.Errorf("delta-pull %s: pause: %w", d.Name, err)
	}
	for _, pg := range pages {
		if err := p.Store.SaveHeld(ctx, pg); err != nil {
			return fmt.Errorf("delta-pull %s: pause: hold deprovisions: %w", d.Name, err)
		}
	}
	st, err := p.Store.GetDirectionState(ctx, d.Name)
	if err != nil && !errors.Is(err, galsync.ErrNotFound) {
		return fmt.Errorf("delta-pull %s: read direction state: %w", d.Name, err)
	}
	held := len(items)
	if st.Paused {
		// Paused already (two pulls finished the round at once): count
		// what the pages hold now.
		if held, err = countHeld(ctx, p.Store, d.Name); err != nil {
			return fmt.Errorf("delta-pull %s: pause: %w", d.Name, err)
		}
	}
	st.Direction, st.Paused, st.PausedAt, st.PauseReason, st.HeldCount, st.UpdatedAt = d.Name, true, now, reason, held, now
	if _, err := p.Store.PutDirectionState(ctx, st); err != nil {
		return fmt.Errorf("delta-pull %s: pause: %w", d.Name, err)
	}
	p.Logger.Warn("direction paused by the accidental-deletion threshold", "direction", d.Name, "held", held, "live", live)
	return p.Store.AppendLog(ctx, galsync.LogEntry{Time: now, Direction: d.Name, Action: galsync.ActionPause,
		Outcome: galsync.OutcomeSkipped, Reason: reason, InvocationID: invocationID})
}

// unguestedRetirement is the deprovision item that records, on a link
// without a guest, that its user left scope or was removed (dec, a skip):
// an invitation still to come for it (a scheduled retry after a failed
// invitation, a replay, a claim in progress) is then stale and invites no
// one. Sent only when the link has seen the user in scope since its last
// retirement; the update worker writes nothing to Graph for it, and it is
// not a deprovisioning the threshold counts.
func unguestedRetirement(d *Direction, link *galsync.Link, dec syncplan.Decision) (galsync.WorkItem, bool) {
	if link == nil || link.HasGuest() || link.RetiredSeq >= link.SourceSeq {
		return galsync.WorkItem{}, false
	}
	return galsync.WorkItem{Direction: d.Name, SourceUserID: link.SourceUserID, Kind: galsync.WorkDeprovision,
		Seq: dec.Item.Seq, Reason: dec.Reason}, true
}
