package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Groups, after the group resource
// (https://learn.microsoft.com/graph/api/resources/group): the simulator
// keeps security groups (and Microsoft 365 groups) with their members,
// users or nested groups, and a change log of their own for groups/delta.

// Group is a Microsoft Graph group as the simulator keeps it. JSON names
// are Graph's.
type Group struct {
	ID              string   `json:"id"`
	DisplayName     string   `json:"displayName,omitempty"`
	Description     string   `json:"description,omitempty"`
	MailEnabled     bool     `json:"mailEnabled"`
	MailNickname    string   `json:"mailNickname,omitempty"`
	SecurityEnabled bool     `json:"securityEnabled"`
	GroupTypes      []string `json:"groupTypes"`
	Mail            string   `json:"mail,omitempty"`
	CreatedDateTime string   `json:"createdDateTime,omitempty"`
}

func (g Group) clone() Group {
	g.GroupTypes = slices.Clone(g.GroupTypes)
	if g.GroupTypes == nil {
		g.GroupTypes = []string{}
	}
	return g
}

// Member is one member of a group: a user or a nested group.
type Member struct {
	ID   string `json:"id"`
	Type string `json:"type"` // "user" or "group"
}

// groupRecord is one group, alive or deleted.
type groupRecord struct {
	ord       int
	group     Group
	members   []Member // in the order they were added
	deleted   bool
	reason    string
	visibleAt time.Time
}

func (r *groupRecord) visible(now time.Time) bool { return !r.deleted && !now.Before(r.visibleAt) }

func (r *groupRecord) memberIndex(id string) int {
	return slices.IndexFunc(r.members, func(m Member) bool { return strings.EqualFold(m.ID, id) })
}

// groupChange is one entry of a tenant's group change log.
type groupChange struct {
	seq     uint64
	rec     *groupRecord
	mask    groupMask
	created bool
	removed bool
	member  *Member // a membership change
	added   bool
}

// groupProp is a modelled group property.
type groupProp struct {
	name      string
	updatable bool
	get       func(*Group) any
}

// groupProps are the group properties the simulator models; updatable
// follows "Update group" (graph/api/group-update). The index of a property
// is its bit in group change masks.
var groupProps = []groupProp{
	{name: "id", get: func(g *Group) any { return g.ID }},
	{name: "createdDateTime", get: func(g *Group) any { return g.CreatedDateTime }},
	{name: "description", updatable: true, get: func(g *Group) any { return g.Description }},
	{name: "displayName", updatable: true, get: func(g *Group) any { return g.DisplayName }},
	{name: "groupTypes", get: func(g *Group) any { return g.GroupTypes }},
	{name: "mail", get: func(g *Group) any { return g.Mail }},
	{name: "mailEnabled", get: func(g *Group) any { return g.MailEnabled }},
	{name: "mailNickname", updatable: true, get: func(g *Group) any { return g.MailNickname }},
	{name: "securityEnabled", get: func(g *Group) any { return g.SecurityEnabled }},
}

type groupMask uint32

var (
	allGroupProps = groupMask(1)<<len(groupProps) - 1
	// membersBit tracks membership: groups/delta reports it as members@delta.
	membersBit = groupMask(1) << len(groupProps)
)

func lookupGroupProp(name string) (int, bool) {
	i := slices.IndexFunc(groupProps, func(p groupProp) bool { return strings.EqualFold(p.name, name) })
	return i, i >= 0
}

func groupDiff(a, b *Group) groupMask {
	var m groupMask
	for i, p := range groupProps {
		if fmt.Sprint(p.get(a)) != fmt.Sprint(p.get(b)) {
			m |= 1 << i
		}
	}
	return m
}

// The methods below change a tenant's groups; callers hold t.mu.

func (t *tenant) lookupGroup(id string) *groupRecord { return t.groupsByID[strings.ToLower(id)] }

func (t *tenant) lookupGroupVisible(id string, now time.Time) *groupRecord {
	if g := t.lookupGroup(id); g != nil && g.visible(now) {
		return g
	}
	return nil
}

func (t *tenant) logGroupChange(c groupChange) {
	t.seq++
	c.seq = t.seq
	t.glog = append(t.glog, c)
}

func (t *tenant) insertGroup(g Group, now time.Time) (*groupRecord, error) {
	if t.groupsByID[strings.ToLower(g.ID)] != nil || t.byID[strings.ToLower(g.ID)] != nil {
		return nil, fmt.Errorf("sim: object id %s: %w", g.ID, ErrConflict)
	}
	if g.CreatedDateTime == "" {
		g.CreatedDateTime = graphTime(now)
	}
	g = g.clone()
	rec := &groupRecord{ord: len(t.groups), group: g}
	t.groups = append(t.groups, rec)
	t.groupsByID[strings.ToLower(g.ID)] = rec
	t.logGroupChange(groupChange{rec: rec, mask: allGroupProps, created: true})
	return rec, nil
}

func (t *tenant) replaceGroup(rec *groupRecord, g Group) {
	g.ID = rec.group.ID
	g = g.clone()
	if m := groupDiff(&rec.group, &g); m != 0 {
		rec.group = g
		t.logGroupChange(groupChange{rec: rec, mask: m})
	}
}

// removeGroup deletes a live group; it leaves the groups it was in.
func (t *tenant) removeGroup(rec *groupRecord, reason string) {
	rec.deleted, rec.reason = true, reason
	delete(t.groupsByID, strings.ToLower(rec.group.ID))
	t.logGroupChange(groupChange{rec: rec, removed: true})
	t.leaveGroups(rec.group.ID)
}

// member resolves a directory object id to a live member: a user or a group.
func (t *tenant) member(id string, now time.Time) (Member, bool) {
	if u := t.lookupVisible(id, now); u != nil && strings.EqualFold(u.user.ID, id) {
		return Member{ID: u.user.ID, Type: "user"}, true
	}
	if g := t.lookupGroupVisible(id, now); g != nil {
		return Member{ID: g.group.ID, Type: "group"}, true
	}
	return Member{}, false
}

func (t *tenant) addMember(rec *groupRecord, m Member) bool {
	if rec.memberIndex(m.ID) >= 0 {
		return false
	}
	rec.members = append(rec.members, m)
	t.logGroupChange(groupChange{rec: rec, mask: membersBit, member: &m, added: true})
	return true
}

func (t *tenant) removeMember(rec *groupRecord, id string) bool {
	i := rec.memberIndex(id)
	if i < 0 {
		return false
	}
	m := rec.members[i]
	rec.members = slices.Delete(rec.members, i, i+1)
	t.logGroupChange(groupChange{rec: rec, mask: membersBit, member: &m})
	return true
}

// leaveGroups takes a deleted object out of every group it was in.
func (t *tenant) leaveGroups(id string) {
	for _, g := range t.groups {
		if !g.deleted {
			t.removeMember(g, id)
		}
	}
}
