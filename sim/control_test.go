package sim

import (
	"bytes"
	"net/http"
	"strconv"
	"testing"
)

func TestControlAPI(t *testing.T) {
	h := startSim(t, Options{})
	c := h.url + "/control"
	const tenantC = "33333333-3333-4333-8333-333333333333"
	step := func(method, path string, body any, want int) []byte {
		t.Helper()
		resp, b := h.call(method, c+path, "", body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
		}
		return b
	}
	step(http.MethodPost, "/tenants", map[string]string{"id": tenantC, "domain": "c.onmicrosoft.com"}, http.StatusCreated)
	step(http.MethodPost, "/tenants", map[string]string{"id": tenantC, "domain": "c.onmicrosoft.com"}, http.StatusConflict)
	step(http.MethodPost, "/tenants", map[string]string{"id": "not-a-guid", "domain": "d.onmicrosoft.com"}, http.StatusBadRequest)
	var tenants []Tenant
	mustUnmarshal(t, step(http.MethodGet, "/tenants", nil, http.StatusOK), &tenants)
	if len(tenants) != 3 || tenants[2].ID != tenantC {
		t.Errorf("tenants = %+v", tenants)
	}

	step(http.MethodPost, "/tenants/"+tenantC+"/seed", SeedSpec{Count: 100, Guests: 5, Disabled: 2, NoMail: 1, Seed: 1}, http.StatusCreated)
	step(http.MethodPost, "/tenants/"+tenantC+"/seed", SeedSpec{Count: 2, Guests: 3}, http.StatusBadRequest)
	var users []User
	mustUnmarshal(t, step(http.MethodGet, "/tenants/"+tenantC+"/users", nil, http.StatusOK), &users)
	var guests, disabled, noMail int
	for _, u := range users {
		if u.CreationType == "Invitation" && u.UserType == "Guest" {
			guests++
		}
		if !u.AccountEnabled {
			disabled++
		}
		if u.Mail == "" {
			noMail++
		}
	}
	if len(users) != 100 || guests != 5 || disabled != 2 || noMail != 1 {
		t.Errorf("seeded %d users: %d guests, %d disabled, %d without mail", len(users), guests, disabled, noMail)
	}

	var u User
	mustUnmarshal(t, step(http.MethodPost, "/tenants/"+tenantC+"/users",
		map[string]any{"displayName": "Control Made", "mail": "cm@c.onmicrosoft.com", "creationType": "Invitation"}, http.StatusCreated), &u)
	if u.ID == "" || !u.AccountEnabled || u.UserPrincipalName != "cm@c.onmicrosoft.com" || u.CreationType != "Invitation" {
		t.Errorf("created %+v", u)
	}
	step(http.MethodPost, "/tenants/"+tenantC+"/users", map[string]any{"shoeSize": 9}, http.StatusBadRequest)
	mustUnmarshal(t, step(http.MethodPatch, "/tenants/"+tenantC+"/users/"+u.ID, map[string]any{"externalUserState": "Accepted"}, http.StatusOK), &u)
	if u.ExternalUserState != "Accepted" {
		t.Errorf("control PATCH of a read-only property: %+v", u)
	}
	step(http.MethodGet, "/tenants/"+tenantC+"/users/cm@c.onmicrosoft.com", nil, http.StatusOK)
	step(http.MethodDelete, "/tenants/"+tenantC+"/users/"+u.ID+"?soft=true", nil, http.StatusNoContent)
	step(http.MethodDelete, "/tenants/"+tenantC+"/users/"+u.ID, nil, http.StatusNotFound)

	step(http.MethodPost, "/tenants/"+tenantC+"/apps", map[string]string{"clientId": appA, "secret": "s3"}, http.StatusCreated)
	step(http.MethodPost, "/tenants/"+tenantC+"/apps", map[string]string{"clientId": appA}, http.StatusBadRequest)
	tok := h.token(tenantC, appA, "s3")

	step(http.MethodPut, "/tenants/"+tenantC+"/faults", Faults{ErrorRate: 1, Kinds: []string{"users"}}, http.StatusOK)
	var f Faults
	mustUnmarshal(t, step(http.MethodGet, "/tenants/"+tenantC+"/faults", nil, http.StatusOK), &f)
	if f.ErrorRate != 1 || len(f.Kinds) != 1 {
		t.Errorf("faults = %+v", f)
	}
	if resp, _ := h.send(http.MethodGet, h.graph(tenantC)+"/users", tok, nil, nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("fault set by the control API not applied: %d", resp.StatusCode)
	}
	step(http.MethodPut, "/tenants/"+tenantC+"/faults", Faults{}, http.StatusOK)

	link := lastLink(t, h.deltaRound(h.graph(tenantC)+"/users/delta?$select=id", tok, nil))
	step(http.MethodPost, "/tenants/"+tenantC+"/invalidate-delta-tokens", nil, http.StatusNoContent)
	if resp, _ := h.send(http.MethodGet, link, tok, nil, nil); resp.StatusCode != http.StatusGone {
		t.Errorf("after invalidation: %d, want 410", resp.StatusCode)
	}
	step(http.MethodGet, "/tenants/nope/users", nil, http.StatusNotFound)
}

