package sim

import (
	"net/http"
	"strings"
)

// A small OData $filter for users: eq and ne on string and boolean
// properties (strings compare case-insensitively, as the directory does),
// startswith(prop,'x'), collection any (otherMails/any(x:x eq 'v'), also
// proxyAddresses), not, and, or and parentheses. That covers the lookups
// Microsoft suggests before inviting ("userPrincipalName eq '{0}' or mail
// eq '{0}' or proxyAddresses/any(...) or otherMails/any(...)",
// external-id/customize-invitation-api).

type filterExpr interface {
	match(u *User) bool
}

type (
	orExpr  struct{ l, r filterExpr }
	andExpr struct{ l, r filterExpr }
	notExpr struct{ e filterExpr }
	cmpExpr struct {
		prop  property
		neg   bool
		value *string // nil is null
		flag  *bool
	}
	startsExpr struct {
		prop   property
		prefix string
	}
	anyExpr struct {
		prop  property
		value string
	}
)

func (e orExpr) match(u *User) bool  { return e.l.match(u) || e.r.match(u) }
func (e andExpr) match(u *User) bool { return e.l.match(u) && e.r.match(u) }
func (e notExpr) match(u *User) bool { return !e.e.match(u) }

func (e cmpExpr) match(u *User) bool {
	var eq bool
	switch e.prop.kind {
	case kindString:
		v := *e.prop.str(u)
		eq = e.value == nil && v == "" || e.value != nil && strings.EqualFold(v, *e.value)
	case kindBool:
		eq = e.flag != nil && *e.prop.flag(u) == *e.flag
	case kindNullableBool:
		v := *e.prop.nflag(u)
		eq = v == nil && e.flag == nil || v != nil && e.flag != nil && *v == *e.flag
	}
	return eq != e.neg
}

func (e startsExpr) match(u *User) bool {
	return strings.HasPrefix(strings.ToLower(*e.prop.str(u)), strings.ToLower(e.prefix))
}

func (e anyExpr) match(u *User) bool {
	for _, v := range *e.prop.strs(u) {
		if strings.EqualFold(v, e.value) {
			return true
		}
	}
	return false
}

func unsupportedFilter(format string, args ...any) *graphError {
	return newGraphError(http.StatusBadRequest, "Request_UnsupportedQuery", format, args...)
}

// parseFilter parses a $filter; an empty one matches everything (nil).
func parseFilter(s string) (filterExpr, *graphError) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	toks, err := lexFilter(s)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, unsupportedFilter("Invalid filter clause: unexpected '%s'.", p.toks[p.pos].text)
	}
	return e, nil
}

type filterToken struct {
	text   string
	quoted bool // a string literal
}

func lexFilter(s string) ([]filterToken, *graphError) {
	var toks []filterToken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case strings.IndexByte("(),:/", c) >= 0:
			toks = append(toks, filterToken{text: string(c)})
			i++
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' { // '' escapes a quote
						b.WriteByte('\'')
						j++
						continue
					}
					break
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, unsupportedFilter("Invalid filter clause: unterminated string literal.")
			}
			toks = append(toks, filterToken{text: b.String(), quoted: true})
			i = j + 1
		default:
			j := i
			for j < len(s) && strings.IndexByte(" \t(),:/'", s[j]) < 0 {
				j++
			}
			toks = append(toks, filterToken{text: s[i:j]})
			i = j
		}
	}
	return toks, nil
}

type filterParser struct {
	toks []filterToken
	pos  int
}

func (p *filterParser) peekWord(w string) bool {
	return p.pos < len(p.toks) && !p.toks[p.pos].quoted && strings.EqualFold(p.toks[p.pos].text, w)
}

func (p *filterParser) expect(w string) *graphError {
	if !p.peekWord(w) {
		return unsupportedFilter("Invalid filter clause: expected '%s'.", w)
	}
	p.pos++
	return nil
}

func (p *filterParser) or() (filterExpr, *graphError) {
	l, err := p.and()
	for err == nil && p.peekWord("or") {
		p.pos++
		var r filterExpr
		if r, err = p.and(); err == nil {
			l = orExpr{l, r}
		}
	}
	return l, err
}

func (p *filterParser) and() (filterExpr, *graphError) {
	l, err := p.unary()
	for err == nil && p.peekWord("and") {
		p.pos++
		var r filterExpr
		if r, err = p.unary(); err == nil {
			l = andExpr{l, r}
		}
	}
	return l, err
}

func (p *filterParser) unary() (filterExpr, *graphError) {
	switch {
	case p.peekWord("not"):
		p.pos++
		e, err := p.unary()
		return notExpr{e}, err
	case p.peekWord("("):
		p.pos++
		e, err := p.or()
		if err == nil {
			err = p.expect(")")
		}
		return e, err
	case p.peekWord("startswith"):
		return p.startsWith()
	}
	return p.comparison()
}

