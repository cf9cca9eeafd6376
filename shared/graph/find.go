package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"

	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/galsync/galsync/shared/galsync"
)

// FindUserByAddress finds the user of tenant that holds addr in any of the
// forms an existing guest may hold it, for joining before inviting: as
// mail, in otherMails, in proxyAddresses (smtp:addr), or as the #EXT# user
// principal name Entra derives from it in a tenant whose initial domain is
// domain ("" skips that form). Microsoft documents that an invited user may
// hold the address in any of these
// (learn.microsoft.com/entra/external-id/customize-invitation-api,
// "Determine if a user was already invited to your directory"). All four
// are eq comparisons that $filter supports by default, without advanced
// query parameters (learn.microsoft.com/graph/aad-advanced-queries), so
// they go in one request joined with or; should a tenant refuse the
// combination (400), each form is asked on its own. With several users,
// an external one (the guest galsync would join) wins over a member. None
// is galsync.ErrNotFound.
func (c *Client) FindUserByAddress(ctx context.Context, tenant, addr, domain string, selectAttrs []string) (galsync.TargetUser, error) {
	const op = "find user by address"
	tc, err := c.tenant(tenant)
	if err != nil {
		return galsync.TargetUser{}, err
	}
	if addr == "" {
		return galsync.TargetUser{}, galsync.Permanent(fmt.Errorf("graph: %s in tenant %s: no address", op, tenant))
	}
	forms := addressFilters(addr, domain)
	found, err := tc.findUsers(ctx, op, strings.Join(forms, " or "), selectAttrs)
	var ge *Error
	if errors.As(err, &ge) && ge.Status == http.StatusBadRequest && len(forms) > 1 {
		found = nil
		for _, f := range forms {
			users, err := tc.findUsers(ctx, op, f, selectAttrs)
			if err != nil {
				return galsync.TargetUser{}, err
			}
			found = append(found, users...)
		}
	} else if err != nil {
		return galsync.TargetUser{}, err
	}
	best := pickUser(found)
	if best == nil {
		return galsync.TargetUser{}, fmt.Errorf("graph: %s in tenant %s: %w", op, tenant, galsync.ErrNotFound)
	}
	return targetUser(best), nil
}

// FindUserByMail finds the user whose mail is mail (plan previews).
func (c *Client) FindUserByMail(ctx context.Context, tenant, mail string, selectAttrs []string) (galsync.TargetUser, error) {
	const op = "find user by mail"
	tc, err := c.tenant(tenant)
	if err != nil {
		return galsync.TargetUser{}, err
	}
	if mail == "" {
		return galsync.TargetUser{}, galsync.Permanent(fmt.Errorf("graph: %s in tenant %s: no mail", op, tenant))
	}
	found, err := tc.findUsers(ctx, op, mailFilter(mail), selectAttrs)
	if err != nil {
		return galsync.TargetUser{}, err
	}
	best := pickUser(found)
	if best == nil {
		return galsync.TargetUser{}, fmt.Errorf("graph: %s in tenant %s: %w", op, tenant, galsync.ErrNotFound)
	}
	return targetUser(best), nil
}

func (tc *tenantClient) findUsers(ctx context.Context, op, filter string, selectAttrs []string) ([]map[string]any, error) {
	ri, err := tc.usersBuilder().ToGetRequestInformation(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Filter: &filter, Select: selectList(selectAttrs)},
	})
	if err != nil {
		return nil, fmt.Errorf("graph: %s in tenant %s: %w", op, tc.name, err)
	}
	rep, err := tc.send(ctx, op, ri)
	if err != nil {
		return nil, err
	}
	var body struct {
		Value []map[string]any `json:"value"`
	}
	if err := tc.decode(op, rep, &body); err != nil {
		return nil, err
	}
	return body.Value, nil
}

// quote is an OData string literal: a quote inside is written twice.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// mailFilter is the OData filter for one mail address.
func mailFilter(mail string) string { return "mail eq " + quote(mail) }

// addressFilters are the $filter forms of an address an existing user may
// hold it in.
func addressFilters(addr, domain string) []string {
	forms := []string{
		mailFilter(addr),
		"otherMails/any(x:x eq " + quote(addr) + ")",
		"proxyAddresses/any(x:x eq " + quote("smtp:"+addr) + ")",
	}
	if upn := GuestUPN(addr, domain); upn != "" {
		forms = append(forms, "userPrincipalName eq "+quote(upn))
	}
	return forms
}

// GuestUPN is the user principal name Entra gives a B2B guest invited with
// addr in a tenant whose initial domain is domain: the address with its @
// replaced by _, then #EXT#@domain. "" when either is missing.
func GuestUPN(addr, domain string) string {
	if addr == "" || domain == "" || !strings.Contains(addr, "@") {
		return ""
	}
	return strings.ReplaceAll(addr, "@", "_") + "#EXT#@" + domain
}

