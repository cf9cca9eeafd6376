package sim

import (
	"net/http"
	"strings"
)

// A small OData $filter for users: eq, ne and in on string and boolean
// properties (strings compare case-insensitively, as the directory does),
// startsWith and endsWith, collection lambdas (otherMails/any(x:x eq 'v'),
// also startsWith and endsWith inside, on otherMails, proxyAddresses and
// businessPhones), not, and, or and parentheses. That covers the lookups
// Microsoft suggests before inviting ("userPrincipalName eq '{0}' or mail
// eq '{0}' or proxyAddresses/any(...) or otherMails/any(...)",
// external-id/customize-invitation-api).
//
// Parsing also works out what the query needs: some operators and
// properties work only as advanced queries, with the ConsistencyLevel:
// eventual header and $count=true (filterSupport below).

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
	inExpr struct {
		prop   property
		values []string
	}
	// fnExpr is startsWith or endsWith on a string property.
	fnExpr struct {
		prop  property
		ends  bool
		value string
	}
	// anyExpr is coll/any(x:x eq 'v'), or startsWith/endsWith(x,'v').
	anyExpr struct {
		prop  property
		op    string // eq, startswith or endswith
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

func (e inExpr) match(u *User) bool {
	v := *e.prop.str(u)
	for _, x := range e.values {
		if strings.EqualFold(v, x) {
			return true
		}
	}
	return false
}

func (e fnExpr) match(u *User) bool { return affixMatch(*e.prop.str(u), e.value, e.ends) }

func affixMatch(v, affix string, ends bool) bool {
	v, affix = strings.ToLower(v), strings.ToLower(affix)
	if ends {
		return strings.HasSuffix(v, affix)
	}
	return strings.HasPrefix(v, affix)
}

func (e anyExpr) match(u *User) bool {
	for _, v := range *e.prop.strs(u) {
		if e.op == "eq" && strings.EqualFold(v, e.value) || e.op != "eq" && affixMatch(v, e.value, e.op == "endswith") {
			return true
		}
	}
	return false
}

// supportLevel says whether an operator works on a property by default,
// only in advanced queries, or not at all.
type supportLevel uint8

const (
	unsupported supportLevel = iota
	byDefault
	advanced
)

// filterSupport is one row of the user table of "Advanced query
// capabilities on Microsoft Entra ID objects"
// (https://learn.microsoft.com/graph/aad-advanced-queries, "Support for
// filter by properties of Microsoft Entra ID (directory) objects"): eq,
// startsWith and eq on null. That page adds: "The in operator is
// supported by default whenever eq operator is supported by default", "The
// endsWith operator is supported only with advanced query parameters by
// mail, otherMails, userPrincipalName, and proxyAddresses properties", and
// "The not and ne negation operators are supported only with advanced
// query parameters". Properties missing from it (createdDateTime here:
// date literals are not modelled) answer "Unsupported or invalid query
// filter clause".
type filterSupport struct{ eq, startsWith, null supportLevel }

var userFilterSupport = map[string]filterSupport{
	"id":                          {byDefault, unsupported, unsupported},
	"accountEnabled":              {byDefault, unsupported, unsupported},
	"businessPhones":              {byDefault, unsupported, unsupported},
	"city":                        {byDefault, byDefault, advanced},
	"companyName":                 {advanced, advanced, advanced},
	"country":                     {byDefault, byDefault, advanced},
	"creationType":                {byDefault, unsupported, unsupported},
	"department":                  {byDefault, byDefault, advanced},
	"displayName":                 {byDefault, byDefault, advanced},
	"employeeId":                  {byDefault, byDefault, advanced},
	"employeeType":                {advanced, advanced, unsupported},
	"externalUserState":           {byDefault, unsupported, unsupported},
	"faxNumber":                   {advanced, advanced, advanced},
	"givenName":                   {byDefault, byDefault, advanced},
	"jobTitle":                    {byDefault, byDefault, advanced},
	"mail":                        {byDefault, byDefault, advanced},
	"mailNickname":                {byDefault, byDefault, advanced},
	"mobilePhone":                 {advanced, advanced, advanced},
	"officeLocation":              {advanced, advanced, advanced},
	"onPremisesSyncEnabled":       {byDefault, unsupported, advanced},
	"onPremisesUserPrincipalName": {byDefault, byDefault, unsupported},
	"otherMails":                  {byDefault, byDefault, unsupported},
	"postalCode":                  {advanced, advanced, advanced},
	"preferredLanguage":           {advanced, advanced, advanced},
	"proxyAddresses":              {byDefault, byDefault, unsupported},
	"showInAddressList":           {advanced, unsupported, unsupported},
	"state":                       {byDefault, byDefault, advanced},
	"streetAddress":               {advanced, advanced, advanced},
	"surname":                     {byDefault, byDefault, advanced},
	"usageLocation":               {byDefault, byDefault, advanced},
	"userPrincipalName":           {byDefault, byDefault, unsupported},
	"userType":                    {byDefault, unsupported, advanced},
}

// endsWithProps are the properties endsWith works on (advanced only).
var endsWithProps = []string{"mail", "otherMails", "userPrincipalName", "proxyAddresses"}

// Known issue 13635 (https://developer.microsoft.com/graph/known-issues/?search=13635):
// "When filtering using the eq operator, the maximum limit of the value to
// match is 120 characters ... When using advanced queries, the limit is
// applied on the URL length at 2,048 characters instead", and "When using
// the in operator, the request is limited to 15 expressions in the filter
// clause by default".
const (
	maxEqValue    = 120
	maxInValues   = 15
	maxAdvancedQS = 2048
)

// filterNeeds is what a parsed filter asks of the request.
type filterNeeds struct {
	// advanced names the first operator that needs the advanced query
	// parameters ("" if none does).
	advanced string
	// longEq is a property compared with eq to a value over 120 characters.
	longEq string
	// manyIn is a property compared with in to more than 15 values.
	manyIn string
}

func unsupportedFilter(format string, args ...any) *graphError {
	return newGraphError(http.StatusBadRequest, "Request_UnsupportedQuery", format, args...)
}

// advancedMissing is Graph's answer when an operator needs the advanced
// query parameters and the request lacks them (aad-advanced-queries,
// "Error handling for advanced queries on directory objects").
func advancedMissing(operator string) *graphError {
	return unsupportedFilter("Operator '%s' is not supported because the required parameters might be missing. "+
		"Try adding $count=true query parameter and ConsistencyLevel:eventual header. "+
		"Refer to https://aka.ms/graph-docs/advanced-queries for more information", operator)
}

func unsupportedClause(prop string) *graphError {
	return unsupportedFilter("Unsupported or invalid query filter clause specified for property '%s' of resource 'User'.", prop)
}

// check refuses what the request may not ask without (or even with) the
// advanced query parameters.
func (n filterNeeds) check(advancedQuery bool, rawQuery string) *graphError {
	switch {
	case advancedQuery && len(rawQuery) > maxAdvancedQS:
		return unsupportedFilter("The request URL is longer than %d characters, the limit of an advanced query.", maxAdvancedQS)
	case advancedQuery:
		return nil
	case n.advanced != "":
		return advancedMissing(n.advanced)
	case n.longEq != "":
		// The known issue gives the limit, not the answer.
		return unsupportedFilter("The value to match for property '%s' is longer than %d characters; "+
			"longer values need advanced query parameters.", n.longEq, maxEqValue)
	case n.manyIn != "":
		return unsupportedFilter("The in operator on property '%s' is limited to %d values; more need advanced query parameters.",
			n.manyIn, maxInValues)
	}
	return nil
}

// parseFilter parses a $filter; an empty one matches everything (nil).
func parseFilter(s string) (filterExpr, *graphError) {
	e, _, err := parseUserFilter(s)
	return e, err
}

// parseUserFilter parses a $filter and says what it needs.
func parseUserFilter(s string) (filterExpr, filterNeeds, *graphError) {
	if strings.TrimSpace(s) == "" {
		return nil, filterNeeds{}, nil
	}
	toks, err := lexFilter(s)
	if err != nil {
		return nil, filterNeeds{}, err
	}
	p := &filterParser{toks: toks}
	e, err := p.or()
	if err != nil {
		return nil, filterNeeds{}, err
	}
	if p.pos < len(p.toks) {
		return nil, filterNeeds{}, unsupportedFilter("Invalid filter clause: unexpected '%s'.", p.toks[p.pos].text)
	}
	return e, p.needs, nil
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
	toks  []filterToken
	pos   int
	needs filterNeeds
}

// need records that operator works only at level; the first advanced
// operator names the error.
func (p *filterParser) need(level supportLevel, operator, prop string) *graphError {
	switch level {
	case unsupported:
		return unsupportedClause(prop)
	case advanced:
		if p.needs.advanced == "" {
			p.needs.advanced = operator
		}
	}
	return nil
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
		_ = p.need(advanced, "not", "")
		e, err := p.unary()
		return notExpr{e}, err
	case p.peekWord("("):
		p.pos++
		e, err := p.or()
		if err == nil {
			err = p.expect(")")
		}
		return e, err
	case p.peekWord("startswith"), p.peekWord("endswith"):
		return p.function()
	}
	return p.comparison()
}

