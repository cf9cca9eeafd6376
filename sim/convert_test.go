package sim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Converting internal users, per "Invite internal users to B2B
// collaboration" (https://learn.microsoft.com/entra/external-id/invite-internal-users).

// connectMember creates a member as Microsoft Entra Connect would sync it:
// mail set, onPremisesSyncEnabled true, and onPremisesUserPrincipalName as
// given ("" for the null a conversion needs).
func connectMember(t *testing.T, h *harness, mail, onPremUPN string) User {
	t.Helper()
	body := map[string]any{"displayName": mail, "mail": mail, "userType": "Member", "onPremisesSyncEnabled": true,
		"onPremisesUserPrincipalName": nil}
	if onPremUPN != "" {
		body["onPremisesUserPrincipalName"] = onPremUPN
	}
	resp, b := h.call(http.MethodPost, h.url+"/control/tenants/"+tenantA+"/users", "", body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create member: %d %s", resp.StatusCode, b)
	}
	var u User
	mustUnmarshal(t, b, &u)
	return u
}

func (h *harness) convert(tok, id, mail string, extra map[string]any) (int, invitation, []byte) {
	h.t.Helper()
	body := map[string]any{"invitedUserEmailAddress": mail, "inviteRedirectUrl": "https://myapps.microsoft.com/?tenantid=" + tenantA,
		"invitedUserType": "Member", "sendInvitationMessage": false, "invitedUser": map[string]any{"id": id}}
	for k, v := range extra {
		body[k] = v
	}
	return h.invite(tok, body)
}

func TestConvertKeepsTheObject(t *testing.T) {
	h := startSim(t, Options{})
	tok := h.tokenA()
	member := connectMember(t, h, "kim@partner.example", "")
	boss := connectMember(t, h, "lee@partner.example", "")
	if err := h.s.SetManager(tenantA, member.ID, boss.ID); err != nil {
		t.Fatal(err)
	}
	g, err := h.s.CreateGroup(tenantA, GroupSpec{DisplayName: "Partners", Members: []string{member.ID}})
	if err != nil {
		t.Fatal(err)
	}
	status, inv, body := h.convert(tok, member.ID, "kim@partner.example", nil)
	if status != http.StatusCreated || inv.InvitedUser.ID != member.ID || inv.Status != "PendingAcceptance" {
		t.Fatalf("%d %s", status, body)
	}
	u, _ := h.s.User(tenantA, member.ID)
	if u.UserType != "Member" || u.ExternalUserState != "PendingAcceptance" || u.UserPrincipalName != member.UserPrincipalName {
		t.Errorf("converted user %+v: userType and UPN kept, externalUserState PendingAcceptance", u)
	}
	if m, _ := h.s.Manager(tenantA, member.ID); m != boss.ID {
		t.Errorf("manager after conversion: %q, want %s", m, boss.ID)
	}
	if v, _ := h.s.GroupByID(tenantA, g.ID); len(v.Members) != 1 || v.Members[0].ID != member.ID {
		t.Errorf("memberships after conversion: %+v", v.Members)
	}
	if users, _ := h.s.Users(tenantA); len(users) != 2 {
		t.Errorf("%d users, want the same 2", len(users))
	}
	// Converting again is a re-invitation: nothing changes unless asked.
	if _, err := h.s.UpdateUser(tenantA, member.ID, map[string]any{"externalUserState": "Accepted"}); err != nil {
		t.Fatal(err)
	}
	if status, inv, _ := h.convert(tok, member.ID, "kim@partner.example", nil); status != http.StatusCreated || inv.Status != "Completed" {
		t.Errorf("re-invitation of an accepted user: %d %+v", status, inv)
	}
	if _, inv, _ := h.convert(tok, member.ID, "kim@partner.example", map[string]any{"resetRedemption": true}); inv.Status != "PendingAcceptance" {
		t.Errorf("resetRedemption: %+v", inv)
	}
}

// TestConvertRefusals: "we block internal-to-external conversions for user
// objects with this attribute [onPremisesUserPrincipalName]", and the mail
// must hold the external address first.
func TestConvertRefusals(t *testing.T) {
	h := startSim(t, Options{})
	tok := h.tokenA()
	synced := connectMember(t, h, "max@partner.example", "max@corp.partner.example")
	noMail, err := h.s.UpsertUser(tenantA, User{DisplayName: "No Mail", UserType: "Member", AccountEnabled: true})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ id, mail, want string }{
		"onPremisesUserPrincipalName": {synced.ID, "max@partner.example", "onPremisesUserPrincipalName"},
		"no mail":                     {noMail.ID, "nomail@partner.example", "mail"},
	} {
		status, _, body := h.convert(tok, c.id, c.mail, nil)
		code, msg := graphErrorOf(t, body)
		if status != http.StatusBadRequest || code != "BadRequest" || !strings.Contains(msg, c.want) {
			t.Errorf("%s: %d %s, want 400 naming %s", name, status, body, c.want)
		}
		if u, _ := h.s.User(tenantA, c.id); u.ExternalUserState != "" {
			t.Errorf("%s: a refused conversion changed the user: %+v", name, u)
		}
	}
}

func TestOnPremisesPropertiesReadAndFilter(t *testing.T) {
	h := startSim(t, Options{})
	synced := connectMember(t, h, "ora@partner.example", "ora@corp.partner.example")
	connectMember(t, h, "pat@partner.example", "")
	tok := h.tokenA()
	resp, body := h.send(http.MethodGet, h.graph(tenantA)+"/users/"+synced.ID+"?$select=onPremisesSyncEnabled,onPremisesUserPrincipalName", tok, nil, nil)
	var u map[string]any
	mustUnmarshal(t, body, &u)
	if resp.StatusCode != http.StatusOK || u["onPremisesSyncEnabled"] != true || u["onPremisesUserPrincipalName"] != "ora@corp.partner.example" {
		t.Errorf("%d %s", resp.StatusCode, body)
	}
	status, p, body := h.listUsers(tok, "$filter="+url.QueryEscape("onPremisesSyncEnabled eq true"), nil)
	if status != http.StatusOK || len(p.Value) != 2 {
		t.Errorf("onPremisesSyncEnabled eq true: %d %s", status, body)
	}
}
