// Package syncplan holds galsync's pure decisions: which source users a
// direction syncs (scope), what their guests should look like (mapping),
// what changed (diff) and what to do about it (decide). It does no I/O.
package syncplan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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

// DefaultMapping copies the address-list attributes by the same name.
// showInAddressList is not among them: the v1.0 user resource says of it
// "Do not use in Microsoft Graph. Manage this property through the
// Microsoft 365 admin center", and cross-tenant synchronization's known
// issues say updating it fails once the B2B user is mail-enabled
// (learn.microsoft.com/graph/api/resources/user,
// learn.microsoft.com/entra/identity/multi-tenant-organizations/cross-tenant-synchronization-known-issues);
// since a PATCH is all-or-nothing, carrying it would lose every other
// attribute. The direction's addressList setting writes it on its own.
var DefaultMapping = map[string]galsync.AttributeMapping{
	"displayName": {Source: "displayName"}, "givenName": {Source: "givenName"}, "surname": {Source: "surname"},
	"mail": {Source: "mail"}, "jobTitle": {Source: "jobTitle"}, "department": {Source: "department"},
	"companyName": {Source: "companyName"}, "officeLocation": {Source: "officeLocation"}, "city": {Source: "city"},
	"country": {Source: "country"}, "mobilePhone": {Source: "mobilePhone"}, "businessPhones": {Source: "businessPhones"},
	"employeeId": {Source: "employeeId"},
}

// Updatable lists the user properties Microsoft Graph v1.0 "Update user"
// documents as settable with PATCH /users/{id}
// (learn.microsoft.com/graph/api/user-update), of those galsync knows how
// to write. accountEnabled and userType are managed by galsync itself
// (deprovisioning, the direction's userType), not by mappings.
var Updatable = map[string]bool{
	"displayName": true, "givenName": true, "surname": true, "mail": true, "jobTitle": true, "department": true,
	"companyName": true, "officeLocation": true, "city": true, "country": true, "state": true, "streetAddress": true,
	"postalCode": true, "mobilePhone": true, "businessPhones": true, "employeeId": true,
	"employeeType": true, "usageLocation": true, "preferredLanguage": true, "otherMails": true, "mailNickname": true,
}

// Mappable are the properties a mapping may target: the documented
// updatable ones, and a few user properties Graph has but does not
// document as updatable, accepted with a warning (Graph may refuse them;
// a refusal costs only that attribute).
var Mappable = func() map[string]bool {
	m := maps.Clone(Updatable)
	m["showInAddressList"] = true
	m["faxNumber"] = true
	return m
}()

// Address-list settings of a direction.
const (
	// AddressListNone leaves the guest's address-list visibility alone
	// (Exchange Online: Set-MailUser -HiddenFromAddressListsEnabled).
	AddressListNone = "none"
	// AddressListGraph shows the guest in the address list with a
	// separate PATCH of showInAddressList after the invitation; a refusal
	// is recorded once and does not block the other attributes.
	AddressListGraph = "graph"
)

