package graph

import (
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/galsync/galsync/shared/galsync"
)

func TestDeltaPagingFollowsNextLinkToDeltaLink(t *testing.T) {
	var f *fakeGraph
	f = newFakeGraph(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if r.URL.Path != "/v1.0/users/delta()" && r.URL.Path != "/v1.0/users/delta" {
			http.NotFound(w, r)
			return
		}
		switch r.URL.Query().Get("$skiptoken") {
		case "":
			writeJSON(w, http.StatusOK, map[string]any{
				"@odata.context":  "https://graph.microsoft.com/v1.0/$metadata#users(id,mail)",
				"@odata.nextLink": f.srv.URL + "/v1.0/users/delta?$skiptoken=page2",
				"value": []map[string]any{
					{"@odata.type": "#microsoft.graph.user", "id": "u1", "mail": "ada@contoso.com", "accountEnabled": true,
						"userType": "Member", "creationType": nil, "businessPhones": []string{"+1 555 0100"},
						"employeeHireDate": nil, "extensionAttributeCount": 3},
					{"id": "u2", "displayName": "Grace", "manager@delta": []any{map[string]any{"id": "u1"}}},
				},
			})
		case "page2":
			writeJSON(w, http.StatusOK, map[string]any{
				"@odata.deltaLink": f.srv.URL + "/v1.0/users/delta?$deltatoken=next-round",
				"value": []map[string]any{
					{"id": "u3", "@removed": map[string]any{"reason": "deleted"}},
					{"id": "u4", "@removed": map[string]any{"reason": "changed"}},
				},
			})
		default:
			http.Error(w, "unexpected skiptoken", http.StatusBadRequest)
		}
	})
	c := f.client(Options{})
	ctx := testContext(t)

	var all []galsync.SourceUser
	link, pages := "", 0
	for {
		page, err := c.DeltaPage(ctx, testTenant, link, []string{"displayName", "department", "mail"})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		all = append(all, page.Users...)
		if page.DeltaLink != "" {
			if !strings.HasSuffix(page.DeltaLink, "$deltatoken=next-round") {
				t.Errorf("delta link = %q", page.DeltaLink)
			}
			break
		}
		link = page.NextLink
	}
	if pages != 2 || len(all) != 4 {
		t.Fatalf("%d pages, %d users", pages, len(all))
	}
	wantFirst := map[string]any{"id": "u1", "mail": "ada@contoso.com", "accountEnabled": true, "userType": "Member",
		"creationType": nil, "businessPhones": []string{"+1 555 0100"}, "employeeHireDate": nil, "extensionAttributeCount": "3"}
	if !reflect.DeepEqual(all[0].Attributes, wantFirst) || all[0].ID != "u1" || all[0].Removed != "" {
		t.Errorf("first user = %#v", all[0])
	}
	if _, ok := all[1].Attributes["manager@delta"]; ok || all[1].Attributes["displayName"] != "Grace" {
		t.Errorf("second user attributes = %#v (annotations must be left out)", all[1].Attributes)
	}
	if all[2].ID != "u3" || all[2].Removed != "deleted" || all[3].Removed != "changed" {
		t.Errorf("removed users = %#v, %#v", all[2], all[3])
	}

	reqs := f.requests()
	if reqs[0].Path != "/v1.0/users/delta" || reqs[1].Path != "/v1.0/users/delta" {
		t.Errorf("paths = %s, %s", reqs[0].Path, reqs[1].Path)
	}
	sel := strings.Split(reqs[0].Query.Get("$select"), ",")
	wantSel := []string{"id", "mail", "userPrincipalName", "accountEnabled", "userType", "creationType", "displayName", "department"}
	if !slices.Equal(sel, wantSel) {
		t.Errorf("$select = %v, want %v", sel, wantSel)
	}
	if reqs[1].Query.Get("$select") != "" || reqs[1].Query.Get("$skiptoken") != "page2" {
		t.Errorf("next page query = %v, want the nextLink as is", reqs[1].Query)
	}
}

func TestDeltaExpired(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   any
	}{
		{"410 Gone without body", http.StatusGone, nil},
		{"410 Gone with error", http.StatusGone, graphError("resyncRequired", "Resync required.")},
		{"400 syncStateNotFound", http.StatusBadRequest, graphError("syncStateNotFound", "The sync state generation is not found. The delta token is expired and data must be synchronized again.")},
		{"400 SyncStateNotFound", http.StatusBadRequest, graphError("SyncStateNotFound", "The sync state root folder is not found.")},
		{"400 resyncRequired inner", http.StatusBadRequest, map[string]any{"error": map[string]any{"code": "BadRequest", "message": "Resync.",
			"innerError": map[string]any{"code": "resyncRequired"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGraph(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) {
				if tt.body == nil {
					w.WriteHeader(tt.status)
					return
				}
				writeJSON(w, tt.status, tt.body)
			})
			_, err := f.client(Options{}).DeltaPage(testContext(t), testTenant, f.srv.URL+"/v1.0/users/delta?$deltatoken=old", nil)
			if !errors.Is(err, galsync.ErrDeltaExpired) {
				t.Fatalf("err = %v, want ErrDeltaExpired", err)
			}
			if galsync.IsPermanent(err) {
				t.Errorf("an expired token is handled by a resync, not dead-lettered: %v", err)
			}
		})
	}
}

func TestDeltaPageMalformed(t *testing.T) {
	for name, body := range map[string]map[string]any{
		"no link":      {"value": []any{}},
		"user sans id": {"@odata.nextLink": "https://x/v1.0/users/delta?$skiptoken=a", "value": []any{map[string]any{"mail": "a@b.c"}}},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakeGraph(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) { writeJSON(w, http.StatusOK, body) })
			if _, err := f.client(Options{}).DeltaPage(testContext(t), testTenant, "", nil); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestDeltaLinkElsewhereIsRefused(t *testing.T) {
	f := newFakeGraph(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) { w.WriteHeader(http.StatusTeapot) })
	for _, link := range []string{"https://evil.example/v1.0/users/delta?$deltatoken=x", "/v1.0/users/delta?$deltatoken=x", "::"} {
		_, err := f.client(Options{}).DeltaPage(testContext(t), testTenant, link, nil)
		if !galsync.IsPermanent(err) || strings.Contains(err.Error(), "deltatoken") {
			t.Errorf("link %q: err = %v, want a permanent error that does not quote the link", link, err)
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}
