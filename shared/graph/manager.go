package graph

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	abs "github.com/microsoft/kiota-abstractions-go"

	"github.com/galsync/galsync/shared/galsync"
)

// The manager relationship, as Microsoft Graph v1.0 documents it:
//   - GET /users/{id}/manager: "If a manager isn't assigned to the user,
//     returns 404" (learn.microsoft.com/graph/api/user-list-manager);
//   - PUT /users/{id}/manager/$ref with {"@odata.id": ".../users/{id}"},
//     204 (learn.microsoft.com/graph/api/user-post-manager);
//   - DELETE /users/{id}/manager/$ref, 204
//     (learn.microsoft.com/graph/api/user-delete-manager);
//   - GET /users/{id}/directReports
//     (learn.microsoft.com/graph/api/user-list-directreports).
// They are the same in every national cloud, so managers follow in every
// cloud pair (the reference names the target's own guest).

// rawRequest is a request to path (below the service root, escaped, with
// its query) through the tenant's adapter and middleware.
func (tc *tenantClient) rawRequest(method abs.HttpMethod, path string) *abs.RequestInformation {
	ri := abs.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(method, "{+baseurl}",
		map[string]string{"request-raw-url": tc.base + path})
	ri.Headers.TryAdd("Accept", "application/json")
	return ri
}

func userPath(id string) string { return "/users/" + url.PathEscape(id) }

// managerID reads the id of a user's manager; "" when none is assigned.
// The caller has read the user itself: a 404 here means no manager.
func (tc *tenantClient) managerID(ctx context.Context, userID string) (string, error) {
	const op = "get manager"
	if userID == "" {
		return "", galsync.Permanent(fmt.Errorf("graph: %s in tenant %s: no user id", op, tc.name))
	}
	rep, err := tc.send(ctx, op, tc.rawRequest(abs.GET, userPath(userID)+"/manager?$select=id"))
	if errors.Is(err, galsync.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var body struct {
		ID string `json:"id"`
	}
	if err := tc.decode(op, rep, &body); err != nil {
		return "", err
	}
	return body.ID, nil
}

// GetManager returns the id of the manager of user id of tenant, "" when
// none is assigned.
func (c *Client) GetManager(ctx context.Context, tenant, id string) (string, error) {
	tc, err := c.tenant(tenant)
	if err != nil {
		return "", err
	}
	return tc.managerID(ctx, id)
}

// SetManager makes managerID the manager of user id (both of tenant).
func (c *Client) SetManager(ctx context.Context, tenant, id, managerID string) error {
	const op = "set manager"
	tc, err := c.tenant(tenant)
	if err != nil {
		return err
	}
	if id == "" || managerID == "" {
		return galsync.Permanent(fmt.Errorf("graph: %s in tenant %s: no user or manager id", op, tenant))
	}
	ri := tc.rawRequest(abs.PUT, userPath(id)+"/manager/$ref")
	_, err = tc.sendJSON(ctx, op, ri, map[string]string{"@odata.id": tc.base + userPath(managerID)})
	return err
}

// RemoveManager takes the manager of user id away; a user without one is
// left as it is.
func (c *Client) RemoveManager(ctx context.Context, tenant, id string) error {
	const op = "remove manager"
	tc, err := c.tenant(tenant)
	if err != nil {
		return err
	}
	if id == "" {
		return galsync.Permanent(fmt.Errorf("graph: %s in tenant %s: no user id", op, tenant))
	}
	_, err = tc.send(ctx, op, tc.rawRequest(abs.DELETE, userPath(id)+"/manager/$ref"))
	if errors.Is(err, galsync.ErrNotFound) {
		return nil
	}
	return err
}

// DirectReports lists the ids of the users whose manager is user id, in
// pages of up to 999.
func (c *Client) DirectReports(ctx context.Context, tenant, id string) ([]string, error) {
	const op = "list direct reports"
	tc, err := c.tenant(tenant)
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, galsync.Permanent(fmt.Errorf("graph: %s in tenant %s: no user id", op, tenant))
	}
	return tc.listIDs(ctx, op, userPath(id)+"/directReports?$select=id&$top=999", "")
}

// listIDs pages through a collection of directory objects and returns the
// ids of those of objectType ("" for all; "user" for #microsoft.graph.user).
func (tc *tenantClient) listIDs(ctx context.Context, op, path, objectType string) ([]string, error) {
	var ids []string
	ri := tc.rawRequest(abs.GET, path)
	for {
		rep, err := tc.send(ctx, op, ri)
		if err != nil {
			return nil, err
		}
		var body struct {
			Value []struct {
				Type string `json:"@odata.type"`
				ID   string `json:"id"`
			} `json:"value"`
			NextLink string `json:"@odata.nextLink"`
		}
		if err := tc.decode(op, rep, &body); err != nil {
			return nil, err
		}
		for _, v := range body.Value {
			if objectType == "" || v.Type == "" || v.Type == "#microsoft.graph."+objectType {
				ids = append(ids, v.ID)
			}
		}
		if body.NextLink == "" {
			return ids, nil
		}
		if err := tc.checkLink(op, body.NextLink); err != nil {
			return nil, err
		}
		ri = abs.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abs.GET, "{+baseurl}",
			map[string]string{"request-raw-url": body.NextLink})
		ri.Headers.TryAdd("Accept", "application/json")
	}
}

// GetManagerRequest is GetManager as a batch request: its result is 404
// when the user has no manager (ManagerOf reads it).
func GetManagerRequest(id string) BatchRequest {
	r := BatchRequest{Op: "get manager", Method: "GET", URL: userPath(id) + "/manager?$select=id"}
	if id == "" {
		r.err = errors.New("no user id")
	}
	return r
}

// ManagerOf reads the answer to a GetManagerRequest: the manager's id, ""
// for none.
func (r BatchResult) ManagerOf() (string, error) {
	if errors.Is(r.Err, galsync.ErrNotFound) {
		return "", nil
	}
	var body struct {
		ID string `json:"id"`
	}
	if err := r.Decode(&body); err != nil {
		return "", err
	}
	return body.ID, nil
}

// Managers reads the managers of users of tenant, 20 to a JSON batch:
// by user id, the manager's id ("" for none).
func (c *Client) Managers(ctx context.Context, tenant string, ids []string) (map[string]string, error) {
	reqs := make([]BatchRequest, len(ids))
	for i, id := range ids {
		reqs[i] = GetManagerRequest(id)
	}
	results, err := c.Batch(ctx, tenant, reqs)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(ids))
	for i, r := range results {
		m, err := r.ManagerOf()
		if err != nil {
			return nil, err
		}
		out[ids[i]] = m
	}
	return out, nil
}
