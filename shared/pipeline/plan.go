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
	ScopeStore
}

// PlanDirectory is what a preview reads from Graph: a full users/delta
// round of the source (a fresh round, not the stored cursor), the target's
// users in pages (to compare each guest with its desired state) and, for
// users without a guest, a lookup by address in the target.
type PlanDirectory interface {
	DeltaPage(ctx context.Context, tenant, link string, selectAttrs []string) (galsync.DeltaPage, error)
	FindUserByAddress(ctx context.Context, tenant, addr, domain string, selectAttrs []string) (galsync.TargetUser, error)
	TargetLister
	// Managers reads guests' managers (directions that map the manager);
	// the rest reads mirrored groups, source and target.
	ManagerReader
	GroupDeltaReader
	FindGroupsByName(ctx context.Context, tenant, name string) ([]galsync.TargetGroup, error)
	GroupMembers(ctx context.Context, tenant, id string) ([]string, error)
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
	// PlanMissing: a linked guest the target no longer has (invited again).
	PlanMissing = "missing"
	// PlanConvert: a target member holds the address and would be
	// converted to an external user in place.
	PlanConvert = "convert"
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
	WouldPause bool `json:"wouldPause"`
	// Drift counts guests that differ from their desired state (an update
	// or re-enable a sync or sweep would write), by attribute.
	Drift map[string]int `json:"drift"`
	// Managers counts the guests' manager references by what a sync would
	// do (set, remove, unchanged, pending: the manager's guest does not
	// exist yet); empty when the direction does not map the manager.
	Managers map[string]int `json:"managers,omitempty"`
	// Groups previews the mirrored groups.
	Groups  []PlannedGroup  `json:"groups,omitempty"`
	Actions []PlannedAction `json:"actions"`
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
	plan := Plan{Direction: d.Name, Counts: map[string]int{}, Reasons: map[string]int{}, Drift: map[string]int{}}
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
	targets, err := pl.readTargets(ctx, d, links)
	if err != nil {
		return plan, err
	}
	scope, err := storedScope(ctx, pl.Store, d)
	if err != nil {
		return plan, fmt.Errorf("plan %s: %w", d.Name, err)
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
	sources := map[string]galsync.SourceUser{}
	for _, u := range latestPerUser(users) {
		if u.ID == "" {
			continue
		}
		if d.Rules.MapsManager() && u.Removed == "" {
			if _, ok := u.Attributes[syncplan.ManagerAttribute]; !ok {
				u.Attributes[syncplan.ManagerAttribute] = nil // a full round names every manager
			}
		}
		scope.mark(d, &u)
		sources[u.ID] = u
		plan.Users++
		if u.Removed == "" {
			seen[u.ID] = true
		}
		var lp *galsync.Link
		if l, ok := links[u.ID]; ok {
			lp = &l
		}
		a, err := pl.decide(ctx, d, u, lp, targets)
		if err != nil {
			return plan, err
		}
		for _, attr := range a.Attributes {
			plan.Drift[attr]++
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
	if err := pl.planManagers(ctx, d, &plan, links, sources); err != nil {
		return plan, err
	}
	if err := pl.planGroups(ctx, d, &plan, links, sources); err != nil {
		return plan, err
	}
	return plan, nil
}

// readTargets reads the target's users in pages and keeps the linked
// guests, by id.
func (pl *Planner) readTargets(ctx context.Context, d *Direction, links map[string]galsync.Link) (map[string]galsync.TargetUser, error) {
	linked := map[string]bool{}
	for _, l := range links {
		if l.HasGuest() {
			linked[l.TargetUserID] = true
		}
	}
	out := map[string]galsync.TargetUser{}
	if len(linked) == 0 {
		return out, nil
	}
	for link := ""; ; {
		users, next, err := pl.Graph.ListUsers(ctx, d.Target.Name, link, d.Rules.TargetSelect())
		if err != nil {
			return nil, fmt.Errorf("plan %s: read target: %w", d.Name, err)
		}
		for _, u := range users {
			if linked[u.ID] {
				out[u.ID] = u
			}
		}
		if next == "" {
			return out, nil
		}
		link = next
	}
}

func (pl *Planner) decide(ctx context.Context, d *Direction, u galsync.SourceUser, link *galsync.Link, targets map[string]galsync.TargetUser) (PlannedAction, error) {
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
		addr := d.Rules.InviteAddress(u.Attributes)
		found, err := pl.Graph.FindUserByAddress(ctx, d.Target.Name, addr, d.Target.Domain, conversionSelect(d))
		switch {
		case err == nil && isExternal(found):
			a.Action, a.TargetUserID = galsync.ActionJoin, found.ID
		case err == nil:
			a.Action, a.Reason, a.TargetUserID = planMember(d, addr, found)
		case errors.Is(err, galsync.ErrNotFound):
			a.Action = galsync.ActionInvite
		default:
			return a, fmt.Errorf("plan %s: look up guest: %w", d.Name, err)
		}
	case syncplan.VerdictUpdate:
		target, ok := targets[link.TargetUserID]
		if !ok {
			a.Action, a.Reason = PlanMissing, "the target no longer has the guest; it would be invited again"
			return a, nil
		}
		l := *link
		l.Source = galsync.Snapshot(u.Attributes)
		a.Attributes, a.Action = DriftOf(d, l, target)
		if len(a.Attributes) == 0 {
			a.Action = PlanUnchanged
		}
	}
	return a, nil
}
