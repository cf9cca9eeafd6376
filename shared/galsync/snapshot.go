package galsync

import (
	"encoding/json"
	"slices"
)

// Snapshot is a guest's attributes by target attribute name. Values are
// normalised to string, bool, []string or nil (nil means "clear it").
type Snapshot map[string]any

// Equal reports whether two snapshots hold the same attributes with the
// same values; an absent attribute equals a null one.
func (s Snapshot) Equal(o Snapshot) bool {
	for k, v := range s {
		if !SameValue(v, o[k]) {
			return false
		}
	}
	for k, v := range o {
		if _, ok := s[k]; !ok && v != nil {
			return false
		}
	}
	return true
}

// SameValue reports whether two normalised values (string, bool,
// []string or nil) are equal.
func SameValue(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case []string:
		y, ok := b.([]string)
		return ok && slices.Equal(x, y)
	}
	return false
}

// Names lists the snapshot's attribute names, sorted.
func (s Snapshot) Names() []string {
	names := make([]string, 0, len(s))
	for k := range s {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// Clone copies the snapshot (slices included).
func (s Snapshot) Clone() Snapshot {
	if s == nil {
		return nil
	}
	c := make(Snapshot, len(s))
	for k, v := range s {
		if l, ok := v.([]string); ok {
			v = slices.Clone(l)
		}
		c[k] = v
	}
	return c
}

// Normalize returns v as one of the Snapshot value types, converting what
// JSON decoding produces ([]any of strings, float64 for numbers).
func Normalize(v any) any {
	switch t := v.(type) {
	case nil, string, bool:
		return t
	case []string:
		return slices.Clone(t)
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case json.Number:
		return t.String()
	case float64:
		b, _ := json.Marshal(t)
		return string(b)
	default:
		b, err := json.Marshal(t)
		if err != nil {
			return nil
		}
		return string(b)
	}
}

// UnmarshalJSON normalises values so snapshots read back from a queue or a
// store compare equal to the ones that were written.
func (s *Snapshot) UnmarshalJSON(b []byte) error {
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if raw == nil {
		*s = nil
		return nil
	}
	out := make(Snapshot, len(raw))
	for k, v := range raw {
		out[k] = Normalize(v)
	}
	*s = out
	return nil
}

// SourceUser is one user as users/delta returned it.
type SourceUser struct {
	ID string
	// Attributes hold the selected properties, Normalized.
	Attributes map[string]any
	// Removed is "" for a present user, else Graph's @removed reason:
	// "changed" (soft-deleted, restorable) or "deleted" (gone for good).
	Removed string
}

// DeltaPage is one page of users/delta. Exactly one of NextLink and
// DeltaLink is set on a well-formed page.
type DeltaPage struct {
	Users     []SourceUser
	NextLink  string
	DeltaLink string
}

// TargetUser is a user found in, or created in, a target tenant.
type TargetUser struct {
	ID                string
	UserPrincipalName string
	UserType          string
	CreationType      string
	// ExternalUserState is set on external users (PendingAcceptance,
	// Accepted), including members converted to external users.
	ExternalUserState string
	// OnPremisesUserPrincipalName is set on users Microsoft Entra Connect
	// syncs with it (when asked for): such a user cannot be converted.
	OnPremisesUserPrincipalName string
	Attributes                  map[string]any
}

// Invitation is what POST /invitations is asked to do.
type Invitation struct {
	EmailAddress          string
	DisplayName           string
	RedirectURL           string
	UserType              string // "Guest" or "Member"
	SendInvitationMessage bool
	// InvitedUserID, if set, converts that existing internal user of the
	// target into an external user in place (invitedUser {id}).
	InvitedUserID string
}