func (p *filterParser) startsWith() (filterExpr, *graphError) {
	p.pos++
	if err := p.expect("("); err != nil {
		return nil, err
	}
	prop, err := p.property(kindString)
	if err != nil {
		return nil, err
	}
	if err := p.expect(","); err != nil {
		return nil, err
	}
	lit, err := p.literal()
	if err != nil || lit.text == "null" && !lit.quoted {
		return nil, unsupportedFilter("Invalid filter clause: startswith needs a string.")
	}
	return startsExpr{prop: prop, prefix: lit.text}, p.expect(")")
}

func (p *filterParser) comparison() (filterExpr, *graphError) {
	if p.pos+1 < len(p.toks) && !p.toks[p.pos+1].quoted && p.toks[p.pos+1].text == "/" {
		return p.anyEq()
	}
	prop, err := p.property(kindString, kindBool, kindNullableBool)
	if err != nil {
		return nil, err
	}
	neg := p.peekWord("ne")
	if !neg && !p.peekWord("eq") {
		return nil, unsupportedFilter("Invalid filter clause: only eq and ne are supported for '%s'.", prop.name)
	}
	p.pos++
	lit, err := p.literal()
	if err != nil {
		return nil, err
	}
	e := cmpExpr{prop: prop, neg: neg}
	switch {
	case !lit.quoted && lit.text == "null":
	case prop.kind == kindString && lit.quoted:
		e.value = &lit.text
	case prop.kind != kindString && !lit.quoted && (lit.text == "true" || lit.text == "false"):
		v := lit.text == "true"
		e.flag = &v
	default:
		return nil, unsupportedFilter("A binary operator with incompatible types was detected for property '%s'.", prop.name)
	}
	return e, nil
}

// anyEq parses coll/any(x:x eq 'v').
func (p *filterParser) anyEq() (filterExpr, *graphError) {
	prop, err := p.property(kindStrings)
	if err != nil {
		return nil, err
	}
	for _, w := range []string{"/", "any", "("} {
		if err := p.expect(w); err != nil {
			return nil, err
		}
	}
	if p.pos+2 >= len(p.toks) || p.toks[p.pos+1].text != ":" {
		return nil, unsupportedFilter("Invalid filter clause: expected a lambda such as any(x:x eq 'v').")
	}
	v := p.toks[p.pos].text
	p.pos += 2
	if err := p.expect(v); err != nil {
		return nil, err
	}
	if err := p.expect("eq"); err != nil {
		return nil, err
	}
	lit, err := p.literal()
	if err != nil || !lit.quoted {
		return nil, unsupportedFilter("Invalid filter clause: any needs a string.")
	}
	return anyExpr{prop: prop, value: lit.text}, p.expect(")")
}

func (p *filterParser) property(kinds ...propKind) (property, *graphError) {
	if p.pos >= len(p.toks) || p.toks[p.pos].quoted {
		return property{}, unsupportedFilter("Invalid filter clause: expected a property name.")
	}
	name := p.toks[p.pos].text
	p.pos++
	i, ok := lookupProp(name)
	if !ok {
		return property{}, unsupportedFilter("Unsupported or invalid query filter clause specified for property '%s' of resource 'User'.", name)
	}
	for _, k := range kinds {
		if userProps[i].kind == k {
			return userProps[i], nil
		}
	}
	return property{}, unsupportedFilter("Unsupported query on property '%s' of resource 'User'.", name)
}

func (p *filterParser) literal() (filterToken, *graphError) {
	if p.pos >= len(p.toks) {
		return filterToken{}, unsupportedFilter("Invalid filter clause: expected a value.")
	}
	t := p.toks[p.pos]
	p.pos++
	if !t.quoted && t.text != "true" && t.text != "false" && t.text != "null" {
		return t, unsupportedFilter("Invalid filter clause: %s is not a literal.", t.text)
	}
	return t, nil
}

// filterIDs reads a users/delta $filter, which supports only "id eq 'x'"
// joined by or, with at most 50 ids (user-delta).
func filterIDs(s string) ([]string, *graphError) {
	e, err := parseFilter(s)
	if err != nil || e == nil {
		return nil, err
	}
	var ids []string
	var walk func(filterExpr) bool
	walk = func(e filterExpr) bool {
		switch x := e.(type) {
		case orExpr:
			return walk(x.l) && walk(x.r)
		case cmpExpr:
			if x.prop.name == "id" && !x.neg && x.value != nil {
				ids = append(ids, strings.ToLower(*x.value))
				return true
			}
		}
		return false
	}
	if !walk(e) {
		return nil, unsupportedFilter("users/delta supports only $filter=id eq '{value}', joined by or.")
	}
	if len(ids) > 50 {
		return nil, unsupportedFilter("users/delta accepts at most 50 ids in $filter, got %d.", len(ids))
	}
	return ids, nil
}