// Rules is a direction compiled for decisions.
type Rules struct {
	Direction galsync.Direction
	// Warnings are problems that do not stop the direction (a mapping of
	// a property Graph does not document as updatable).
	Warnings    []string
	mapping     map[string]mapper
	specs       map[string]string // target attribute → its mapping, as JSON (for fingerprints)
	include     []rule
	exclude     []rule
	inviteVia   string
	selected    []string
	fingerprint string
	// manager: the mapping holds "manager": {"source": "manager"}.
	manager bool
	// groupName is the compiled groupNamePattern.
	groupName string
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
	r := &Rules{Direction: d, mapping: map[string]mapper{}, specs: map[string]string{}}
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
		if target == ManagerAttribute {
			if err := r.compileManager(mapping[target], referenced); err != nil {
				errs = append(errs, fmt.Errorf("mapping %q: %w", target, err))
			}
			continue
		}
		m, err := compileMapping(target, mapping[target], referenced)
		if err != nil {
			errs = append(errs, fmt.Errorf("mapping %q: %w", target, err))
			continue
		}
		if !Updatable[target] {
			r.Warnings = append(r.Warnings, fmt.Sprintf("mapping %q: Microsoft Graph v1.0 does not document this property as updatable (learn.microsoft.com/graph/api/user-update); Graph may refuse it, and then only it is left out", target))
		}
		r.mapping[target] = m
		spec, _ := json.Marshal(mapping[target])
		r.specs[target] = string(spec)
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
	switch d.AddressList {
	case "", AddressListNone, AddressListGraph:
	default:
		errs = append(errs, fmt.Errorf(`addressList %q: use %q or %q`, d.AddressList, AddressListGraph, AddressListNone))
	}
	if d.AddressList == AddressListGraph && r.mapping["showInAddressList"] != nil {
		errs = append(errs, errors.New(`mapping "showInAddressList" and addressList "graph" both set it: keep one`))
	}
	errs = append(errs, r.compileRelations(d)...)
	delete(referenced, ScopeGroupsAttribute) // galsync's own, never Graph's
	r.selected = slices.Sorted(maps.Keys(referenced))
	r.fingerprint = fingerprint(r.specs, d)
	return r, errors.Join(errs...)
}

// fingerprint digests what decides a guest's desired state: the mapping
// and the settings the workers apply. Scope is left out: a scope change
// moves users in or out, which pulls decide.
func fingerprint(specs map[string]string, d galsync.Direction) string {
	b, _ := json.Marshal(struct {
		Mapping     map[string]string
		UserType    string
		AddressList string
		InviteWith  string
		// A conversion policy that changes looks at conflicts again.
		ExistingMembers string   `json:",omitempty"`
		ConvertDomains  []string `json:",omitempty"`
	}{specs, d.UserType, d.AddressList, d.InviteWith, d.ExistingMembers, d.ConvertDomains})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// Fingerprint identifies the direction's mapping and worker settings: when
// it changes, every guest is compared again with its desired state.
func (r *Rules) Fingerprint() string { return r.fingerprint }

// AttributeFingerprint identifies what a refused attribute was: its
// mapping and its desired value. Graph is asked again only when it changes.
func (r *Rules) AttributeFingerprint(target string, value any) string {
	b, _ := json.Marshal([]any{r.specs[target], value})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// AddressList is the direction's address-list setting (none by default).
func (r *Rules) AddressList() string {
	if r.Direction.AddressList == "" {
		return AddressListNone
	}
	return r.Direction.AddressList
}

func compileMapping(target string, m galsync.AttributeMapping, referenced map[string]bool) (mapper, error) {
	if !Mappable[target] {
		return nil, fmt.Errorf("not a user property galsync can write (writable: %s)", strings.Join(slices.Sorted(maps.Keys(Mappable)), ", "))
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

// TargetSelect is what a worker reads of a guest: the mapped attributes
// and what galsync manages or checks itself.
func (r *Rules) TargetSelect() []string {
	sel := map[string]bool{"id": true, "accountEnabled": true, "userType": true, "creationType": true,
		"externalUserState": true, "userPrincipalName": true, "mail": true}
	for target := range r.mapping {
		sel[target] = true
	}
	if r.AddressList() == AddressListGraph {
		sel["showInAddressList"] = true
	}
	return slices.Sorted(maps.Keys(sel))
}

// Map computes the desired guest snapshot of a source user's attributes.
func (r *Rules) Map(attrs map[string]any) galsync.Snapshot {
	s := make(galsync.Snapshot, len(r.mapping))
	for target, m := range r.mapping {
		v := galsync.Normalize(m(attrs))
		if isEmpty(v) {
			v = nil
		}
		s[target] = v
	}
	return s
}

// InviteAddress is where a user's invitation goes ("" if it has none).
func (r *Rules) InviteAddress(attrs map[string]any) string {
	return strings.TrimSpace(asString(attrs[r.inviteVia]))
}
