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
// returns it, the longest value Graph accepts (in characters; 0: no
// documented limit), and how to reach the field.
type property struct {
	name      string
	kind      propKind
	updatable bool
	byDefault bool
	maxLen    int
	str       func(*User) *string
	strs      func(*User) *[]string
	flag      func(*User) *bool
	nflag     func(*User) **bool
}

func strProp(name string, upd, def bool, maxLen int, f func(*User) *string) property {
	return property{name: name, kind: kindString, updatable: upd, byDefault: def, maxLen: maxLen, str: f}
}

func strsProp(name string, upd, def bool, maxLen int, f func(*User) *[]string) property {
	return property{name: name, kind: kindStrings, updatable: upd, byDefault: def, maxLen: maxLen, strs: f}
}

// userProps is the modelled part of the user resource. Updatable follows
// the request body table of "Update user"
// (https://learn.microsoft.com/graph/api/user-update, v1.0): a property it
// does not list is refused as read-only, faxNumber among them.
// byDefault follows the user resource page: "By default, only a limited
// set of properties are returned (businessPhones, displayName, givenName,
// id, jobTitle, mail, mobilePhone, officeLocation, preferredLanguage,
// surname, userPrincipalName)". Maximum lengths are the user resource's
// (https://learn.microsoft.com/graph/api/resources/user): city, country,
// jobTitle and state 128; companyName, department, givenName, surname,
// mailNickname and mobilePhone 64; displayName 256; employeeId 16;
// postalCode 40; streetAddress 1,024. Where the docs name no limit the
// simulator takes the strictest plausible one, the on-premises Active
// Directory attribute's range: officeLocation
// (physicalDeliveryOfficeName) 128, a businessPhones number
// (telephoneNumber) and faxNumber 64, and employeeType 64. The index of a
// property is its bit in change masks, so there must be at most 64.
var userProps = []property{
	strProp("id", false, true, 0, func(u *User) *string { return &u.ID }),
	{name: "accountEnabled", kind: kindBool, updatable: true, flag: func(u *User) *bool { return &u.AccountEnabled }},
	strsProp("businessPhones", true, true, 64, func(u *User) *[]string { return &u.BusinessPhones }),
	strProp("city", true, false, 128, func(u *User) *string { return &u.City }),
	strProp("companyName", true, false, 64, func(u *User) *string { return &u.CompanyName }),
	strProp("country", true, false, 128, func(u *User) *string { return &u.Country }),
	strProp("createdDateTime", false, false, 0, func(u *User) *string { return &u.CreatedDateTime }),
	strProp("creationType", false, false, 0, func(u *User) *string { return &u.CreationType }),
	strProp("department", true, false, 64, func(u *User) *string { return &u.Department }),
	strProp("displayName", true, true, 256, func(u *User) *string { return &u.DisplayName }),
	strProp("employeeId", true, false, 16, func(u *User) *string { return &u.EmployeeID }),
	strProp("employeeType", true, false, 64, func(u *User) *string { return &u.EmployeeType }),
	strProp("externalUserState", false, false, 0, func(u *User) *string { return &u.ExternalUserState }),
	strProp("faxNumber", false, false, 64, func(u *User) *string { return &u.FaxNumber }),
	strProp("givenName", true, true, 64, func(u *User) *string { return &u.GivenName }),
	strProp("jobTitle", true, true, 128, func(u *User) *string { return &u.JobTitle }),
	strProp("mail", true, true, 0, func(u *User) *string { return &u.Mail }),
	strProp("mailNickname", true, false, 64, func(u *User) *string { return &u.MailNickname }),
	strProp("mobilePhone", true, true, 64, func(u *User) *string { return &u.MobilePhone }),
	strProp("officeLocation", true, true, 128, func(u *User) *string { return &u.OfficeLocation }),
	// Read-only: set by Microsoft Entra Connect (user resource).
	{name: "onPremisesSyncEnabled", kind: kindNullableBool, nflag: func(u *User) **bool { return &u.OnPremisesSyncEnabled }},
	strProp("onPremisesUserPrincipalName", false, false, 0, func(u *User) *string { return &u.OnPremisesUserPrincipalName }),
	// otherMails: "Can store up to 250 values, each with a limit of 250
	// characters" (user-update).
	strsProp("otherMails", true, false, 250, func(u *User) *[]string { return &u.OtherMails }),
	strProp("postalCode", true, false, 40, func(u *User) *string { return &u.PostalCode }),
	strProp("preferredLanguage", true, true, 0, func(u *User) *string { return &u.PreferredLanguage }),
	strsProp("proxyAddresses", false, false, 0, func(u *User) *[]string { return &u.ProxyAddresses }),
	// showInAddressList: "Do not use in Microsoft Graph. Manage this
	// property through the Microsoft 365 admin center instead" (user
	// resource), and user-update no longer lists it. Graph still takes it
	// for a user without a mailbox (cross-tenant synchronization's known
	// issues), so it stays updatable here, refused for mail users when
	// DirectorySettings.MailUserAddressListReadOnly is on.
	{name: "showInAddressList", kind: kindNullableBool, updatable: true, nflag: func(u *User) **bool { return &u.ShowInAddressList }},
	strProp("state", true, false, 128, func(u *User) *string { return &u.State }),
	strProp("streetAddress", true, false, 1024, func(u *User) *string { return &u.StreetAddress }),
	strProp("surname", true, true, 64, func(u *User) *string { return &u.Surname }),
	strProp("usageLocation", true, false, 0, func(u *User) *string { return &u.UsageLocation }),
	strProp("userPrincipalName", true, true, 0, func(u *User) *string { return &u.UserPrincipalName }),
	strProp("userType", true, false, 0, func(u *User) *string { return &u.UserType }),
}

