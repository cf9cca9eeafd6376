package pipeline

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

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
	created  map[string]time.Time
	writes   []fakeWrite
	nextID   int
	// refuse makes PATCH refuse these properties with a 400 naming them.
	refuse map[string]bool
	// patchErrs fail the next PATCHes, one each, in order, writing nothing.
	patchErrs []error
	// inviteErrs fail the next invitations, one each, in order, inviting
	// no one.
	inviteErrs []error
	// deny fails every PATCH carrying one of these properties with its
	// error (a permission the app lacks), writing nothing.
	deny map[string]error
	// stall makes writes (invitations, PATCHes, deletes) hang until their
	// context ends, as a call the Graph client keeps retrying does; the
	// time each was cut off is kept in stalledUntil.
	stall        bool
	stalledUntil []time.Time
	// replicationDelay hides a new guest from reads and writes this long.
	replicationDelay time.Duration
	listPage         int
	lookups, reads   int
	lists            int
}

type fakeWrite struct {
	Op      string // invite, patch, delete
	ID      string
	Changes map[string]any
}

func newFakeGraph() *fakeGraph {
	return &fakeGraph{pageSize: 2, listPage: 3, source: map[string]map[string]any{}, target: map[string]*galsync.TargetUser{},
		created: map[string]time.Time{}, refuse: map[string]bool{}, deny: map[string]error{}}
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

// FindUserByAddress finds a target user holding addr as mail, in
// otherMails or in proxyAddresses, counting the lookups. Like the Graph
// adapter it prefers an external user to a member, judging each by what
// the $select returned (see selected).
func (g *fakeGraph) FindUserByAddress(_ context.Context, _, addr, _ string, sel []string) (galsync.TargetUser, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.lookups++
	same := func(v string) bool { return strings.EqualFold(v, addr) || strings.EqualFold(v, "smtp:"+addr) }
	var found []galsync.TargetUser
	for _, id := range slices.Sorted(maps.Keys(g.target)) {
		u := g.target[id]
		mail, _ := u.Attributes["mail"].(string)
		other, _ := u.Attributes["otherMails"].([]string)
		proxy, _ := u.Attributes["proxyAddresses"].([]string)
		if same(mail) || slices.ContainsFunc(other, same) || slices.ContainsFunc(proxy, same) {
			found = append(found, selected(u, sel))
		}
	}
	if i := slices.IndexFunc(found, externalAsSeen); i >= 0 {
		return found[i], nil
	}
	if len(found) > 0 {
		return found[0], nil
	}
	return galsync.TargetUser{}, galsync.ErrNotFound
}

// GetGuest reads a target user; users invited less than replicationDelay
// ago are not found yet, as Graph's replicas may not show them.
func (g *fakeGraph) GetGuest(_ context.Context, _, id string, sel []string) (galsync.TargetUser, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reads++
	u, ok := g.target[id]
	if !ok || g.replicationDelay > 0 && time.Since(g.created[id]) < g.replicationDelay {
		return galsync.TargetUser{}, fmt.Errorf("fake: %w", galsync.ErrNotFound)
	}
	return selected(u, sel), nil
}

// externalAsSeen is the Graph adapter's test of an external user, on what
// a lookup returned: creationType Invitation, userType Guest, an
// externalUserState (a member converted in place keeps its UPN and
// userType) or an #EXT# user principal name.
func externalAsSeen(u galsync.TargetUser) bool {
	return u.CreationType == "Invitation" || u.UserType == "Guest" || u.ExternalUserState != "" ||
		strings.Contains(strings.ToUpper(u.UserPrincipalName), "#EXT#@")
}

// adapterSelect is what the Graph adapter adds to every $select of users
// (shared/graph selectList).
var adapterSelect = []string{"id", "mail", "userPrincipalName", "accountEnabled", "userType", "creationType"}

// selected is u as Graph returns it for a $select of sel (plus what the
// adapter always adds): "only a subset" of properties unless asked
// (learn.microsoft.com/graph/api/user-get), so externalUserState or
// onPremisesUserPrincipalName are there only when selected.
func selected(u *galsync.TargetUser, sel []string) galsync.TargetUser {
	want := func(p string) bool {
		return slices.ContainsFunc(adapterSelect, func(s string) bool { return strings.EqualFold(s, p) }) ||
			slices.ContainsFunc(sel, func(s string) bool { return strings.EqualFold(s, p) })
	}
	c := clone(u)
	maps.DeleteFunc(c.Attributes, func(k string, _ any) bool { return !want(k) })
	if !want("externalUserState") {
		c.ExternalUserState = ""
	}
	if !want("onPremisesUserPrincipalName") {
		c.OnPremisesUserPrincipalName = ""
	}
	return c
}

// ListUsers pages the target users by id order.
func (g *fakeGraph) ListUsers(_ context.Context, _, link string, sel []string) ([]galsync.TargetUser, string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.lists++
	ids := slices.Sorted(maps.Keys(g.target))
	from, _ := strconv.Atoi(strings.TrimPrefix(link, "users:"))
	end := min(from+g.listPage, len(ids))
	var out []galsync.TargetUser
	for _, id := range ids[from:end] {
		out = append(out, selected(g.target[id], sel))
	}
	next := ""
	if end < len(ids) {
		next = fmt.Sprintf("users:%d", end)
	}
	return out, next, nil
}

func clone(u *galsync.TargetUser) galsync.TargetUser {
	c := *u
	c.Attributes = maps.Clone(u.Attributes)
	return c
}

// stalled waits for ctx to end if writes stall, and says how it ended.
func (g *fakeGraph) stalled(ctx context.Context) error {
	g.mu.Lock()
	stall := g.stall
	g.mu.Unlock()
	if !stall {
		return nil
	}
	<-ctx.Done()
	g.mu.Lock()
	g.stalledUntil = append(g.stalledUntil, time.Now())
	g.mu.Unlock()
	return fmt.Errorf("fake: %w", ctx.Err())
}

func (g *fakeGraph) Invite(ctx context.Context, _ string, inv galsync.Invitation) (galsync.TargetUser, error) {
	if err := g.stalled(ctx); err != nil {
		return galsync.TargetUser{}, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.inviteErrs) > 0 {
		err := g.inviteErrs[0]
		g.inviteErrs = g.inviteErrs[1:]
		return galsync.TargetUser{}, err
	}
	if inv.InvitedUserID != "" {
		// A conversion: the member becomes external in place, userType kept.
		u, ok := g.target[inv.InvitedUserID]
		if !ok {
			return galsync.TargetUser{}, fmt.Errorf("fake: %w", galsync.ErrNotFound)
		}
		u.ExternalUserState = "PendingAcceptance"
		g.created[u.ID] = time.Now()
		g.writes = append(g.writes, fakeWrite{Op: "convert", ID: u.ID})
		return clone(u), nil
	}
	g.nextID++
	id := fmt.Sprintf("guest-%d", g.nextID)
	u := &galsync.TargetUser{ID: id, UserType: inv.UserType, CreationType: "Invitation",
		Attributes: map[string]any{"mail": inv.EmailAddress, "displayName": inv.DisplayName, "accountEnabled": true}}
	g.target[id] = u
	g.created[id] = time.Now()
	g.writes = append(g.writes, fakeWrite{Op: "invite", ID: id})
	return *u, nil
}

func (g *fakeGraph) UpdateUser(ctx context.Context, _, id string, changes map[string]any) error {
	if err := g.stalled(ctx); err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	u, ok := g.target[id]
	if !ok || g.replicationDelay > 0 && time.Since(g.created[id]) < g.replicationDelay {
		return fmt.Errorf("fake: %w", galsync.ErrNotFound)
	}
	if len(g.patchErrs) > 0 {
		err := g.patchErrs[0]
		g.patchErrs = g.patchErrs[1:]
		return err
	}
	for k := range changes {
		if err := g.deny[k]; err != nil {
			return err
		}
	}
	for k := range changes {
		if g.refuse[k] {
			return galsync.Refused(k, graphErr(400, "Request_BadRequest", fmt.Sprintf("Property '%s' is read-only and cannot be set.", k)))
		}
	}
	maps.Copy(u.Attributes, changes)
	if t, ok := changes["userType"].(string); ok {
		u.UserType = t
	}
	g.writes = append(g.writes, fakeWrite{Op: "patch", ID: id, Changes: maps.Clone(changes)})
	return nil
}

func (g *fakeGraph) DeleteUser(ctx context.Context, _, id string) error {
	if err := g.stalled(ctx); err != nil {
		return err
	}
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

// fakeGraphError is a failure Graph answered, as the Graph adapter gives
// it: its code and message, a 400 wrapping galsync.ErrInvalid.
type fakeGraphError struct {
	status        int
	code, message string
}

func (e *fakeGraphError) Error() string {
	return fmt.Sprintf("fake: %d %s: %s", e.status, e.code, e.message)
}
func (e *fakeGraphError) GraphCode() string    { return e.code }
func (e *fakeGraphError) GraphMessage() string { return e.message }
func (e *fakeGraphError) Unwrap() error {
	if e.status == 400 {
		return galsync.ErrInvalid
	}
	return nil
}

// graphErr is Graph's permanent answer status with code and message.
func graphErr(status int, code, message string) error {
	return galsync.Permanent(&fakeGraphError{status: status, code: code, message: message})
}
