package sim

import (
	"net/http"
	"strings"
	"testing"
)

type invitation struct {
	ID              string `json:"id"`
	Status          string `json:"status"`
	InviteRedeemURL string `json:"inviteRedeemUrl"`
	InvitedUserType string `json:"invitedUserType"`
	InvitedUser     struct {
		ID string `json:"id"`
	} `json:"invitedUser"`
}

func (h *harness) invite(tok string, body map[string]any) (int, invitation, []byte) {
	h.t.Helper()
	resp, b := h.call(http.MethodPost, h.graph(tenantA)+"/invitations", tok, body)
	var inv invitation
	if resp.StatusCode == http.StatusCreated {
		mustUnmarshal(h.t, b, &inv)
	}
	return resp.StatusCode, inv, b
}

func TestInvitationCreatesPendingGuest(t *testing.T) {
	h := startSim(t, Options{})
	tok := h.tokenA()
	status, inv, body := h.invite(tok, map[string]any{
		"@odata.type": "#microsoft.graph.invitation", "invitedUserEmailAddress": "eve@partner.example",
		"inviteRedirectUrl": "https://myapps.microsoft.com", "sendInvitationMessage": true,
	})
	if status != http.StatusCreated {
		t.Fatalf("%d %s", status, body)
	}
	if inv.Status != "PendingAcceptance" || inv.InvitedUserType != "Guest" || inv.ID == "" || inv.InvitedUser.ID == "" {
		t.Errorf("invitation = %+v", inv)
	}
	u, err := h.s.User(tenantA, inv.InvitedUser.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := User{ID: inv.InvitedUser.ID, UserPrincipalName: "eve_partner.example#EXT#@a.onmicrosoft.com",
		Mail: "eve@partner.example", DisplayName: "eve", UserType: "Guest", CreationType: "Invitation",
		ExternalUserState: "PendingAcceptance", AccountEnabled: true}
	if u.UserPrincipalName != want.UserPrincipalName || u.Mail != want.Mail || u.DisplayName != want.DisplayName ||
		u.UserType != want.UserType || u.CreationType != want.CreationType || u.ExternalUserState != want.ExternalUserState ||
		u.AccountEnabled != want.AccountEnabled || u.ShowInAddressList == nil || *u.ShowInAddressList {
		t.Errorf("guest = %+v\nwant   %+v (hidden from the address list)", u, want)
	}
}

func TestInvitationAsMember(t *testing.T) {
	h := startSim(t, Options{})
	status, inv, body := h.invite(h.tokenA(), map[string]any{"invitedUserEmailAddress": "mo@partner.example",
		"inviteRedirectUrl": "https://myapps.microsoft.com", "invitedUserType": "member", "invitedUserDisplayName": "Mo"})
	if status != http.StatusCreated {
		t.Fatalf("%d %s", status, body)
	}
	u, _ := h.s.User(tenantA, inv.InvitedUser.ID)
	if u.UserType != "Member" || u.CreationType != "Invitation" || u.DisplayName != "Mo" {
		t.Errorf("member guest = %+v", u)
	}
}

func TestInvitingAnExistingAddressCreatesNoSecondUser(t *testing.T) {
	h := startSim(t, Options{})
	tok := h.tokenA()
	body := map[string]any{"invitedUserEmailAddress": "fay@partner.example", "inviteRedirectUrl": "https://myapps.microsoft.com"}
	_, first, _ := h.invite(tok, body)
	body["invitedUserEmailAddress"] = "FAY@Partner.Example"
	status, second, b := h.invite(tok, body)
	if status != http.StatusCreated || second.InvitedUser.ID != first.InvitedUser.ID {
		t.Fatalf("re-invite: %d %s, want the first user %s", status, b, first.InvitedUser.ID)
	}
	if users, _ := h.s.Users(tenantA); len(users) != 1 {
		t.Errorf("tenant has %d users, want 1", len(users))
	}
}

func TestRedeemAcceptsTheInvitation(t *testing.T) {
	h := startSim(t, Options{})
	tok := h.tokenA()
	_, inv, _ := h.invite(tok, map[string]any{"invitedUserEmailAddress": "gus@partner.example", "inviteRedirectUrl": "https://example.org/welcome"})
	h.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, _ := h.send(http.MethodGet, inv.InviteRedeemURL, "", nil, nil)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://example.org/welcome" {
		t.Fatalf("redeem: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if u, _ := h.s.User(tenantA, inv.InvitedUser.ID); u.ExternalUserState != "Accepted" {
		t.Errorf("externalUserState = %q, want Accepted", u.ExternalUserState)
	}
	_, again, _ := h.invite(tok, map[string]any{"invitedUserEmailAddress": "gus@partner.example", "inviteRedirectUrl": "https://example.org"})
	if again.Status != "Completed" {
		t.Errorf("re-invite of an accepted guest: status %q, want Completed", again.Status)
	}
	resp, _ = h.send(http.MethodGet, strings.Replace(inv.InviteRedeemURL, "ticket=", "ticket=x", 1), "", nil, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("forged ticket: status %d, want 404", resp.StatusCode)
	}
}

func TestInvitationValidation(t *testing.T) {
	h := startSim(t, Options{})
	tok := h.tokenA()
	ok := func() map[string]any {
		return map[string]any{"invitedUserEmailAddress": "hal@partner.example", "inviteRedirectUrl": "https://myapps.microsoft.com"}
	}
	cases := map[string]func(map[string]any){
		"no address":    func(b map[string]any) { delete(b, "invitedUserEmailAddress") },
		"bad address":   func(b map[string]any) { b["invitedUserEmailAddress"] = "hal at partner" },
		"no redirect":   func(b map[string]any) { delete(b, "inviteRedirectUrl") },
		"relative":      func(b map[string]any) { b["inviteRedirectUrl"] = "/home" },
		"bad user type": func(b map[string]any) { b["invitedUserType"] = "Robot" },
		"unknown field": func(b map[string]any) { b["invitedUserShoeSize"] = 9 },
		"unknown inviter": func(b map[string]any) {
			b["invitedUser"] = map[string]any{"id": "00000000-0000-4000-8000-00000000dead"}
		},
	}
	for name, spoil := range cases {
		t.Run(name, func(t *testing.T) {
			b := ok()
			spoil(b)
			status, _, body := h.invite(tok, b)
			if status != http.StatusBadRequest && status != http.StatusNotFound {
				t.Errorf("status %d %s, want 400 (or 404 for an unknown user)", status, body)
			}
		})
	}
	if users, _ := h.s.Users(tenantA); len(users) != 0 {
		t.Errorf("refused invitations created %d users", len(users))
	}
}

func TestInviteInternalUserConvertsIt(t *testing.T) {
	h := startSim(t, Options{})
	goldenTenant(t, h)
	status, inv, body := h.invite(h.tokenA(), map[string]any{"invitedUserEmailAddress": "ada@home.example",
		"inviteRedirectUrl": "https://myapps.microsoft.com", "invitedUser": map[string]any{"id": "00000000-0000-4000-8000-000000000001"}})
	if status != http.StatusCreated || inv.InvitedUser.ID != "00000000-0000-4000-8000-000000000001" {
		t.Fatalf("%d %s", status, body)
	}
	u, _ := h.s.User(tenantA, inv.InvitedUser.ID)
	if u.ExternalUserState != "PendingAcceptance" || len(u.OtherMails) != 1 {
		t.Errorf("converted user = %+v", u)
	}
}
