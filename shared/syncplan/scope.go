package syncplan

import (
	"strings"

	"github.com/galsync/galsync/shared/galsync"
)

// Scope reasons, as written to the provisioning log.
const (
	ReasonSourceGuest     = "source user is itself an invited guest (creationType Invitation)"
	ReasonSourceExternal  = "source user is itself an external user (#EXT# user principal name)"
	ReasonGuestUserType   = "source user has userType Guest"
	ReasonNoMail          = "source user has no mail"
	ReasonNoInviteAddress = "source user has no address to invite"
	ReasonDisabled        = "source account is disabled"
	ReasonDomainNotIncl   = "mail domain is not in scope.includeDomains"
	ReasonDomainExcluded  = "mail domain is in scope.excludeDomains"
	ReasonIncludeRule     = "an include rule does not hold: "
	ReasonExcludeRule     = "an exclude rule holds: "
	ReasonNotInGroups     = "not a direct member of any of scope.includeGroups"
)

// InScope decides whether a present source user is synced; when not, the
// reason says why. Loop-freedom comes first: a guest of the source tenant is
// never synced onward, whatever else the scope says.
func (r *Rules) InScope(u galsync.SourceUser) (bool, string) {
	a := u.Attributes
	if strings.EqualFold(asString(a["creationType"]), "Invitation") {
		return false, ReasonSourceGuest
	}
	// A delta entry may lack creationType (Graph returns "at least the
	// properties that have been updated"); the #EXT# user principal name
	// Entra gives every B2B user marks it as well.
	if IsExternalUPN(asString(a["userPrincipalName"])) {
		return false, ReasonSourceExternal
	}
	if !r.Direction.Scope.IncludeGuestUserType && strings.EqualFold(asString(a["userType"]), "Guest") {
		return false, ReasonGuestUserType
	}
	mail := strings.TrimSpace(asString(a["mail"]))
	if mail == "" {
		return false, ReasonNoMail
	}
	if r.InviteAddress(a) == "" {
		return false, ReasonNoInviteAddress
	}
	if enabled, ok := a["accountEnabled"].(bool); ok && !enabled && !r.Direction.Scope.IncludeDisabled {
		return false, ReasonDisabled
	}
	domain := ""
	if at := strings.LastIndexByte(mail, '@'); at >= 0 {
		domain = mail[at+1:]
	}
	if inc := r.Direction.Scope.IncludeDomains; len(inc) > 0 && !containsFold(inc, domain) {
		return false, ReasonDomainNotIncl
	}
	if containsFold(r.Direction.Scope.ExcludeDomains, domain) {
		return false, ReasonDomainExcluded
	}
	for _, rl := range r.include {
		if !rl.holds(a) {
			return false, ReasonIncludeRule + rl.attr
		}
	}
	for _, rl := range r.exclude {
		if rl.holds(a) {
			return false, ReasonExcludeRule + rl.attr
		}
	}
	if len(r.Direction.Scope.IncludeGroups) > 0 && !r.inScopeGroups(a) {
		return false, ReasonNotInGroups
	}
	return true, ""
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(strings.TrimPrefix(x, "@"), s) {
			return true
		}
	}
	return false
}

// IsExternalUPN reports a user principal name of the form Entra gives B2B
// users: local#EXT#@tenant.onmicrosoft.com.
func IsExternalUPN(upn string) bool {
	return strings.Contains(strings.ToUpper(upn), "#EXT#@")
}
