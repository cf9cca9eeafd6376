package pipeline

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/syncplan"
)

// What a preview says of conversions, managers and mirrored groups. Like
// the rest of the plan it reads and never writes: the groups' membership
// comes from a fresh groups/delta round of each group (not the stored
// delta links), the target groups' from their member lists.

// Manager outcomes in Plan.Managers.
const (
	ManagerSet       = "set"
	ManagerRemove    = "remove"
	ManagerUnchanged = "unchanged"
	// ManagerPending: the manager's guest does not exist yet; the
	// reference is written when it does.
	ManagerPending = "pending"
)

// PlannedGroup is what a sync would do to one mirrored group.
type PlannedGroup struct {
	SourceGroupID string `json:"sourceGroupId"`
	SourceName    string `json:"sourceName,omitempty"`
	TargetGroupID string `json:"targetGroupId,omitempty"`
	TargetName    string `json:"targetName,omitempty"`
	// Create: the target group does not exist and would be made.
	Create bool `json:"create,omitempty"`
	// SourceMembers are the direct user members; Desired the guests the
	// target group would hold now; Pending the members whose guest this
	// sync would invite first.
	SourceMembers int `json:"sourceMembers"`
	Desired       int `json:"desired"`
	Pending       int `json:"pending,omitempty"`
	Add           int `json:"add"`
	Remove        int `json:"remove"`
	NestedGroups  int `json:"nestedGroups,omitempty"`
	// Refused or SourceDeleted: galsync would not touch the target group.
	Refused       string `json:"refused,omitempty"`
	SourceDeleted bool   `json:"sourceDeleted,omitempty"`
}

// planMember decides what a sync does about a member holding addr.
func planMember(d *Direction, addr string, member galsync.TargetUser) (string, string, string) {
	if converts, _ := d.Rules.Converts(addr); converts {
		mail, _ := member.Attributes["mail"].(string)
		switch {
		case member.OnPremisesUserPrincipalName != "":
			return PlanConflict, reasonOnPremisesUPN, member.ID
		case mail == "":
			return PlanConflict, reasonMemberNoMail, member.ID
		}
		return PlanConvert, "a target member holds the address: it would be converted to an external user in place", member.ID
	}
	return PlanConflict, memberConflictReason(d, addr), member.ID
}

// planManagers compares each linked guest's manager with the guest of its
// source manager.
func (pl *Planner) planManagers(ctx context.Context, d *Direction, plan *Plan, links map[string]galsync.Link, sources map[string]galsync.SourceUser) error {
	if !d.Rules.MapsManager() {
		return nil
	}
	plan.Managers = map[string]int{}
	var ids []string
	want := map[string]string{}
	for _, a := range plan.Actions {
		u, ok := sources[a.SourceUserID]
		if !ok || u.Removed != "" {
			continue
		}
		m := d.Rules.ManagerOf(u.Attributes)
		target, pending := plannedManager(d, m, links, sources)
		switch a.Action {
		case galsync.ActionUpdate, galsync.ActionReenable, PlanUnchanged:
		case galsync.ActionInvite, galsync.ActionJoin, PlanConvert:
			if m != "" {
				plan.Managers[ManagerPending]++
			}
			continue
		default:
			continue
		}
		if pending {
			plan.Managers[ManagerPending]++
			continue
		}
		want[a.TargetUserID] = target
		ids = append(ids, a.TargetUserID)
	}
	if len(ids) == 0 {
		return nil
	}
	have, err := pl.Graph.Managers(ctx, d.Target.Name, ids)
	if err != nil {
		return fmt.Errorf("plan %s: read managers: %w", d.Name, err)
	}
	for i, a := range plan.Actions {
		w, ok := want[a.TargetUserID]
		if !ok {
			continue
		}
		switch cur := have[a.TargetUserID]; {
		case strings.EqualFold(cur, w):
			plan.Managers[ManagerUnchanged]++
			continue
		case w == "":
			plan.Managers[ManagerRemove]++
		default:
			plan.Managers[ManagerSet]++
		}
		plan.Drift[syncplan.ManagerAttribute]++
		plan.Actions[i].Attributes = append(plan.Actions[i].Attributes, syncplan.ManagerAttribute)
		if a.Action == PlanUnchanged {
			plan.Counts[PlanUnchanged]--
			plan.Counts[galsync.ActionUpdate]++
			plan.Actions[i].Action = galsync.ActionUpdate
		}
	}
	return nil
}

// plannedManager is the guest a source manager resolves to, or pending
// when this sync would give it one first.
func plannedManager(d *Direction, m string, links map[string]galsync.Link, sources map[string]galsync.SourceUser) (string, bool) {
	if m == "" {
		return "", false
	}
	if l, ok := links[m]; ok && l.HasGuest() {
		if l.State == galsync.LinkActive {
			return l.TargetUserID, false
		}
		return "", false
	}
	if u, ok := sources[m]; ok && u.Removed == "" {
		if in, _ := d.Rules.InScope(u); in {
			return "", true
		}
	}
	return "", false
}

