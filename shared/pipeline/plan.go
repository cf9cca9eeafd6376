package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/syncplan"
)

// PlanStore is what a preview reads: links only. It writes nothing.
type PlanStore interface {
	GetLink(ctx context.Context, direction, sourceUserID string) (galsync.Link, error)
	ListLinks(ctx context.Context, direction string, fn func(galsync.Link) error) error
}

// PlanDirectory is what a preview reads from Graph: a full users/delta
// round of the source (a fresh round, not the stored cursor) and, for
// users without a guest, a lookup by address in the target.
type PlanDirectory interface {
	DeltaPage(ctx context.Context, tenant, link string, selectAttrs []string) (galsync.DeltaPage, error)
	FindUserByMail(ctx context.Context, tenant, mail string, selectAttrs []string) (galsync.TargetUser, error)
}

// Planner computes what a full sync of a direction would do now, like a
// MIM preview: it reads the whole source and the links, decides every user
// as delta-pull and the workers would, and writes nothing anywhere.
type Planner struct {
	Directions Catalog
	Store      PlanStore
	Graph      PlanDirectory
}

// Planned actions beyond the galsync.Action* ones.
const (
	PlanUnchanged = "unchanged" // a guest that already matches
	PlanConflict  = "conflict"  // an internal user in the target holds the address
)

// PlannedAction is what a sync would do to one user.
type PlannedAction struct {
	SourceUserID string `json:"sourceUserId"`
	TargetUserID string `json:"targetUserId,omitempty"`
	// Action is invite, join, update, reenable, disable, delete, skip,
	// unchanged or conflict.
	Action string `json:"action"`
	Reason string `json:"reason,omitempty"`
	// Attributes an update would change (names only).
	Attributes []string `json:"attributes,omitempty"`
}

// Plan is a preview of a direction.
type Plan struct {
	Direction string `json:"direction"`
	// Users is how many source users the round listed; Guests how many
	// links are live.
	Users  int `json:"users"`
	Guests int `json:"guests"`
	// Counts by action; Reasons counts skips and deprovisions by reason.
	Counts  map[string]int `json:"counts"`
	Reasons map[string]int `json:"reasons"`
	// WouldPause: the deprovisions exceed the direction's threshold, so a
	// sync would hold them for approval instead.
	WouldPause bool            `json:"wouldPause"`
	Actions    []PlannedAction `json:"actions"`
}

// Samples returns up to n planned actions of each kind.
func (p Plan) Samples(n int) map[string][]PlannedAction {
	out := map[string][]PlannedAction{}
	for _, a := range p.Actions {
		if len(out[a.Action]) < n {
			out[a.Action] = append(out[a.Action], a)
		}
	}
	return out
}

// Plan previews direction.
func (pl *Planner) Plan(ctx context.Context, direction string) (Plan, error) {
	d, err := pl.Directions.Get(direction)
	if err != nil {
		return Plan{}, err
	}
	plan := Plan{Direction: d.Name, Counts: map[string]int{}, Reasons: map[string]int{}}
	links := map[string]galsync.Link{}
	if err := pl.Store.ListLinks(ctx, d.Name, func(l galsync.Link) error {
		links[l.SourceUserID] = l
		if l.Live() {
			plan.Guests++
		}
		return nil
	}); err != nil {
		return plan, fmt.Errorf("plan %s: list links: %w", d.Name, err)
	}
	seen := map[string]bool{}
	var deprovisions int
	add := func(a PlannedAction) {
		plan.Actions = append(plan.Actions, a)
		plan.Counts[a.Action]++
		if a.Reason != "" && (a.Action == galsync.ActionSkip || a.Action == galsync.ActionDisable || a.Action == galsync.ActionDelete) {
			plan.Reasons[a.Reason]++
		}
		if a.Action == galsync.ActionDisable || a.Action == galsync.ActionDelete {
			deprovisions++
		}
	}
	var users []galsync.SourceUser
	for link := ""; ; {
		page, err := pl.Graph.DeltaPage(ctx, d.Source.Name, link, d.Rules.Select())
		if err != nil {
			return plan, fmt.Errorf("plan %s: read source: %w", d.Name, err)
		}
		users = append(users, page.Users...)
		if page.NextLink == "" {
			break
		}
		link = page.NextLink
	}
	for _, u := range latestPerUser(users) {
		if u.ID == "" {
			continue
		}
		plan.Users++
		if u.Removed == "" {
			seen[u.ID] = true
		}
		var lp *galsync.Link
		if l, ok := links[u.ID]; ok {
			lp = &l
		}
		a, err := pl.decide(ctx, d, u, lp)
		if err != nil {
			return plan, err
		}
		add(a)
	}
	// The full round's sweep: live guests whose source user is gone.
	for _, id := range slices.Sorted(maps.Keys(links)) {
		l := links[id]
		if seen[id] || l.State == galsync.LinkDeleted {
			continue
		}
		if action, _ := syncplan.DeprovisionAction(d.Deprovision.Action, l.State); action != "" {
			add(PlannedAction{SourceUserID: id, TargetUserID: l.TargetUserID, Action: action, Reason: syncplan.ReasonNotSeen})
		}
	}
	plan.WouldPause = d.Deprovision.Threshold.Exceeded(deprovisions, plan.Guests)
	return plan, nil
}

func (pl *Planner) decide(ctx context.Context, d *Direction, u galsync.SourceUser, link *galsync.Link) (PlannedAction, error) {
	a := PlannedAction{SourceUserID: u.ID}
	if link != nil {
		a.TargetUserID = link.TargetUserID
	}
	dec := d.Rules.Decide(u, link)
	switch dec.Verdict {
	case syncplan.VerdictSkip:
		a.Action, a.Reason = galsync.ActionSkip, dec.Reason
	case syncplan.VerdictDeprovision:
		action, why := syncplan.DeprovisionAction(d.Deprovision.Action, link.State)
		a.Action, a.Reason = action, dec.Reason
		if action == "" {
			a.Action, a.Reason = galsync.ActionSkip, why
		}
	case syncplan.VerdictInvite:
		found, err := pl.Graph.FindUserByMail(ctx, d.Target.Name, dec.Item.InviteAddress, nil)
		switch {
		case err == nil && isExternal(found):
			a.Action, a.TargetUserID = galsync.ActionJoin, found.ID
		case err == nil:
			a.Action, a.Reason = PlanConflict, "an internal user of the target holds the address"
		case errors.Is(err, galsync.ErrNotFound):
			a.Action = galsync.ActionInvite
		default:
			return a, fmt.Errorf("plan %s: look up guest: %w", d.Name, err)
		}
	case syncplan.VerdictUpdate:
		var changes map[string]any
		changes, a.Action = pendingChanges(*link, dec.Item.Desired)
		if len(changes) == 0 {
			a.Action = PlanUnchanged
		}
		a.Attributes = slices.Sorted(maps.Keys(changes))
	}
	return a, nil
}
