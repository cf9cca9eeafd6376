package infra

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// codeQueues returns the values of the Queue* string constants of package
// galsync (shared/galsync), read from its source so a queue added there
// without one here fails this test.
func codeQueues(t *testing.T) map[string]bool {
	t.Helper()
	fset := token.NewFileSet()
	paths, _ := filepath.Glob(filepath.Join("..", "shared", "galsync", "*.go"))
	out := map[string]bool{}
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				v := s.(*ast.ValueSpec)
				for i, n := range v.Names {
					if !strings.HasPrefix(n.Name, "Queue") || i >= len(v.Values) {
						continue
					}
					if lit, ok := v.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						q, _ := strconv.Unquote(lit.Value)
						out[q] = true
					}
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("found no Queue* constants in shared/galsync")
	}
	return out
}

// infraQueues returns the queues servicebus.tf creates, with their settings.
func infraQueues(t *testing.T) map[string]string {
	t.Helper()
	a := assignments(readTF(t, "."), "queues")
	if len(a) != 1 {
		t.Fatalf("want one `queues` local in the .tf files, found %d", len(a))
	}
	return topLevelKeys(a[0].expr)
}

// TestQueuesMatchCode: the queues infra/ creates are exactly galsync's, each
// Service Bus trigger listens on one of them, and each has the settings the
// design relies on.
func TestQueuesMatchCode(t *testing.T) {
	code := codeQueues(t)
	infra := infraQueues(t)
	for q := range code {
		if _, ok := infra[q]; !ok {
			t.Errorf("shared/galsync declares queue %q; servicebus.tf does not create it", q)
		}
	}
	for q, body := range infra {
		if !code[q] {
			t.Errorf("servicebus.tf creates queue %q, which shared/galsync does not declare", q)
		}
		for _, attr := range []string{"lock_duration", "duplicate_window", "max_delivery_count", "default_message_ttl"} {
			if !strings.Contains(body, attr) {
				t.Errorf("queue %q: %s is not set", q, attr)
			}
		}
	}
	for fn, bindings := range functionBindings(t) {
		for _, b := range bindings {
			if b["type"] != "serviceBusTrigger" {
				continue
			}
			q, _ := b["queueName"].(string)
			if _, ok := infra[q]; !ok {
				t.Errorf("function %s is triggered by queue %q, which servicebus.tf does not create", fn, q)
			}
		}
	}
	// Duplicate detection and dead-lettering are on for every queue.
	sb := readTF(t, ".")["servicebus.tf"]
	for _, want := range []string{`requires_duplicate_detection\s*=\s*true`, `dead_lettering_on_message_expiration\s*=\s*true`, `for_each\s*=\s*local\.queues`} {
		if !regexp.MustCompile(want).MatchString(sb) {
			t.Errorf("servicebus.tf: want %s", want)
		}
	}
}
