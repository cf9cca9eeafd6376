package sim

import (
	"slices"
	"strings"
)

type propKind uint8

const (
	kindString propKind = iota
	kindBool
	kindNullableBool
	kindStrings
)

// property is one user property the simulator models: its Graph name, its
// type, whether "Update user" accepts it, whether a GET without $select
// returns it, and how to reach the field.
type property struct {
	name      string
	kind      propKind
	updatable bool
	byDefault bool
	str       func(*User) *string
	strs      func(*User) *[]string
	flag      func(*User) *bool
	nflag     func(*User) **bool
}

func strProp(name string, upd, def bool, f func(*User) *string) property {
	return property{name: name, kind: kindString, updatable: upd, byDefault: def, str: f}
}

func strsProp(name string, upd, def bool, f func(*User) *[]string) property {
	return property{name: name, kind: kindStrings, updatable: upd, byDefault: def, strs: f}
}

// userProps is the modelled part of the user resource. Updatable follows
// "Update user" (graph/api/user-update, v1.0); byDefault follows the user
// resource page: "By default, only a limited set of properties are returned
// (businessPhones, displayName, givenName, id, jobTitle, mail, mobilePhone,
// officeLocation, preferredLanguage, surname, userPrincipalName)". The index
// of a property is its bit in change masks, so there must be at most 64.
var userProps = []property{
	strProp("id", false, true, func(u *User) *string { return &u.ID }),
	{name: "accountEnabled", kind: kindBool, updatable: true, flag: func(u *User) *bool { return &u.AccountEnabled }},
	strsProp("businessPhones", true, true, func(u *User) *[]string { return &u.BusinessPhones }),
	strProp("city", true, false, func(u *User) *string { return &u.City }),
	strProp("companyName", true, false, func(u *User) *string { return &u.CompanyName }),
	strProp("country", true, false, func(u *User) *string { return &u.Country }),
	strProp("createdDateTime", false, false, func(u *User) *string { return &u.CreatedDateTime }),
	strProp("creationType", false, false, func(u *User) *string { return &u.CreationType }),
	strProp("department", true, false, func(u *User) *string { return &u.Department }),
	strProp("displayName", true, true, func(u *User) *string { return &u.DisplayName }),
	strProp("employeeId", true, false, func(u *User) *string { return &u.EmployeeID }),
	strProp("employeeType", true, false, func(u *User) *string { return &u.EmployeeType }),
	strProp("externalUserState", false, false, func(u *User) *string { return &u.ExternalUserState }),
	strProp("faxNumber", true, false, func(u *User) *string { return &u.FaxNumber }),
	strProp("givenName", true, true, func(u *User) *string { return &u.GivenName }),
	strProp("jobTitle", true, true, func(u *User) *string { return &u.JobTitle }),
	strProp("mail", true, true, func(u *User) *string { return &u.Mail }),
	strProp("mailNickname", true, false, func(u *User) *string { return &u.MailNickname }),
	strProp("mobilePhone", true, true, func(u *User) *string { return &u.MobilePhone }),
	strProp("officeLocation", true, true, func(u *User) *string { return &u.OfficeLocation }),
	strsProp("otherMails", true, false, func(u *User) *[]string { return &u.OtherMails }),
	strProp("postalCode", true, false, func(u *User) *string { return &u.PostalCode }),
	strProp("preferredLanguage", true, true, func(u *User) *string { return &u.PreferredLanguage }),
	strsProp("proxyAddresses", false, false, func(u *User) *[]string { return &u.ProxyAddresses }),
	// showInAddressList: the v1.0 page asks callers to manage it in the
	// admin center, yet the property is writable on guests; galsync writes it.
	{name: "showInAddressList", kind: kindNullableBool, updatable: true, nflag: func(u *User) **bool { return &u.ShowInAddressList }},
	strProp("state", true, false, func(u *User) *string { return &u.State }),
	strProp("streetAddress", true, false, func(u *User) *string { return &u.StreetAddress }),
	strProp("surname", true, true, func(u *User) *string { return &u.Surname }),
	strProp("usageLocation", true, false, func(u *User) *string { return &u.UsageLocation }),
	strProp("userPrincipalName", true, true, func(u *User) *string { return &u.UserPrincipalName }),
	strProp("userType", true, false, func(u *User) *string { return &u.UserType }),
}

