package sim

import (
	"net/http"
	"strings"
	"testing"
)

// graphError reads error.code and error.message from a Graph error body.
func graphErrorOf(t testing.TB, b []byte) (code, message string) {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	mustUnmarshal(t, b, &e)
	return e.Error.Code, e.Error.Message
}

// TestPatchRefusesWhatUpdateUserDoesNotAllow follows the request body table
// and notes of https://learn.microsoft.com/graph/api/user-update and the
// maximum lengths of https://learn.microsoft.com/graph/api/resources/user:
// each refusal is 400 Request_BadRequest naming the property, and the
// whole PATCH changes nothing.
func TestPatchRefusesWhatUpdateUserDoesNotAllow(t *testing.T) {
	const ada = "00000000-0000-4000-8000-000000000001"
	long := func(n int) string { return strings.Repeat("é", n) } // characters, not bytes
	cases := []struct {
		prop  string
		value any
		msg   string // in the message; "" means the invalid-value message naming prop
	}{
		{"faxNumber", "+1 555 0100", "Property 'faxNumber' is read-only and cannot be set."},
		{"proxyAddresses", []string{"SMTP:ada@a.onmicrosoft.com"}, "Property 'proxyAddresses' is read-only and cannot be set."},
		{"hireDate", "2020-01-01T00:00:00Z", "Property 'hireDate' is read-only and cannot be set."},
		{"preferredDataLocation", "EUR", "Property 'preferredDataLocation' is read-only and cannot be set."},
		{"onPremisesUserPrincipalName", "ada@corp.example", "Property 'onPremisesUserPrincipalName' is read-only and cannot be set."},
		{"jobTitle", long(129), ""},
		{"department", long(65), ""},
		{"displayName", long(257), ""},
		{"companyName", long(65), ""},
		{"givenName", long(65), ""},
		{"surname", long(65), ""},
		{"city", long(129), ""},
		{"state", long(129), ""},
		{"country", long(129), ""},
		{"officeLocation", long(129), ""},
		{"postalCode", long(41), ""},
		{"streetAddress", long(1025), ""},
		{"employeeId", "E" + strings.Repeat("1", 16), ""},
		{"employeeType", long(65), ""},
		{"mobilePhone", strings.Repeat("1", 65), ""},
		{"mailNickname", strings.Repeat("a", 65), ""},
		{"businessPhones", []string{strings.Repeat("1", 65)}, ""},
		{"otherMails", []string{strings.Repeat("a", 241) + "@x.example"}, ""},
		{"otherMails", []string{"émile@x.example"}, ""},
		{"mail", nil, ""},
		{"mail", "adä@a.onmicrosoft.com", ""},
		{"usageLocation", "USA", ""},
		{"preferredLanguage", "English", ""},
		{"userPrincipalName", "ada lovelace@a.onmicrosoft.com", ""},
		{"ageGroup", "Toddler", ""},
	}
	h := startSim(t, Options{})
	goldenTenant(t, h)
	tok := h.tokenA()
	for _, c := range cases {
		t.Run(c.prop, func(t *testing.T) {
			resp, body := h.call(http.MethodPatch, h.graph(tenantA)+"/users/"+ada, tok,
				map[string]any{"jobTitle": "Should not land", c.prop: c.value})
			if c.prop == "jobTitle" {
				resp, body = h.call(http.MethodPatch, h.graph(tenantA)+"/users/"+ada, tok, map[string]any{c.prop: c.value})
			}
			code, msg := graphErrorOf(t, body)
			want := c.msg
			if want == "" {
				want = "Invalid value specified for property '" + c.prop + "' of resource 'User'."
			}
			if resp.StatusCode != http.StatusBadRequest || code != "Request_BadRequest" || msg != want {
				t.Errorf("%d %s %q, want 400 Request_BadRequest %q", resp.StatusCode, code, msg, want)
			}
			if u, _ := h.s.User(tenantA, ada); u.JobTitle != "Analyst" {
				t.Errorf("a refused PATCH changed jobTitle to %q", u.JobTitle)
			}
		})
	}
}

