package graph

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/galsync/galsync/shared/pace"
)

// What a request costs, from "Microsoft Graph service-specific throttling
// limits" (https://learn.microsoft.com/graph/throttling-limits):
//
//   - /invitations is the invitation manager service: one request against
//     its own per-tenant limit, and not an identity write.
//   - /subscriptions (change notifications) has its own limits, and a
//     JSON $batch is not charged itself: "Requests in a batch are evaluated
//     individually against the applicable throttling limits", so the batch
//     client charges each of them.
//   - Everything else galsync calls is the identity and access service:
//     resource units by the base cost table (a path not listed costs 1),
//     less 1 for $select, plus 1 for $expand, less 1 for $top under 20,
//     never below 1; and one write for POST, PATCH, PUT or DELETE on a
//     path the table does not list with a write cost of 0.

// costEntry is one row of the base cost table; {id} matches one segment.
type costEntry struct {
	method, path string
	units        int
}

// baseCosts is the table; its rows all have a write cost of 0. "Any
// request cost that applies to a request path starting with me/ also
// applies to equivalent requests starting with users/{id |
// userPrincipalName}/", so each me/ row is also listed for users/{id}/.
var baseCosts = withUserPaths([]costEntry{
	{"GET", "applications", 2},
	{"GET", "applications/{id}/extensionProperties", 2},
	{"GET", "contracts", 3},
	{"POST", "directoryObjects/getByIds", 3},
	{"GET", "domains/{id}/domainNameReferences", 4},
	{"POST", "getObjectsById", 3},
	{"GET", "groups/{id}/members", 3},
	{"GET", "groups/{id}/transitiveMembers", 5},
	{"POST", "isMemberOf", 4},
	{"POST", "me/checkMemberGroups", 4},
	{"POST", "me/checkMemberObjects", 4},
	{"POST", "me/getMemberGroups", 2},
	{"POST", "me/getMemberObjects", 2},
	{"GET", "me/licenseDetails", 2},
	{"GET", "me/memberOf", 2},
	{"GET", "me/ownedObjects", 2},
	{"GET", "me/transitiveMemberOf", 2},
	{"GET", "oauth2PermissionGrants", 2},
	{"GET", "oauth2PermissionGrants/{id}", 2},
	{"GET", "servicePrincipals/{id}/appRoleAssignments", 2},
	{"GET", "subscribedSkus", 3},
	{"GET", "users", 2},
})

func withUserPaths(rows []costEntry) []costEntry {
	out := slices.Clone(rows)
	for _, r := range rows {
		if rest, ok := strings.CutPrefix(r.path, "me/"); ok {
			out = append(out, costEntry{r.method, "users/{id}/" + rest, r.units})
		}
	}
	return out
}

// requestCost is what a request of method to u takes from its tenant's
// budget; paced is false for a request the budget does not cover. u is
// absolute (the service root ends in /v1.0) or relative to the service
// root (a batch's request).
func requestCost(method string, u *url.URL) (c pace.Cost, paced bool) {
	segs := pathSegments(u.Path)
	if len(segs) == 0 {
		return pace.Cost{}, false
	}
	switch strings.ToLower(segs[0]) {
	case "invitations":
		return pace.Cost{Invitations: 1}, true
	case "subscriptions", "$batch":
		return pace.Cost{}, false
	}
	units, listed := 1, false
	for _, e := range baseCosts {
		if e.method == method && matchPath(e.path, segs) {
			units, listed = e.units, true
			break
		}
	}
	q := u.Query()
	if q.Has("$select") {
		units--
	}
	if q.Has("$expand") {
		units++
	}
	if top, err := strconv.Atoi(q.Get("$top")); err == nil && top < 20 {
		units--
	}
	c.ResourceUnits = max(units, 1)
	if !listed && method != http.MethodGet && method != http.MethodHead {
		c.Writes = 1
	}
	return c, true
}

// pathSegments are the path's segments after the service root (/v1.0).
func pathSegments(p string) []string {
	if i := strings.Index(p, "/v1.0/"); i >= 0 {
		p = p[i+len("/v1.0/"):]
	}
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func matchPath(pattern string, segs []string) bool {
	pat := strings.Split(pattern, "/")
	if len(pat) != len(segs) {
		return false
	}
	for i, p := range pat {
		if p != "{id}" && !strings.EqualFold(p, segs[i]) {
			return false
		}
	}
	return true
}
