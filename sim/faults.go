package sim

import (
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Faults is what a tenant does besides answering correctly. The zero value
// is Graph as documented: throttled at Microsoft's limits, nothing else.
type Faults struct {
	// DisableThrottling turns the documented limits off.
	DisableThrottling bool `json:"disableThrottling,omitempty"`
	// ThrottleScale overrides Options.ThrottleScale for this tenant (0 keeps it).
	ThrottleScale float64 `json:"throttleScale,omitempty"`
	// ErrorRate is the fraction of requests answered 503 with Retry-After.
	ErrorRate float64 `json:"errorRate,omitempty"`
	// LatencyMS delays every request by this many milliseconds.
	LatencyMS int `json:"latencyMs,omitempty"`
	// DropRate is the fraction of requests whose connection is closed
	// without an answer.
	DropRate float64 `json:"dropRate,omitempty"`
	// Kinds limits ErrorRate, LatencyMS and DropRate to these request
	// kinds: openid, token, delta, users (list), user (get), patch, delete,
	// invitations, subscriptions, batch (the envelope; its requests count
	// as their own kinds), manager, groups (list, create), group (get,
	// update, delete), members (list), member (add, remove), groupdelta.
	// Empty means every kind.
	Kinds []string `json:"kinds,omitempty"`
	// RepeatDeltaUsers makes every users/delta page after the first start
	// with the last user of the page before, which Graph says can happen
	// ("a single entity will be contained multiple times in the response").
	RepeatDeltaUsers bool `json:"repeatDeltaUsers,omitempty"`
}

// requestKinds are the kinds faults can target; the request log uses the
// same names (plus "redeem", "other", and the simulator's own deliveries:
// "validation", "notification" and "lifecycle").
var requestKinds = []string{"openid", "token", "delta", "users", "user", "patch", "delete", "invitations", "subscriptions", "batch",
	"manager", "groups", "group", "members", "member", "groupdelta"}

func (f Faults) validate() error {
	rate := func(v float64) bool { return v >= 0 && v <= 1 }
	if !rate(f.ErrorRate) || !rate(f.DropRate) || f.LatencyMS < 0 || f.ThrottleScale < 0 {
		return fmt.Errorf("sim: faults: rates must be within 0..1, latency and scale not negative")
	}
	for _, k := range f.Kinds {
		if !slices.Contains(requestKinds, k) {
			return fmt.Errorf("sim: faults: kind %q is not one of %v", k, requestKinds)
		}
	}
	return nil
}

// SetFaults replaces a tenant's faults. Throttling state starts afresh.
func (s *Server) SetFaults(tenantID string, f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	t, err := s.tenant(tenantID)
	if err != nil {
		return err
	}
	f.Kinds = slices.Clone(f.Kinds)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.faults = f
	t.buckets = map[string]*bucket{}
	return nil
}

// CurrentFaults returns a tenant's faults.
func (s *Server) CurrentFaults(tenantID string) (Faults, error) {
	t, err := s.tenant(tenantID)
	if err != nil {
		return Faults{}, err
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	f := t.faults
	f.Kinds = slices.Clone(f.Kinds)
	return f, nil
}

// injectFault applies latency, then a dropped connection or a 503. It
// reports whether the request has been answered (or abandoned).
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request, n *requestNote) bool {
	n.tenant.mu.RLock()
	f := n.tenant.faults
	n.tenant.mu.RUnlock()
	if len(f.Kinds) > 0 && !slices.Contains(f.Kinds, n.kind) {
		return false
	}
	if f.LatencyMS > 0 {
		sleepCtx(r.Context(), time.Duration(f.LatencyMS)*time.Millisecond)
	}
	// A batch's own requests cannot lose the connection: only the batch.
	if !inBatch(r) && s.chance.hit(f.DropRate) {
		n.fault = "dropped"
		dropConnection(w)
		return true
	}
	if s.chance.hit(f.ErrorRate) {
		n.fault = "error"
		// graph/errors: 503 serviceNotAvailable, "You may repeat the request
		// after a delay, the length of which may be specified in a
		// Retry-After header."
		e := newGraphError(http.StatusServiceUnavailable, "serviceNotAvailable",
			"The service is temporarily unavailable for maintenance or is overloaded. Retry after a delay.")
		e.retryAfter = 1
		s.writeGraphError(w, r, e)
		return true
	}
	return false
}

// dropConnection closes the TCP connection without an answer. The client
// sees an EOF or a reset, as from a crashed front end.
func dropConnection(w http.ResponseWriter) {
	h, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // net/http's sanctioned way to abort a response
	}
	conn, _, err := h.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}