func TestRequestLogAndStats(t *testing.T) {
	h := startSim(t, Options{})
	goldenTenant(t, h)
	tok := h.tokenA()
	h.send(http.MethodGet, h.graph(tenantA)+"/users?$select=id", tok, nil, nil)
	mark := h.s.FindRequests(RequestFilter{})[1].Seq
	h.call(http.MethodPatch, h.graph(tenantA)+"/users/00000000-0000-4000-8000-000000000001", tok, map[string]any{"city": "Paris"})

	all := h.s.Requests("a.onmicrosoft.com")
	if len(all) != 3 {
		t.Fatalf("recorded %d requests, want token, GET, PATCH: %+v", len(all), all)
	}
	token, get, patch := all[0], all[1], all[2]
	if token.Kind != "token" || len(token.Body) == 0 || containsSecret(token.Body) {
		t.Errorf("token request recorded as %+v (must not hold the secret)", token)
	}
	if get.Kind != "users" || get.Body != nil || get.Items != 3 || get.Query != "$select=id" || get.App != appA {
		t.Errorf("GET recorded as %+v", get)
	}
	if patch.Kind != "patch" || string(patch.Body) != `{"city":"Paris"}` || patch.Status != http.StatusNoContent {
		t.Errorf("PATCH recorded as %+v", patch)
	}

	var since []Request
	mustUnmarshal(t, mustGet(t, h, "/control/requests?tenant="+tenantA+"&since="+strconv.FormatInt(mark, 10)), &since)
	if len(since) != 1 || since[0].Kind != "patch" {
		t.Errorf("since %d: %+v", mark, since)
	}
	var stats Stats
	mustUnmarshal(t, mustGet(t, h, "/control/stats?tenant="+tenantA), &stats)
	if stats.Requests["GET users"] != 1 || stats.Requests["PATCH patch"] != 1 || stats.Statuses["204"] != 1 {
		t.Errorf("stats = %+v", stats)
	}
	if resp, _ := h.call(http.MethodDelete, h.url+"/control/requests", "", nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("reset: %d", resp.StatusCode)
	}
	if n := len(h.s.Requests("")); n != 0 {
		t.Errorf("%d requests after reset", n)
	}
	if s := h.s.Stats(""); len(s.Requests) != 0 {
		t.Errorf("stats after reset: %+v", s)
	}
}

func containsSecret(b []byte) bool {
	return bytes.Contains(b, []byte(secretA)) || bytes.Contains(b, []byte("client_secret"))
}

func mustGet(t *testing.T, h *harness, path string) []byte {
	t.Helper()
	resp, b := h.send(http.MethodGet, h.url+path, "", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return b
}
