package syncplan

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// An expression computes a target attribute from source attributes. The
// grammar is small and close to Entra provisioning's:
//
//	expr   = call | attr | string
//	call   = Name "(" [ expr { "," expr } ] ")"
//	attr   = "[" sourceAttributeName "]"
//	string = '"' characters, with \" and \\ escapes '"'
//
// Functions (case-insensitive): Coalesce(a, b, ...) first non-empty;
// Lower(a); Upper(a); Trim(a); Replace(a, old, new); Join(sep, a, b, ...)
// of the non-empty values; Prefix(p, a) and Suffix(a, s), which add p or s
// only when a is non-empty. A missing attribute is empty; string functions
// of an empty value are empty, so mappings clear cleanly.
type expr interface {
	eval(attrs map[string]any) any
	attrs(into map[string]bool)
}

type attrRef string
type literal string
type call struct {
	name string
	fn   func(args []any) any
	args []expr
}

func (a attrRef) eval(m map[string]any) any  { return m[string(a)] }
func (a attrRef) attrs(into map[string]bool) { into[string(a)] = true }
func (l literal) eval(map[string]any) any    { return string(l) }
func (l literal) attrs(map[string]bool)      {}
func (c *call) attrs(into map[string]bool) {
	for _, a := range c.args {
		a.attrs(into)
	}
}
func (c *call) eval(m map[string]any) any {
	vals := make([]any, len(c.args))
	for i, a := range c.args {
		vals[i] = a.eval(m)
	}
	return c.fn(vals)
}

type function struct {
	minArgs, maxArgs int // maxArgs -1: variadic
	fn               func(args []any) any
}

var functions = map[string]function{
	"coalesce": {1, -1, func(a []any) any {
		for _, v := range a {
			if !isEmpty(v) {
				return v
			}
		}
		return nil
	}},
	"lower": {1, 1, mapString(strings.ToLower)},
	"upper": {1, 1, mapString(strings.ToUpper)},
	"trim":  {1, 1, mapString(strings.TrimSpace)},
	"replace": {3, 3, func(a []any) any {
		s, ok := a[0].(string)
		if !ok || s == "" {
			return nil
		}
		return strings.ReplaceAll(s, asString(a[1]), asString(a[2]))
	}},
	"join": {2, -1, func(a []any) any {
		var parts []string
		for _, v := range a[1:] {
			switch t := v.(type) {
			case string:
				if t != "" {
					parts = append(parts, t)
				}
			case []string:
				for _, s := range t {
					if s != "" {
						parts = append(parts, s)
					}
				}
			}
		}
		if len(parts) == 0 {
			return nil
		}
		return strings.Join(parts, asString(a[0]))
	}},
	"prefix": {2, 2, func(a []any) any {
		if s := asString(a[1]); s != "" {
			return asString(a[0]) + s
		}
		return nil
	}},
	"suffix": {2, 2, func(a []any) any {
		if s := asString(a[0]); s != "" {
			return s + asString(a[1])
		}
		return nil
	}},
}

func mapString(f func(string) string) func([]any) any {
	return func(a []any) any {
		switch t := a[0].(type) {
		case string:
			if t == "" {
				return nil
			}
			return f(t)
		case []string:
			out := make([]string, len(t))
			for i, s := range t {
				out[i] = f(s)
			}
			return out
		}
		return nil
	}
}

func asString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case bool:
		if t {
			return "true"
		}
		return "false"
	}
	return ""
}

func isEmpty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return t == ""
	case []string:
		return len(t) == 0
	}
	return false
}

// parseExpr parses an expression; errors name the position.
func parseExpr(src string) (expr, error) {
	p := &parser{src: src}
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos != len(p.src) {
		return nil, p.errorf("unexpected %q after the expression", p.src[p.pos:])
	}
	return e, nil
}

type parser struct {
	src string
	pos int
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("at offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *parser) space() {
	for p.pos < len(p.src) && unicode.IsSpace(rune(p.src[p.pos])) {
		p.pos++
	}
}

func (p *parser) expr() (expr, error) {
	p.space()
	if p.pos >= len(p.src) {
		return nil, p.errorf("expression expected")
	}
	switch c := p.src[p.pos]; {
	case c == '[':
		end := strings.IndexByte(p.src[p.pos:], ']')
		if end < 0 {
			return nil, p.errorf("unclosed [")
		}
		name := strings.TrimSpace(p.src[p.pos+1 : p.pos+end])
		if name == "" {
			return nil, p.errorf("empty attribute name")
		}
		p.pos += end + 1
		return attrRef(name), nil
	case c == '"':
		return p.stringLit()
	case unicode.IsLetter(rune(c)):
		return p.call()
	default:
		return nil, p.errorf("unexpected %q", c)
	}
}

func (p *parser) stringLit() (expr, error) {
	var b strings.Builder
	for i := p.pos + 1; i < len(p.src); i++ {
		switch c := p.src[i]; c {
		case '\\':
			if i+1 >= len(p.src) {
				return nil, p.errorf("unfinished escape")
			}
			i++
			b.WriteByte(p.src[i])
		case '"':
			p.pos = i + 1
			return literal(b.String()), nil
		default:
			b.WriteByte(c)
		}
	}
	return nil, p.errorf("unclosed string")
}

func (p *parser) call() (expr, error) {
	start := p.pos
	for p.pos < len(p.src) && (unicode.IsLetter(rune(p.src[p.pos])) || unicode.IsDigit(rune(p.src[p.pos]))) {
		p.pos++
	}
	name := p.src[start:p.pos]
	f, ok := functions[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("at offset %d: unknown function %q (known: Coalesce, Lower, Upper, Trim, Replace, Join, Prefix, Suffix)", start, name)
	}
	p.space()
	if p.pos >= len(p.src) || p.src[p.pos] != '(' {
		return nil, p.errorf("( expected after %s", name)
	}
	p.pos++
	var args []expr
	p.space()
	if p.pos < len(p.src) && p.src[p.pos] == ')' {
		p.pos++
	} else {
		for {
			a, err := p.expr()
			if err != nil {
				return nil, err
			}
			args = append(args, a)
			p.space()
			if p.pos >= len(p.src) {
				return nil, p.errorf("unclosed ( of %s", name)
			}
			if p.src[p.pos] == ')' {
				p.pos++
				break
			}
			if p.src[p.pos] != ',' {
				return nil, p.errorf(", or ) expected in %s", name)
			}
			p.pos++
		}
	}
	if len(args) < f.minArgs || (f.maxArgs >= 0 && len(args) > f.maxArgs) {
		return nil, errors.New(argCountMessage(name, f, len(args)))
	}
	return &call{name: name, fn: f.fn, args: args}, nil
}

func argCountMessage(name string, f function, got int) string {
	switch {
	case f.maxArgs < 0:
		return fmt.Sprintf("%s takes at least %d arguments, got %d", name, f.minArgs, got)
	case f.minArgs == f.maxArgs:
		return fmt.Sprintf("%s takes %d arguments, got %d", name, f.minArgs, got)
	}
	return fmt.Sprintf("%s takes %d to %d arguments, got %d", name, f.minArgs, f.maxArgs, got)
}
