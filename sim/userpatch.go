package sim

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
)

type patchMode int

const (
	// patchGraph is PATCH /users/{id}: only what "Update user" accepts.
	patchGraph patchMode = iota
	// patchControl is the control API: read-only properties too, and empty
	// strings clear.
	patchControl
)

// patch validates a whole update body, then applies it; a body with one bad
// property changes nothing, as Graph rejects the request as a whole.
func (t *tenant) patch(rec *userRecord, body map[string]json.RawMessage, mode patchMode) *graphError {
	u := rec.user.clone()
	extra := map[string]json.RawMessage{}
	for name, raw := range body {
		if strings.HasPrefix(name, "@") || strings.Contains(name, "@odata.") {
			continue // instance annotations such as "@odata.type" that SDKs send
		}
		if i, ok := lookupProp(name); ok {
			p := userProps[i]
			if p.name == "id" || !p.updatable && mode == patchGraph {
				return badRequest("Property '%s' is read-only and cannot be set.", p.name)
			}
			if err := setValue(p, &u, raw, mode); err != nil {
				return err
			}
			continue
		}
		if n, ok := isUnmodelled(name); ok {
			extra[n] = slices.Clone(raw)
			continue
		}
		if slices.ContainsFunc(readOnlyUserProps, func(s string) bool { return strings.EqualFold(s, name) }) {
			return badRequest("Property '%s' is read-only and cannot be set.", name)
		}
		return badRequest("Invalid property '%s'. The property does not exist on type 'microsoft.graph.user'.", name)
	}
	if mode == patchGraph && !strings.HasSuffix(strings.ToLower(u.UserPrincipalName), "@"+t.domain) {
		return badRequest("The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.")
	}
	if _, err := t.replace(rec, u); err != nil {
		return badRequest("Another object with the same value for property userPrincipalName already exists.")
	}
	if len(extra) > 0 && rec.extra == nil {
		rec.extra = map[string]json.RawMessage{}
	}
	for k, v := range extra {
		rec.extra[k] = v
	}
	return nil
}

func invalidValue(name string) *graphError {
	return badRequest("Invalid value specified for property '%s' of resource 'User'.", name)
}

// notNullable are properties Graph will not clear: displayName "cannot be
// cleared during updates", usageLocation is "Not nullable", and a user
// cannot lose its userPrincipalName (user-update, user resource).
var notNullable = []string{"displayName", "usageLocation", "userPrincipalName", "accountEnabled"}

// setValue decodes one property. Graph refuses an empty string for a user
// property ("Invalid value specified for property ..."); null clears it.
func setValue(p property, u *User, raw json.RawMessage, mode patchMode) *graphError {
	isNull := bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
	if isNull && slices.Contains(notNullable, p.name) {
		return invalidValue(p.name)
	}
	switch p.kind {
	case kindString:
		var v *string
		if json.Unmarshal(raw, &v) != nil {
			return invalidValue(p.name)
		}
		if v == nil {
			*p.str(u) = ""
			return nil
		}
		if *v == "" && mode == patchGraph || !validString(p.name, *v) {
			return invalidValue(p.name)
		}
		*p.str(u) = *v
	case kindBool:
		var v bool
		if json.Unmarshal(raw, &v) != nil {
			return invalidValue(p.name)
		}
		*p.flag(u) = v
	case kindNullableBool:
		var v *bool
		if json.Unmarshal(raw, &v) != nil {
			return invalidValue(p.name)
		}
		*p.nflag(u) = v
	default:
		var v []string
		if isNull || json.Unmarshal(raw, &v) != nil {
			return invalidValue(p.name)
		}
		// "Although this is a string collection, only one number can be set
		// for this property." (user-update, businessPhones)
		if p.name == "businessPhones" && len(v) > 1 {
			return invalidValue(p.name)
		}
		*p.strs(u) = v
	}
	return nil
}

func validString(name, v string) bool {
	switch name {
	case "userType":
		// Member and Guest are the only values Graph accepts.
		return v == "" || strings.EqualFold(v, "Member") || strings.EqualFold(v, "Guest")
	case "mail", "userPrincipalName":
		return v == "" || strings.Count(v, "@") == 1 && !strings.HasPrefix(v, "@") && !strings.HasSuffix(v, "@")
	}
	return true
}
