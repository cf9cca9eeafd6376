package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"

	"github.com/galsync/galsync/shared/galsync"
)

// Groups, as Microsoft Graph v1.0 documents them:
//   - groups/delta with $filter=id eq '{id}' (group-delta: "only id is
//     supported" in $filter, joined by or) and $select=displayName,members
//     ("You can use $select=members to get membership changes",
//     learn.microsoft.com/graph/delta-query-groups): members@delta lists
//     members added and, marked "@removed", members removed; a group with
//     many members may come back as several objects in a round;
//   - POST /groups for a security group (mailEnabled false,
//     securityEnabled true, mailNickname required), members@odata.bind
//     with up to 20 members (group-post-groups);
//   - PATCH /groups/{id} with members@odata.bind, "up to 20 members can be
//     added in a single request" (group-post-members);
//   - POST /groups/{id}/members/$ref, DELETE /groups/{id}/members/{id}/$ref
//     (group-post-members, group-delete-members);
//   - GET /groups/{id}/members, paged (group-list-members).

// maxBind is how many members one members@odata.bind adds.
const maxBind = 20

// groupDeltaBody is one groups/delta page on the wire.
type groupDeltaBody struct {
	Value     []map[string]any `json:"value"`
	NextLink  string           `json:"@odata.nextLink"`
	DeltaLink string           `json:"@odata.deltaLink"`
}

// GroupDeltaPage reads one page of groups/delta for one group of tenant:
// the first page of a full round when link is "", else the page link names.
// A refused delta token is galsync.ErrDeltaExpired.
func (c *Client) GroupDeltaPage(ctx context.Context, tenant, link, groupID string) (galsync.GroupDeltaPage, error) {
	const op = "groups delta"
	tc, err := c.tenant(tenant)
	if err != nil {
		return galsync.GroupDeltaPage{}, err
	}
	raw := link
	if raw == "" {
		if groupID == "" {
			return galsync.GroupDeltaPage{}, galsync.Permanent(fmt.Errorf("graph: %s in tenant %s: no group id", op, tenant))
		}
		raw = tc.base + "/groups/delta?$filter=" + url.QueryEscape("id eq "+quote(groupID)) + "&$select=displayName,members"
	} else if err := tc.checkLink(op, link); err != nil {
		return galsync.GroupDeltaPage{}, err
	}
	ri := abs.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abs.GET, "{+baseurl}", map[string]string{"request-raw-url": raw})
	ri.Headers.TryAdd("Accept", "application/json")
	rep, err := tc.send(ctx, op, ri)
	if err != nil {
		return galsync.GroupDeltaPage{}, err
	}
	var body groupDeltaBody
	if err := tc.decode(op, rep, &body); err != nil {
		return galsync.GroupDeltaPage{}, err
	}
	page := galsync.GroupDeltaPage{NextLink: body.NextLink, DeltaLink: body.DeltaLink}
	if (page.NextLink == "") == (page.DeltaLink == "") {
		return page, fmt.Errorf("graph: %s in tenant %s: a page with both or neither of @odata.nextLink and @odata.deltaLink", op, tenant)
	}
	for _, v := range body.Value {
		page.Groups = append(page.Groups, sourceGroup(v))
	}
	return page, nil
}

