package sim

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// Looking an address up before inviting, as Microsoft suggests
// (https://learn.microsoft.com/entra/external-id/customize-invitation-api,
// "Determine if a user was already invited to your directory"), against
// the operator table of https://learn.microsoft.com/graph/aad-advanced-queries.

// lookupTenant stages the forms an address takes in a target tenant: an
// invited guest (mail), a guest invited by hand holding the address only in
// otherMails, one holding it only in proxyAddresses, and a member.
func lookupTenant(t *testing.T, h *harness) map[string]string {
	t.Helper()
	ids := map[string]string{}
	add := func(name string, body map[string]any) {
		resp, b := h.call(http.MethodPost, h.url+"/control/tenants/"+tenantA+"/users", "", body)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create %s: %d %s", name, resp.StatusCode, b)
		}
		var u User
		mustUnmarshal(t, b, &u)
		ids[name] = u.ID
	}
	add("guest", map[string]any{"displayName": "Gus", "mail": "gus@partner.example", "userType": "Guest", "creationType": "Invitation",
		"userPrincipalName": "gus_partner.example#EXT#@a.onmicrosoft.com"})
	add("otherMails", map[string]any{"displayName": "Olive", "otherMails": []string{"olive@partner.example"}, "userType": "Guest",
		"creationType": "Invitation", "userPrincipalName": "olive_partner.example#EXT#@a.onmicrosoft.com"})
	add("proxy", map[string]any{"displayName": "Percy", "proxyAddresses": []string{"smtp:percy@partner.example"}, "userType": "Guest",
		"creationType": "Invitation", "userPrincipalName": "percy_partner.example#EXT#@a.onmicrosoft.com"})
	add("member", map[string]any{"displayName": "Meg", "mail": "meg@partner.example", "userType": "Member",
		"proxyAddresses": []string{"SMTP:meg@partner.example", "smtp:meg.alias@partner.example"}, "userPrincipalName": "meg@a.onmicrosoft.com"})
	return ids
}

// addressFilter is the one-request lookup of every form of an address.
func addressFilter(addr string) string {
	upn := strings.ReplaceAll(addr, "@", "_") + "#EXT#@a.onmicrosoft.com"
	return "mail eq '" + addr + "' or otherMails/any(x:x eq '" + addr + "') or proxyAddresses/any(x:x eq 'smtp:" + addr +
		"') or userPrincipalName eq '" + upn + "'"
}

func (h *harness) listUsers(tok, query string, hdr map[string]string) (int, usersPage, []byte) {
	h.t.Helper()
	resp, body := h.send(http.MethodGet, h.graph(tenantA)+"/users?"+query, tok, nil, hdr)
	var p usersPage
	if resp.StatusCode == http.StatusOK {
		mustUnmarshal(h.t, body, &p)
	}
	return resp.StatusCode, p, body
}

func TestLookupEveryFormOfAnAddress(t *testing.T) {
	h := startSim(t, Options{})
	ids := lookupTenant(t, h)
	tok := h.tokenA()
	for name, addr := range map[string]string{
		"guest": "gus@partner.example", "otherMails": "OLIVE@partner.example", "proxy": "Percy@Partner.Example",
		"member": "meg.alias@partner.example",
	} {
		status, p, body := h.listUsers(tok, "$select=id,mail,otherMails,proxyAddresses&$filter="+url.QueryEscape(addressFilter(addr)), nil)
		if status != http.StatusOK || len(p.Value) != 1 || p.Value[0]["id"] != ids[name] {
			t.Errorf("%s (%s): %d %s, want only %s", name, addr, status, body, ids[name])
		}
	}
	// proxyAddresses/any matches whatever the prefix's case.
	_, p, _ := h.listUsers(tok, "$filter="+url.QueryEscape("proxyAddresses/any(x:x eq 'SMTP:PERCY@partner.example')"), nil)
	if len(p.Value) != 1 {
		t.Errorf("proxyAddresses match is case-sensitive: %v", p.Value)
	}
}

func TestLookupByGuestUPN(t *testing.T) {
	h := startSim(t, Options{})
	ids := lookupTenant(t, h)
	tok := h.tokenA()
	f := "userPrincipalName eq 'olive_partner.example#EXT#@a.onmicrosoft.com'"
	// The # arrives percent-encoded (%23), as it must.
	if !strings.Contains(url.QueryEscape(f), "%23EXT%23") {
		t.Fatal("QueryEscape does not encode #")
	}
	if _, p, body := h.listUsers(tok, "$filter="+url.QueryEscape(f), nil); len(p.Value) != 1 || p.Value[0]["id"] != ids["otherMails"] {
		t.Errorf("encoded #EXT#: %s", body)
	}
	// Sent raw, # starts the URL fragment: the client never sends the rest
	// and the truncated filter is refused, as Graph refuses it.
	raw := strings.ReplaceAll(url.QueryEscape(f), "%23", "#")
	if status, _, body := h.listUsers(tok, "$filter="+raw, nil); status != http.StatusBadRequest {
		t.Errorf("raw #: %d %s, want 400", status, body)
	}
	// GET by UPN takes it percent-encoded in the path too.
	if resp, _ := h.send(http.MethodGet, h.graph(tenantA)+"/users/"+url.PathEscape("olive_partner.example#EXT#@a.onmicrosoft.com"), tok, nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("GET by #EXT# UPN: %d", resp.StatusCode)
	}
}

