package syncplan

import (
	"strings"

	"github.com/galsync/galsync/shared/galsync"
)

// Scope reasons, as written to the provisioning log.
const (
	ReasonSourceGuest     = "source user is itself an invited guest (creationType Invitation)"
	ReasonGuestUserType   = "source user has userType Guest"
	ReasonNoMail          = "source user has no mail"
	ReasonNoInviteAddress = "source user has no address to invite"
	ReasonDisabled        = "source account is disabled"
	ReasonDomainNotIncl   = "mail domain is not in scope.includeDomains"
	ReasonDomainExcluded  = "mail domain is in scope.excludeDomains"
	ReasonIncludeRule     = "an include rule does not hold: "
	ReasonExcludeRule     = "an exclude rule holds: "
)

// InScope decides whether a present source user is synced; when not, the
// reason says why. Loop-freedom comes first: a guest of the source tenant is
// never synced onward, whatever else the scope says.
func (r *Rules) InScope(u galsync.SourceUser) (bool, string) {
	a := u.Attributes
	if strings.EqualFold(asString(a["creationType"]), "Invitation") {
		return false, ReasonSourceGuest
	}
	if !r.Direction.Scope.IncludeGuestUserType && strings.EqualFold(asString(a["userType"]), "Guest") {
		return false, ReasonGuestUserType
	}
	mail := strings.TrimSpace(asString(a["mail"]))
	if mail == "" {
		return false, ReasonNoMail
	}
	if r.InviteAddress(u) == "" {
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
