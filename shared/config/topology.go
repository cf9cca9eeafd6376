package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/pace"
	"github.com/galsync/galsync/shared/syncplan"
)

var cloudNames = []string{string(galsync.CloudPublic), string(galsync.CloudUSGov), string(galsync.CloudUSGovDoD), string(galsync.CloudChina)}

func validCloud(c string) bool {
	for _, n := range cloudNames {
		if c == n {
			return true
		}
	}
	return false
}

var (
	guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
)

// ReadTopology reads the document named by the settings: inline, or from a file.
func ReadTopology(s Settings) ([]byte, error) {
	if s.Topology != "" {
		return []byte(s.Topology), nil
	}
	b, err := os.ReadFile(s.TopologyFile)
	if err != nil {
		return nil, fmt.Errorf("config: GALSYNC_TOPOLOGY_FILE: %w", err)
	}
	return b, nil
}

// AuthCheck validates one tenant's authentication for a home cloud; the
// identity package provides it, so config stays free of the Azure SDK.
type AuthCheck func(t galsync.Tenant, home galsync.Cloud) []error

// ParseTopology decodes and validates a topology document. Unknown fields
// are errors (a misspelt "deprovison" must not silently mean "none").
func ParseTopology(doc []byte, home galsync.Cloud, checkAuth AuthCheck) (galsync.Topology, error) {
	var t galsync.Topology
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return t, fmt.Errorf("config: topology is not valid: %w", err)
	}
	return t, ValidateTopology(t, home, checkAuth)
}

// ValidateTopology reports every problem of a topology, one error each.
func ValidateTopology(t galsync.Topology, home galsync.Cloud, checkAuth AuthCheck) error {
	var errs []error
	if len(t.Tenants) == 0 {
		errs = append(errs, errors.New("tenants: none configured"))
	}
	if len(t.Directions) == 0 {
		errs = append(errs, errors.New("directions: none configured"))
	}
	seen := map[string]bool{}
	for i, tn := range t.Tenants {
		where := fmt.Sprintf("tenants[%d] (%s)", i, tn.Name)
		for _, err := range validateTenant(tn, home, checkAuth) {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
		if seen[tn.Name] {
			errs = append(errs, fmt.Errorf("%s: name is used twice", where))
		}
		seen[tn.Name] = true
	}
	dirs := map[string]bool{}
	pairs := map[string]string{}
	for i, d := range t.Directions {
		where := fmt.Sprintf("directions[%d] (%s)", i, d.Name)
		for _, err := range validateDirection(t, d) {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
		if dirs[d.Name] {
			errs = append(errs, fmt.Errorf("%s: name is used twice", where))
		}
		dirs[d.Name] = true
		pair := d.Source + "→" + d.Target
		if other, ok := pairs[pair]; ok {
			errs = append(errs, fmt.Errorf("%s: %s already syncs %s to %s; two directions would fight over the same guests", where, other, d.Source, d.Target))
		}
		pairs[pair] = d.Name
	}
	if len(errs) > 0 {
		return fmt.Errorf("config: topology has %d problem(s):\n%w", len(errs), errors.Join(errs...))
	}
	return nil
}

func validateTenant(tn galsync.Tenant, home galsync.Cloud, checkAuth AuthCheck) []error {
	var errs []error
	if !namePattern.MatchString(tn.Name) {
		errs = append(errs, errors.New("name must be lower-case letters, digits and dashes"))
	}
	if !guidPattern.MatchString(tn.TenantID) {
		errs = append(errs, fmt.Errorf("tenantId %q is not a GUID", tn.TenantID))
	}
	if !validCloud(string(tn.Cloud)) {
		errs = append(errs, fmt.Errorf("cloud %q is not one of %s", tn.Cloud, strings.Join(cloudNames, ", ")))
	}
	if tn.Domain == "" {
		errs = append(errs, errors.New("domain is missing (the tenant's initial domain, e.g. contoso.onmicrosoft.com)"))
	}
	if tn.GraphBaseURL != "" {
		if u, err := url.Parse(tn.GraphBaseURL); err != nil || u.Scheme != "https" || u.Host == "" || !strings.HasSuffix(u.Path, "/v1.0") {
			errs = append(errs, fmt.Errorf("graphBaseUrl %q must be an https URL ending in /v1.0", tn.GraphBaseURL))
		}
	}
	if tn.AuthorityHost != "" {
		if u, err := url.Parse(tn.AuthorityHost); err != nil || u.Scheme != "https" || u.Host == "" {
			errs = append(errs, fmt.Errorf("authorityHost %q must be an https URL", tn.AuthorityHost))
		}
	}
	if b := tn.GraphBudget; b != nil {
		switch b.Size {
		case "", "S", "M", "L":
		default:
			errs = append(errs, fmt.Errorf("graphBudget.size %q is not S (under 50 users), M (50 to 500) or L (above 500)", b.Size))
		}
		if b.Margin != nil && (*b.Margin < 0 || *b.Margin > pace.MaxMargin) {
			errs = append(errs, fmt.Errorf("graphBudget.margin %v must be between 0 and %v (the share of Graph's limits held back)", *b.Margin, pace.MaxMargin))
		}
	}
	if checkAuth != nil {
		for _, err := range checkAuth(tn, home) {
			errs = append(errs, fmt.Errorf("auth: %w", err))
		}
	}
	return errs
}

func validateDirection(t galsync.Topology, d galsync.Direction) []error {
	var errs []error
	if !namePattern.MatchString(d.Name) {
		errs = append(errs, errors.New("name must be lower-case letters, digits and dashes"))
	}
	src, okS := t.Tenant(d.Source)
	tgt, okT := t.Tenant(d.Target)
	if !okS {
		errs = append(errs, fmt.Errorf("source %q is not a configured tenant", d.Source))
	}
	if !okT {
		errs = append(errs, fmt.Errorf("target %q is not a configured tenant", d.Target))
	}
	if okS && okT && d.Source == d.Target {
		errs = append(errs, errors.New("source and target are the same tenant"))
	}
	if okS && okT {
		if err := galsync.B2BPairProblem(src.Cloud, tgt.Cloud); err != nil {
			errs = append(errs, fmt.Errorf("source %s and target %s: %w", d.Source, d.Target, err))
		}
	}
	switch d.UserType {
	case "", "Guest", "Member":
	default:
		errs = append(errs, fmt.Errorf("userType %q is not Guest or Member", d.UserType))
	}
	// Empty takes the runbook's default, the target tenant's My Apps page.
	if u, err := url.Parse(d.InviteRedirectURL); d.InviteRedirectURL != "" && (err != nil || u.Scheme != "https") {
		errs = append(errs, errors.New("inviteRedirectUrl must be an https URL (for example https://myapps.microsoft.com), or left out for the target tenant's My Apps page"))
	}
	switch d.Deprovision.Action {
	case galsync.DeprovisionNone, galsync.DeprovisionDisable, galsync.DeprovisionDelete:
	default:
		errs = append(errs, fmt.Errorf("deprovision.action %q is not one of none, disable, delete", d.Deprovision.Action))
	}
	if th := d.Deprovision.Threshold; th.Count < 0 || th.Percent < 0 || th.Percent > 100 {
		errs = append(errs, errors.New("deprovision.threshold: count must be ≥ 0 and percent between 0 and 100"))
	}
	if _, err := syncplan.Compile(d, okS && okT && !galsync.SameEntraCloud(src.Cloud, tgt.Cloud)); err != nil {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = append(errs, j.Unwrap()...)
		} else {
			errs = append(errs, err)
		}
	}
	return errs
}
