package sim

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

var (
	tokenParam = regexp.MustCompile(`\$(skiptoken|deltatoken)=[A-Za-z0-9_%-]+`)
	hostPort   = regexp.MustCompile(`https://127\.0\.0\.1:\d+`)
	ticket     = regexp.MustCompile(`ticket=[A-Za-z0-9_-]+`)
)

// normalize replaces what differs between runs (port, opaque tokens) and
// indents, so a golden file reads like the wire payload it stands for.
func normalize(t *testing.T, b []byte) []byte {
	t.Helper()
	b = hostPort.ReplaceAll(b, []byte("https://HOST"))
	b = tokenParam.ReplaceAll(b, []byte("$$$1=TOKEN"))
	b = ticket.ReplaceAll(b, []byte("ticket=TICKET"))
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatalf("indent %s: %v", b, err)
	}
	return append(out.Bytes(), '\n')
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden.json")
	got = normalize(t, got)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s:\n%s", name, path, got)
	}
}

// goldenTenant fills tenant A with three fixed users: a member, a guest
// and a disabled member without mail.
func goldenTenant(t *testing.T, h *harness) {
	t.Helper()
	hidden := false
	for _, u := range []User{
		{ID: "00000000-0000-4000-8000-000000000001", UserPrincipalName: "ada@a.onmicrosoft.com", Mail: "ada@a.onmicrosoft.com",
			DisplayName: "Ada Lovelace", GivenName: "Ada", Surname: "Lovelace", JobTitle: "Analyst",
			BusinessPhones: []string{"+44 20 7946 0000"}, AccountEnabled: true, UserType: "Member"},
		{ID: "00000000-0000-4000-8000-000000000002", UserPrincipalName: "bob_fabrikam.example#EXT#@a.onmicrosoft.com",
			Mail: "bob@fabrikam.example", DisplayName: "Bob \"The Guest\"", AccountEnabled: true, UserType: "Guest",
			CreationType: "Invitation", ExternalUserState: "Accepted", ShowInAddressList: &hidden},
		{ID: "00000000-0000-4000-8000-000000000003", UserPrincipalName: "cy@a.onmicrosoft.com", DisplayName: "Cy Nomail",
			UserType: "Member"},
	} {
		if _, err := h.s.UpsertUser(tenantA, u); err != nil {
			t.Fatal(err)
		}
	}
}

func TestGoldenDeltaPages(t *testing.T) {
	h := startSim(t, Options{PageSize: 2})
	goldenTenant(t, h)
	tok := h.tokenA()
	sel := "/users/delta?$select=displayName,mail,userPrincipalName,accountEnabled,userType,creationType,businessPhones,showInAddressList"
	resp, first := h.send(http.MethodGet, h.graph(tenantA)+sel, tok, nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, first)
	}
	checkGolden(t, "delta_page1", first)
	var p deltaResponse
	mustUnmarshal(t, first, &p)
	_, second := h.send(http.MethodGet, p.NextLink, tok, nil, nil)
	checkGolden(t, "delta_page2", second)
	mustUnmarshal(t, second, &p)

	mustUpdate(t, h, "00000000-0000-4000-8000-000000000001", map[string]any{"displayName": "Ada King"})
	if err := h.s.DeleteUser(tenantA, "00000000-0000-4000-8000-000000000002", false); err != nil {
		t.Fatal(err)
	}
	_, changes := h.send(http.MethodGet, p.DeltaLink, tok, nil, nil)
	checkGolden(t, "delta_changes", changes)
}

func TestGoldenInvitation(t *testing.T) {
	h := startSim(t, Options{})
	resp, body := h.call(http.MethodPost, h.graph(tenantA)+"/invitations", h.tokenA(), map[string]any{
		"invitedUserEmailAddress": "Dana@Partner.example", "inviteRedirectUrl": "https://myapps.microsoft.com",
		"invitedUserDisplayName": "Dana Scully", "sendInvitationMessage": false,
	})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	checkGolden(t, "invitation", body)
	var inv struct {
		InvitedUser struct{ ID string } `json:"invitedUser"`
	}
	mustUnmarshal(t, body, &inv)
	_, user := h.send(http.MethodGet, h.graph(tenantA)+"/users/"+inv.InvitedUser.ID+
		"?$select=id,userPrincipalName,mail,otherMails,displayName,userType,creationType,externalUserState,accountEnabled,showInAddressList",
		h.tokenA(), nil, nil)
	checkGolden(t, "invited_user", user)
}
