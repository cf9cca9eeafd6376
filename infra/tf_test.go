package infra

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// These helpers read the few shapes of HCL this configuration uses for the
// values the tests compare (app settings maps, the queues and containers
// locals). They are deliberately narrow: a test fails loudly when a shape
// it expects is missing, rather than passing on nothing.

// readTF returns the text of every .tf file in dir, by file name.
func readTF(t *testing.T, dir string) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no .tf files in %s (%v)", dir, err)
	}
	files := map[string]string{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(p)] = stripComments(string(b))
	}
	return files
}

// stripComments blanks # and // line comments outside strings.
func stripComments(src string) string {
	var out strings.Builder
	for _, line := range strings.Split(src, "\n") {
		inString := false
		for i := 0; i < len(line); i++ {
			c := line[i]
			if c == '"' && (i == 0 || line[i-1] != '\\') {
				inString = !inString
			}
			if !inString && (c == '#' || c == '/' && i+1 < len(line) && line[i+1] == '/') {
				line = line[:i]
				break
			}
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	return out.String()
}

// expression returns the text of the expression that starts at src[start:]
// and ends at the first newline outside brackets.
func expression(src string, start int) string {
	depth := 0
	inString := false
	for i := start; i < len(src); i++ {
		switch c := src[i]; {
		case c == '"' && src[i-1] != '\\':
			inString = !inString
		case inString:
		case c == '{' || c == '(' || c == '[':
			depth++
		case c == '}' || c == ')' || c == ']':
			depth--
		case c == '\n' && depth <= 0:
			return src[start:i]
		}
	}
	return src[start:]
}

var (
	assignment = regexp.MustCompile(`(?m)^\s*"?([A-Za-z_][A-Za-z0-9_-]*)"?\s*=\s*`)
	localRef   = regexp.MustCompile(`^local\.([A-Za-z0-9_]+)\s*$`)
)

// tfAssignment is one `name = expression` found in a .tf file.
type tfAssignment struct{ file, name, expr string }

// assignments returns every attribute or local named name (or, with a
// trailing *, starting with that prefix) in files, with its expression.
func assignments(files map[string]string, name string) []tfAssignment {
	var out []tfAssignment
	for file, src := range files {
		for _, m := range assignment.FindAllStringSubmatchIndex(src, -1) {
			n := src[m[2]:m[3]]
			if n == name || strings.HasSuffix(name, "*") && strings.HasPrefix(n, strings.TrimSuffix(name, "*")) {
				out = append(out, tfAssignment{file: file, name: n, expr: expression(src, m[1])})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].file+out[i].name < out[j].file+out[j].name })
	return out
}

// objectKeys returns the keys of the object literals written in expr, one
// per line ("KEY" = value or KEY = value), skipping for-expressions.
func objectKeys(expr string) []string {
	var keys []string
	for _, line := range strings.Split(expr, "\n") {
		if strings.Contains(line, " for ") {
			continue
		}
		if m := assignment.FindStringSubmatch(line); m != nil && !strings.Contains(line, "==") {
			keys = append(keys, m[1])
		}
	}
	return keys
}

// topLevelKeys returns the keys directly inside the outermost braces of
// expr: for `{ a = {...}, b = {...} }`, a and b.
func topLevelKeys(expr string) map[string]string {
	out := map[string]string{}
	open := strings.Index(expr, "{")
	if open < 0 {
		return out
	}
	body := expr[open+1:]
	depth := 0
	lineStart := 0
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '{', '(', '[':
			depth++
		case '}', ')', ']':
			depth--
		case '\n':
			lineStart = i + 1
		}
		if depth == 0 && i == lineStart {
			if m := assignment.FindStringSubmatchIndex(body[i:]); m != nil && m[0] == 0 {
				out[body[i+m[2]:i+m[3]]] = expression(body, i+m[1])
			}
		}
		if depth < 0 {
			break
		}
	}
	return out
}

// stringAttr returns the quoted value of attr in expr ("" if absent).
func stringAttr(expr, attr string) string {
	m := regexp.MustCompile(attr + `\s*=\s*"([^"]*)"`).FindStringSubmatch(expr)
	if m == nil {
		return ""
	}
	return m[1]
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
