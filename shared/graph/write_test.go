package graph

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/galsync/galsync/shared/galsync"
)

func TestUpdateUserSendsExactlyTheGivenKeys(t *testing.T) {
	f := newFakeGraph(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) { w.WriteHeader(http.StatusNoContent) })
	changes := map[string]any{
		"department":     nil,
		"jobTitle":       "Engineer",
		"businessPhones": []string{"+1 555 0100"},
		"otherMails":     nil,
		"accountEnabled": false,
	}
	if err := f.client(Options{}).UpdateUser(testContext(t), testTenant, "guest-1", changes); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPatch || r.Path != "/v1.0/users/guest-1" || r.ContentEncoding != "" {
		t.Errorf("request = %s %s (Content-Encoding %q)", r.Method, r.Path, r.ContentEncoding)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"department":     `null`,
		"jobTitle":       `"Engineer"`,
		"businessPhones": `["+1 555 0100"]`,
		"otherMails":     `[]`,
		"accountEnabled": `false`,
	}
	if len(got) != len(want) {
		t.Errorf("body has %d keys, want %d: %s", len(got), len(want), r.Body)
	}
	for k, v := range want {
		if string(got[k]) != v {
			t.Errorf("%s = %s, want %s", k, got[k], v)
		}
	}
}

func TestUpdateUserWithoutChangesSendsNothing(t *testing.T) {
	f := newFakeGraph(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) { w.WriteHeader(http.StatusNoContent) })
	if err := f.client(Options{}).UpdateUser(testContext(t), testTenant, "guest-1", nil); err != nil {
		t.Fatal(err)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests, want none", n)
	}
}

func TestPatchBody(t *testing.T) {
	tests := []struct {
		name    string
		in      map[string]any
		want    map[string]any
		wantErr string
	}{
		{"scalars as given", map[string]any{"city": "Oslo", "state": nil}, map[string]any{"city": "Oslo", "state": nil}, ""},
		{"one phone as a list", map[string]any{"businessPhones": "+47 1"}, map[string]any{"businessPhones": []string{"+47 1"}}, ""},
		{"empty phone clears", map[string]any{"businessPhones": ""}, map[string]any{"businessPhones": []string{}}, ""},
		{"decoded list", map[string]any{"otherMails": []any{"a@b.c"}}, map[string]any{"otherMails": []string{"a@b.c"}}, ""},
		{"accountEnabled from text", map[string]any{"accountEnabled": "true"}, map[string]any{"accountEnabled": true}, ""},
		{"accountEnabled not a bool", map[string]any{"accountEnabled": "maybe"}, nil, `accountEnabled: "maybe" is not a boolean`},
		{"phones not strings", map[string]any{"businessPhones": 42}, nil, "businessPhones: a int is not a list of strings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := patchBody(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("patchBody = %#v, %v; want %#v", got, err, tt.want)
			}
		})
	}
}

func TestDeleteUser(t *testing.T) {
	f := newFakeGraph(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) { w.WriteHeader(http.StatusNoContent) })
	c := f.client(Options{})
	if err := c.DeleteUser(testContext(t), testTenant, "guest-9"); err != nil {
		t.Fatal(err)
	}
	if r := f.requests(); len(r) != 1 || r[0].Method != http.MethodDelete || r[0].Path != "/v1.0/users/guest-9" {
		t.Errorf("requests = %+v", r)
	}
	err := c.DeleteUser(testContext(t), testTenant, "")
	if !galsync.IsPermanent(err) || len(f.requests()) != 1 {
		t.Errorf("empty id: err = %v after %d requests; want a permanent error and no request", err, len(f.requests()))
	}
}

func TestInviteBody(t *testing.T) {
	f := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1.0/invitations" {
			http.NotFound(w, r)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{
			"id": "inv-1", "status": "PendingAcceptance", "invitedUserType": "Guest",
			"invitedUser": map[string]any{"id": "guest-1", "userPrincipalName": "ada_contoso.com#EXT#@fabrikam.onmicrosoft.com"},
		})
	})
	got, err := f.client(Options{}).Invite(testContext(t), testTenant, galsync.Invitation{
		EmailAddress: "ada@contoso.com", DisplayName: "Ada Lovelace", RedirectURL: "https://myapps.microsoft.com",
		UserType: "Guest", SendInvitationMessage: false,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := galsync.TargetUser{ID: "guest-1", UserPrincipalName: "ada_contoso.com#EXT#@fabrikam.onmicrosoft.com", UserType: "Guest", CreationType: "Invitation"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Invite = %+v, want %+v", got, want)
	}
	r := f.requests()[0]
	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	wantBody := map[string]any{
		"invitedUserEmailAddress": "ada@contoso.com",
		"inviteRedirectUrl":       "https://myapps.microsoft.com",
		"invitedUserDisplayName":  "Ada Lovelace",
		"invitedUserType":         "Guest",
		"sendInvitationMessage":   false,
	}
	if !reflect.DeepEqual(body, wantBody) || r.ContentEncoding != "" {
		t.Errorf("body = %v (Content-Encoding %q), want %v uncompressed", body, r.ContentEncoding, wantBody)
	}
}

func TestInviteRefusesIncompleteInvitation(t *testing.T) {
	f := newFakeGraph(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) { w.WriteHeader(http.StatusTeapot) })
	_, err := f.client(Options{}).Invite(testContext(t), testTenant, galsync.Invitation{EmailAddress: "a@b.c"})
	if !galsync.IsPermanent(err) || !strings.Contains(err.Error(), "redirect URL") || len(f.requests()) != 0 {
		t.Errorf("err = %v, requests %d", err, len(f.requests()))
	}
}
