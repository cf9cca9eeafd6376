package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/syncplan"
)

// Scope groups. A direction whose scope.includeGroups names source groups
// syncs their direct members only. users/delta says nothing of group
// membership, so delta-pull keeps the groups' members itself: at the start
// of each pull it reads their changes from groups/delta into a pair record
// per group (role scope), gives every user it decides the attribute
// syncplan.ScopeGroupsAttribute (the scope groups it is a member of), and
// decides again, at once, the users whose membership changed, as if
// users/delta had returned them: a user added to a scope group is invited,
// one removed is retired under the accidental-deletion threshold. The
// changes are decided and their work queued before the groups' delta links
// are saved, so a crash reads them again (invariant 1). Nested groups are
// not flattened, as for mirrored groups.

// scopeMembers is the membership of a direction's scope groups.
type scopeMembers struct {
	pairs []galsync.GroupPair
	// changed are the users whose membership changed in this refresh.
	changed []string
	// dirty: the pairs changed and are saved once the changes are queued.
	dirty bool
}

// of lists the scope groups user is a direct member of: the value of
// syncplan.ScopeGroupsAttribute.
func (s *scopeMembers) of(d *Direction, user string) []string {
	id := strings.ToLower(user)
	return d.Rules.ScopeGroupsOf(func(g string) bool {
		for _, p := range s.pairs {
			if strings.EqualFold(p.SourceGroupID, g) {
				return p.HasMember(id)
			}
		}
		return false
	})
}

// mark sets a user's scope groups in its attributes.
func (s *scopeMembers) mark(d *Direction, u *galsync.SourceUser) {
	if s == nil || u.Removed != "" || u.Attributes == nil {
		return
	}
	groups := s.of(d, u.ID)
	if len(groups) == 0 {
		u.Attributes[syncplan.ScopeGroupsAttribute] = nil
		return
	}
	u.Attributes[syncplan.ScopeGroupsAttribute] = groups
}

// ScopeStore reads the scope groups' pairs (the store).
type ScopeStore interface {
	GetGroupPair(ctx context.Context, direction, key string) (galsync.GroupPair, error)
	ListGroupPairs(ctx context.Context, direction string) ([]galsync.GroupPair, error)
}

// storedScope is the membership as last read (previews, provisioning on
// demand); nil when the direction has no scope groups.
func storedScope(ctx context.Context, st ScopeStore, d *Direction) (*scopeMembers, error) {
	if !d.Rules.HasScopeGroups() {
		return nil, nil
	}
	all, err := st.ListGroupPairs(ctx, d.Name)
	if err != nil {
		return nil, fmt.Errorf("read the scope groups of %s: %w", d.Name, err)
	}
	s := &scopeMembers{}
	for _, p := range all {
		if p.Role == galsync.GroupScope {
			s.pairs = append(s.pairs, p)
		}
	}
	return s, nil
}

// refreshScope reads the scope groups' changes; nil when the direction
// has none.
func (p *Puller) refreshScope(ctx context.Context, d *Direction) (*scopeMembers, error) {
	if !d.Rules.HasScopeGroups() {
		return nil, nil
	}
	if p.Groups == nil {
		return nil, galsync.Permanent(fmt.Errorf("delta-pull %s: scope.includeGroups needs a groups reader", d.Name))
	}
	s := &scopeMembers{}
	changed := map[string]bool{}
	for _, gid := range d.Scope.IncludeGroups {
		pair, err := p.Store.GetGroupPair(ctx, d.Name, galsync.GroupPairKey(galsync.GroupScope, gid))
		switch {
		case errors.Is(err, galsync.ErrNotFound):
			pair = galsync.GroupPair{Direction: d.Name, Role: galsync.GroupScope, SourceGroupID: strings.ToLower(gid), CreatedAt: p.Now()}
		case err != nil:
			return nil, fmt.Errorf("delta-pull %s: read scope group %s: %w", d.Name, gid, err)
		}
		before := slices.Clone(pair.Members)
		link := pair.DeltaLink
		if err := readGroupDelta(ctx, p.Groups, d.Source.Name, &pair, p.Now()); err != nil {
			return nil, fmt.Errorf("delta-pull %s: read scope group %s: %w", d.Name, gid, err)
		}
		for _, id := range symmetricDifference(before, pair.Members) {
			changed[id] = true
		}
		if pair.DeltaLink != link || pair.ETag == "" {
			s.dirty = true
		}
		s.pairs = append(s.pairs, pair)
	}
	s.changed = sortedKeys(changed)
	return s, nil
}

// saveScope records the scope groups' state. Another pull saving them
// first read the same changes: its records stand.
func (p *Puller) saveScope(ctx context.Context, d *Direction, s *scopeMembers) error {
	if s == nil || !s.dirty {
		return nil
	}
	for i, pair := range s.pairs {
		pair.UpdatedAt, pair.LastRunAt = p.Now(), p.Now()
		saved, err := p.Store.PutGroupPair(ctx, pair)
		if errors.Is(err, galsync.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("delta-pull %s: record scope group %s: %w", d.Name, pair.SourceGroupID, err)
		}
		s.pairs[i] = saved
	}
	s.dirty = false
	return nil
}

// scopeChanges decides the users whose scope membership changed, reading
// each from the source, as a page of their own in the round in progress.
func (p *Puller) scopeChanges(ctx context.Context, d *Direction, cur galsync.Cursor, s *scopeMembers, res *PullResult, invocationID string) (galsync.Cursor, error) {
	if s == nil || len(s.changed) == 0 || cur.Link == "" || p.Users == nil {
		return cur, nil // a full round from the start sees every user anyway
	}
	page := galsync.DeltaPage{NextLink: cur.Link}
	for _, id := range s.changed {
		u, err := p.Users.GetUser(ctx, d.Source.Name, id, d.Rules.Select())
		if errors.Is(err, galsync.ErrNotFound) {
			continue // deleted: users/delta reports it
		}
		if err != nil {
			return cur, fmt.Errorf("delta-pull %s: read a user whose scope group membership changed: %w", d.Name, err)
		}
		page.Users = append(page.Users, u)
	}
	if len(page.Users) == 0 {
		return cur, nil
	}
	next, err := p.processPage(ctx, d, cur, page, res, invocationID, s)
	if err != nil {
		return cur, err
	}
	saved, err := p.Store.PutCursor(ctx, next)
	if err != nil {
		return cur, fmt.Errorf("delta-pull %s: save cursor: %w", d.Name, err)
	}
	return saved, nil
}

func symmetricDifference(a, b []string) []string {
	in := func(list []string, x string) bool { _, ok := slices.BinarySearch(list, x); return ok }
	var out []string
	for _, x := range a {
		if !in(b, x) {
			out = append(out, x)
		}
	}
	for _, x := range b {
		if !in(a, x) {
			out = append(out, x)
		}
	}
	return out
}
