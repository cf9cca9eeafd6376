package sim

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// Groups and their members: group-post-groups, group-list, group-get,
// group-update, group-delete, group-list-members, group-post-members
// ("This method returns a 400 Bad Request response code when the object is
// already a member of the group ... 404 Not Found ... when the object being
// added doesn't exist"; "up to 20 members can be added in a single request"),
// group-delete-members (https://learn.microsoft.com/graph/api/...).

func (h *harness) createGroup(tok string, body map[string]any) (int, map[string]any, []byte) {
	h.t.Helper()
	resp, b := h.call(http.MethodPost, h.graph(tenantA)+"/groups", tok, body)
	var g map[string]any
	if resp.StatusCode == http.StatusCreated {
		mustUnmarshal(h.t, b, &g)
	}
	return resp.StatusCode, g, b
}

func securityGroup(name string) map[string]any {
	return map[string]any{"displayName": name, "mailEnabled": false, "mailNickname": name, "securityEnabled": true}
}

func directoryObject(id string) string {
	return "https://graph.microsoft.com/v1.0/directoryObjects/" + id
}

func TestCreateAndReadGroups(t *testing.T) {
	h := startSim(t, Options{})
	goldenTenant(t, h)
	tok := h.tokenA()
	status, g, body := h.createGroup(tok, map[string]any{"displayName": "Partners", "description": "Mirrored", "mailEnabled": false,
		"mailNickname": "partners", "securityEnabled": true, "members@odata.bind": []string{directoryObject(ada)}})
	if status != http.StatusCreated || g["id"] == "" || g["securityEnabled"] != true || g["mail"] != nil {
		t.Fatalf("%d %s", status, body)
	}
	id := g["id"].(string)
	if v, _ := h.s.GroupByID(tenantA, id); len(v.Members) != 1 || v.Members[0].ID != ada {
		t.Errorf("members bound at creation: %+v", v.Members)
	}
	for name, bad := range map[string]map[string]any{
		"mail-enabled security": {"displayName": "X", "mailEnabled": true, "mailNickname": "x", "securityEnabled": true},
		"no mailNickname":       {"displayName": "X", "mailEnabled": false, "securityEnabled": true},
		"bad mailNickname":      {"displayName": "X", "mailEnabled": false, "mailNickname": "a b", "securityEnabled": true},
		"read-only mail":        {"displayName": "X", "mailEnabled": false, "mailNickname": "x", "securityEnabled": true, "mail": "x@a.example"},
	} {
		if status, _, body := h.createGroup(tok, bad); status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", name, status, body)
		}
	}
	h.createGroup(tok, securityGroup("Other"))
	resp, b := h.send(http.MethodGet, h.graph(tenantA)+"/groups/"+id+"?$select=displayName,description", tok, nil, nil)
	var got map[string]any
	mustUnmarshal(t, b, &got)
	if resp.StatusCode != http.StatusOK || got["displayName"] != "Partners" || got["description"] != "Mirrored" || len(got) != 4 {
		t.Errorf("GET group: %d %s", resp.StatusCode, b)
	}
	for filter, want := range map[string]int{"displayName eq 'partners'": 1, "startsWith(displayName,'o')": 1,
		"securityEnabled eq true and mailEnabled eq false": 2} {
		resp, b := h.send(http.MethodGet, h.graph(tenantA)+"/groups?$filter="+url.QueryEscape(filter), tok, nil, nil)
		var p usersPage
		mustUnmarshal(t, b, &p)
		if resp.StatusCode != http.StatusOK || len(p.Value) != want {
			t.Errorf("%s: %d %s, want %d", filter, resp.StatusCode, b, want)
		}
	}
	if resp, _ := h.send(http.MethodGet, h.graph(tenantA)+"/groups?$filter="+url.QueryEscape("description eq 'Mirrored'"), tok, nil, nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("description eq without advanced parameters: %d, want 400", resp.StatusCode)
	}
	if resp, _ := h.call(http.MethodDelete, h.graph(tenantA)+"/groups/"+id, tok, nil); resp.StatusCode != http.StatusNoContent {
		t.Errorf("DELETE group: %d", resp.StatusCode)
	}
	if resp, _ := h.send(http.MethodGet, h.graph(tenantA)+"/groups/"+id, tok, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET deleted group: %d", resp.StatusCode)
	}
}

