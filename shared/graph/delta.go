package graph

import (
	"context"
	"errors"
	"fmt"
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"

	"github.com/galsync/galsync/shared/galsync"
)

// deltaBody is one users/delta page on the wire.
type deltaBody struct {
	Value     []map[string]any `json:"value"`
	NextLink  string           `json:"@odata.nextLink"`
	DeltaLink string           `json:"@odata.deltaLink"`
}

// DeltaPage reads one page of users/delta in tenant: the first page of a
// full round when link is "", else the page link (an @odata.nextLink or
// @odata.deltaLink) names, which already carries the round's $select. A
// refused delta token is galsync.ErrDeltaExpired.
func (c *Client) DeltaPage(ctx context.Context, tenant, link string, selectAttrs []string) (galsync.DeltaPage, error) {
	const op = "users delta"
	tc, err := c.tenant(tenant)
	if err != nil {
		return galsync.DeltaPage{}, err
	}
	delta := tc.usersBuilder().Delta()
	var ri *abs.RequestInformation
	if link == "" {
		// GET /users/delta?$select=..., as the user: delta reference spells
		// it (learn.microsoft.com/graph/api/user-delta); the SDK's own
		// template would send /users/delta(), which Graph also serves but
		// the reference does not document.
		first := strings.TrimSuffix(tc.adapter.GetBaseUrl(), "/") + "/users/delta"
		if sel := deltaSelectList(selectAttrs); len(sel) > 0 {
			first += "?$select=" + strings.Join(sel, ",")
		}
		ri, err = delta.WithUrl(first).ToGetRequestInformation(ctx, nil)
	} else {
		if err := tc.checkLink(op, link); err != nil {
			return galsync.DeltaPage{}, err
		}
		ri, err = delta.WithUrl(link).ToGetRequestInformation(ctx, nil)
	}
	if err != nil {
		return galsync.DeltaPage{}, fmt.Errorf("graph: %s in tenant %s: %w", op, tenant, err)
	}
	rep, err := tc.send(ctx, op, ri)
	if err != nil {
		return galsync.DeltaPage{}, err
	}
	var body deltaBody
	if err := tc.decode(op, rep, &body); err != nil {
		return galsync.DeltaPage{}, err
	}
	return deltaPage(body)
}

func deltaPage(body deltaBody) (galsync.DeltaPage, error) {
	page := galsync.DeltaPage{NextLink: body.NextLink, DeltaLink: body.DeltaLink, Users: make([]galsync.SourceUser, 0, len(body.Value))}
	for i, raw := range body.Value {
		u, err := sourceUser(raw)
		if err != nil {
			return galsync.DeltaPage{}, fmt.Errorf("graph: users delta: value[%d]: %w", i, err)
		}
		page.Users = append(page.Users, u)
	}
	if (page.NextLink == "") == (page.DeltaLink == "") {
		return galsync.DeltaPage{}, fmt.Errorf("graph: users delta: page has %s", linkProblem(page))
	}
	return page, nil
}

func linkProblem(p galsync.DeltaPage) string {
	if p.NextLink == "" {
		return "neither @odata.nextLink nor @odata.deltaLink"
	}
	return "both @odata.nextLink and @odata.deltaLink"
}

// sourceUser is one users/delta entry. A removed user carries its id and
// "@removed": {"reason": "changed"|"deleted"}.
func sourceUser(raw map[string]any) (galsync.SourceUser, error) {
	id, _ := raw["id"].(string)
	if id == "" {
		return galsync.SourceUser{}, errors.New("user without id")
	}
	u := galsync.SourceUser{ID: id}
	if removed, ok := raw["@removed"]; ok {
		m, _ := removed.(map[string]any)
		reason, _ := m["reason"].(string)
		if reason == "" {
			// Assume the restorable kind: a soft delete is the lesser claim.
			reason = "changed"
		}
		u.Removed = reason
	}
	manager, hasManager := managerDelta(raw)
	u.Attributes = userAttributes(raw)
	if hasManager {
		u.Attributes[managerProperty] = manager
	}
	return u, nil
}

// managerDelta reads an entry's manager@delta: [{"@odata.type":
// "#microsoft.graph.user", "id": ...}] names the manager in force; an
// element marked "@removed" is a manager taken away, the form
// members@delta has in groups/delta (learn.microsoft.com/graph/delta-query-groups).
// The manager is its id, or nil when removed; ok is false when the entry
// says nothing of it (users/delta leaves it out when there is no manager,
// or when the manager did not change).
func managerDelta(raw map[string]any) (any, bool) {
	list, ok := raw[managerProperty+"@delta"].([]any)
	if !ok {
		return nil, false
	}
	var current any
	for _, e := range list {
		m, _ := e.(map[string]any)
		id, _ := m["id"].(string)
		if id == "" {
			continue
		}
		if _, removed := m["@removed"]; removed {
			continue
		}
		current = id
	}
	return current, true
}
