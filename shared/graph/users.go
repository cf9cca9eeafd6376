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
func selectList(extra []string) []string {
	base := []string{"id", "mail", "userPrincipalName", "accountEnabled", "userType", "creationType"}
	out := make([]string, 0, len(base)+len(extra))
	seen := make(map[string]bool, cap(out))
	for _, list := range [][]string{base, extra} {
		for _, p := range list {
			if p != "" && !seen[strings.ToLower(p)] {
				seen[strings.ToLower(p)] = true
				out = append(out, p)
			}
		}
	}
	return out
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
