package sim

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
)

// groups/delta per https://learn.microsoft.com/graph/api/group-delta and
// https://learn.microsoft.com/graph/delta-query-groups.

// groupRound folds a groups/delta round: per group, its last properties,
// members added and members removed (by id), and whether it was removed.
type groupRound struct {
	props   map[string]map[string]any
	added   map[string][]string
	removed map[string][]string
	gone    map[string]string // @removed reason
	objects int
}

func foldGroupRound(pages []deltaResponse) groupRound {
	r := groupRound{props: map[string]map[string]any{}, added: map[string][]string{}, removed: map[string][]string{}, gone: map[string]string{}}
	for _, p := range pages {
		for _, v := range p.Value {
			r.objects++
			id := v["id"].(string)
			if rm, ok := v["@removed"].(map[string]any); ok {
				r.gone[id] = rm["reason"].(string)
				continue
			}
			r.props[id] = v
			md, _ := v["members@delta"].([]any)
			for _, e := range md {
				m := e.(map[string]any)
				if m["@removed"] != nil {
					r.removed[id] = append(r.removed[id], m["id"].(string))
				} else {
					r.added[id] = append(r.added[id], m["id"].(string))
				}
			}
		}
	}
	for _, l := range []map[string][]string{r.added, r.removed} {
		for k := range l {
			sort.Strings(l[k])
		}
	}
	return r
}

func TestGroupDeltaRounds(t *testing.T) {
	h := startSim(t, Options{PageSize: 2})
	users, err := h.s.SeedUsers(tenantA, SeedSpec{Count: 6, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	ids := func(us ...User) []string {
		var out []string
		for _, u := range us {
			out = append(out, u.ID)
		}
		return out
	}
	inner, _ := h.s.CreateGroup(tenantA, GroupSpec{DisplayName: "Inner", Members: ids(users[5])})
	big, _ := h.s.CreateGroup(tenantA, GroupSpec{DisplayName: "Big", Members: append(ids(users[0], users[1], users[2], users[3], users[4]), inner.ID)})
	empty, _ := h.s.CreateGroup(tenantA, GroupSpec{DisplayName: "Empty"})
	tok := h.tokenA()

	pages := h.deltaRound(h.graph(tenantA)+"/groups/delta?$select=displayName,members", tok, nil)
	full := foldGroupRound(pages)
	want := append(ids(users[:5]...), inner.ID)
	sort.Strings(want)
	if got := full.added[big.ID]; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Big's members over the round: %v, want %v", got, want)
	}
	// Six members in objects of at most two: Big comes back three times.
	if full.objects != 5 || full.props[big.ID]["displayName"] != "Big" {
		t.Errorf("full round: %d objects, want 5 (Inner, Big ×3, Empty)", full.objects)
	}
	if _, ok := full.props[empty.ID]["members@delta"]; ok {
		t.Error("a group without members carries members@delta")
	}
	link := lastLink(t, pages)

	// Changes: one member added, one removed, one user deleted (it leaves
	// its groups), a rename, and a group deleted.
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(h.s.AddGroupMember(tenantA, empty.ID, users[0].ID))
	must(h.s.RemoveGroupMember(tenantA, big.ID, users[1].ID))
	must(h.s.DeleteUser(tenantA, users[2].ID, false))
	_, err = h.s.UpdateGroup(tenantA, inner.ID, map[string]any{"displayName": "Inner Renamed"})
	must(err)
	must(h.s.DeleteGroup(tenantA, inner.ID, true))

	changes := foldGroupRound(h.deltaRound(link, tok, nil))
	if got := changes.added[empty.ID]; len(got) != 1 || got[0] != users[0].ID {
		t.Errorf("added to Empty: %v", got)
	}
	wantGone := []string{users[1].ID, users[2].ID, inner.ID} // removed, deleted user, deleted nested group
	sort.Strings(wantGone)
	if got := changes.removed[big.ID]; strings.Join(got, ",") != strings.Join(wantGone, ",") {
		t.Errorf("removed from Big: %v, want %v", got, wantGone)
	}
	if changes.gone[inner.ID] != "changed" {
		t.Errorf("soft-deleted group: %v", changes.gone)
	}
	if len(changes.added[big.ID]) != 0 {
		t.Errorf("unchanged members repeated: %v", changes.added[big.ID])
	}
}

func TestGroupDeltaSelectAndMinimal(t *testing.T) {
	h := startSim(t, Options{})
	goldenTenant(t, h)
	g, _ := h.s.CreateGroup(tenantA, GroupSpec{DisplayName: "Watched", Description: "d", Members: []string{ada}})
	tok := h.tokenA()
	nameOnly := lastLink(t, h.deltaRound(h.graph(tenantA)+"/groups/delta?$select=displayName", tok, nil))
	withMembers := lastLink(t, h.deltaRound(h.graph(tenantA)+"/groups/delta?$select=displayName,description,members", tok, nil))

	if err := h.s.AddGroupMember(tenantA, g.ID, bob); err != nil {
		t.Fatal(err)
	}
	// Without members selected a membership change does not surface.
	if r := foldGroupRound(h.deltaRound(nameOnly, tok, nil)); r.objects != 0 {
		t.Errorf("displayName-only round saw %d objects", r.objects)
	}
	r := foldGroupRound(h.deltaRound(withMembers, tok, map[string]string{"Prefer": "return=minimal"}))
	if p := r.props[g.ID]; p == nil || p["description"] != nil || len(r.added[g.ID]) != 1 {
		t.Errorf("minimal round: %v %v", p, r.added)
	}
	r = foldGroupRound(h.deltaRound(withMembers, tok, nil))
	if p := r.props[g.ID]; p == nil || p["description"] != "d" {
		t.Errorf("default round leaves out unchanged properties: %v", p)
	}

	// A token of an older generation answers 410, as users/delta does.
	if err := h.s.InvalidateDeltaTokens(tenantA); err != nil {
		t.Fatal(err)
	}
	resp, body := h.send(http.MethodGet, withMembers, tok, nil, nil)
	if resp.StatusCode != http.StatusGone || graphErrorCode(t, body) != "syncStateNotFound" {
		t.Errorf("invalidated token: %d %s", resp.StatusCode, body)
	}
	// $filter by id, as for users.
	pages := h.deltaRound(h.graph(tenantA)+"/groups/delta?$filter="+url.QueryEscape("id eq '"+g.ID+"'"), tok, nil)
	if r := foldGroupRound(pages); r.objects != 1 || len(r.added[g.ID]) != 2 {
		t.Errorf("filtered round: %+v", r)
	}
}
