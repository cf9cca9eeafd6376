package galsync

// Topology is the deployment's tenants and the directions between them. It is
// read from a JSON document (shared/config) and validated there.
type Topology struct {
	Tenants    []Tenant    `json:"tenants"`
	Directions []Direction `json:"directions"`
}

// Tenant returns the tenant named name.
func (t Topology) Tenant(name string) (Tenant, bool) {
	for _, x := range t.Tenants {
		if x.Name == name {
			return x, true
		}
	}
	return Tenant{}, false
}

// Direction returns the direction named name.
func (t Topology) Direction(name string) (Direction, bool) {
	for _, d := range t.Directions {
		if d.Name == name {
			return d, true
		}
	}
	return Direction{}, false
}

// Cloud is a Microsoft cloud: each has its own Graph and sign-in hosts.
type Cloud string

const (
	CloudPublic   Cloud = "public"
	CloudUSGov    Cloud = "usgov"    // GCC High
	CloudUSGovDoD Cloud = "usgovdod" // DoD
	CloudChina    Cloud = "china"    // operated by 21Vianet
)

// Tenant is one Entra tenant galsync reads from or writes to.
type Tenant struct {
	// Name is how directions refer to the tenant.
	Name     string `json:"name"`
	TenantID string `json:"tenantId"`
	Cloud    Cloud  `json:"cloud"`
	// Domain is the tenant's initial domain (contoso.onmicrosoft.com).
	Domain string `json:"domain,omitempty"`
	// GraphBaseURL overrides the cloud's Graph endpoint, ending in /v1.0
	// (tests and the tenant simulator).
	GraphBaseURL string `json:"graphBaseUrl,omitempty"`
	// AuthorityHost overrides the cloud's sign-in host (tests, simulator).
	AuthorityHost string     `json:"authorityHost,omitempty"`
	Auth          TenantAuth `json:"auth"`
	// GraphBudget, if set, tunes how much of Graph's documented limits
	// galsync uses in this tenant (docs/pacing.md).
	GraphBudget *GraphBudget `json:"graphBudget,omitempty"`
}

// GraphBudget tunes one tenant's Graph budget.
type GraphBudget struct {
	// Size is the tenant's size class in Graph's identity limits, which
	// sets its resource-unit limit: S (under 50 users, the default), M (50
	// to 500) or L (above 500).
	Size string `json:"size,omitempty"`
	// Margin overrides GALSYNC_GRAPH_BUDGET_MARGIN for this tenant: the
	// share of each limit's rate held back (other apps writing there).
	Margin *float64 `json:"margin,omitempty"`
}

// Authentication methods.
const (
	AuthManagedIdentity = "managedIdentity" // the app's own tenant
	AuthFederated       = "federated"       // managed identity as federated credential of an app registration, same cloud
	AuthCertificate     = "certificate"     // app registration with a certificate, other clouds
	AuthClientSecret    = "clientSecret"    // development only
)

// TenantAuth says how galsync signs in to a tenant. It never holds a secret:
// a client secret is read from the app setting ClientSecretSetting names, a
// certificate from the file CertificatePath or from the app setting
// CertificateSetting names (which a Key Vault reference,
// @Microsoft.KeyVault(SecretUri=...), has the platform fill with the
// certificate: base64 PFX as Key Vault serves certificates, or PEM).
type TenantAuth struct {
	Method string `json:"method"`
	// ClientID of the app registration (federated, certificate, secret).
	ClientID string `json:"clientId,omitempty"`
	// ManagedIdentityClientID selects a user-assigned managed identity;
	// empty means system-assigned.
	ManagedIdentityClientID string `json:"managedIdentityClientId,omitempty"`
	CertificatePath         string `json:"certificatePath,omitempty"`
	CertificateSetting      string `json:"certificateSetting,omitempty"`
	// CertificatePasswordSetting names the app setting holding the PFX password, if any.
	CertificatePasswordSetting string `json:"certificatePasswordSetting,omitempty"`
	ClientSecretSetting        string `json:"clientSecretSetting,omitempty"`
}

