package sim

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Request is one recorded request. Bodies are kept for writes only (with
// secrets removed from token requests); GET answers are summarised by the
// number of items they returned.
type Request struct {
	Seq    int64           `json:"seq"`
	Time   time.Time       `json:"time"`
	Tenant string          `json:"tenant,omitempty"`
	App    string          `json:"app,omitempty"`
	Kind   string          `json:"kind"`
	Method string          `json:"method"`
	Path   string          `json:"path"`
	Query  string          `json:"query,omitempty"`
	Status int             `json:"status"` // 0 when the connection was dropped
	Items  int             `json:"items,omitempty"`
	Fault  string          `json:"fault,omitempty"` // throttled, error, dropped
	Body   json.RawMessage `json:"body,omitempty"`
}

// Stats counts requests since the last reset.
type Stats struct {
	// Requests counts by "METHOD kind", e.g. "GET delta".
	Requests map[string]int `json:"requests"`
	// Statuses counts by status code ("0" is a dropped connection).
	Statuses map[string]int `json:"statuses"`
	// Faults counts injected faults and throttled requests by kind of fault.
	Faults map[string]int `json:"faults"`
}

type requestLog struct {
	mu      sync.Mutex
	max     int
	next    int64
	entries []Request
	stats   map[string]*Stats // by tenant id
}

func newRequestLog(max int) *requestLog {
	return &requestLog{max: max, stats: map[string]*Stats{}}
}

func newStats() *Stats {
	return &Stats{Requests: map[string]int{}, Statuses: map[string]int{}, Faults: map[string]int{}}
}

func (s *Server) record(at time.Time, r *http.Request, n *requestNote, status int) {
	req := Request{
		Time: at, App: n.app, Kind: n.kind, Method: r.Method, Path: r.URL.Path,
		Query: r.URL.RawQuery, Status: status, Items: n.items, Fault: n.fault, Body: n.body,
	}
	if n.tenant != nil {
		req.Tenant = n.tenant.id
	}
	s.requests.add(req)
}

// add appends a request to the log and counts it.
func (l *requestLog) add(req Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.next++
	req.Seq = l.next
	l.entries = append(l.entries, req)
	if len(l.entries) > l.max+l.max/10 { // trim in batches, not on every request
		l.entries = append([]Request(nil), l.entries[len(l.entries)-l.max:]...)
	}
	st := l.stats[req.Tenant]
	if st == nil {
		st = newStats()
		l.stats[req.Tenant] = st
	}
	st.Requests[req.Method+" "+req.Kind]++
	st.Statuses[strconv.Itoa(req.Status)]++
	if req.Fault != "" {
		st.Faults[req.Fault]++
	}
}

// RequestFilter selects recorded requests; zero fields select everything.
type RequestFilter struct {
	Tenant   string
	Kind     string
	AfterSeq int64
	Since    time.Time
}

// Requests returns a tenant's recorded requests, oldest first ("" for all
// tenants).
func (s *Server) Requests(tenantID string) []Request {
	return s.FindRequests(RequestFilter{Tenant: tenantID})
}

// FindRequests returns the recorded requests a filter selects.
func (s *Server) FindRequests(f RequestFilter) []Request {
	tenantID := s.canonicalTenant(f.Tenant)
	l := s.requests
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Request
	for _, r := range l.entries {
		if tenantID != "" && r.Tenant != tenantID || f.Kind != "" && r.Kind != f.Kind ||
			r.Seq <= f.AfterSeq || r.Time.Before(f.Since) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// ResetRequests empties the request log and the statistics.
func (s *Server) ResetRequests() {
	l := s.requests
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = nil
	l.stats = map[string]*Stats{}
}

// Stats returns the counts for one tenant, or for all with "".
func (s *Server) Stats(tenantID string) Stats {
	tenantID = s.canonicalTenant(tenantID)
	l := s.requests
	l.mu.Lock()
	defer l.mu.Unlock()
	out := newStats()
	for id, st := range l.stats {
		if tenantID != "" && id != tenantID {
			continue
		}
		for k, v := range st.Requests {
			out.Requests[k] += v
		}
		for k, v := range st.Statuses {
			out.Statuses[k] += v
		}
		for k, v := range st.Faults {
			out.Faults[k] += v
		}
	}
	return *out
}

// canonicalTenant maps a domain to its tenant id, so filters take either.
func (s *Server) canonicalTenant(idOrDomain string) string {
	if idOrDomain == "" {
		return ""
	}
	if t, err := s.tenant(idOrDomain); err == nil {
		return t.id
	}
	return idOrDomain
}