func sourceGroup(v map[string]any) galsync.SourceGroup {
	g := galsync.SourceGroup{}
	g.ID, _ = v["id"].(string)
	g.DisplayName, _ = v["displayName"].(string)
	if rm, ok := v["@removed"].(map[string]any); ok {
		g.Removed, _ = rm["reason"].(string)
		if g.Removed == "" {
			g.Removed = "changed"
		}
	}
	list, _ := v["members@delta"].([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		id, _ := m["id"].(string)
		if id == "" {
			continue
		}
		typ, _ := m["@odata.type"].(string)
		o := galsync.DirectoryObject{ID: id, Type: strings.TrimPrefix(typ, "#microsoft.graph.")}
		if _, removed := m["@removed"]; removed {
			g.Dropped = append(g.Dropped, o)
		} else {
			g.Added = append(g.Added, o)
		}
	}
	return g
}

// groupBody is a group as galsync reads it.
type groupBody struct {
	ID              string `json:"id"`
	DisplayName     string `json:"displayName"`
	Description     string `json:"description"`
	SecurityEnabled bool   `json:"securityEnabled"`
	MailEnabled     bool   `json:"mailEnabled"`
}

func (g groupBody) target() galsync.TargetGroup {
	return galsync.TargetGroup{ID: g.ID, DisplayName: g.DisplayName, Description: g.Description,
		SecurityEnabled: g.SecurityEnabled, MailEnabled: g.MailEnabled}
}

const groupSelect = "id,displayName,description,securityEnabled,mailEnabled"

// FindGroupsByName lists the groups of tenant whose displayName is name
// (an eq filter Graph supports without advanced query parameters).
func (c *Client) FindGroupsByName(ctx context.Context, tenant, name string) ([]galsync.TargetGroup, error) {
	const op = "find groups by name"
	tc, err := c.tenant(tenant)
	if err != nil {
		return nil, err
	}
	path := "/groups?$filter=" + url.QueryEscape("displayName eq "+quote(name)) + "&$select=" + groupSelect
	rep, err := tc.send(ctx, op, tc.rawRequest(abs.GET, path))
	if err != nil {
		return nil, err
	}
	var body struct {
		Value []groupBody `json:"value"`
	}
	if err := tc.decode(op, rep, &body); err != nil {
		return nil, err
	}
	out := make([]galsync.TargetGroup, 0, len(body.Value))
	for _, g := range body.Value {
		out = append(out, g.target())
	}
	return out, nil
}

// GetGroup reads one group of tenant; a group Graph does not know is
// galsync.ErrNotFound.
func (c *Client) GetGroup(ctx context.Context, tenant, id string) (galsync.TargetGroup, error) {
	const op = "get group"
	tc, err := c.tenant(tenant)
	if err != nil {
		return galsync.TargetGroup{}, err
	}
	rep, err := tc.send(ctx, op, tc.rawRequest(abs.GET, groupPath(id)+"?$select="+groupSelect))
	if err != nil {
		return galsync.TargetGroup{}, err
	}
	var g groupBody
	if err := tc.decode(op, rep, &g); err != nil {
		return galsync.TargetGroup{}, err
	}
	return g.target(), nil
}

func groupPath(id string) string { return "/groups/" + url.PathEscape(id) }

// CreateGroup creates a security group with up to 20 first members.
func (c *Client) CreateGroup(ctx context.Context, tenant string, g galsync.NewGroup) (galsync.TargetGroup, error) {
	const op = "create group"
	tc, err := c.tenant(tenant)
	if err != nil {
		return galsync.TargetGroup{}, err
	}
	if g.DisplayName == "" || g.MailNickname == "" || len(g.Members) > maxBind {
		return galsync.TargetGroup{}, galsync.Permanent(fmt.Errorf("graph: %s in tenant %s: a group needs a name and a mailNickname, and takes at most %d members", op, tenant, maxBind))
	}
	body := map[string]any{"displayName": g.DisplayName, "mailEnabled": false, "mailNickname": g.MailNickname,
		"securityEnabled": true}
	if g.Description != "" {
		body["description"] = g.Description
	}
	if len(g.Members) > 0 {
		body["members@odata.bind"] = tc.refs(g.Members)
	}
	rep, err := tc.sendJSON(ctx, op, tc.rawRequest(abs.POST, "/groups"), body)
	if err != nil {
		return galsync.TargetGroup{}, err
	}
	var made groupBody
	if err := tc.decode(op, rep, &made); err != nil {
		return galsync.TargetGroup{}, err
	}
	if made.ID == "" {
		return galsync.TargetGroup{}, fmt.Errorf("graph: %s in tenant %s: the answer names no group", op, tenant)
	}
	return made.target(), nil
}

// RenameGroup sets a group's displayName.
func (c *Client) RenameGroup(ctx context.Context, tenant, id, name string) error {
	const op = "rename group"
	tc, err := c.tenant(tenant)
	if err != nil {
		return err
	}
	_, err = tc.sendJSON(ctx, op, tc.rawRequest(abs.PATCH, groupPath(id)), map[string]string{"displayName": name})
	return err
}

// refs are members@odata.bind values: directoryObjects of the tenant's
// own Graph, so a reference never points into another cloud.
func (tc *tenantClient) refs(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = tc.base + "/directoryObjects/" + url.PathEscape(id)
	}
	return out
}

