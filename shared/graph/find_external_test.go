package graph

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// A B2B user without #EXT# in its user principal name (a member converted
// in place keeps its UPN and userType: learn.microsoft.com/entra/external-id/invite-internal-users)
// is external by its externalUserState or its creationType; the lookup by
// address prefers it to a member sharing the address, wherever Graph
// lists it, provided externalUserState is selected (Graph returns it only
// when asked: learn.microsoft.com/graph/api/user-get).
func TestFindUserByAddressPrefersB2BWithoutEXT(t *testing.T) {
	member := map[string]any{"id": "member-1", "mail": "ada@contoso.com", "userType": "Member", "creationType": nil,
		"userPrincipalName": "ada.member@fabrikam.onmicrosoft.com"}
	for _, tc := range []struct {
		name string
		b2b  map[string]any
	}{
		{"converted member", map[string]any{"userType": "Member", "creationType": nil, "externalUserState": "Accepted"}},
		{"converted, userType Guest", map[string]any{"userType": "Guest", "creationType": nil, "externalUserState": "PendingAcceptance"}},
		{"invited as member", map[string]any{"userType": "Member", "creationType": "Invitation", "externalUserState": nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b2b := map[string]any{"id": "b2b-1", "mail": nil, "otherMails": []string{"ada@contoso.com"},
				"userPrincipalName": "ada@fabrikam.onmicrosoft.com"}
			for k, v := range tc.b2b {
				b2b[k] = v
			}
			f := newFakeGraph(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) {
				writeJSON(w, http.StatusOK, map[string]any{"value": []map[string]any{member, b2b}})
			})
			u, err := f.client(Options{}).FindUserByAddress(testContext(t), testTenant, "ada@contoso.com",
				"fabrikam.onmicrosoft.com", []string{"externalUserState"})
			if err != nil {
				t.Fatal(err)
			}
			if u.ID != "b2b-1" {
				t.Errorf("found %s, want the B2B user b2b-1 over the member", u.ID)
			}
			sel := strings.Split(f.requests()[0].Query.Get("$select"), ",")
			for _, p := range []string{"userType", "creationType", "externalUserState"} {
				if !slices.Contains(sel, p) {
					t.Errorf("$select %v lacks %s", sel, p)
				}
			}
		})
	}
}
