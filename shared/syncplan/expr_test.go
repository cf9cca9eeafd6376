package syncplan

import (
	"reflect"
	"strings"
	"testing"
)

func TestExpressions(t *testing.T) {
	attrs := map[string]any{
		"givenName": "Ada", "surname": "Lovelace", "mail": "Ada@Contoso.com", "department": "",
		"businessPhones": []string{"+1 555", "+1 556"}, "city": "London",
	}
	tests := []struct {
		src  string
		want any
	}{
		{`[givenName]`, "Ada"},
		{`"constant"`, "constant"},
		{`Lower([mail])`, "ada@contoso.com"},
		{`UPPER([city])`, "LONDON"},
		{`Coalesce([department], [city])`, "London"},
		{`Coalesce([department], [missing])`, nil},
		{`Replace([mail], "@Contoso.com", "@fabrikam.com")`, "Ada@fabrikam.com"},
		{`Join(" ", [givenName], [department], [surname])`, "Ada Lovelace"},
		{`Join(", ", [businessPhones])`, "+1 555, +1 556"},
		{`Prefix("Contoso - ", [department])`, nil},
		{`Prefix("Contoso - ", [city])`, "Contoso - London"},
		{`Suffix([surname], " (Contoso)")`, "Lovelace (Contoso)"},
		{`Trim("  x ")`, "x"},
		{`Lower([businessPhones])`, []string{"+1 555", "+1 556"}},
		{`Join("", Upper(Prefix("x", [givenName])), "\"q\\")`, `XADA"q\`},
		{` Lower ( [ mail ] ) `, "ada@contoso.com"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			e, err := parseExpr(tt.src)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if got := e.eval(attrs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestExpressionErrors(t *testing.T) {
	tests := []struct{ src, wantErr string }{
		{``, "expression expected"},
		{`Nope([a])`, `unknown function "Nope"`},
		{`Lower([a], [b])`, "Lower takes 1 arguments, got 2"},
		{`Replace([a])`, "Replace takes 3 arguments, got 1"},
		{`Join(",")`, "Join takes at least 2 arguments"},
		{`[unclosed`, "unclosed ["},
		{`"unclosed`, "unclosed string"},
		{`Lower([a]`, "unclosed ( of Lower"},
		{`Lower [a]`, "( expected after Lower"},
		{`[a] [b]`, "unexpected"},
		{`[]`, "empty attribute name"},
		{`Lower([a] [b])`, ", or ) expected"},
	}
	for _, tt := range tests {
		_, err := parseExpr(tt.src)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("parseExpr(%q) error = %v, want it to contain %q", tt.src, err, tt.wantErr)
		}
	}
}
