package pipeline

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/syncplan"
)

// Direction is a configured direction with its tenants and compiled rules.
type Direction struct {
	galsync.Direction
	Source galsync.Tenant
	Target galsync.Tenant
	Rules  *syncplan.Rules
}

// Catalog holds the directions by name.
type Catalog map[string]*Direction

// NewCatalog compiles every direction of a (validated) topology.
func NewCatalog(t galsync.Topology) (Catalog, error) {
	c := Catalog{}
	var errs []error
	for _, d := range t.Directions {
		src, okS := t.Tenant(d.Source)
		tgt, okT := t.Tenant(d.Target)
		if !okS || !okT {
			errs = append(errs, fmt.Errorf("direction %s: unknown tenant", d.Name))
			continue
		}
		if d.UserType == "" {
			d.UserType = "Guest"
		}
		if d.InviteRedirectURL == "" {
			d.InviteRedirectURL = DefaultRedirectURL(tgt.TenantID)
		}
		rules, err := syncplan.Compile(d, !galsync.SameEntraCloud(src.Cloud, tgt.Cloud))
		if err != nil {
			errs = append(errs, fmt.Errorf("direction %s: %w", d.Name, err))
			continue
		}
		c[d.Name] = &Direction{Direction: d, Source: src, Target: tgt, Rules: rules}
	}
	return c, errors.Join(errs...)
}

// Names lists the directions' names, sorted.
func (c Catalog) Names() []string { return slices.Sorted(maps.Keys(c)) }

// DefaultRedirectURL is where an invited user lands after redeeming when
// the direction names no inviteRedirectUrl: the target tenant's My Apps
// page, as the runbook galsync replaces set it
// (https://myapps.microsoft.com/?tenantid=<target tenant id>).
func DefaultRedirectURL(targetTenantID string) string {
	return "https://myapps.microsoft.com/?tenantid=" + targetTenantID
}

// Get returns a direction or a permanent error naming it: a message for a
// direction that is no longer configured cannot succeed by retrying.
func (c Catalog) Get(name string) (*Direction, error) {
	if d, ok := c[name]; ok {
		return d, nil
	}
	return nil, galsync.Permanent(fmt.Errorf("direction %q is not configured", name))
}
