package graph

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/galsync/galsync/shared/galsync"
)

func TestFindUserByMail(t *testing.T) {
	f := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		switch r.URL.Query().Get("$filter") {
		case "mail eq 'o''brien@contoso.com'":
			writeJSON(w, http.StatusOK, map[string]any{"value": []map[string]any{
				{"id": "member-1", "mail": "o'brien@contoso.com", "userType": "Member", "creationType": nil},
				{"id": "guest-1", "mail": "o'brien@contoso.com", "userType": "Guest", "creationType": "Invitation",
					"userPrincipalName": "o'brien_contoso.com#EXT#@fabrikam.onmicrosoft.com", "jobTitle": "Poet"},
			}})
		default:
			writeJSON(w, http.StatusOK, map[string]any{"value": []any{}})
		}
	})
	c := f.client(Options{})
	u, err := c.FindUserByMail(testContext(t), testTenant, "o'brien@contoso.com", []string{"jobTitle"})
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != "guest-1" || u.CreationType != "Invitation" || u.UserType != "Guest" ||
		u.UserPrincipalName != "o'brien_contoso.com#EXT#@fabrikam.onmicrosoft.com" || u.Attributes["jobTitle"] != "Poet" {
		t.Errorf("found %+v, want the invited guest", u)
	}
	r := f.requests()[0]
	if r.Path != "/v1.0/users" || !strings.HasSuffix(r.Query.Get("$select"), ",jobTitle") {
		t.Errorf("request %s ?%v", r.Path, r.Query)
	}

	_, err = c.FindUserByMail(testContext(t), testTenant, "nobody@contoso.com", nil)
	if !errors.Is(err, galsync.ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}

func TestMailFilter(t *testing.T) {
	for in, want := range map[string]string{
		"ada@contoso.com":  "mail eq 'ada@contoso.com'",
		"o'brien@x.com":    "mail eq 'o''brien@x.com'",
		"a''b@x.com":       "mail eq 'a''''b@x.com'",
		"x' or 1 eq 1 --'": "mail eq 'x'' or 1 eq 1 --'''",
	} {
		if got := mailFilter(in); got != want {
			t.Errorf("mailFilter(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGetUserByUserPrincipalName(t *testing.T) {
	const upn = "ada_contoso.com#EXT#@fabrikam.onmicrosoft.com"
	f := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if r.URL.Path != "/v1.0/users/"+upn {
			http.NotFound(w, r)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": "guest-1", "userPrincipalName": upn, "accountEnabled": false})
	})
	u, err := f.client(Options{}).GetUser(testContext(t), testTenant, upn, nil)
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != "guest-1" || u.Attributes["accountEnabled"] != false || u.Removed != "" {
		t.Errorf("GetUser = %+v", u)
	}
}