// Direction syncs users of Source into Target as external users.
type Direction struct {
	Name   string `json:"name"`
	Source string `json:"source"`
	Target string `json:"target"`
	Scope  Scope  `json:"scope"`
	// Mapping maps target attribute names to how each is computed; empty
	// means DefaultMapping.
	Mapping               map[string]AttributeMapping `json:"mapping,omitempty"`
	UserType              string                      `json:"userType,omitempty"` // Guest (default) or Member
	InviteRedirectURL     string                      `json:"inviteRedirectUrl,omitempty"`
	SendInvitationMessage bool                        `json:"sendInvitationMessage,omitempty"`
	// InviteWith is the source attribute invitations are addressed to:
	// "mail" (default in one cloud) or "userPrincipalName" (default across clouds).
	InviteWith string `json:"inviteWith,omitempty"`
	// AddressList is "graph" to show the guest in the target's address
	// list with a separate write of showInAddressList after the invitation,
	// or "none" (default) to leave it to Exchange Online.
	AddressList string      `json:"addressList,omitempty"`
	Deprovision Deprovision `json:"deprovision"`
	// ExistingMembers is what happens to a target member (an internal user,
	// as Microsoft Entra Connect syncs the partner's people) holding a
	// source user's address: "skip" (default: a conflict) or "convert" (an
	// invitation naming the member makes it an external user in place).
	ExistingMembers string `json:"existingMembers,omitempty"`
	// ConvertDomains, if any, limits conversion to addresses of these mail
	// domains (case-insensitive); members of other domains stay conflicts.
	ConvertDomains []string `json:"convertDomains,omitempty"`
	// MirrorGroups are source security groups (object ids) mirrored into
	// the target as security groups of the members' guests.
	MirrorGroups []string `json:"mirrorGroups,omitempty"`
	// GroupNamePattern names a mirrored group in the target:
	// {displayName} (the source group's), {source} (the source tenant's
	// topology name), {id} (the source group's object id).
	GroupNamePattern string `json:"groupNamePattern,omitempty"`
}

// Existing-member policies.
const (
	ExistingMembersSkip    = "skip"
	ExistingMembersConvert = "convert"
)

// DefaultGroupNamePattern names mirrored groups when the direction does
// not: "Finance (contoso)".
const DefaultGroupNamePattern = "{displayName} ({source})"

// Scope decides which source users a direction syncs. Guests of the source
// (creationType Invitation) and users without mail are never in scope.
type Scope struct {
	// IncludeDisabled syncs users whose accountEnabled is false; by default
	// they are skipped (and a synced user who is disabled is deprovisioned).
	IncludeDisabled bool `json:"includeDisabled,omitempty"`
	// IncludeGuestUserType syncs members whose userType is Guest but who
	// were not invited (creationType not Invitation); off by default.
	IncludeGuestUserType bool `json:"includeGuestUserType,omitempty"`
	// IncludeDomains, if any, admits only mail domains listed (case-insensitive).
	IncludeDomains []string `json:"includeDomains,omitempty"`
	ExcludeDomains []string `json:"excludeDomains,omitempty"`
	// Include rules must all hold; Exclude rules: any that holds excludes.
	Include []Rule `json:"include,omitempty"`
	Exclude []Rule `json:"exclude,omitempty"`
	// IncludeGroups, if any, admits only direct members of these source
	// groups (object ids).
	IncludeGroups []string `json:"includeGroups,omitempty"`
}

// Rule tests one source attribute: Equals (case-insensitive) or Matches (a
// Go regular expression). Exactly one is set.
type Rule struct {
	Attribute string `json:"attribute"`
	Equals    string `json:"equals,omitempty"`
	Matches   string `json:"matches,omitempty"`
}

// AttributeMapping computes one target attribute: from a source attribute,
// a constant, or an expression (see shared/syncplan). Exactly one is set.
type AttributeMapping struct {
	Source     string `json:"source,omitempty"`
	Constant   any    `json:"constant,omitempty"`
	Expression string `json:"expression,omitempty"`
}

// Deprovisioning actions.
const (
	DeprovisionNone    = "none"
	DeprovisionDisable = "disable"
	DeprovisionDelete  = "delete"
)

// Deprovision is what happens to the guest when its source user is deleted
// or leaves scope.
type Deprovision struct {
	Action string `json:"action"`
	// Threshold: more deprovisions than this in one delta round pause the
	// direction until an operator approves. Zero fields mean no limit.
	Threshold Threshold `json:"threshold"`
}

// Threshold is the accidental-deletion limit per round: an absolute count,
// a percentage of the direction's live links, or both (either trips it).
type Threshold struct {
	Count   int     `json:"count,omitempty"`
	Percent float64 `json:"percent,omitempty"`
}

// Exceeded reports whether n deprovisions out of live linked users pass the
// threshold.
func (t Threshold) Exceeded(n, live int) bool {
	if t.Count > 0 && n > t.Count {
		return true
	}
	if t.Percent > 0 && live > 0 && float64(n)*100 > t.Percent*float64(live) {
		return true
	}
	return false
}
