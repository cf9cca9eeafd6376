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
	got := r.Map(u)
	want := galsync.Snapshot{
		"displayName": "Ada L", "givenName": "Ada", "surname": nil, "mail": "Ada@contoso.com", "jobTitle": nil,
		"department": "R&D", "companyName": nil, "officeLocation": nil, "city": nil, "country": nil,
		"mobilePhone": nil, "businessPhones": []string{"+1"}, "employeeId": nil, "showInAddressList": true,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("default Map =\n%#v\nwant\n%#v", got, want)
	}
	custom := mustCompile(t, galsync.Direction{Mapping: map[string]galsync.AttributeMapping{
		"displayName": {Expression: `Suffix([displayName], " (Contoso)")`},
		"companyName": {Constant: "Contoso"},
		"mail":        {Expression: `Lower([mail])`},
	}})
	got = custom.Map(u)
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
		Scope:      galsync.Scope{Include: []galsync.Rule{{Attribute: "a", Matches: "("}}, Exclude: []galsync.Rule{{Equals: "x"}}},
		InviteWith: "phone",
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
	if got := same.InviteAddress(u); got != "ada@contoso.com" {
		t.Errorf("same cloud: %q", got)
	}
	if got := cross.InviteAddress(u); got != "ada@contoso.onmicrosoft.us" {
		t.Errorf("cross cloud: %q", got)
	}
	if got := forced.InviteAddress(u); got != "ada@contoso.com" {
		t.Errorf("forced mail: %q", got)
	}
}
