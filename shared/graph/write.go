package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"

	"github.com/galsync/galsync/shared/galsync"
)

// UpdateUser patches user id of tenant with exactly the given properties; a
// nil value clears the property (JSON null). No changes, no request.
func (c *Client) UpdateUser(ctx context.Context, tenant, id string, changes map[string]any) error {
	const op = "update user"
	tc, err := c.tenant(tenant)
	if err != nil {
		return err
	}
	if len(changes) == 0 {
		return nil
	}
	b, err := tc.userBuilder(op, id)
	if err != nil {
		return err
	}
	body, err := patchBody(changes)
	if err != nil {
		return galsync.Permanent(fmt.Errorf("graph: %s in tenant %s: %w", op, tenant, err))
	}
	ri := abs.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abs.PATCH, b.UrlTemplate, b.PathParameters)
	ri.Headers.TryAdd("Accept", "application/json")
	_, err = tc.sendJSON(ctx, op, ri, body)
	return refusal(err, changes)
}

// refusal turns Graph's 400 to a PATCH into a galsync.RefusedError when
// its message names exactly one of the properties sent ("Property 'x' is
// read-only...", "Invalid value specified for property 'x' of resource
// 'User'."). A PATCH is all-or-nothing, so knowing which property Graph
// refused lets the caller write the others.
func refusal(err error, changes map[string]any) error {
	var ge *Error
	if !errors.As(err, &ge) || ge.Status != http.StatusBadRequest {
		return err
	}
	named := ""
	for k := range changes {
		if mentions(ge.Message, k) {
			if named != "" {
				return err // more than one: cannot tell
			}
			named = k
		}
	}
	if named == "" {
		return err
	}
	return galsync.Refused(named, err)
}

// mentions reports whether msg names property as a word of its own
// (quoted or not), case-insensitively.
func mentions(msg, property string) bool {
	lower, p := strings.ToLower(msg), strings.ToLower(property)
	for i := 0; ; {
		j := strings.Index(lower[i:], p)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(p)
		if (start == 0 || !isWordByte(lower[start-1])) && (end == len(lower) || !isWordByte(lower[end])) {
			return true
		}
		i = end
	}
}

func isWordByte(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9'
}

// patchBody shapes the values Graph types strictly: collections (which
// cannot be null; an empty list clears them) and accountEnabled.
func patchBody(changes map[string]any) (map[string]any, error) {
	body := make(map[string]any, len(changes))
	for k, v := range changes {
		switch k {
		case "businessPhones", "otherMails":
			l, err := stringList(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			body[k] = l
		case "accountEnabled":
			b, err := boolValue(v)
			if err != nil {
				return nil, fmt.Errorf("accountEnabled: %w", err)
			}
			body[k] = b
		default:
			body[k] = v
		}
	}
	return body, nil
}

func stringList(v any) ([]string, error) {
	switch t := v.(type) {
	case nil:
		return []string{}, nil
	case []string:
		return t, nil
	case string:
		if t == "" {
			return []string{}, nil
		}
		return []string{t}, nil
	case []any:
		return galsync.Normalize(t).([]string), nil
	default:
		return nil, fmt.Errorf("a %T is not a list of strings", v)
	}
}

func boolValue(v any) (bool, error) {
	switch t := v.(type) {
	case bool:
		return t, nil
	case string:
		b, err := strconv.ParseBool(t)
		if err != nil {
			return false, fmt.Errorf("%q is not a boolean", t)
		}
		return b, nil
	default:
		return false, fmt.Errorf("a %T is not a boolean", v)
	}
}

// DeleteUser deletes user id of tenant (to the directory's recycle bin).
func (c *Client) DeleteUser(ctx context.Context, tenant, id string) error {
	const op = "delete user"
	tc, err := c.tenant(tenant)
	if err != nil {
		return err
	}
	b, err := tc.userBuilder(op, id)
	if err != nil {
		return err
	}
	ri, err := b.ToDeleteRequestInformation(ctx, nil)
	if err != nil {
		return fmt.Errorf("graph: %s in tenant %s: %w", op, tenant, err)
	}
	_, err = tc.send(ctx, op, ri)
	return err
}