func TestPatchAcceptsValuesAtTheLimits(t *testing.T) {
	const ada = "00000000-0000-4000-8000-000000000001"
	h := startSim(t, Options{})
	goldenTenant(t, h)
	body := map[string]any{
		"jobTitle": strings.Repeat("é", 128), "department": strings.Repeat("d", 64), "displayName": strings.Repeat("n", 256),
		"employeeId": strings.Repeat("1", 16), "postalCode": strings.Repeat("9", 40), "usageLocation": "GB",
		"preferredLanguage": "en-GB", "otherMails": []string{"ada@home.example"}, "ageGroup": "Adult",
		"userPrincipalName": "ada.king#1@a.onmicrosoft.com", "mail": "ada.king@a.onmicrosoft.com",
	}
	if resp, b := h.call(http.MethodPatch, h.graph(tenantA)+"/users/"+ada, h.tokenA(), body); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	// The control API stages any value, limits or not.
	if _, err := h.s.UpdateUser(tenantA, ada, map[string]any{"jobTitle": strings.Repeat("x", 300), "faxNumber": "+1"}); err != nil {
		t.Errorf("control update: %v", err)
	}
}

// TestPatchAppOnlyProperties: "The following properties cannot be updated
// by an app with only application permissions: aboutMe, birthday,
// employeeHireDate, interests, mySite, pastProjects, responsibilities,
// schools, and skills" (user-update).
func TestPatchAppOnlyProperties(t *testing.T) {
	h := startSim(t, Options{})
	goldenTenant(t, h)
	tok := h.tokenA()
	for _, p := range appOnlyRefused {
		resp, body := h.call(http.MethodPatch, h.graph(tenantA)+"/users/00000000-0000-4000-8000-000000000001", tok, map[string]any{p: nil})
		if code, _ := graphErrorOf(t, body); resp.StatusCode != http.StatusForbidden || code != "Authorization_RequestDenied" {
			t.Errorf("%s: %d %s, want 403 Authorization_RequestDenied", p, resp.StatusCode, body)
		}
	}
}

// TestPatchMailTakenByAnotherUser: a mail becomes a proxy address, and
// proxy addresses are unique in the directory.
func TestPatchMailTakenByAnotherUser(t *testing.T) {
	h := startSim(t, Options{})
	goldenTenant(t, h)
	resp, body := h.call(http.MethodPatch, h.graph(tenantA)+"/users/00000000-0000-4000-8000-000000000003", h.tokenA(),
		map[string]any{"mail": "ADA@a.onmicrosoft.com"})
	if _, msg := graphErrorOf(t, body); resp.StatusCode != http.StatusBadRequest || !strings.Contains(msg, "proxyAddresses") {
		t.Errorf("%d %s, want 400 naming proxyAddresses", resp.StatusCode, body)
	}
}

// TestShowInAddressListOnMailUsers: "the showInAddressList attribute is
// updated as long as the B2B collaboration user doesn't have a mailbox
// enabled in the target tenant"
// (https://learn.microsoft.com/entra/identity/app-provisioning/known-issues).
func TestShowInAddressListOnMailUsers(t *testing.T) {
	const (
		bob = "00000000-0000-4000-8000-000000000002" // guest with mail
		cy  = "00000000-0000-4000-8000-000000000003" // member without mail
	)
	h := startSim(t, Options{})
	goldenTenant(t, h)
	tok := h.tokenA()
	patch := func(id string, body map[string]any) (int, []byte) {
		resp, b := h.call(http.MethodPatch, h.graph(tenantA)+"/users/"+id, tok, body)
		return resp.StatusCode, b
	}
	if status, b := patch(bob, map[string]any{"showInAddressList": true}); status != http.StatusNoContent {
		t.Fatalf("setting off: %d %s", status, b)
	}
	if err := h.s.SetDirectorySettings(DirectorySettings{MailUserAddressListReadOnly: true}); err != nil {
		t.Fatal(err)
	}
	status, b := patch(bob, map[string]any{"ShowInAddressList": false, "jobTitle": "Hidden"})
	code, msg := graphErrorOf(t, b)
	if status != http.StatusBadRequest || code != "Request_BadRequest" || !strings.Contains(msg, "'showInAddressList'") {
		t.Errorf("mail user: %d %s, want 400 Request_BadRequest naming showInAddressList", status, b)
	}
	if u, _ := h.s.User(tenantA, bob); u.JobTitle != "" || u.ShowInAddressList == nil || !*u.ShowInAddressList {
		t.Errorf("the refused PATCH changed the user: %+v", u)
	}
	if status, b := patch(bob, map[string]any{"jobTitle": "Visible"}); status != http.StatusNoContent {
		t.Errorf("the same PATCH without showInAddressList: %d %s", status, b)
	}
	if status, b := patch(cy, map[string]any{"showInAddressList": false}); status != http.StatusNoContent {
		t.Errorf("user without mail: %d %s", status, b)
	}
}
