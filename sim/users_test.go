package sim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

type usersPage struct {
	NextLink string           `json:"@odata.nextLink"`
	Value    []map[string]any `json:"value"`
}

func TestListUsersFilter(t *testing.T) {
	h := startSim(t, Options{})
	goldenTenant(t, h)
	tok := h.tokenA()
	// eq on null and not are advanced queries (aad-advanced-queries).
	advanced := map[string]bool{"mail eq null": true, "not (userType eq 'Member')": true}
	cases := []struct {
		filter string
		want   []string // ids
	}{
		{"mail eq 'ADA@a.onmicrosoft.com'", []string{"00000000-0000-4000-8000-000000000001"}},
		{"userPrincipalName eq 'bob_fabrikam.example#EXT#@a.onmicrosoft.com'", []string{"00000000-0000-4000-8000-000000000002"}},
		{"mail eq 'nobody@nowhere.example'", nil},
		{"mail eq null", []string{"00000000-0000-4000-8000-000000000003"}},
		{"userType eq 'Guest' and accountEnabled eq true", []string{"00000000-0000-4000-8000-000000000002"}},
		{"userPrincipalName eq 'bob@fabrikam.example' or mail eq 'bob@fabrikam.example' or proxyAddresses/any(x:x eq 'SMTP:bob@fabrikam.example')",
			[]string{"00000000-0000-4000-8000-000000000002"}},
		{"startswith(displayName,'cy')", []string{"00000000-0000-4000-8000-000000000003"}},
		{"not (userType eq 'Member')", []string{"00000000-0000-4000-8000-000000000002"}},
	}
	for _, c := range cases {
		t.Run(c.filter, func(t *testing.T) {
			u, hdr := h.graph(tenantA)+"/users?$select=id,mail&$filter="+url.QueryEscape(c.filter), map[string]string(nil)
			if advanced[c.filter] {
				u, hdr = u+"&$count=true", map[string]string{"ConsistencyLevel": "eventual"}
			}
			resp, body := h.send(http.MethodGet, u, tok, nil, hdr)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			var p usersPage
			mustUnmarshal(t, body, &p)
			var got []string
			for _, v := range p.Value {
				got = append(got, v["id"].(string))
				if len(v) != 2 {
					t.Errorf("$select=id,mail returned %v", v)
				}
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestListUsersRejectsBadQueries(t *testing.T) {
	h := startSim(t, Options{})
	tok := h.tokenA()
	for _, q := range []string{
		"$filter=" + url.QueryEscape("mail eq"),
		"$filter=" + url.QueryEscape("shoeSize eq '9'"),
		"$filter=" + url.QueryEscape("accountEnabled eq 'yes'"),
		"$top=1000",
		"$top=0",
		"$select=shoeSize",
	} {
		resp, body := h.send(http.MethodGet, h.graph(tenantA)+"/users?"+q, tok, nil, nil)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d %s, want 400", q, resp.StatusCode, body)
		}
	}
}

func TestListUsersPagesWithTop(t *testing.T) {
	h := startSim(t, Options{})
	users := seedA(t, h, 7)
	tok := h.tokenA()
	u := h.graph(tenantA) + "/users?$top=3&$select=id"
	var got []string
	for pages := 0; u != ""; pages++ {
		if pages > 3 {
			t.Fatal("too many pages")
		}
		_, body := h.send(http.MethodGet, u, tok, nil, nil)
		var p usersPage
		mustUnmarshal(t, body, &p)
		for _, v := range p.Value {
			got = append(got, v["id"].(string))
		}
		u = p.NextLink
	}
	if len(got) != len(users) || got[0] != users[0].ID || got[6] != users[6].ID {
		t.Errorf("paged ids %v", got)
	}
}

func TestGetUserByIDOrUPN(t *testing.T) {
	h := startSim(t, Options{})
	goldenTenant(t, h)
	tok := h.tokenA()
	for _, key := range []string{"00000000-0000-4000-8000-000000000002", url.PathEscape("BOB_fabrikam.example#EXT#@a.onmicrosoft.com")} {
		resp, body := h.send(http.MethodGet, h.graph(tenantA)+"/users/"+key+"?$select=displayName,aboutMe", tok, nil, nil)
		var u map[string]any
		mustUnmarshal(t, body, &u)
		if resp.StatusCode != http.StatusOK || u["id"] != "00000000-0000-4000-8000-000000000002" {
			t.Errorf("%s: %d %s", key, resp.StatusCode, body)
		}
		if v, ok := u["aboutMe"]; !ok || v != nil {
			t.Errorf("an unset selected property should be null: %s", body)
		}
	}
	resp, body := h.send(http.MethodGet, h.graph(tenantA)+"/users/00000000-0000-4000-8000-00000000dead", tok, nil, nil)
	if resp.StatusCode != http.StatusNotFound || graphErrorCode(t, body) != "Request_ResourceNotFound" {
		t.Errorf("missing user: %d %s", resp.StatusCode, body)
	}
}

func TestPatchUser(t *testing.T) {
	const id = "00000000-0000-4000-8000-000000000001"
	cases := []struct {
		name   string
		body   map[string]any
		status int
		check  func(t *testing.T, u User)
	}{
		{"updatable properties", map[string]any{"@odata.type": "#microsoft.graph.user", "jobTitle": "Countess",
			"userType": "Guest", "showInAddressList": true, "businessPhones": []string{"+1 555 0100"}}, http.StatusNoContent,
			func(t *testing.T, u User) {
				if u.JobTitle != "Countess" || u.UserType != "Guest" || u.ShowInAddressList == nil || !*u.ShowInAddressList {
					t.Errorf("not applied: %+v", u)
				}
			}},
		{"null clears", map[string]any{"jobTitle": nil}, http.StatusNoContent,
			func(t *testing.T, u User) {
				if u.JobTitle != "" {
					t.Errorf("jobTitle = %q", u.JobTitle)
				}
			}},
		{"unmodelled updatable is accepted", map[string]any{"employeeOrgData": map[string]any{"division": "Poetry", "costCenter": "1815"}},
			http.StatusNoContent, nil},
		{"unknown property", map[string]any{"shoeSize": 9}, http.StatusBadRequest, nil},
		{"read-only creationType", map[string]any{"creationType": "Invitation"}, http.StatusBadRequest, nil},
		{"read-only id", map[string]any{"id": "x"}, http.StatusBadRequest, nil},
		{"read-only externalUserState", map[string]any{"externalUserState": "Accepted"}, http.StatusBadRequest, nil},
		{"documented read-only", map[string]any{"onPremisesSyncEnabled": true}, http.StatusBadRequest, nil},
		{"empty string", map[string]any{"department": ""}, http.StatusBadRequest, nil},
		{"displayName cannot be cleared", map[string]any{"displayName": nil}, http.StatusBadRequest, nil},
		{"userType value", map[string]any{"userType": "Visitor"}, http.StatusBadRequest, nil},
		{"two business phones", map[string]any{"businessPhones": []string{"1", "2"}}, http.StatusBadRequest, nil},
		{"wrong type", map[string]any{"accountEnabled": "yes"}, http.StatusBadRequest, nil},
		{"foreign UPN domain", map[string]any{"userPrincipalName": "ada@elsewhere.example"}, http.StatusBadRequest, nil},
		{"one bad property spoils the request", map[string]any{"jobTitle": "Changed", "creationType": "x"}, http.StatusBadRequest,
			func(t *testing.T, u User) {
				if u.JobTitle != "Analyst" {
					t.Errorf("a refused request changed jobTitle to %q", u.JobTitle)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := startSim(t, Options{})
			goldenTenant(t, h)
			resp, body := h.call(http.MethodPatch, h.graph(tenantA)+"/users/"+id, h.tokenA(), c.body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d %s, want %d", resp.StatusCode, body, c.status)
			}
			if c.status == http.StatusBadRequest && graphErrorCode(t, body) != "Request_BadRequest" {
				t.Errorf("error code in %s, want Request_BadRequest", body)
			}
			if c.check != nil {
				u, err := h.s.User(tenantA, id)
				if err != nil {
					t.Fatal(err)
				}
				c.check(t, u)
			}
		})
	}
}

func TestPatchMissingUserIs404(t *testing.T) {
	h := startSim(t, Options{})
	resp, _ := h.call(http.MethodPatch, h.graph(tenantA)+"/users/nobody@a.onmicrosoft.com", h.tokenA(), map[string]any{"jobTitle": "x"})
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("status %d, want 404", resp.StatusCode)
	}
}

func TestDeleteUserIsSoftInDelta(t *testing.T) {
	h := startSim(t, Options{})
	users := seedA(t, h, 2)
	tok := h.tokenA()
	link := lastLink(t, h.deltaRound(h.graph(tenantA)+"/users/delta", tok, nil))
	resp, body := h.call(http.MethodDelete, h.graph(tenantA)+"/users/"+users[0].ID, tok, nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if _, err := h.s.User(tenantA, users[0].ID); err == nil {
		t.Error("deleted user is still there")
	}
	v := h.deltaRound(link, tok, nil)[0].Value
	if len(v) != 1 || v[0]["@removed"].(map[string]any)["reason"] != "changed" {
		t.Errorf("delta after DELETE = %v, want reason changed", v)
	}
}

func TestGzipRequestBodies(t *testing.T) {
	h := startSim(t, Options{})
	goldenTenant(t, h)
	tok := h.tokenA()
	hdr := map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"}
	resp, body := h.send(http.MethodPatch, h.graph(tenantA)+"/users/00000000-0000-4000-8000-000000000001", tok,
		gzipJSON(t, map[string]any{"department": "Mathematics"}), hdr)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("gzip PATCH: %d %s", resp.StatusCode, body)
	}
	if u, _ := h.s.User(tenantA, "00000000-0000-4000-8000-000000000001"); u.Department != "Mathematics" {
		t.Errorf("department = %q", u.Department)
	}
	resp, body = h.send(http.MethodPost, h.graph(tenantA)+"/invitations", tok, gzipJSON(t, map[string]any{
		"invitedUserEmailAddress": "zed@partner.example", "inviteRedirectUrl": "https://myapps.microsoft.com"}), hdr)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("gzip invitation: %d %s", resp.StatusCode, body)
	}
	reqs := h.s.FindRequests(RequestFilter{Tenant: tenantA, Kind: "patch"})
	if len(reqs) != 1 || string(reqs[0].Body) != `{"department":"Mathematics"}` {
		t.Errorf("recorded PATCH body = %+v, want the decompressed JSON", reqs)
	}
	resp, _ = h.send(http.MethodPatch, h.graph(tenantA)+"/users/00000000-0000-4000-8000-000000000001", tok,
		strings.NewReader("not gzip"), hdr)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("broken gzip: status %d, want 400", resp.StatusCode)
	}
}

func TestListUsersCount(t *testing.T) {
	h := startSim(t, Options{})
	goldenTenant(t, h)
	tok := h.tokenA()
	u := h.graph(tenantA) + "/users?$count=true&$top=1&$filter=" + url.QueryEscape("userType eq 'Member'")
	// "If the ConsistencyLevel=eventual header is not specified, the request
	// ... silently ignores the $count query parameter (?$count=true)"
	// (https://learn.microsoft.com/graph/aad-advanced-queries).
	type countPage struct {
		Count *int             `json:"@odata.count"`
		Value []map[string]any `json:"value"`
	}
	resp, body := h.send(http.MethodGet, u, tok, nil, nil)
	var silent countPage
	mustUnmarshal(t, body, &silent)
	if resp.StatusCode != http.StatusOK || silent.Count != nil || len(silent.Value) != 1 {
		t.Errorf("$count without ConsistencyLevel: %d %s, want 200 without @odata.count", resp.StatusCode, body)
	}
	resp, body = h.send(http.MethodGet, u, tok, nil, map[string]string{"ConsistencyLevel": "eventual"})
	var p struct {
		Count int              `json:"@odata.count"`
		Value []map[string]any `json:"value"`
	}
	mustUnmarshal(t, body, &p)
	if resp.StatusCode != http.StatusOK || p.Count != 2 || len(p.Value) != 1 {
		t.Errorf("%d count %d with %d values, want 2 members counted and one returned", resp.StatusCode, p.Count, len(p.Value))
	}
}
