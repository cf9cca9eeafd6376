package sim

import (
	"slices"
	"strings"
)

// A $filter for groups, with the group rows of the advanced-query table
// (https://learn.microsoft.com/graph/aad-advanced-queries, "Group
// properties"): eq, ne, in and startsWith on the string properties, eq on
// the booleans, groupTypes/any(c:c eq 'Unified'), not, and, or.

type groupFilter func(*Group) bool

var groupFilterSupport = map[string]filterSupport{
	"id":              {byDefault, unsupported, unsupported},
	"description":     {advanced, advanced, unsupported},
	"displayName":     {byDefault, byDefault, advanced},
	"mail":            {byDefault, byDefault, advanced},
	"mailEnabled":     {byDefault, unsupported, unsupported},
	"mailNickname":    {byDefault, byDefault, advanced},
	"securityEnabled": {byDefault, unsupported, unsupported},
}

func parseGroupFilter(s string) (groupFilter, filterNeeds, *graphError) {
	if strings.TrimSpace(s) == "" {
		return nil, filterNeeds{}, nil
	}
	toks, err := lexFilter(s)
	if err != nil {
		return nil, filterNeeds{}, err
	}
	p := &groupFilterParser{filterParser{toks: toks}}
	f, err := p.or()
	if err == nil && p.pos < len(p.toks) {
		err = unsupportedFilter("Invalid filter clause: unexpected '%s'.", p.toks[p.pos].text)
	}
	return f, p.needs, err
}

type groupFilterParser struct{ filterParser }

func groupClause(prop string) *graphError {
	return unsupportedFilter("Unsupported or invalid query filter clause specified for property '%s' of resource 'Group'.", prop)
}

func (p *groupFilterParser) need(level supportLevel, operator, prop string) *graphError {
	if level == unsupported {
		return groupClause(prop)
	}
	return p.filterParser.need(level, operator, prop)
}

func (p *groupFilterParser) or() (groupFilter, *graphError) {
	l, err := p.and()
	for err == nil && p.peekWord("or") {
		p.pos++
		var r groupFilter
		if r, err = p.and(); err == nil {
			a, b := l, r
			l = func(g *Group) bool { return a(g) || b(g) }
		}
	}
	return l, err
}

func (p *groupFilterParser) and() (groupFilter, *graphError) {
	l, err := p.unary()
	for err == nil && p.peekWord("and") {
		p.pos++
		var r groupFilter
		if r, err = p.unary(); err == nil {
			a, b := l, r
			l = func(g *Group) bool { return a(g) && b(g) }
		}
	}
	return l, err
}

func (p *groupFilterParser) unary() (groupFilter, *graphError) {
	switch {
	case p.peekWord("not"):
		p.pos++
		_ = p.need(advanced, "not", "")
		f, err := p.unary()
		return func(g *Group) bool { return !f(g) }, err
	case p.peekWord("("):
		p.pos++
		f, err := p.or()
		if err == nil {
			err = p.expect(")")
		}
		return f, err
	case p.peekWord("startswith"):
		p.pos++
		if err := p.expect("("); err != nil {
			return nil, err
		}
		prop, get, err := p.stringProp()
		if err != nil {
			return nil, err
		}
		if err := p.expect(","); err != nil {
			return nil, err
		}
		lit, err := p.literal()
		if err != nil || !lit.quoted {
			return nil, unsupportedFilter("Invalid filter clause: startsWith needs a string.")
		}
		if err := p.need(groupFilterSupport[prop].startsWith, "startsWith", prop); err != nil {
			return nil, err
		}
		return func(g *Group) bool { return affixMatch(get(g), lit.text, false) }, p.expect(")")
	}
	return p.comparison()
}

// stringProp reads a string property's name.
func (p *groupFilterParser) stringProp() (string, func(*Group) string, *graphError) {
	if p.pos >= len(p.toks) || p.toks[p.pos].quoted {
		return "", nil, unsupportedFilter("Invalid filter clause: expected a property name.")
	}
	name := p.toks[p.pos].text
	p.pos++
	i, ok := lookupGroupProp(name)
	if !ok {
		return "", nil, groupClause(name)
	}
	prop := groupProps[i]
	if _, isString := prop.get(&Group{}).(string); !isString {
		return "", nil, unsupportedFilter("Unsupported query on property '%s' of resource 'Group'.", prop.name)
	}
	return prop.name, func(g *Group) string { return prop.get(g).(string) }, nil
}