// TestAdvancedQueriesNeedTheirParameters: "these advanced query
// capabilities aren't available by default ... the requestor must set the
// ConsistencyLevel header to eventual and ... use the $count query
// parameter" (aad-advanced-queries).
func TestAdvancedQueriesNeedTheirParameters(t *testing.T) {
	h := startSim(t, Options{})
	lookupTenant(t, h)
	tok := h.tokenA()
	eventual := map[string]string{"ConsistencyLevel": "eventual"}
	many := make([]string, 16)
	for i := range many {
		many[i] = "'u" + strconv.Itoa(i) + "@partner.example'"
	}
	cases := []struct {
		filter  string
		matches int // with the advanced parameters
	}{
		{"endsWith(mail,'@partner.example')", 2},
		{"otherMails/any(x:endsWith(x,'@partner.example'))", 1},
		{"mail ne 'gus@partner.example'", 3},
		{"not(startsWith(displayName,'G'))", 3},
		{"companyName eq 'Fabrikam'", 0},
		{"jobTitle eq null", 4},
		{"userType eq 'Guest' and showInAddressList eq false", 0},
		{"mail in (" + strings.Join(many, ",") + ")", 0},
		{"mail eq '" + strings.Repeat("a", 121) + "@partner.example'", 0},
	}
	for _, c := range cases {
		t.Run(c.filter, func(t *testing.T) {
			q := "$filter=" + url.QueryEscape(c.filter)
			status, _, body := h.listUsers(tok, q, nil)
			if code, _ := graphErrorOf(t, body); status != http.StatusBadRequest || code != "Request_UnsupportedQuery" {
				t.Errorf("without the advanced parameters: %d %s, want 400 Request_UnsupportedQuery", status, body)
			}
			if status, _, body := h.listUsers(tok, q, eventual); status != http.StatusBadRequest {
				t.Errorf("header without $count=true: %d %s, want 400", status, body)
			}
			status, p, body := h.listUsers(tok, q+"&$count=true", eventual)
			if status != http.StatusOK || len(p.Value) != c.matches {
				t.Errorf("advanced: %d %s, want %d users", status, body, c.matches)
			}
		})
	}
}

func TestDefaultQueries(t *testing.T) {
	h := startSim(t, Options{})
	lookupTenant(t, h)
	tok := h.tokenA()
	for filter, want := range map[string]int{
		"startsWith(mail,'GUS@')":                                 1,
		"startsWith(displayName,'m') or startsWith(mail,'g')":     2,
		"userType eq 'Guest'":                                     3,
		"creationType eq 'Invitation' and accountEnabled eq true": 3,
		"mail in ('gus@partner.example','meg@partner.example')":   2,
		"otherMails/any(x:startsWith(x,'olive'))":                 1,
	} {
		status, p, body := h.listUsers(tok, "$filter="+url.QueryEscape(filter), nil)
		if status != http.StatusOK || len(p.Value) != want {
			t.Errorf("%s: %d %s, want %d users", filter, status, body, want)
		}
	}
	for _, filter := range []string{"createdDateTime eq null", "endsWith(displayName,'g')", "userType eq null or startsWith(userType,'G')"} {
		q := "$count=true&$filter=" + url.QueryEscape(filter)
		if status, _, body := h.listUsers(tok, q, map[string]string{"ConsistencyLevel": "eventual"}); status != http.StatusBadRequest {
			t.Errorf("%s is not supported even as an advanced query: %d %s", filter, status, body)
		}
	}
}