func TestGroupMembers(t *testing.T) {
	h := startSim(t, Options{})
	goldenTenant(t, h)
	tok := h.tokenA()
	_, g, _ := h.createGroup(tok, securityGroup("Team"))
	_, nested, _ := h.createGroup(tok, securityGroup("Nested"))
	id := g["id"].(string)
	add := func(member string) int {
		resp, _ := h.call(http.MethodPost, h.graph(tenantA)+"/groups/"+id+"/members/$ref", tok, map[string]any{"@odata.id": directoryObject(member)})
		return resp.StatusCode
	}
	for _, m := range []string{ada, bob, nested["id"].(string)} {
		if st := add(m); st != http.StatusNoContent {
			t.Fatalf("add %s: %d", m, st)
		}
	}
	if st := add(ada); st != http.StatusBadRequest {
		t.Errorf("adding a member twice: %d, want 400", st)
	}
	if st := add("00000000-0000-4000-8000-00000000dead"); st != http.StatusNotFound {
		t.Errorf("adding an unknown object: %d, want 404", st)
	}
	if st := add(id); st != http.StatusBadRequest {
		t.Errorf("a group in itself: %d, want 400", st)
	}
	// Members in pages, each with its @odata.type; listing costs 3 units.
	u := h.graph(tenantA) + "/groups/" + id + "/members?$top=2"
	var types []string
	for pages := 0; u != ""; pages++ {
		resp, b := h.send(http.MethodGet, u, tok, nil, nil)
		if pages == 0 && resp.Header.Get("x-ms-resource-unit") != "2" { // 3, less 1 for $top under 20
			t.Errorf("x-ms-resource-unit %q, want 2", resp.Header.Get("x-ms-resource-unit"))
		}
		var p usersPage
		mustUnmarshal(t, b, &p)
		for _, v := range p.Value {
			types = append(types, v["@odata.type"].(string))
		}
		u = p.NextLink
	}
	if len(types) != 3 || types[0] != "#microsoft.graph.user" || types[2] != "#microsoft.graph.group" {
		t.Errorf("members: %v", types)
	}
	del := func(member string) int {
		resp, _ := h.call(http.MethodDelete, h.graph(tenantA)+"/groups/"+id+"/members/"+member+"/$ref", tok, nil)
		return resp.StatusCode
	}
	if st := del(bob); st != http.StatusNoContent {
		t.Errorf("remove: %d", st)
	}
	if st := del(bob); st != http.StatusNotFound {
		t.Errorf("remove a non-member: %d, want 404", st)
	}
}