// unmodelledProp is a user property the simulator stores as sent and
// returns when selected, but does not track in delta (several, like
// skills, live outside the directory and are not tracked by Graph either).
type unmodelledProp struct {
	name      string
	updatable bool
}

// unmodelledProps are the other documented user properties: those "Update
// user" lists are updatable, the rest read-only.
var unmodelledProps = func() []unmodelledProp {
	var out []unmodelledProp
	for _, n := range []string{
		"aboutMe", "ageGroup", "birthday", "consentProvidedForMinor", "customSecurityAttributes", "employeeHireDate",
		"employeeLeaveDateTime", "employeeOrgData", "identities", "interests", "mySite", "onPremisesExtensionAttributes",
		"onPremisesImmutableId", "passwordPolicies", "passwordProfile", "pastProjects", "responsibilities", "schools", "skills",
	} {
		out = append(out, unmodelledProp{name: n, updatable: true})
	}
	for _, n := range []string{
		"assignedLicenses", "assignedPlans", "deletedDateTime", "externalUserStateChangeDateTime", "hireDate",
		"imAddresses", "isResourceAccount", "lastPasswordChangeDateTime", "legalAgeGroupClassification",
		"licenseAssignmentStates", "onPremisesDistinguishedName", "onPremisesDomainName", "onPremisesLastSyncDateTime",
		"onPremisesProvisioningErrors", "onPremisesSamAccountName", "onPremisesSecurityIdentifier",
		"preferredDataLocation", "preferredName", "provisionedPlans", "refreshTokensValidFromDateTime",
		"securityIdentifier", "serviceProvisioningErrors", "signInActivity", "signInSessionsValidFromDateTime",
	} {
		out = append(out, unmodelledProp{name: n})
	}
	return out
}()

// appOnlyRefused are the properties "Update user" says "cannot be updated
// by an app with only application permissions"; the simulator issues only
// application tokens.
var appOnlyRefused = []string{"aboutMe", "birthday", "employeeHireDate", "interests", "mySite", "pastProjects",
	"responsibilities", "schools", "skills"}

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

func lookupUnmodelled(name string) (unmodelledProp, bool) {
	for _, p := range unmodelledProps {
		if strings.EqualFold(p.name, name) {
			return p, true
		}
	}
	return unmodelledProp{}, false
}

type propMask uint64

var allProps = propMask(1)<<len(userProps) - 1

// managerBit tracks the manager relationship in change masks: users/delta
// reports it as manager@delta when $select names it (user-delta).
var managerBit = propMask(1) << len(userProps)

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
		if strings.EqualFold(name, "manager") && !allowExtras { // a relationship: users/delta only
			sel.mask |= managerBit
			continue
		}
		if up, ok := lookupUnmodelled(name); ok && allowExtras {
			if !slices.Contains(sel.extras, up.name) {
				sel.extras = append(sel.extras, up.name)
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
	if m&managerBit != 0 {
		out = append(out, "manager")
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