// TestSweepPages reads a tenant in pages as a reconciliation sweep does:
// $select, $top up to 999, @odata.nextLink.
func TestSweepPages(t *testing.T) {
	h := startSim(t, Options{})
	if _, err := h.s.SeedUsers(tenantA, SeedSpec{Count: 25, Guests: 7, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	tok := h.tokenA()
	follow := func(query string, hdr map[string]string) (ids []string, pages int) {
		t.Helper()
		u := h.graph(tenantA) + "/users?" + query
		for u != "" {
			resp, body := h.send(http.MethodGet, u, tok, nil, hdr)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d %s", u, resp.StatusCode, body)
			}
			var p usersPage
			mustUnmarshal(t, body, &p)
			for _, v := range p.Value {
				ids = append(ids, v["id"].(string))
			}
			pages++
			u = p.NextLink
		}
		return ids, pages
	}
	if ids, pages := follow("$select=id,mail,displayName&$top=10", nil); len(ids) != 25 || pages != 3 {
		t.Errorf("sweep: %d users in %d pages, want 25 in 3", len(ids), pages)
	}
	if ids, _ := follow("$select=id&$top=999&$filter="+url.QueryEscape("userType eq 'Guest'"), nil); len(ids) != 7 {
		t.Errorf("guests: %d, want 7", len(ids))
	}
	if status, _, _ := h.listUsers(tok, "$top=1000", nil); status != http.StatusBadRequest {
		t.Errorf("$top=1000: %d, want 400", status)
	}
	// An advanced query's nextLink needs the header again.
	eventual := map[string]string{"ConsistencyLevel": "eventual"}
	q := "$select=id&$top=5&$count=true&$filter=" + url.QueryEscape("userType ne 'Guest'")
	_, first, _ := h.listUsers(tok, q, eventual)
	if first.NextLink == "" {
		t.Fatal("no nextLink")
	}
	if resp, _ := h.send(http.MethodGet, first.NextLink, tok, nil, nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("nextLink of an advanced query without the header: %d, want 400", resp.StatusCode)
	}
	if ids, _ := follow(q, eventual); len(ids) != 18 {
		t.Errorf("members by ne: %d, want 18", len(ids))
	}
}

// TestInvitingAnAddressHeldElsewhere: an invitation to an address a user
// holds only in otherMails or proxyAddresses answers with that user.
func TestInvitingAnAddressHeldElsewhere(t *testing.T) {
	h := startSim(t, Options{})
	ids := lookupTenant(t, h)
	tok := h.tokenA()
	for name, addr := range map[string]string{"otherMails": "Olive@partner.example", "proxy": "percy@partner.example",
		"member": "meg.alias@partner.example"} {
		status, inv, body := h.invite(tok, map[string]any{"invitedUserEmailAddress": addr, "inviteRedirectUrl": "https://myapps.microsoft.com"})
		if status != http.StatusCreated || inv.InvitedUser.ID != ids[name] {
			t.Errorf("%s: %d %s, want the existing user %s", name, status, body, ids[name])
		}
	}
	if users, _ := h.s.Users(tenantA); len(users) != 4 {
		t.Errorf("%d users after inviting held addresses, want 4", len(users))
	}
}

// TestIndexedLookupsFollowChanges: equality lookups go through the address
// index; it must follow every change and page like a scan.
func TestIndexedLookupsFollowChanges(t *testing.T) {
	h := startSim(t, Options{})
	ids := lookupTenant(t, h)
	tok := h.tokenA()
	count := func(filter string) int {
		t.Helper()
		return len(h.usersMatching(tok, filter))
	}
	if _, err := h.s.UpdateUser(tenantA, ids["guest"], map[string]any{"mail": "gus.new@partner.example"}); err != nil {
		t.Fatal(err)
	}
	if count("mail eq 'gus@partner.example'") != 0 || count("mail eq 'gus.new@partner.example'") != 1 ||
		count("proxyAddresses/any(x:x eq 'smtp:gus.new@partner.example')") != 1 {
		t.Error("the index did not follow a mail change")
	}
	if err := h.s.DeleteUser(tenantA, ids["member"], false); err != nil {
		t.Fatal(err)
	}
	if count("mail eq 'meg@partner.example' or otherMails/any(x:x eq 'meg.alias@partner.example')") != 0 {
		t.Error("a deleted user is still found")
	}
	if count("userType eq 'Guest' and mail eq 'gus.new@partner.example'") != 1 || count("mail eq 'GUS.NEW@PARTNER.EXAMPLE' or displayName eq 'Olive'") != 2 {
		t.Error("and/or around an indexed lookup")
	}
	// Three matches, one per page.
	u := h.graph(tenantA) + "/users?$top=1&$select=id&$filter=" +
		url.QueryEscape("id in ('"+ids["guest"]+"','"+ids["otherMails"]+"','"+ids["proxy"]+"')")
	var got []string
	for u != "" {
		_, body := h.send(http.MethodGet, u, tok, nil, nil)
		var p usersPage
		mustUnmarshal(t, body, &p)
		for _, v := range p.Value {
			got = append(got, v["id"].(string))
		}
		u = p.NextLink
	}
	if strings.Join(got, ",") != ids["guest"]+","+ids["otherMails"]+","+ids["proxy"] {
		t.Errorf("paged indexed lookup: %v", got)
	}
}