// GroupMembers lists the ids of a group's direct members (users and
// others), 999 to a page.
func (c *Client) GroupMembers(ctx context.Context, tenant, id string) ([]string, error) {
	tc, err := c.tenant(tenant)
	if err != nil {
		return nil, err
	}
	return tc.listIDs(ctx, "list group members", groupPath(id)+"/members?$select=id&$top=999", "")
}

// AddGroupMembers adds members to group id: 20 to a PATCH with
// members@odata.bind, so a burst of new members costs a request per 20.
// Graph refuses a bind whole when one member is already in the group, so
// a refused bind is done again one member at a time (POST members/$ref,
// in JSON batches), where "already exist" counts as done.
func (c *Client) AddGroupMembers(ctx context.Context, tenant, id string, members []string) (galsync.MemberWrites, error) {
	const op = "add group members"
	w := galsync.MemberWrites{Failed: map[string]error{}}
	tc, err := c.tenant(tenant)
	if err != nil {
		return w, err
	}
	for len(members) > 0 {
		n := min(len(members), maxBind)
		chunk := members[:n]
		members = members[n:]
		if len(chunk) == 1 {
			if err := c.addBatch(ctx, tenant, id, chunk, &w); err != nil {
				return w, err
			}
			continue
		}
		_, err := tc.sendJSON(ctx, op, tc.rawRequest(abs.PATCH, groupPath(id)), map[string]any{"members@odata.bind": tc.refs(chunk)})
		w.Requests++
		var ge *Error
		switch {
		case err == nil:
			w.Changes += len(chunk)
		case errors.As(err, &ge) && (ge.Status == http.StatusBadRequest || ge.Status == http.StatusNotFound):
			// One member refused or unknown (not yet replicated) fails
			// the whole bind: each is tried on its own.
			if err := c.addBatch(ctx, tenant, id, chunk, &w); err != nil {
				return w, err
			}
		default:
			return w, err
		}
	}
	return w, nil
}

// addBatch adds members one request each, in JSON batches.
func (c *Client) addBatch(ctx context.Context, tenant, id string, members []string, w *galsync.MemberWrites) error {
	reqs := make([]BatchRequest, len(members))
	for i, m := range members {
		reqs[i] = AddGroupMemberRequest(id, m)
	}
	return c.memberBatch(ctx, tenant, members, reqs, w, alreadyMember)
}

// RemoveGroupMembers removes members from group id, DELETE members/$ref
// each, in JSON batches of 20; a member already gone counts as removed.
func (c *Client) RemoveGroupMembers(ctx context.Context, tenant, id string, members []string) (galsync.MemberWrites, error) {
	w := galsync.MemberWrites{Failed: map[string]error{}}
	reqs := make([]BatchRequest, len(members))
	for i, m := range members {
		reqs[i] = RemoveGroupMemberRequest(id, m)
	}
	err := c.memberBatch(ctx, tenant, members, reqs, &w, func(err error) bool { return errors.Is(err, galsync.ErrNotFound) })
	return w, err
}

// memberBatch sends membership requests: one on its own, more in JSON
// batches. done says which failure means the change is already made.
func (c *Client) memberBatch(ctx context.Context, tenant string, members []string, reqs []BatchRequest, w *galsync.MemberWrites, done func(error) bool) error {
	if len(reqs) == 0 {
		return nil
	}
	results, err := c.Batch(ctx, tenant, reqs)
	if err != nil {
		return err
	}
	w.Requests += (len(reqs) + MaxBatchRequests - 1) / MaxBatchRequests
	var transient error
	for i, r := range results {
		switch {
		case r.Err == nil:
			w.Changes++
		case done(r.Err):
		case galsync.IsPermanent(r.Err) || errors.Is(r.Err, galsync.ErrNotFound):
			w.Failed[members[i]] = r.Err
		default:
			transient = r.Err
		}
	}
	return transient
}

// alreadyMember: Graph's 400 to adding a member the group has ("One or
// more added object references already exist").
func alreadyMember(err error) bool {
	var ge *Error
	return errors.As(err, &ge) && ge.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(ge.Message), "already exist")
}
