package syncplan

import (
	"reflect"
	"strings"
	"testing"

	"github.com/galsync/galsync/shared/galsync"
)

func mustCompile(t *testing.T, d galsync.Direction) *Rules {
	t.Helper()
	if d.Name == "" {
		d.Name = "a-to-b"
	}
	r, err := Compile(d, false)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func user(id string, kv ...any) galsync.SourceUser {
	a := map[string]any{"accountEnabled": true, "userType": "Member", "creationType": nil}
	for i := 0; i < len(kv); i += 2 {
		a[kv[i].(string)] = kv[i+1]
	}
	return galsync.SourceUser{ID: id, Attributes: a}
}

func TestInScope(t *testing.T) {
	base := galsync.Direction{}
	tests := []struct {
		name   string
		scope  galsync.Scope
		user   galsync.SourceUser
		want   bool
		reason string
	}{
		{"member with mail", base.Scope, user("1", "mail", "a@contoso.com"), true, ""},
		{"invited guest never", galsync.Scope{IncludeGuestUserType: true, IncludeDisabled: true}, user("1", "mail", "a@x.com", "creationType", "Invitation", "userType", "Guest"), false, ReasonSourceGuest},
		// A delta entry may lack creationType; the #EXT# UPN still marks
		// a guest of the source, whatever the scope allows.
		{"#EXT# upn without creationType", galsync.Scope{IncludeGuestUserType: true, IncludeDisabled: true}, user("1", "mail", "a@x.com", "userPrincipalName", "a_x.com#EXT#@src.onmicrosoft.com"), false, ReasonSourceExternal},
		{"#EXT# upn in lower case", base.Scope, user("1", "mail", "a@x.com", "userPrincipalName", "a_x.com#ext#@src.onmicrosoft.com"), false, ReasonSourceExternal},
		{"userType guest by default", base.Scope, user("1", "mail", "a@x.com", "userType", "Guest"), false, ReasonGuestUserType},
		{"userType guest allowed", galsync.Scope{IncludeGuestUserType: true}, user("1", "mail", "a@x.com", "userType", "Guest"), true, ""},
		{"no mail", base.Scope, user("1"), false, ReasonNoMail},
		{"blank mail", base.Scope, user("1", "mail", "  "), false, ReasonNoMail},
		{"disabled skipped", base.Scope, user("1", "mail", "a@x.com", "accountEnabled", false), false, ReasonDisabled},
		{"disabled included", galsync.Scope{IncludeDisabled: true}, user("1", "mail", "a@x.com", "accountEnabled", false), true, ""},
		{"domain included", galsync.Scope{IncludeDomains: []string{"Contoso.com"}}, user("1", "mail", "a@contoso.COM"), true, ""},
		{"domain not included", galsync.Scope{IncludeDomains: []string{"contoso.com"}}, user("1", "mail", "a@other.com"), false, ReasonDomainNotIncl},
		{"domain excluded", galsync.Scope{ExcludeDomains: []string{"@contoso.com"}}, user("1", "mail", "a@contoso.com"), false, ReasonDomainExcluded},
		{"include equals holds", galsync.Scope{Include: []galsync.Rule{{Attribute: "department", Equals: "sales"}}}, user("1", "mail", "a@x.com", "department", "Sales"), true, ""},
		{"include equals fails", galsync.Scope{Include: []galsync.Rule{{Attribute: "department", Equals: "sales"}}}, user("1", "mail", "a@x.com", "department", "HR"), false, ReasonIncludeRule + "department"},
		{"exclude regex holds", galsync.Scope{Exclude: []galsync.Rule{{Attribute: "jobTitle", Matches: "^(?i)contractor"}}}, user("1", "mail", "a@x.com", "jobTitle", "Contractor, IT"), false, ReasonExcludeRule + "jobTitle"},
		{"exclude regex on list", galsync.Scope{Exclude: []galsync.Rule{{Attribute: "businessPhones", Matches: "^\\+44"}}}, user("1", "mail", "a@x.com", "businessPhones", []string{"+1 2", "+44 1"}), false, ReasonExcludeRule + "businessPhones"},
		{"exclude regex does not hold", galsync.Scope{Exclude: []galsync.Rule{{Attribute: "jobTitle", Matches: "^(?i)contractor"}}}, user("1", "mail", "a@x.com", "jobTitle", "Engineer"), true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustCompile(t, galsync.Direction{Scope: tt.scope})
			got, reason := r.InScope(tt.user)
			if got != tt.want || reason != tt.reason {
				t.Errorf("InScope = %v, %q; want %v, %q", got, reason, tt.want, tt.reason)
			}
		})
	}
}