func (p *groupFilterParser) comparison() (groupFilter, *graphError) {
	if p.pos+1 < len(p.toks) && strings.EqualFold(p.toks[p.pos].text, "groupTypes") && p.toks[p.pos+1].text == "/" {
		return p.groupTypesAny()
	}
	if p.pos >= len(p.toks) || p.toks[p.pos].quoted {
		return nil, unsupportedFilter("Invalid filter clause: expected a property name.")
	}
	i, ok := lookupGroupProp(p.toks[p.pos].text)
	if !ok {
		return nil, groupClause(p.toks[p.pos].text)
	}
	prop := groupProps[i]
	p.pos++
	support := groupFilterSupport[prop.name]
	neg := p.peekWord("ne")
	if !neg && !p.peekWord("eq") && !p.peekWord("in") {
		return nil, unsupportedFilter("Invalid filter clause: only eq, ne and in are supported for '%s'.", prop.name)
	}
	if p.peekWord("in") {
		p.pos++
		return p.in(prop, support)
	}
	p.pos++
	lit, err := p.literal()
	if err != nil {
		return nil, err
	}
	level := support.eq
	var f groupFilter
	switch prop.get(&Group{}).(type) {
	case string:
		switch {
		case !lit.quoted && lit.text == "null":
			level = support.null
			f = func(g *Group) bool { return prop.get(g).(string) == "" }
		case lit.quoted:
			f = func(g *Group) bool { return strings.EqualFold(prop.get(g).(string), lit.text) }
		default:
			return nil, unsupportedFilter("A binary operator with incompatible types was detected for property '%s'.", prop.name)
		}
	case bool:
		if lit.quoted || lit.text == "null" {
			return nil, unsupportedFilter("A binary operator with incompatible types was detected for property '%s'.", prop.name)
		}
		want := lit.text == "true"
		f = func(g *Group) bool { return prop.get(g).(bool) == want }
	default:
		return nil, groupClause(prop.name)
	}
	if err := p.need(level, "eq", prop.name); err != nil {
		return nil, err
	}
	if neg {
		_ = p.need(advanced, "ne", prop.name)
		eq := f
		f = func(g *Group) bool { return !eq(g) }
	}
	return f, nil
}

func (p *groupFilterParser) in(prop groupProp, support filterSupport) (groupFilter, *graphError) {
	if _, ok := prop.get(&Group{}).(string); !ok {
		return nil, unsupportedFilter("Invalid filter clause: in needs a string property.")
	}
	values, err := p.inValues()
	if err != nil {
		return nil, err
	}
	if err := p.need(support.eq, "in", prop.name); err != nil {
		return nil, err
	}
	p.noteIn(prop.name, values)
	return func(g *Group) bool {
		return slices.ContainsFunc(values, func(v string) bool { return strings.EqualFold(v, prop.get(g).(string)) })
	}, p.expect(")")
}

// groupTypesAny parses groupTypes/any(c:c eq 'Unified').
func (p *groupFilterParser) groupTypesAny() (groupFilter, *graphError) {
	p.pos++
	for _, w := range []string{"/", "any", "("} {
		if err := p.expect(w); err != nil {
			return nil, err
		}
	}
	if p.pos+2 >= len(p.toks) || p.toks[p.pos+1].text != ":" {
		return nil, unsupportedFilter("Invalid filter clause: expected a lambda such as any(c:c eq 'Unified').")
	}
	v := p.toks[p.pos].text
	p.pos += 2
	for _, w := range []string{v, "eq"} {
		if err := p.expect(w); err != nil {
			return nil, err
		}
	}
	lit, err := p.literal()
	if err != nil || !lit.quoted {
		return nil, unsupportedFilter("Invalid filter clause: any needs a string.")
	}
	return func(g *Group) bool {
		return slices.ContainsFunc(g.GroupTypes, func(t string) bool { return strings.EqualFold(t, lit.text) })
	}, p.expect(")")
}