func TestPatchGroupMembersBind(t *testing.T) {
	h := startSim(t, Options{})
	users, err := h.s.SeedUsers(tenantA, SeedSpec{Count: 22, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	tok := h.tokenA()
	_, g, _ := h.createGroup(tok, securityGroup("Bound"))
	id := g["id"].(string)
	bind := func(us []User, extra ...string) (int, []byte) {
		var refs []string
		for _, u := range us {
			refs = append(refs, directoryObject(u.ID))
		}
		for _, e := range extra {
			refs = append(refs, directoryObject(e))
		}
		resp, b := h.call(http.MethodPatch, h.graph(tenantA)+"/groups/"+id, tok, map[string]any{"members@odata.bind": refs, "description": "bound"})
		return resp.StatusCode, b
	}
	if st, b := bind(users[:21]); st != http.StatusBadRequest {
		t.Errorf("21 binds: %d %s, want 400", st, b)
	}
	if st, b := bind(users[:2], "00000000-0000-4000-8000-00000000dead"); st != http.StatusNotFound {
		t.Errorf("a bind to an unknown object: %d %s, want 404", st, b)
	}
	if v, _ := h.s.GroupByID(tenantA, id); len(v.Members) != 0 || v.Description != "" {
		t.Errorf("a refused PATCH changed the group: %+v", v)
	}
	if st, b := bind(users[:20]); st != http.StatusNoContent {
		t.Errorf("20 binds: %d %s", st, b)
	}
	if st, _ := bind(users[19:21]); st != http.StatusBadRequest {
		t.Errorf("a bind of an existing member: %d, want 400", st)
	}
	if v, _ := h.s.GroupByID(tenantA, id); len(v.Members) != 20 || v.Description != "bound" {
		t.Errorf("group after the binds: %d members, %q", len(v.Members), v.Description)
	}
}

func TestGroupWritesThrottledAndReplicated(t *testing.T) {
	h := startSim(t, Options{ThrottleScale: 0.001, ReplicationDelay: time.Second}) // 3 writes per 150 ms
	goldenTenant(t, h)
	h.clock.Advance(time.Second)
	tok := h.tokenA()
	status, g, body := h.createGroup(tok, securityGroup("Fresh"))
	if status != http.StatusCreated {
		t.Fatalf("%d %s", status, body)
	}
	id := g["id"].(string)
	if resp, _ := h.send(http.MethodGet, h.graph(tenantA)+"/groups/"+id, tok, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET of a replicating group: %d, want 404", resp.StatusCode)
	}
	h.clock.Advance(time.Second)
	var last *http.Response
	for _, m := range []string{ada, bob, cy, ada} {
		last, _ = h.call(http.MethodPost, h.graph(tenantA)+"/groups/"+id+"/members/$ref", tok, map[string]any{"@odata.id": directoryObject(m)})
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("x-ms-throttle-information") != "WriteLimitExceeded" {
		t.Errorf("fourth member write: %d, want 429", last.StatusCode)
	}
}

func TestGroupControlAPI(t *testing.T) {
	h := startSim(t, Options{})
	goldenTenant(t, h)
	c := h.url + "/control/tenants/" + tenantA + "/groups"
	resp, b := h.call(http.MethodPost, c, "", GroupSpec{DisplayName: "Source Team", Members: []string{ada, bob}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	var g GroupView
	mustUnmarshal(t, b, &g)
	if !g.SecurityEnabled || g.MailNickname != "SourceTeam" || len(g.Members) != 2 {
		t.Errorf("created %+v", g)
	}
	for _, step := range []struct {
		method, path string
		body         any
		want         int
	}{
		{http.MethodPost, "/" + g.ID + "/members", map[string]string{"id": cy}, http.StatusNoContent},
		{http.MethodPost, "/" + g.ID + "/members", map[string]string{"id": cy}, http.StatusConflict},
		{http.MethodDelete, "/" + g.ID + "/members/" + ada, nil, http.StatusNoContent},
		{http.MethodPatch, "/" + g.ID, map[string]string{"displayName": "Renamed"}, http.StatusOK},
		{http.MethodGet, "/" + g.ID, nil, http.StatusOK},
		{http.MethodGet, "", nil, http.StatusOK},
		{http.MethodDelete, "/" + g.ID + "?soft=true", nil, http.StatusNoContent},
		{http.MethodGet, "/" + g.ID, nil, http.StatusNotFound},
	} {
		if resp, b := h.call(step.method, c+step.path, "", step.body); resp.StatusCode != step.want {
			t.Errorf("%s %s: %d %s, want %d", step.method, step.path, resp.StatusCode, b, step.want)
		}
	}
	if gs, _ := h.s.Groups(tenantA); len(gs) != 0 {
		t.Errorf("%d groups after the delete", len(gs))
	}
}
