package syncplan

import (
	"slices"
	"strings"
	"testing"

	"github.com/galsync/galsync/shared/galsync"
)

const (
	groupA = "11111111-1111-4111-8111-111111111111"
	groupB = "22222222-2222-4222-8222-222222222222"
)

func TestManagerMapping(t *testing.T) {
	mapping := map[string]galsync.AttributeMapping{"displayName": {Source: "displayName"}, "manager": {Source: "manager"}}
	r := mustCompile(t, galsync.Direction{Mapping: mapping})
	if !r.MapsManager() || !slices.Contains(r.Select(), "manager") {
		t.Fatalf("manager mapped: %v, select %v", r.MapsManager(), r.Select())
	}
	// The manager is a reference, never a PATCHed property.
	if _, ok := r.Map(map[string]any{"displayName": "A", "manager": "m1"})["manager"]; ok {
		t.Error("Map carries the manager")
	}
	if slices.Contains(r.TargetSelect(), "manager") {
		t.Error("TargetSelect selects the manager")
	}
	if got := r.ManagerOf(map[string]any{"manager": " m1 "}); got != "m1" {
		t.Errorf("ManagerOf = %q", got)
	}
	without := mustCompile(t, galsync.Direction{Mapping: map[string]galsync.AttributeMapping{"displayName": {Source: "displayName"}}})
	if without.Fingerprint() == r.Fingerprint() {
		t.Error("mapping the manager leaves the fingerprint as it was: guests would not be compared again")
	}
	if without.ManagerOf(map[string]any{"manager": "m1"}) != "" || without.MapsManager() {
		t.Error("a direction without the manager mapping resolves managers")
	}
	for name, m := range map[string]galsync.AttributeMapping{
		"other source": {Source: "employeeId"}, "constant": {Constant: "x"}, "expression": {Expression: "[manager]"},
	} {
		mapping := map[string]galsync.AttributeMapping{"displayName": {Source: "displayName"}, "manager": m}
		if _, err := Compile(galsync.Direction{Name: "a-to-b", Mapping: mapping}, false); err == nil || !strings.Contains(err.Error(), `"manager"`) {
			t.Errorf("%s: %v, want an error naming the manager", name, err)
		}
	}
}

func TestConverts(t *testing.T) {
	tests := []struct {
		name    string
		d       galsync.Direction
		addr    string
		want    bool
		reason  string
		compile string // an error Compile gives
	}{
		{"default skips", galsync.Direction{}, "a@partner.example", false, "", ""},
		{"skip", galsync.Direction{ExistingMembers: "skip"}, "a@partner.example", false, "", ""},
		{"convert", galsync.Direction{ExistingMembers: "convert"}, "a@partner.example", true, "", ""},
		{"convert in domain", galsync.Direction{ExistingMembers: "convert", ConvertDomains: []string{"@Partner.example"}}, "a@partner.EXAMPLE", true, "", ""},
		{"convert out of domain", galsync.Direction{ExistingMembers: "convert", ConvertDomains: []string{"partner.example"}}, "a@other.example", false, ReasonConvertDomain, ""},
		{"unknown policy", galsync.Direction{ExistingMembers: "take"}, "", false, "", "existingMembers"},
		{"domains without convert", galsync.Direction{ConvertDomains: []string{"partner.example"}}, "", false, "", "convertDomains"},
		{"not a domain", galsync.Direction{ExistingMembers: "convert", ConvertDomains: []string{"a@b"}}, "", false, "", "convertDomains[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.d.Name = "a-to-b"
			r, err := Compile(tt.d, false)
			if tt.compile != "" {
				if err == nil || !strings.Contains(err.Error(), tt.compile) {
					t.Fatalf("Compile: %v, want an error naming %s", err, tt.compile)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, why := r.Converts(tt.addr); got != tt.want || why != tt.reason {
				t.Errorf("Converts = %v, %q; want %v, %q", got, why, tt.want, tt.reason)
			}
		})
	}
	a := mustCompile(t, galsync.Direction{})
	b := mustCompile(t, galsync.Direction{ExistingMembers: "convert"})
	if a.Fingerprint() == b.Fingerprint() {
		t.Error("turning conversion on leaves the fingerprint: conflicts would not be looked at again")
	}
	if a.Fingerprint() != mustCompile(t, galsync.Direction{ExistingMembers: ""}).Fingerprint() {
		t.Error("fingerprint unstable")
	}
}

func TestScopeGroups(t *testing.T) {
	r := mustCompile(t, galsync.Direction{Scope: galsync.Scope{IncludeGroups: []string{groupA, strings.ToUpper(groupB)}}})
	if slices.Contains(r.Select(), ScopeGroupsAttribute) {
		t.Error("the scope groups attribute is selected from Graph")
	}
	member := map[string]bool{groupB: true}
	groups := r.ScopeGroupsOf(func(g string) bool { return member[strings.ToLower(g)] })
	if !slices.Equal(groups, []string{groupB}) {
		t.Fatalf("ScopeGroupsOf = %v", groups)
	}
	for _, tt := range []struct {
		name   string
		groups any
		want   bool
	}{
		{"member", groups, true}, {"other group", []string{"33333333-3333-4333-8333-333333333333"}, false},
		{"none", nil, false}, {"absent", "", false},
	} {
		u := user("1", "mail", "a@x.com")
		if tt.groups != "" {
			u.Attributes[ScopeGroupsAttribute] = tt.groups
		}
		if got, why := r.InScope(u); got != tt.want || !got && why != ReasonNotInGroups {
			t.Errorf("%s: InScope = %v, %q", tt.name, got, why)
		}
	}
	if in, _ := mustCompile(t, galsync.Direction{}).InScope(user("1", "mail", "a@x.com")); !in {
		t.Error("without scope groups, a user outside every group is out of scope")
	}
}

func TestGroupSettings(t *testing.T) {
	for name, d := range map[string]galsync.Direction{
		"mirror id":         {MirrorGroups: []string{"finance"}},
		"mirror twice":      {MirrorGroups: []string{groupA, strings.ToUpper(groupA)}},
		"scope id":          {Scope: galsync.Scope{IncludeGroups: []string{"x"}}},
		"unknown field":     {GroupNamePattern: "{name}"},
		"one name for all":  {GroupNamePattern: "Partners ({source})"},
		"unbalanced braces": {GroupNamePattern: "{displayName"},
	} {
		d.Name = "a-to-b"
		if _, err := Compile(d, false); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	r := mustCompile(t, galsync.Direction{MirrorGroups: []string{groupA}})
	if got := r.GroupName("Finance", "contoso", groupA); got != "Finance (contoso)" {
		t.Errorf("default name %q", got)
	}
	r = mustCompile(t, galsync.Direction{GroupNamePattern: "Ext {displayName} {id}"})
	if got := r.GroupName("Finance", "contoso", groupA); got != "Ext Finance "+groupA {
		t.Errorf("pattern name %q", got)
	}
	if got := r.GroupName(strings.Repeat("é", 300), "c", groupA); len([]rune(got)) != 256 {
		t.Errorf("a long name is %d characters, want Graph's 256", len([]rune(got)))
	}
}
