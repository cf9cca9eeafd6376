// Package syncplan holds galsync's pure decisions: which source users a
// direction syncs (scope), what their guests should look like (mapping),
// what changed (diff) and what to do about it (decide). It does no I/O.
package syncplan

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/galsync/galsync/shared/galsync"
)

// Source attributes every pull selects: identity, scope and loop checks.
var alwaysSelected = []string{"id", "mail", "userPrincipalName", "displayName", "accountEnabled", "userType", "creationType"}

// DefaultMapping copies the address-list attributes by the same name and
// shows the guest in the target's address list: an invited guest is hidden
// from it by default (Graph "invitation resource type": showInAddressList is
// false for invited users), and presence in the GAL is the point of sync.
var DefaultMapping = map[string]galsync.AttributeMapping{
	"showInAddressList": {Constant: true},
	"displayName":       {Source: "displayName"}, "givenName": {Source: "givenName"}, "surname": {Source: "surname"},
	"mail": {Source: "mail"}, "jobTitle": {Source: "jobTitle"}, "department": {Source: "department"},
	"companyName": {Source: "companyName"}, "officeLocation": {Source: "officeLocation"}, "city": {Source: "city"},
	"country": {Source: "country"}, "mobilePhone": {Source: "mobilePhone"}, "businessPhones": {Source: "businessPhones"},
	"employeeId": {Source: "employeeId"},
}

// Patchable lists the user properties galsync may write on a guest with
// PATCH /users/{id} (Microsoft Graph v1.0 "Update user"). accountEnabled and
// userType are managed by deprovisioning and the invitation, not mappings.
var Patchable = map[string]bool{
	"displayName": true, "givenName": true, "surname": true, "mail": true, "jobTitle": true, "department": true,
	"companyName": true, "officeLocation": true, "city": true, "country": true, "state": true, "streetAddress": true,
	"postalCode": true, "mobilePhone": true, "businessPhones": true, "faxNumber": true, "employeeId": true,
	"employeeType": true, "usageLocation": true, "preferredLanguage": true, "otherMails": true, "mailNickname": true,
	"showInAddressList": true,
}

// Rules is a direction compiled for decisions.
type Rules struct {
	Direction galsync.Direction
	mapping   map[string]mapper
	include   []rule
	exclude   []rule
	inviteVia string
	selected  []string
}

type mapper func(attrs map[string]any) any

type rule struct {
	attr   string
	equals string
	re     *regexp.Regexp
}

func (r rule) holds(attrs map[string]any) bool {
	v := attrs[r.attr]
	values := []string{asString(v)}
	if l, ok := v.([]string); ok {
		values = l
	}
	for _, s := range values {
		if r.re != nil && r.re.MatchString(s) || r.re == nil && strings.EqualFold(s, r.equals) {
			return true
		}
	}
	return false
}

// Compile checks a direction's scope and mapping and prepares them.
// crossCloud says whether source and target are in different clouds (then
// invitations go to the UPN unless the direction says otherwise). Every
// problem is reported, joined.
func Compile(d galsync.Direction, crossCloud bool) (*Rules, error) {
	r := &Rules{Direction: d, mapping: map[string]mapper{}}
	var errs []error
	mapping := d.Mapping
	if len(mapping) == 0 {
		mapping = DefaultMapping
	}
	referenced := map[string]bool{}
	for _, a := range alwaysSelected {
		referenced[a] = true
	}
	for _, target := range slices.Sorted(maps.Keys(mapping)) {
		m, err := compileMapping(target, mapping[target], referenced)
		if err != nil {
			errs = append(errs, fmt.Errorf("mapping %q: %w", target, err))
			continue
		}
		r.mapping[target] = m
	}
	if _, ok := mapping["displayName"]; !ok {
		errs = append(errs, errors.New(`mapping: displayName must be mapped (invitations need it)`))
	}
	for i, rl := range d.Scope.Include {
		c, err := compileRule(rl, referenced)
		if err != nil {
			errs = append(errs, fmt.Errorf("scope.include[%d]: %w", i, err))
		}
		r.include = append(r.include, c)
	}
	for i, rl := range d.Scope.Exclude {
		c, err := compileRule(rl, referenced)
		if err != nil {
			errs = append(errs, fmt.Errorf("scope.exclude[%d]: %w", i, err))
		}
		r.exclude = append(r.exclude, c)
	}
	switch d.InviteWith {
	case "":
		r.inviteVia = "mail"
		if crossCloud {
			r.inviteVia = "userPrincipalName"
		}
	case "mail", "userPrincipalName":
		r.inviteVia = d.InviteWith
	default:
		errs = append(errs, fmt.Errorf(`inviteWith %q: use "mail" or "userPrincipalName"`, d.InviteWith))
	}
	r.selected = slices.Sorted(maps.Keys(referenced))
	return r, errors.Join(errs...)
}

func compileMapping(target string, m galsync.AttributeMapping, referenced map[string]bool) (mapper, error) {
	if !Patchable[target] {
		return nil, fmt.Errorf("not a user property galsync can write (writable: %s)", strings.Join(slices.Sorted(maps.Keys(Patchable)), ", "))
	}
	set := 0
	for _, b := range []bool{m.Source != "", m.Constant != nil, m.Expression != ""} {
		if b {
			set++
		}
	}
	if set != 1 {
		return nil, errors.New("set exactly one of source, constant, expression")
	}
	switch {
	case m.Source != "":
		referenced[m.Source] = true
		src := m.Source
		return func(a map[string]any) any { return a[src] }, nil
	case m.Constant != nil:
		c := galsync.Normalize(m.Constant)
		return func(map[string]any) any { return c }, nil
	}
	e, err := parseExpr(m.Expression)
	if err != nil {
		return nil, fmt.Errorf("expression: %w", err)
	}
	e.attrs(referenced)
	return e.eval, nil
}

func compileRule(rl galsync.Rule, referenced map[string]bool) (rule, error) {
	if rl.Attribute == "" {
		return rule{}, errors.New("attribute is missing")
	}
	referenced[rl.Attribute] = true
	if (rl.Equals == "") == (rl.Matches == "") {
		return rule{}, errors.New("set exactly one of equals, matches")
	}
	c := rule{attr: rl.Attribute, equals: rl.Equals}
	if rl.Matches != "" {
		re, err := regexp.Compile(rl.Matches)
		if err != nil {
			return rule{}, fmt.Errorf("matches: %w", err)
		}
		c.re = re
	}
	return c, nil
}

// Select is the source attributes users/delta must return.
func (r *Rules) Select() []string { return slices.Clone(r.selected) }

// MappedAttributes are the target attributes the mapping writes, sorted.
func (r *Rules) MappedAttributes() []string { return slices.Sorted(maps.Keys(r.mapping)) }

// Map computes the desired guest snapshot of a source user.
func (r *Rules) Map(u galsync.SourceUser) galsync.Snapshot {
	s := make(galsync.Snapshot, len(r.mapping))
	for target, m := range r.mapping {
		v := galsync.Normalize(m(u.Attributes))
		if isEmpty(v) {
			v = nil
		}
		s[target] = v
	}
	return s
}

// InviteAddress is where a user's invitation goes ("" if it has none).
func (r *Rules) InviteAddress(u galsync.SourceUser) string {
	return strings.TrimSpace(asString(u.Attributes[r.inviteVia]))
}
