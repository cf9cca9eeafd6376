package pipeline

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/galsync/galsync/shared/galsync"
)

// fakeRelations is the manager references and groups of the fake tenants:
// the target's managers, the source's direct reports (from the source
// users' "manager" attribute), source groups with a change log for
// groups/delta, and target groups that count their membership writes.
type fakeRelations struct {
	g  *fakeGraph
	mu sync.Mutex
	// managers: target user → its manager.
	managers      map[string]string
	managerWrites []string
	// setErr fails every SetManager, writing nothing.
	setErr error
	// source groups: id → members (users, and groups prefixed "group:").
	source  map[string][]string
	deleted map[string]bool
	names   map[string]string
	glog    []string // group ids, one per change
	// target groups.
	targets                     map[string]*galsync.TargetGroup
	targetMembers               map[string][]string
	memberChanges, memberWrites int
	deltaReads                  int
}

func newFakeRelations(g *fakeGraph) *fakeRelations {
	return &fakeRelations{g: g, managers: map[string]string{}, source: map[string][]string{}, deleted: map[string]bool{},
		names: map[string]string{}, targets: map[string]*galsync.TargetGroup{}, targetMembers: map[string][]string{}}
}

func (f *fakeRelations) GetManager(_ context.Context, _, id string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.managers[id], nil
}

func (f *fakeRelations) SetManager(_ context.Context, _, id, manager string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.setErr != nil {
		return f.setErr
	}
	f.managers[id] = manager
	f.managerWrites = append(f.managerWrites, "set:"+id+":"+manager)
	return nil
}

func (f *fakeRelations) RemoveManager(_ context.Context, _, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.managers, id)
	f.managerWrites = append(f.managerWrites, "remove:"+id)
	return nil
}

func (f *fakeRelations) DirectReports(_ context.Context, _, id string) ([]string, error) {
	f.g.mu.Lock()
	defer f.g.mu.Unlock()
	var out []string
	for uid, a := range f.g.source {
		if a != nil && a["manager"] == id {
			out = append(out, uid)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (f *fakeRelations) Managers(ctx context.Context, tenant string, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for _, id := range ids {
		m, _ := f.GetManager(ctx, tenant, id)
		out[id] = m
	}
	return out, nil
}

// setGroup makes or replaces a source group's members.
func (f *fakeRelations) setGroup(id, name string, members ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.source[id], f.names[id] = slices.Clone(members), name
	delete(f.deleted, id)
	f.glog = append(f.glog, id)
}

func (f *fakeRelations) deleteGroup(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted[id] = true
	f.glog = append(f.glog, id)
}

// GroupDeltaPage: one page per round; the link "g:<position>" is the
// change log position of the round's end. An incremental round reports
// the group's members against a snapshot of the members at the position.
func (f *fakeRelations) GroupDeltaPage(_ context.Context, _, link, id string) (galsync.GroupDeltaPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deltaReads++
	page := galsync.GroupDeltaPage{DeltaLink: "g:" + strconv.Itoa(len(f.glog)) + ":" + encode(f.source[id])}
	_, exists := f.source[id]
	from := 0
	if link != "" {
		parts := strings.SplitN(link, ":", 3)
		from, _ = strconv.Atoi(parts[1])
		changed := false
		for _, g := range f.glog[from:] {
			changed = changed || g == id
		}
		if !changed {
			return page, nil
		}
		if f.deleted[id] {
			page.Groups = []galsync.SourceGroup{{ID: id, Removed: "deleted"}}
			return page, nil
		}
		before := decode(parts[2])
		entry := galsync.SourceGroup{ID: id, DisplayName: f.names[id]}
		for _, m := range f.source[id] {
			if !slices.Contains(before, m) {
				entry.Added = append(entry.Added, object(m))
			}
		}
		for _, m := range before {
			if !slices.Contains(f.source[id], m) {
				entry.Dropped = append(entry.Dropped, object(m))
			}
		}
		page.Groups = []galsync.SourceGroup{entry}
		return page, nil
	}
	if !exists || f.deleted[id] {
		return page, nil
	}
	entry := galsync.SourceGroup{ID: id, DisplayName: f.names[id]}
	for _, m := range f.source[id] {
		entry.Added = append(entry.Added, object(m))
	}
	page.Groups = []galsync.SourceGroup{entry}
	return page, nil
}

func encode(ids []string) string { return strings.Join(ids, ",") }

func decode(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func object(m string) galsync.DirectoryObject {
	if g, ok := strings.CutPrefix(m, "group:"); ok {
		return galsync.DirectoryObject{ID: g, Type: "group"}
	}
	return galsync.DirectoryObject{ID: m, Type: "user"}
}

func (f *fakeRelations) FindGroupsByName(_ context.Context, _, name string) ([]galsync.TargetGroup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []galsync.TargetGroup
	for _, id := range slices.Sorted(maps.Keys(f.targets)) {
		if f.targets[id].DisplayName == name {
			out = append(out, *f.targets[id])
		}
	}
	return out, nil
}

func (f *fakeRelations) CreateGroup(_ context.Context, _ string, g galsync.NewGroup) (galsync.TargetGroup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := fmt.Sprintf("tgroup-%d", len(f.targets)+1)
	t := &galsync.TargetGroup{ID: id, DisplayName: g.DisplayName, Description: g.Description, SecurityEnabled: true}
	f.targets[id] = t
	f.targetMembers[id] = slices.Clone(g.Members)
	return *t, nil
}

func (f *fakeRelations) RenameGroup(_ context.Context, _, id, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.targets[id]
	if !ok {
		return fmt.Errorf("fake: %w", galsync.ErrNotFound)
	}
	t.DisplayName = name
	return nil
}

func (f *fakeRelations) GroupMembers(_ context.Context, _, id string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.targets[id]; !ok {
		return nil, fmt.Errorf("fake: %w", galsync.ErrNotFound)
	}
	return slices.Clone(f.targetMembers[id]), nil
}

func (f *fakeRelations) AddGroupMembers(_ context.Context, _, id string, members []string) (galsync.MemberWrites, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := galsync.MemberWrites{Failed: map[string]error{}}
	for _, m := range members {
		if !slices.Contains(f.targetMembers[id], m) {
			f.targetMembers[id] = append(f.targetMembers[id], m)
			w.Changes++
		}
	}
	w.Requests = (len(members) + 19) / 20
	f.memberChanges += w.Changes
	f.memberWrites += w.Requests
	return w, nil
}

func (f *fakeRelations) RemoveGroupMembers(_ context.Context, _, id string, members []string) (galsync.MemberWrites, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := galsync.MemberWrites{Failed: map[string]error{}}
	for _, m := range members {
		if i := slices.Index(f.targetMembers[id], m); i >= 0 {
			f.targetMembers[id] = slices.Delete(f.targetMembers[id], i, i+1)
			w.Changes++
		}
	}
	w.Requests = (len(members) + 19) / 20
	f.memberChanges += w.Changes
	f.memberWrites += w.Requests
	return w, nil
}

// members of a target group, sorted.
func (f *fakeRelations) members(id string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(slices.Values(f.targetMembers[id]))
}