// planGroups previews every mirrored group.
func (pl *Planner) planGroups(ctx context.Context, d *Direction, plan *Plan, links map[string]galsync.Link, sources map[string]galsync.SourceUser) error {
	if len(d.MirrorGroups) == 0 {
		return nil
	}
	stored, err := pl.Store.ListGroupPairs(ctx, d.Name)
	if err != nil {
		return fmt.Errorf("plan %s: read mirrored groups: %w", d.Name, err)
	}
	idx := planIndex(d, links, sources)
	for _, gid := range d.MirrorGroups {
		pair := galsync.GroupPair{Direction: d.Name, Role: galsync.GroupMirror, SourceGroupID: strings.ToLower(gid)}
		for _, p := range stored {
			if p.Key() == pair.Key() {
				pair.TargetGroupID, pair.TargetName, pair.SourceName = p.TargetGroupID, p.TargetName, p.SourceName
			}
		}
		pg, err := pl.planGroup(ctx, d, pair, idx)
		if err != nil {
			return err
		}
		plan.Groups = append(plan.Groups, pg)
	}
	return nil
}

// groupPlanIndex is what a preview knows of each source user: its guest
// (now), or that this sync would invite it.
type groupPlanIndex struct {
	guest   map[string]string
	invite  map[string]bool
	managed map[string]bool
}

func planIndex(d *Direction, links map[string]galsync.Link, sources map[string]galsync.SourceUser) groupPlanIndex {
	x := groupPlanIndex{guest: map[string]string{}, invite: map[string]bool{}, managed: map[string]bool{}}
	for id, l := range links {
		if l.TargetUserID != "" {
			x.managed[strings.ToLower(l.TargetUserID)] = true
		}
		u, seen := sources[id]
		if l.State != galsync.LinkActive || l.TargetUserID == "" || !seen || u.Removed != "" {
			continue
		}
		if in, _ := d.Rules.InScope(u); in {
			x.guest[strings.ToLower(id)] = l.TargetUserID
		}
	}
	for id, u := range sources {
		if _, linked := x.guest[strings.ToLower(id)]; linked || u.Removed != "" {
			continue
		}
		if in, _ := d.Rules.InScope(u); in {
			x.invite[strings.ToLower(id)] = true
		}
	}
	return x
}

func (pl *Planner) planGroup(ctx context.Context, d *Direction, pair galsync.GroupPair, idx groupPlanIndex) (PlannedGroup, error) {
	pg := PlannedGroup{SourceGroupID: pair.SourceGroupID}
	fresh := galsync.GroupPair{Direction: d.Name, Role: galsync.GroupMirror, SourceGroupID: pair.SourceGroupID,
		TargetGroupID: pair.TargetGroupID, SourceName: pair.SourceName}
	if err := readGroupDelta(ctx, pl.Graph, d.Source.Name, &fresh, time.Time{}); err != nil {
		return pg, fmt.Errorf("plan %s: read source group %s: %w", d.Name, pair.SourceGroupID, err)
	}
	pg.SourceName, pg.SourceMembers, pg.NestedGroups = fresh.SourceName, len(fresh.Members), len(fresh.Nested)
	if !fresh.SourceDeletedAt.IsZero() || fresh.SourceName == "" {
		pg.SourceDeleted = pair.TargetGroupID != ""
		if !pg.SourceDeleted {
			pg.Refused = "the source tenant has no such group"
		}
		pg.TargetGroupID, pg.TargetName = pair.TargetGroupID, pair.TargetName
		return pg, nil
	}
	var desired []string
	for _, m := range fresh.Members {
		if g, ok := idx.guest[m]; ok {
			desired = append(desired, g)
		} else if idx.invite[m] {
			pg.Pending++
		}
	}
	pg.Desired = len(desired)
	pg.TargetName = d.Rules.GroupName(fresh.SourceName, d.Source.Name, pair.SourceGroupID)
	pg.TargetGroupID = pair.TargetGroupID
	if pg.TargetGroupID == "" {
		found, err := pl.Graph.FindGroupsByName(ctx, d.Target.Name, pg.TargetName)
		if err != nil {
			return pg, fmt.Errorf("plan %s: look up target group: %w", d.Name, err)
		}
		for _, g := range found {
			if strings.Contains(strings.ToLower(g.Description), groupMarker(pair.SourceGroupID)) {
				pg.TargetGroupID = g.ID
			}
		}
		if pg.TargetGroupID == "" && len(found) > 0 {
			pg.Refused = fmt.Sprintf("the target has a group named %q that galsync did not make", pg.TargetName)
			return pg, nil
		}
	}
	var actual []string
	if pg.TargetGroupID == "" {
		pg.Create = true
	} else {
		var err error
		if actual, err = pl.Graph.GroupMembers(ctx, d.Target.Name, pg.TargetGroupID); err != nil {
			return pg, fmt.Errorf("plan %s: read target group members: %w", d.Name, err)
		}
	}
	have := map[string]bool{}
	for _, id := range actual {
		have[strings.ToLower(id)] = true
	}
	want := map[string]bool{}
	for _, id := range desired {
		want[strings.ToLower(id)] = true
		if !have[strings.ToLower(id)] {
			pg.Add++
		}
	}
	for _, id := range slices.Sorted(maps.Keys(have)) {
		if idx.managed[id] && !want[id] {
			pg.Remove++
		}
	}
	return pg, nil
}