// function parses startsWith(prop,'x') or endsWith(prop,'x').
func (p *filterParser) function() (filterExpr, *graphError) {
	ends := p.peekWord("endswith")
	op := map[bool]string{false: "startsWith", true: "endsWith"}[ends]
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
	if err != nil || !lit.quoted {
		return nil, unsupportedFilter("Invalid filter clause: %s needs a string.", op)
	}
	if err := p.need(p.affixLevel(prop.name, ends), op, prop.name); err != nil {
		return nil, err
	}
	return fnExpr{prop: prop, ends: ends, value: lit.text}, p.expect(")")
}

func (p *filterParser) affixLevel(prop string, ends bool) supportLevel {
	if ends {
		for _, n := range endsWithProps {
			if strings.EqualFold(n, prop) {
				return advanced
			}
		}
		return unsupported
	}
	return userFilterSupport[prop].startsWith
}

func (p *filterParser) comparison() (filterExpr, *graphError) {
	if p.pos+1 < len(p.toks) && !p.toks[p.pos+1].quoted && p.toks[p.pos+1].text == "/" {
		return p.lambda()
	}
	prop, err := p.property(kindString, kindBool, kindNullableBool)
	if err != nil {
		return nil, err
	}
	support := userFilterSupport[prop.name]
	if p.peekWord("in") {
		return p.in(prop, support)
	}
	neg := p.peekWord("ne")
	if !neg && !p.peekWord("eq") {
		return nil, unsupportedFilter("Invalid filter clause: only eq, ne and in are supported for '%s'.", prop.name)
	}
	p.pos++
	lit, err := p.literal()
	if err != nil {
		return nil, err
	}
	e := cmpExpr{prop: prop, neg: neg}
	level := support.eq
	switch {
	case !lit.quoted && lit.text == "null":
		level = support.null
	case prop.kind == kindString && lit.quoted:
		e.value = &lit.text
		if len([]rune(lit.text)) > maxEqValue && p.needs.longEq == "" {
			p.needs.longEq = prop.name
		}
	case prop.kind != kindString && !lit.quoted && (lit.text == "true" || lit.text == "false"):
		v := lit.text == "true"
		e.flag = &v
	default:
		return nil, unsupportedFilter("A binary operator with incompatible types was detected for property '%s'.", prop.name)
	}
	if err := p.need(level, "eq", prop.name); err != nil {
		return nil, err
	}
	if neg {
		_ = p.need(advanced, "ne", prop.name)
	}
	return e, nil
}