// unmodelledUpdatable are further properties "Update user" accepts. The
// simulator stores them as sent and returns them when selected, but does
// not track them in delta (several, like skills, live outside the directory
// and are not tracked by Graph either).
var unmodelledUpdatable = []string{
	"aboutMe", "ageGroup", "birthday", "consentProvidedForMinor", "employeeHireDate", "employeeLeaveDateTime",
	"employeeOrgData", "hireDate", "identities", "interests", "mySite", "onPremisesExtensionAttributes",
	"onPremisesImmutableId", "passwordPolicies", "passwordProfile", "pastProjects", "preferredDataLocation",
	"responsibilities", "schools", "skills",
}

// readOnlyUserProps are documented user properties no request may set.
var readOnlyUserProps = []string{
	"deletedDateTime", "externalUserStateChangeDateTime", "imAddresses", "lastPasswordChangeDateTime",
	"onPremisesDistinguishedName", "onPremisesDomainName", "onPremisesLastSyncDateTime", "onPremisesSyncEnabled",
	"onPremisesSamAccountName", "onPremisesSecurityIdentifier", "onPremisesUserPrincipalName",
	"securityIdentifier", "signInActivity", "signInSessionsValidFromDateTime", "assignedLicenses", "assignedPlans",
	"provisionedPlans", "licenseAssignmentStates", "isResourceAccount",
}

var propIndex = func() map[string]int {
	m := make(map[string]int, len(userProps))
	for i, p := range userProps {
		m[strings.ToLower(p.name)] = i
	}
	return m
}()

// lookupProp finds a modelled property; OData property names are matched
// case-insensitively by Graph's directory service.
func lookupProp(name string) (int, bool) {
	i, ok := propIndex[strings.ToLower(name)]
	return i, ok
}

func isUnmodelled(name string) (string, bool) {
	for _, n := range unmodelledUpdatable {
		if strings.EqualFold(n, name) {
			return n, true
		}
	}
	return "", false
}

type propMask uint64

var allProps = propMask(1)<<len(userProps) - 1

var defaultProps = func() propMask {
	var m propMask
	for i, p := range userProps {
		if p.byDefault {
			m |= 1 << i
		}
	}
	return m
}()

// selection is what a $select asks for: modelled properties by bit, and
// unmodelled ones by name.
type selection struct {
	mask   propMask
	extras []string
}

// parseSelect reads $select; empty means Graph's default set. id is always
// returned. Unknown names are the error Graph gives.
func parseSelect(v string, allowExtras bool) (selection, *graphError) {
	if strings.TrimSpace(v) == "" {
		return selection{mask: defaultProps}, nil
	}
	sel := selection{mask: 1} // id
	for _, name := range strings.Split(v, ",") {
		name = strings.TrimSpace(name)
		if i, ok := lookupProp(name); ok {
			sel.mask |= 1 << i
			continue
		}
		if n, ok := isUnmodelled(name); ok && allowExtras {
			if !slices.Contains(sel.extras, n) {
				sel.extras = append(sel.extras, n)
			}
			continue
		}
		return sel, newGraphError(400, "BadRequest",
			"Parsing OData Select and Expand failed: Could not find a property named '%s' on type 'microsoft.graph.user'.", name)
	}
	return sel, nil
}

// selectNames lists a mask's properties for @odata.context.
func selectNames(m propMask) []string {
	var out []string
	for i, p := range userProps {
		if m&(1<<i) != 0 {
			out = append(out, p.name)
		}
	}
	return out
}

// diffMask is the set of modelled properties whose values differ.
func diffMask(a, b *User) propMask {
	var m propMask
	for i, p := range userProps {
		if !sameValue(p, a, b) {
			m |= 1 << i
		}
	}
	return m
}

func sameValue(p property, a, b *User) bool {
	switch p.kind {
	case kindString:
		return *p.str(a) == *p.str(b)
	case kindBool:
		return *p.flag(a) == *p.flag(b)
	case kindNullableBool:
		x, y := *p.nflag(a), *p.nflag(b)
		return x == nil && y == nil || x != nil && y != nil && *x == *y
	default:
		return slices.Equal(*p.strs(a), *p.strs(b))
	}
}