// pickUser prefers an external user (the guest galsync would have made)
// over, say, a member who happens to share the address.
func pickUser(found []map[string]any) map[string]any {
	for _, u := range found {
		if isExternalRaw(u) {
			return u
		}
	}
	if len(found) > 0 {
		return found[0]
	}
	return nil
}

func isExternalRaw(u map[string]any) bool {
	str := func(k string) string { s, _ := u[k].(string); return s }
	return strings.EqualFold(str("creationType"), "Invitation") || strings.EqualFold(str("userType"), "Guest") ||
		str("externalUserState") != "" || strings.Contains(strings.ToUpper(str("userPrincipalName")), "#EXT#@")
}

func targetUser(raw map[string]any) galsync.TargetUser {
	str := func(k string) string { s, _ := raw[k].(string); return s }
	return galsync.TargetUser{
		ID:                          str("id"),
		UserPrincipalName:           str("userPrincipalName"),
		UserType:                    str("userType"),
		CreationType:                str("creationType"),
		ExternalUserState:           str("externalUserState"),
		OnPremisesUserPrincipalName: str("onPremisesUserPrincipalName"),
		Attributes:                  userAttributes(raw),
	}
}

// GetGuest reads one user of a target tenant by id, with the given
// properties. A user Graph does not know (deleted, or not yet replicated)
// is galsync.ErrNotFound.
func (c *Client) GetGuest(ctx context.Context, tenant, id string, selectAttrs []string) (galsync.TargetUser, error) {
	const op = "get guest"
	tc, err := c.tenant(tenant)
	if err != nil {
		return galsync.TargetUser{}, err
	}
	raw, err := tc.getUser(ctx, op, id, selectAttrs)
	if err != nil {
		return galsync.TargetUser{}, err
	}
	return targetUser(raw), nil
}

// ListUsers reads one page of a tenant's users with the given properties:
// the first page when link is "", else the @odata.nextLink given. next is
// "" on the last page. A page holds up to 999 users, the most /users
// serves (learn.microsoft.com/graph/api/user-list, $top).
func (c *Client) ListUsers(ctx context.Context, tenant, link string, selectAttrs []string) ([]galsync.TargetUser, string, error) {
	const op = "list users"
	tc, err := c.tenant(tenant)
	if err != nil {
		return nil, "", err
	}
	var ri *abs.RequestInformation
	if link == "" {
		top := int32(999)
		ri, err = tc.usersBuilder().ToGetRequestInformation(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Select: selectList(selectAttrs), Top: &top},
		})
	} else {
		if err := tc.checkLink(op, link); err != nil {
			return nil, "", err
		}
		ri, err = tc.usersBuilder().WithUrl(link).ToGetRequestInformation(ctx, nil)
	}
	if err != nil {
		return nil, "", fmt.Errorf("graph: %s in tenant %s: %w", op, tenant, err)
	}
	rep, err := tc.send(ctx, op, ri)
	if err != nil {
		return nil, "", err
	}
	var body struct {
		Value    []map[string]any `json:"value"`
		NextLink string           `json:"@odata.nextLink"`
	}
	if err := tc.decode(op, rep, &body); err != nil {
		return nil, "", err
	}
	out := make([]galsync.TargetUser, 0, len(body.Value))
	for _, raw := range body.Value {
		out = append(out, targetUser(raw))
	}
	return out, body.NextLink, nil
}

func (tc *tenantClient) getUser(ctx context.Context, op, idOrUPN string, selectAttrs []string) (map[string]any, error) {
	b, err := tc.userBuilder(op, idOrUPN)
	if err != nil {
		return nil, err
	}
	ri, err := b.ToGetRequestInformation(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: selectList(selectAttrs)},
	})
	if err != nil {
		return nil, fmt.Errorf("graph: %s in tenant %s: %w", op, tc.name, err)
	}
	rep, err := tc.send(ctx, op, ri)
	if err != nil {
		return nil, err
	}
	var raw map[string]any
	if err := tc.decode(op, rep, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// GetUser reads one user of tenant by id or user principal name.
func (c *Client) GetUser(ctx context.Context, tenant, idOrUPN string, selectAttrs []string) (galsync.SourceUser, error) {
	const op = "get user"
	tc, err := c.tenant(tenant)
	if err != nil {
		return galsync.SourceUser{}, err
	}
	raw, err := tc.getUser(ctx, op, idOrUPN, selectAttrs)
	if err != nil {
		return galsync.SourceUser{}, err
	}
	u, err := sourceUser(raw)
	if err != nil {
		return galsync.SourceUser{}, fmt.Errorf("graph: %s in tenant %s: %w", op, tenant, err)
	}
	if wantsManager(selectAttrs) {
		// A relationship is not $select-ed on a user: read on its own.
		manager, err := tc.managerID(ctx, u.ID)
		if err != nil {
			return galsync.SourceUser{}, err
		}
		u.Attributes[managerProperty] = nil
		if manager != "" {
			u.Attributes[managerProperty] = manager
		}
	}
	return u, nil
}