// in parses prop in ('a','b',...).
func (p *filterParser) in(prop property, support filterSupport) (filterExpr, *graphError) {
	p.pos++
	if prop.kind != kindString {
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
	return inExpr{prop: prop, values: values}, p.expect(")")
}

// inValues parses the list of an in clause, ('a','b',...), up to but
// not including its closing parenthesis.
func (p *filterParser) inValues() ([]string, *graphError) {
	if err := p.expect("("); err != nil {
		return nil, err
	}
	var values []string
	for {
		lit, err := p.literal()
		if err != nil || !lit.quoted {
			return nil, unsupportedFilter("Invalid filter clause: in needs a list of strings.")
		}
		values = append(values, lit.text)
		if !p.peekWord(",") {
			return values, nil
		}
		p.pos++
	}
}

// noteIn records an in clause longer than Graph takes without the
// advanced-query headers.
func (p *filterParser) noteIn(prop string, values []string) {
	if len(values) > maxInValues && p.needs.manyIn == "" {
		p.needs.manyIn = prop
	}
}

// lambda parses coll/any(x:x eq 'v') and coll/any(x:startsWith(x,'v')).
func (p *filterParser) lambda() (filterExpr, *graphError) {
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
	e := anyExpr{prop: prop, op: "eq"}
	if p.peekWord("startswith") || p.peekWord("endswith") {
		e.op = strings.ToLower(p.toks[p.pos].text)
		p.pos++
		for _, w := range []string{"(", v, ","} {
			if err := p.expect(w); err != nil {
				return nil, err
			}
		}
	} else {
		for _, w := range []string{v, "eq"} {
			if err := p.expect(w); err != nil {
				return nil, err
			}
		}
	}
	lit, err := p.literal()
	if err != nil || !lit.quoted {
		return nil, unsupportedFilter("Invalid filter clause: any needs a string.")
	}
	e.value = lit.text
	if e.op != "eq" {
		if err := p.expect(")"); err != nil {
			return nil, err
		}
	}
	level := userFilterSupport[prop.name].eq
	switch e.op {
	case "startswith":
		level = p.affixLevel(prop.name, false)
	case "endswith":
		level = p.affixLevel(prop.name, true)
	default:
		if len([]rune(e.value)) > maxEqValue && p.needs.longEq == "" {
			p.needs.longEq = prop.name
		}
	}
	if err := p.need(level, e.op, prop.name); err != nil {
		return nil, err
	}
	return e, p.expect(")")
}

func (p *filterParser) property(kinds ...propKind) (property, *graphError) {
	if p.pos >= len(p.toks) || p.toks[p.pos].quoted {
		return property{}, unsupportedFilter("Invalid filter clause: expected a property name.")
	}
	name := p.toks[p.pos].text
	p.pos++
	i, ok := lookupProp(name)
	if !ok {
		return property{}, unsupportedClause(name)
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
