package sim

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// Replication delay: a directory object just written may answer 404 for a
// while ("it's possible for the Create team call to fail with a 404 error
// code due to replication delays", https://learn.microsoft.com/graph/api/team-put-teams).

func (h *harness) usersMatching(tok, filter string) []map[string]any {
	h.t.Helper()
	resp, body := h.send(http.MethodGet, h.graph(tenantA)+"/users?$select=id&$filter="+url.QueryEscape(filter), tok, nil, nil)
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("filter %s: %d %s", filter, resp.StatusCode, body)
	}
	var p usersPage
	mustUnmarshal(h.t, body, &p)
	return p.Value
}

// expectHidden checks every Graph path a hidden user must be missing from.
func (h *harness) expectHidden(tok, id, mail string) {
	h.t.Helper()
	u := h.graph(tenantA) + "/users/" + id
	for _, c := range []struct {
		method string
		body   any
	}{{http.MethodGet, nil}, {http.MethodPatch, map[string]any{"jobTitle": "Early"}}, {http.MethodDelete, nil}} {
		resp, body := h.call(c.method, u, tok, c.body)
		if resp.StatusCode != http.StatusNotFound || graphErrorCode(h.t, body) != "Request_ResourceNotFound" {
			h.t.Errorf("%s of a replicating user: %d %s, want 404 Request_ResourceNotFound", c.method, resp.StatusCode, body)
		}
	}
	if got := h.usersMatching(tok, "mail eq '"+mail+"'"); len(got) != 0 {
		h.t.Errorf("$filter found a replicating user: %v", got)
	}
	resp, body := h.send(http.MethodGet, h.graph(tenantA)+"/users?$select=id", tok, nil, nil)
	var p usersPage
	mustUnmarshal(h.t, body, &p)
	for _, v := range p.Value {
		if v["id"] == id {
			h.t.Errorf("GET /users listed a replicating user (%d)", resp.StatusCode)
		}
	}
}

func TestInvitedUserReplicates(t *testing.T) {
	h := startSim(t, Options{ReplicationDelay: 2 * time.Second})
	tok := h.tokenA()
	body := map[string]any{"invitedUserEmailAddress": "rae@partner.example", "inviteRedirectUrl": "https://myapps.microsoft.com"}
	status, inv, b := h.invite(tok, body)
	if status != http.StatusCreated {
		t.Fatalf("%d %s", status, b)
	}
	h.expectHidden(tok, inv.InvitedUser.ID, "rae@partner.example")

	// The invitation service wrote the user: inviting again finds it.
	status, again, b := h.invite(tok, body)
	if status != http.StatusCreated || again.InvitedUser.ID != inv.InvitedUser.ID {
		t.Fatalf("re-invitation during replication: %d %s, want user %s", status, b, inv.InvitedUser.ID)
	}
	if users, _ := h.s.Users(tenantA); len(users) != 1 {
		t.Errorf("%d users after two invitations, want 1", len(users))
	}

	h.clock.Advance(2 * time.Second)
	if resp, b := h.send(http.MethodGet, h.graph(tenantA)+"/users/"+inv.InvitedUser.ID, tok, nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("GET after the delay: %d %s", resp.StatusCode, b)
	}
	if resp, b := h.call(http.MethodPatch, h.graph(tenantA)+"/users/"+inv.InvitedUser.ID, tok, map[string]any{"jobTitle": "Late"}); resp.StatusCode != http.StatusNoContent {
		t.Errorf("PATCH after the delay: %d %s", resp.StatusCode, b)
	}
	if got := h.usersMatching(tok, "mail eq 'rae@partner.example'"); len(got) != 1 {
		t.Errorf("$filter after the delay found %d users", len(got))
	}
}

func TestConvertedMemberReplicates(t *testing.T) {
	h := startSim(t, Options{ReplicationDelay: time.Second})
	goldenTenant(t, h)
	const ada = "00000000-0000-4000-8000-000000000001"
	h.clock.Advance(time.Second) // the golden users were created through the control API
	tok := h.tokenA()
	status, _, b := h.invite(tok, map[string]any{"invitedUserEmailAddress": "ada@home.example",
		"inviteRedirectUrl": "https://myapps.microsoft.com", "invitedUser": map[string]any{"id": ada}})
	if status != http.StatusCreated {
		t.Fatalf("%d %s", status, b)
	}
	h.expectHidden(tok, ada, "ada@a.onmicrosoft.com")
	h.clock.Advance(time.Second)
	if resp, _ := h.send(http.MethodGet, h.graph(tenantA)+"/users/"+ada, tok, nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("GET after the delay: %d", resp.StatusCode)
	}
}

func TestControlCreatedUserReplicatesSeededDoNot(t *testing.T) {
	h := startSim(t, Options{})
	step := func(method, path string, body any, want int) []byte {
		t.Helper()
		resp, b := h.call(method, h.url+"/control"+path, "", body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
		}
		return b
	}
	var d DirectorySettings
	mustUnmarshal(t, step(http.MethodGet, "/directory", nil, http.StatusOK), &d)
	if d.ReplicationDelayMS != 0 || d.MailUserAddressListReadOnly {
		t.Errorf("default directory settings %+v, want none", d)
	}
	step(http.MethodPut, "/directory", DirectorySettings{ReplicationDelayMS: -1}, http.StatusBadRequest)
	step(http.MethodPut, "/directory", DirectorySettings{ReplicationDelayMS: 3000}, http.StatusOK)

	var u User
	mustUnmarshal(t, step(http.MethodPost, "/tenants/"+tenantA+"/users",
		map[string]any{"displayName": "Fresh", "mail": "fresh@a.onmicrosoft.com"}, http.StatusCreated), &u)
	seeded := seedA(t, h, 1)[0]
	tok := h.tokenA()
	h.expectHidden(tok, u.ID, "fresh@a.onmicrosoft.com")
	if resp, _ := h.send(http.MethodGet, h.graph(tenantA)+"/users/"+seeded.ID, tok, nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("a seeded user is hidden: %d", resp.StatusCode)
	}
	// The control API sees every user.
	step(http.MethodGet, "/tenants/"+tenantA+"/users/"+u.ID, nil, http.StatusOK)
	h.clock.Advance(3 * time.Second)
	if resp, _ := h.send(http.MethodGet, h.graph(tenantA)+"/users/"+u.ID, tok, nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("GET after the delay: %d", resp.StatusCode)
	}
}
