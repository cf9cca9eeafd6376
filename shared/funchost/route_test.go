package funchost

import (
	"reflect"
	"testing"
)

func TestRouteMatch(t *testing.T) {
	tests := []struct {
		tmpl, path string
		want       map[string]string // nil: no match
	}{
		{"status", "status", map[string]string{}},
		{"status", "STATUS/", map[string]string{}},
		{"status", "status/x", nil},
		{"users/{id}", "users/u%201", map[string]string{"id": "u 1"}},
		{"users/{id}", "users", nil},
		{"users/{id}/status", "users/u1/status", map[string]string{"id": "u1"}},
		{"users/{id?}", "users", map[string]string{}},
		{"users/{id?}", "users/u1", map[string]string{"id": "u1"}},
		{"n/{n:int}", "n/42", map[string]string{"n": "42"}},
		{"n/{n:int}", "n/forty", nil},
		{"g/{id:guid}", "g/0f8fad5b-d9cb-469f-a165-70867728950e", map[string]string{"id": "0f8fad5b-d9cb-469f-a165-70867728950e"}},
		{"files/{*path}", "files/a/b%2Fc", map[string]string{"path": "a/b/c"}},
		{"files/{*path}", "files", map[string]string{}},
		{"", "", map[string]string{}},
	}
	for _, tt := range tests {
		r, err := parseRoute(tt.tmpl)
		if err != nil {
			t.Fatalf("parseRoute(%q): %v", tt.tmpl, err)
		}
		got, ok := r.match(tt.path)
		if (tt.want == nil) != !ok || (ok && !reflect.DeepEqual(got, tt.want)) {
			t.Errorf("%q matching %q = %v, %t; want %v", tt.tmpl, tt.path, got, ok, tt.want)
		}
	}
}

func TestParseRouteErrors(t *testing.T) {
	for _, tmpl := range []string{"a/{id?}/b", "{*rest}/x", "a/{}", "a/{id", "a/{id:regex(x)}", "a/b{id}"} {
		if _, err := parseRoute(tmpl); err == nil {
			t.Errorf("parseRoute(%q) accepted it", tmpl)
		}
	}
}