func TestMapDefaultAndCustom(t *testing.T) {
	u := user("1", "mail", "Ada@contoso.com", "displayName", "Ada L", "givenName", "Ada", "jobTitle", "",
		"businessPhones", []string{"+1"}, "department", "R&D", "userPrincipalName", "ada@contoso.onmicrosoft.com")
	r := mustCompile(t, galsync.Direction{})
	got := r.Map(u.Attributes)
	// showInAddressList is not in the default mapping: Graph refuses it on
	// mail-enabled guests, and a PATCH is all-or-nothing.
	want := galsync.Snapshot{
		"displayName": "Ada L", "givenName": "Ada", "surname": nil, "mail": "Ada@contoso.com", "jobTitle": nil,
		"department": "R&D", "companyName": nil, "officeLocation": nil, "city": nil, "country": nil,
		"mobilePhone": nil, "businessPhones": []string{"+1"}, "employeeId": nil,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("default Map =\n%#v\nwant\n%#v", got, want)
	}
	custom := mustCompile(t, galsync.Direction{Mapping: map[string]galsync.AttributeMapping{
		"displayName": {Expression: `Suffix([displayName], " (Contoso)")`},
		"companyName": {Constant: "Contoso"},
		"mail":        {Expression: `Lower([mail])`},
	}})
	got = custom.Map(u.Attributes)
	want = galsync.Snapshot{"displayName": "Ada L (Contoso)", "companyName": "Contoso", "mail": "ada@contoso.com"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("custom Map = %#v, want %#v", got, want)
	}
	if sel := strings.Join(custom.Select(), ","); sel != "accountEnabled,creationType,displayName,id,mail,userPrincipalName,userType" {
		t.Errorf("Select = %s", sel)
	}
}

func TestCompileErrors(t *testing.T) {
	_, err := Compile(galsync.Direction{
		Name: "x",
		Mapping: map[string]galsync.AttributeMapping{
			"id":         {Source: "id"},
			"jobTitle":   {Source: "jobTitle", Constant: "x"},
			"department": {Expression: "Nope()"},
		},
		Scope:       galsync.Scope{Include: []galsync.Rule{{Attribute: "a", Matches: "("}}, Exclude: []galsync.Rule{{Equals: "x"}}},
		InviteWith:  "phone",
		AddressList: "always",
	}, false)
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		`mapping "id": not a user property`,
		`mapping "jobTitle": set exactly one of source, constant, expression`,
		`mapping "department": expression: at offset 0: unknown function "Nope"`,
		`displayName must be mapped`,
		`scope.include[0]: matches: error parsing regexp`,
		`scope.exclude[0]: attribute is missing`,
		`inviteWith "phone"`,
		`addressList "always"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestInviteAddressAcrossClouds(t *testing.T) {
	u := user("1", "mail", "ada@contoso.com", "userPrincipalName", "ada@contoso.onmicrosoft.us")
	same, _ := Compile(galsync.Direction{Name: "d"}, false)
	cross, _ := Compile(galsync.Direction{Name: "d"}, true)
	forced, _ := Compile(galsync.Direction{Name: "d", InviteWith: "mail"}, true)
	if got := same.InviteAddress(u.Attributes); got != "ada@contoso.com" {
		t.Errorf("same cloud: %q", got)
	}
	if got := cross.InviteAddress(u.Attributes); got != "ada@contoso.onmicrosoft.us" {
		t.Errorf("cross cloud: %q", got)
	}
	if got := forced.InviteAddress(u.Attributes); got != "ada@contoso.com" {
		t.Errorf("forced mail: %q", got)
	}
}

// A mapping of a property Graph does not document as updatable compiles
// with a warning; mapping it and asking addressList graph is refused.
func TestMappingWarnsOfUndocumentedUpdates(t *testing.T) {
	r, err := Compile(galsync.Direction{Name: "d", Mapping: map[string]galsync.AttributeMapping{
		"displayName": {Source: "displayName"}, "showInAddressList": {Constant: true}}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], `"showInAddressList"`) || !strings.Contains(r.Warnings[0], "user-update") {
		t.Errorf("warnings = %q", r.Warnings)
	}
	if d := mustCompile(t, galsync.Direction{}); len(d.Warnings) != 0 {
		t.Errorf("default mapping warns: %q", d.Warnings)
	}
	_, err = Compile(galsync.Direction{Name: "d", AddressList: AddressListGraph, Mapping: map[string]galsync.AttributeMapping{
		"displayName": {Source: "displayName"}, "showInAddressList": {Constant: true}}}, false)
	if err == nil || !strings.Contains(err.Error(), "keep one") {
		t.Errorf("err = %v", err)
	}
}

// The fingerprint follows the mapping and worker settings, not the scope.
func TestFingerprint(t *testing.T) {
	base := mustCompile(t, galsync.Direction{})
	same := mustCompile(t, galsync.Direction{Scope: galsync.Scope{IncludeDisabled: true}})
	mapped := mustCompile(t, galsync.Direction{Mapping: map[string]galsync.AttributeMapping{"displayName": {Source: "mail"}}})
	listed := mustCompile(t, galsync.Direction{AddressList: AddressListGraph})
	if base.Fingerprint() != same.Fingerprint() {
		t.Error("a scope change changed the fingerprint")
	}
	if base.Fingerprint() == mapped.Fingerprint() || base.Fingerprint() == listed.Fingerprint() {
		t.Error("a mapping or address-list change kept the fingerprint")
	}
	if base.AttributeFingerprint("jobTitle", "a") == base.AttributeFingerprint("jobTitle", "b") ||
		base.AttributeFingerprint("jobTitle", "a") == mapped.AttributeFingerprint("displayName", "a") {
		t.Error("attribute fingerprints do not follow value and mapping")
	}
}
