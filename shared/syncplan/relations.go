package syncplan

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/galsync/galsync/shared/galsync"
)

// ManagerAttribute is the source attribute users/delta reports the
// manager relationship in (manager@delta, when $select names manager;
// learn.microsoft.com/graph/api/user-delta), read as the manager's object
// id, and the mapping entry that carries it to the guest: the guest's
// manager is the guest of the source user's manager, a directory
// reference (PUT /users/{id}/manager/$ref), not a property a PATCH writes.
const ManagerAttribute = "manager"

// ScopeGroupsAttribute is the attribute galsync adds to a source user of a
// direction with scope.includeGroups: the ids of those groups the user is
// a direct member of. It is galsync's own, never selected from Graph.
const ScopeGroupsAttribute = "galsyncScopeGroups"

// Existing-member reasons.
const (
	// ReasonConvertDomain: existingMembers is convert, but not for this
	// address's domain.
	ReasonConvertDomain = "the member's address is not in convertDomains"
)

func (r *Rules) compileManager(m galsync.AttributeMapping, referenced map[string]bool) error {
	if m.Source != ManagerAttribute || m.Constant != nil || m.Expression != "" {
		return errors.New(`the manager can only be mapped as {"source": "manager"}: the guest's manager is the guest of the source user's manager`)
	}
	r.manager = true
	referenced[ManagerAttribute] = true
	spec, _ := json.Marshal(m)
	r.specs[ManagerAttribute] = string(spec)
	return nil
}

// compileRelations checks the settings beyond attributes: conversion of
// existing members, mirrored groups and their name pattern, scope groups.
func (r *Rules) compileRelations(d galsync.Direction) []error {
	var errs []error
	switch d.ExistingMembers {
	case "", galsync.ExistingMembersSkip, galsync.ExistingMembersConvert:
	default:
		errs = append(errs, fmt.Errorf("existingMembers %q: use %q or %q", d.ExistingMembers,
			galsync.ExistingMembersSkip, galsync.ExistingMembersConvert))
	}
	if len(d.ConvertDomains) > 0 && d.ExistingMembers != galsync.ExistingMembersConvert {
		errs = append(errs, errors.New(`convertDomains without existingMembers "convert" converts nothing`))
	}
	for i, dom := range d.ConvertDomains {
		if dom = strings.TrimPrefix(strings.TrimSpace(dom), "@"); dom == "" || strings.ContainsAny(dom, "@ ") {
			errs = append(errs, fmt.Errorf("convertDomains[%d] %q is not a mail domain", i, d.ConvertDomains[i]))
		}
	}
	errs = append(errs, checkGroupIDs("mirrorGroups", d.MirrorGroups)...)
	errs = append(errs, checkGroupIDs("scope.includeGroups", d.Scope.IncludeGroups)...)
	r.groupName = d.GroupNamePattern
	if r.groupName == "" {
		r.groupName = galsync.DefaultGroupNamePattern
	}
	if err := checkGroupNamePattern(r.groupName); err != nil {
		errs = append(errs, fmt.Errorf("groupNamePattern %q: %w", d.GroupNamePattern, err))
	}
	return errs
}

func checkGroupIDs(what string, ids []string) []error {
	var errs []error
	seen := map[string]bool{}
	for i, id := range ids {
		if !isGUID(id) {
			errs = append(errs, fmt.Errorf("%s[%d] %q is not a group object id (a GUID)", what, i, id))
		}
		if seen[strings.ToLower(id)] {
			errs = append(errs, fmt.Errorf("%s[%d] %q is listed twice", what, i, id))
		}
		seen[strings.ToLower(id)] = true
	}
	return errs
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}

// groupNameFields are the placeholders of groupNamePattern.
var groupNameFields = []string{"{displayName}", "{source}", "{id}"}

func checkGroupNamePattern(p string) error {
	rest := p
	for _, f := range groupNameFields {
		rest = strings.ReplaceAll(rest, f, "")
	}
	if strings.ContainsAny(rest, "{}") {
		return fmt.Errorf("unknown placeholder: use %s", strings.Join(groupNameFields, ", "))
	}
	if !strings.Contains(p, "{displayName}") && !strings.Contains(p, "{id}") {
		return errors.New("every mirrored group would get the same name: use {displayName} or {id}")
	}
	return nil
}

// MapsManager reports whether the direction carries managers.
func (r *Rules) MapsManager() bool { return r.manager }

// ManagerOf is the source manager's object id in a source user's
// attributes ("" for none).
func (r *Rules) ManagerOf(attrs map[string]any) string {
	if !r.manager {
		return ""
	}
	return strings.TrimSpace(asString(attrs[ManagerAttribute]))
}

// Converts reports whether a target member holding addr is converted to an
// external user in place (existingMembers convert, and addr's domain in
// convertDomains when those are given); when not, why.
func (r *Rules) Converts(addr string) (bool, string) {
	if r.Direction.ExistingMembers != galsync.ExistingMembersConvert {
		return false, ""
	}
	if len(r.Direction.ConvertDomains) == 0 {
		return true, ""
	}
	domain := ""
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		domain = addr[at+1:]
	}
	if containsFold(r.Direction.ConvertDomains, domain) {
		return true, ""
	}
	return false, ReasonConvertDomain
}

// maxGroupName is the longest displayName Graph takes for a group
// (learn.microsoft.com/graph/api/resources/group: "Maximum length is 256
// characters").
const maxGroupName = 256

// GroupName is the target group's name for a mirrored source group.
func (r *Rules) GroupName(sourceName, sourceTenant, sourceGroupID string) string {
	name := strings.NewReplacer("{displayName}", sourceName, "{source}", sourceTenant, "{id}", sourceGroupID).Replace(r.groupName)
	name = strings.TrimSpace(name)
	for utf8.RuneCountInString(name) > maxGroupName {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return name
}

// ScopeGroupsOf lists the scope groups among ids (a user's memberships),
// sorted: the value of ScopeGroupsAttribute.
func (r *Rules) ScopeGroupsOf(isMember func(groupID string) bool) []string {
	var out []string
	for _, g := range r.Direction.Scope.IncludeGroups {
		if isMember(g) {
			out = append(out, strings.ToLower(g))
		}
	}
	slices.Sort(out)
	return out
}

// HasScopeGroups reports whether the scope admits members of given groups
// only.
func (r *Rules) HasScopeGroups() bool { return len(r.Direction.Scope.IncludeGroups) > 0 }

func (r *Rules) inScopeGroups(attrs map[string]any) bool {
	groups, _ := attrs[ScopeGroupsAttribute].([]string)
	for _, g := range groups {
		if containsFold(r.Direction.Scope.IncludeGroups, g) {
			return true
		}
	}
	return false
}
