package sim

import (
	"encoding/json"
	"testing"
)

func TestFilterMatches(t *testing.T) {
	yes := true
	u := &User{ID: "ID-1", Mail: "Ann@Contoso.example", UserPrincipalName: "ann@a.onmicrosoft.com", DisplayName: "Ann O'Neil",
		UserType: "Member", AccountEnabled: true, OtherMails: []string{"ann@home.example"}, ShowInAddressList: &yes}
	cases := []struct {
		filter string
		want   bool
	}{
		{"mail eq 'ann@contoso.example'", true},
		{"mail ne 'ann@contoso.example'", false},
		{"MAIL eq 'ANN@CONTOSO.EXAMPLE'", true},
		{"displayName eq 'Ann O''Neil'", true},
		{"jobTitle eq null", true},
		{"accountEnabled eq false", false},
		{"showInAddressList eq true", true},
		{"otherMails/any(x:x eq 'ANN@home.example')", true},
		{"otherMails/any(m:m eq 'nobody@home.example')", false},
		{"startswith(userPrincipalName,'ANN@')", true},
		{"userType eq 'Guest' or mail eq 'ann@contoso.example'", true},
		{"userType eq 'Guest' or mail eq 'x@y.example' and accountEnabled eq true", false},
		{"(userType eq 'Guest' or userType eq 'Member') and accountEnabled eq true", true},
		{"not (accountEnabled eq true)", false},
		{"id eq 'id-1'", true},
	}
	for _, c := range cases {
		f, err := parseFilter(c.filter)
		if err != nil {
			t.Errorf("%s: %v", c.filter, err)
			continue
		}
		if got := f.match(u); got != c.want {
			t.Errorf("%s: %v, want %v", c.filter, got, c.want)
		}
	}
}

func TestFilterRejects(t *testing.T) {
	for _, f := range []string{
		"mail eq", "mail gt 'a'", "shoeSize eq 'x'", "mail eq 'unterminated", "mail eq 'a' extra",
		"otherMails eq 'a'", "accountEnabled eq 'true'", "mail eq true", "startswith(mail)", "(mail eq 'a'",
		"otherMails/any(x:y eq 'a')",
	} {
		if _, err := parseFilter(f); err == nil {
			t.Errorf("%q parsed", f)
		} else if err.status != 400 {
			t.Errorf("%q: status %d", f, err.status)
		}
	}
}

func TestFilterIDs(t *testing.T) {
	got, err := filterIDs("id eq 'A' or id eq 'b'")
	if err != nil || len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("ids = %v, %v", got, err)
	}
	for _, f := range []string{"id eq 'a' and id eq 'b'", "mail eq 'a'", "id ne 'a'"} {
		if _, err := filterIDs(f); err == nil {
			t.Errorf("%q accepted for users/delta", f)
		}
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "tab\tnew\nline\r", "\x00\x1f ctl",
		"ünïcödé ✓", "bad \xff utf8", "<script>&"} {
		var got string
		if err := json.Unmarshal(appendString(nil, s), &got); err != nil {
			t.Errorf("%q: invalid JSON %s: %v", s, appendString(nil, s), err)
			continue
		}
		want := s
		if s == "bad \xff utf8" {
			want = "bad \ufffd utf8"
		}
		if got != want {
			t.Errorf("%q round-tripped to %q", s, got)
		}
	}
}

func TestSelectParsing(t *testing.T) {
	sel, err := parseSelect(" mail , DisplayName,aboutMe", true)
	if err != nil {
		t.Fatal(err)
	}
	names := selectNames(sel.mask)
	if len(names) != 3 || names[0] != "id" || len(sel.extras) != 1 || sel.extras[0] != "aboutMe" {
		t.Errorf("selection = %v + %v", names, sel.extras)
	}
	if _, err := parseSelect("aboutMe", false); err == nil {
		t.Error("delta accepted an untracked property in $select")
	}
	if sel, _ := parseSelect("", false); sel.mask != defaultProps {
		t.Error("empty $select is not the default set")
	}
}
