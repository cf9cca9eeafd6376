package pipeline

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"

	"github.com/galsync/galsync/shared/galsync"
)

// fakeGraph is a hand-written source and target directory: a change log for
// users/delta (pages of pageSize), and a target that counts its writes.
type fakeGraph struct {
	mu       sync.Mutex
	pageSize int
	source   map[string]map[string]any // id → attributes; nil attributes: deleted
	log      []string                  // change log of source ids
	target   map[string]*galsync.TargetUser
	writes   []fakeWrite
	nextID   int
}

type fakeWrite struct {
	Op      string // invite, patch, delete
	ID      string
	Changes map[string]any
}

func newFakeGraph() *fakeGraph {
	return &fakeGraph{pageSize: 2, source: map[string]map[string]any{}, target: map[string]*galsync.TargetUser{}}
}

func (g *fakeGraph) put(id string, attrs map[string]any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	a := map[string]any{"id": id, "accountEnabled": true, "userType": "Member"}
	maps.Copy(a, g.source[id])
	maps.Copy(a, attrs)
	g.source[id] = a
	g.log = append(g.log, id)
}

func (g *fakeGraph) remove(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.source[id] = nil
	g.log = append(g.log, id)
}

// DeltaPage: links are "p:<from>:<offset>" (a page of the changes after log
// position from) and "d:<position>" (a delta link).
func (g *fakeGraph) DeltaPage(_ context.Context, _ string, link string, _ []string) (galsync.DeltaPage, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	from, offset := 0, 0
	switch {
	case link == "":
	case strings.HasPrefix(link, "d:"):
		from, _ = strconv.Atoi(link[2:])
	case strings.HasPrefix(link, "p:"):
		parts := strings.Split(link, ":")
		from, _ = strconv.Atoi(parts[1])
		offset, _ = strconv.Atoi(parts[2])
	}
	var ids []string
	seen := map[string]bool{}
	for _, id := range g.log[min(from, len(g.log)):] {
		if !seen[id] && !(link == "" && g.source[id] == nil) {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	end := min(offset+g.pageSize, len(ids))
	page := galsync.DeltaPage{}
	for _, id := range ids[offset:end] {
		a := g.source[id]
		if a == nil {
			page.Users = append(page.Users, galsync.SourceUser{ID: id, Removed: "deleted"})
			continue
		}
		page.Users = append(page.Users, galsync.SourceUser{ID: id, Attributes: maps.Clone(a)})
	}
	if end < len(ids) {
		page.NextLink = fmt.Sprintf("p:%d:%d", from, end)
	} else {
		page.DeltaLink = fmt.Sprintf("d:%d", len(g.log))
	}
	return page, nil
}

func (g *fakeGraph) FindUserByMail(_ context.Context, _, mail string, _ []string) (galsync.TargetUser, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, u := range g.target {
		if strings.EqualFold(fmt.Sprint(u.Attributes["mail"]), mail) {
			return *u, nil
		}
	}
	return galsync.TargetUser{}, galsync.ErrNotFound
}

func (g *fakeGraph) Invite(_ context.Context, _ string, inv galsync.Invitation) (galsync.TargetUser, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.nextID++
	id := fmt.Sprintf("guest-%d", g.nextID)
	u := &galsync.TargetUser{ID: id, UserType: inv.UserType, CreationType: "Invitation",
		Attributes: map[string]any{"mail": inv.EmailAddress, "displayName": inv.DisplayName, "accountEnabled": true}}
	g.target[id] = u
	g.writes = append(g.writes, fakeWrite{Op: "invite", ID: id})
	return *u, nil
}

func (g *fakeGraph) UpdateUser(_ context.Context, _, id string, changes map[string]any) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	u, ok := g.target[id]
	if !ok {
		return fmt.Errorf("fake: %w", galsync.ErrNotFound)
	}
	maps.Copy(u.Attributes, changes)
	g.writes = append(g.writes, fakeWrite{Op: "patch", ID: id, Changes: maps.Clone(changes)})
	return nil
}

func (g *fakeGraph) DeleteUser(_ context.Context, _, id string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.target[id]; !ok {
		return fmt.Errorf("fake: %w", galsync.ErrNotFound)
	}
	delete(g.target, id)
	g.writes = append(g.writes, fakeWrite{Op: "delete", ID: id})
	return nil
}

func (g *fakeGraph) writeCount(op string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, w := range g.writes {
		if op == "" || w.Op == op {
			n++
		}
	}
	return n
}

func (g *fakeGraph) guests() map[string]galsync.TargetUser {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]galsync.TargetUser{}
	for id, u := range g.target {
		out[id] = *u
	}
	return out
}
