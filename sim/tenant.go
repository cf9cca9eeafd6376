package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Tenant describes a simulated Entra tenant.
type Tenant struct {
	ID string `json:"id"`
	// Domain is the initial domain (contoso.onmicrosoft.com); guests get
	// userPrincipalNames in it.
	Domain string `json:"domain"`
	Users  int    `json:"users"`
}

// tenant is a directory with its change log, apps, faults and throttling
// state. mu guards everything in it.
type tenant struct {
	id, domain string

	mu      sync.RWMutex
	records []*userRecord          // creation order; a record's ord is its index
	byID    map[string]*userRecord // live users by lower-case id
	byUPN   map[string]*userRecord // live users by lower-case userPrincipalName
	live    int
	log     []change // ascending seq
	seq     uint64
	epoch   uint64 // bumped to invalidate every delta and skip token
	seeded  int
	apps    map[string]*app
	faults  Faults
	buckets map[string]*bucket
	fold    foldCache // has its own lock: filled while mu is only read-locked
	// groups in creation order, live ones by lower-case id, and their
	// change log (sequenced with the users' one).
	groups     []*groupRecord
	groupsByID map[string]*groupRecord
	glog       []groupChange
	// byAddress indexes live users by their addresses (addrindex.go).
	byAddress map[string]map[*userRecord]struct{}
	// reports are the direct reports of each manager, by lower-case id.
	reports map[string]map[*userRecord]struct{}
	// onChange tells the notifier of every user change, under mu.
	onChange func(userID, changeType string)
}

// userRecord is one user object, alive or deleted; deleted records stay so
// that delta can report them.
type userRecord struct {
	ord     int
	user    User
	extra   map[string]json.RawMessage
	deleted bool
	reason  string // @removed reason once deleted: "changed" (soft) or "deleted"
	// invitation redemption, when an invitation created or re-invited it
	ticket      string
	redirectURL string
	// visibleAt is when replication makes a just-written user visible to
	// Graph reads and writes; zero means it always was.
	visibleAt time.Time
	// manager is the id of the user's manager ("" for none).
	manager string
}

// visible reports whether Graph requests see the record at now.
func (r *userRecord) visible(now time.Time) bool {
	return !r.deleted && !now.Before(r.visibleAt)
}

// change is one entry of a tenant's change log, the state delta tokens
// point into.
type change struct {
	seq     uint64
	rec     *userRecord
	mask    propMask // modelled properties that changed
	created bool
	removed bool
	// prevManager is the manager before a change of it (mask has managerBit).
	prevManager string
}

// ErrNotFound is returned for an unknown tenant, app or user.
var ErrNotFound = errors.New("sim: not found")

// ErrConflict is returned when an id or userPrincipalName is taken.
var ErrConflict = errors.New("sim: conflict")

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// CreateTenant adds a tenant with a GUID id and an initial domain.
func (s *Server) CreateTenant(id, domain string) (Tenant, error) {
	if !guidPattern.MatchString(id) {
		return Tenant{}, fmt.Errorf("sim: create tenant: id %q is not a GUID", id)
	}
	if domain == "" || strings.ContainsAny(domain, "@/ ") || !strings.Contains(domain, ".") {
		return Tenant{}, fmt.Errorf("sim: create tenant: domain %q is not a domain name", domain)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	idKey, domKey := strings.ToLower(id), strings.ToLower(domain)
	if s.tenants[idKey] != nil || s.tenants[domKey] != nil {
		return Tenant{}, fmt.Errorf("sim: create tenant %s: %w", id, ErrConflict)
	}
	t := &tenant{
		id: idKey, domain: domKey,
		byID: map[string]*userRecord{}, byUPN: map[string]*userRecord{}, groupsByID: map[string]*groupRecord{},
		reports: map[string]map[*userRecord]struct{}{}, byAddress: map[string]map[*userRecord]struct{}{},
		apps: map[string]*app{}, buckets: map[string]*bucket{},
	}
	t.onChange = func(userID, changeType string) { s.notif.userChanged(idKey, userID, changeType) }
	s.tenants[idKey], s.tenants[domKey] = t, t
	s.order = append(s.order, t)
	return t.info(), nil
}

// Tenants lists the tenants in creation order.
func (s *Server) Tenants() []Tenant {
	s.mu.RLock()
	order := s.order
	s.mu.RUnlock()
	out := make([]Tenant, 0, len(order))
	for _, t := range order {
		out = append(out, t.info())
	}
	return out
}

func (t *tenant) info() Tenant {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return Tenant{ID: t.id, Domain: t.domain, Users: t.live}
}

// tenant finds a tenant by id or initial domain, as Entra accepts either
// in sign-in URLs.
func (s *Server) tenant(idOrDomain string) (*tenant, error) {
	s.mu.RLock()
	t := s.tenants[strings.ToLower(idOrDomain)]
	s.mu.RUnlock()
	if t == nil {
		return nil, fmt.Errorf("sim: tenant %s: %w", idOrDomain, ErrNotFound)
	}
	return t, nil
}

func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	default:
		return http.StatusBadRequest
	}
}
