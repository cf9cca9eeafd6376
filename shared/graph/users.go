package graph

import (
	"fmt"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/galsync/galsync/shared/galsync"
)

// selectList is the properties galsync always reads (the scope, loop and
// join rules depend on them whatever the mapping selects) followed by the
// extra ones, each once.
//
// Relationships (manager) are left out: users/delta tracks them when
// $select names them (deltaSelectList), a GET of users does not select
// them (they are read on their own, GET /users/{id}/manager).
func selectList(extra []string) []string {
	base := []string{"id", "mail", "userPrincipalName", "accountEnabled", "userType", "creationType"}
	out := make([]string, 0, len(base)+len(extra))
	seen := make(map[string]bool, cap(out))
	for _, list := range [][]string{base, extra} {
		for _, p := range list {
			if p != "" && !seen[strings.ToLower(p)] && !isRelationship(p) {
				seen[strings.ToLower(p)] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// deltaSelectList is selectList with the relationships asked for: "the
// manager@delta property" comes back on users/delta when $select names
// manager (learn.microsoft.com/graph/api/user-delta).
func deltaSelectList(extra []string) []string {
	out := selectList(extra)
	if wantsManager(extra) {
		out = append(out, managerProperty)
	}
	return out
}

// managerProperty is the manager relationship of a user.
const managerProperty = "manager"

func isRelationship(p string) bool { return strings.EqualFold(p, managerProperty) }

func wantsManager(attrs []string) bool {
	for _, a := range attrs {
		if strings.EqualFold(a, managerProperty) {
			return true
		}
	}
	return false
}

// usersBuilder returns a fresh builder for /users. Builders are made per
// request on purpose: the adapter writes the base URL into the path
// parameters a request shares with its builder, so a shared builder would
// be a data race.
func (tc *tenantClient) usersBuilder() *users.UsersRequestBuilder {
	return users.NewUsersRequestBuilderInternal(map[string]string{}, tc.adapter)
}

// userBuilder returns a builder for /users/{idOrUPN}; an empty id would
// address the collection, so it is refused.
func (tc *tenantClient) userBuilder(op, idOrUPN string) (*users.UserItemRequestBuilder, error) {
	if idOrUPN == "" {
		return nil, galsync.Permanent(fmt.Errorf("graph: %s in tenant %s: no user id", op, tc.name))
	}
	return tc.usersBuilder().ByUserId(idOrUPN), nil
}

// userAttributes turns a freshly decoded user object into its normalised
// attributes, in place (a page holds many users; a copy each would cost),
// leaving out OData annotations ("@odata.type", "@removed", "manager@delta").
// Read what you need from raw first.
func userAttributes(raw map[string]any) map[string]any {
	for k, v := range raw {
		switch v.(type) {
		case string, bool, nil:
		default:
			raw[k] = galsync.Normalize(v)
		}
		if strings.Contains(k, "@") {
			delete(raw, k)
		}
	}
	return raw
}
