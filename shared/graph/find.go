package graph

import (
	"context"
	"fmt"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/galsync/galsync/shared/galsync"
)

// FindUserByMail finds the user of tenant whose mail is mail, for joining
// an existing guest before inviting. With several, the one created by
// invitation wins. None is galsync.ErrNotFound.
func (c *Client) FindUserByMail(ctx context.Context, tenant, mail string, selectAttrs []string) (galsync.TargetUser, error) {
	const op = "find user by mail"
	tc, err := c.tenant(tenant)
	if err != nil {
		return galsync.TargetUser{}, err
	}
	if mail == "" {
		return galsync.TargetUser{}, galsync.Permanent(fmt.Errorf("graph: %s in tenant %s: no mail", op, tenant))
	}
	filter := mailFilter(mail)
	ri, err := tc.usersBuilder().ToGetRequestInformation(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Filter: &filter, Select: selectList(selectAttrs)},
	})
	if err != nil {
		return galsync.TargetUser{}, fmt.Errorf("graph: %s in tenant %s: %w", op, tenant, err)
	}
	rep, err := tc.send(ctx, op, ri)
	if err != nil {
		return galsync.TargetUser{}, err
	}
	var body struct {
		Value []map[string]any `json:"value"`
	}
	if err := tc.decode(op, rep, &body); err != nil {
		return galsync.TargetUser{}, err
	}
	best := pickUser(body.Value)
	if best == nil {
		return galsync.TargetUser{}, fmt.Errorf("graph: %s in tenant %s: %w", op, tenant, galsync.ErrNotFound)
	}
	return targetUser(best), nil
}

// mailFilter is the OData filter for one mail address; a quote inside a
// string literal is written twice.
func mailFilter(mail string) string {
	return "mail eq '" + strings.ReplaceAll(mail, "'", "''") + "'"
}

// pickUser prefers a user created by invitation (the guest galsync would
// have made) over, say, a member who happens to share the address.
func pickUser(found []map[string]any) map[string]any {
	for _, u := range found {
		if ct, _ := u["creationType"].(string); strings.EqualFold(ct, "Invitation") {
			return u
		}
	}
	if len(found) > 0 {
		return found[0]
	}
	return nil
}

func targetUser(raw map[string]any) galsync.TargetUser {
	str := func(k string) string { s, _ := raw[k].(string); return s }
	return galsync.TargetUser{
		ID:                str("id"),
		UserPrincipalName: str("userPrincipalName"),
		UserType:          str("userType"),
		CreationType:      str("creationType"),
		Attributes:        userAttributes(raw),
	}
}

// GetUser reads one user of tenant by id or user principal name.
func (c *Client) GetUser(ctx context.Context, tenant, idOrUPN string, selectAttrs []string) (galsync.SourceUser, error) {
	const op = "get user"
	tc, err := c.tenant(tenant)
	if err != nil {
		return galsync.SourceUser{}, err
	}
	b, err := tc.userBuilder(op, idOrUPN)
	if err != nil {
		return galsync.SourceUser{}, err
	}
	ri, err := b.ToGetRequestInformation(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: selectList(selectAttrs)},
	})
	if err != nil {
		return galsync.SourceUser{}, fmt.Errorf("graph: %s in tenant %s: %w", op, tenant, err)
	}
	rep, err := tc.send(ctx, op, ri)
	if err != nil {
		return galsync.SourceUser{}, err
	}
	var raw map[string]any
	if err := tc.decode(op, rep, &raw); err != nil {
		return galsync.SourceUser{}, err
	}
	u, err := sourceUser(raw)
	if err != nil {
		return galsync.SourceUser{}, fmt.Errorf("graph: %s in tenant %s: %w", op, tenant, err)
	}
	return u, nil
}
