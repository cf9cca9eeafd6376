package sim

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Throttling follows "Microsoft Graph service-specific throttling limits"
// (graph/throttling-limits): identity and access limits are token buckets
// per app+tenant pair (resource units per 10 s by tenant size, 3,000 writes
// per 2 min 30 s) and per tenant (18,000 writes per 5 min); the invitation
// manager allows 150 requests per 5 s per tenant for all apps. Only the
// requests over a limit are throttled, so a throttled request costs nothing.

type bucket struct {
	tokens float64
	last   time.Time
}

type limit struct {
	key    string
	n      float64
	window time.Duration
	scope  string // x-ms-throttle-scope prefix
	info   string // x-ms-throttle-information
}

// resourceUnitLimit is the app+tenant read quota by tenant size: S under 50
// users, M 50 to 500, L above 500.
func resourceUnitLimit(users int) float64 {
	switch {
	case users < 50:
		return 3500
	case users <= 500:
		return 5000
	default:
		return 8000
	}
}

// resourceUnitCost is a request's base cost (GET users costs 2, any other
// identity path 1), less 1 for $select and for $top under 20, never below 1.
func resourceUnitCost(r *http.Request, kind string) float64 {
	cost := 1.0
	if kind == "users" {
		cost = 2
	}
	q := r.URL.Query()
	if q.Get("$select") != "" {
		cost--
	}
	if top, err := strconv.Atoi(q.Get("$top")); err == nil && top < 20 {
		cost--
	}
	return math.Max(cost, 1)
}

func (s *Server) limitsFor(r *http.Request, n *requestNote) []limit {
	if n.kind == "invitations" {
		return []limit{{key: "invitations", n: 150, window: 5 * time.Second, scope: "Tenant/Write", info: "WriteLimitExceeded"}}
	}
	t := n.tenant
	ls := []limit{{key: "ru|" + n.app, n: resourceUnitLimit(t.live), window: 10 * time.Second,
		scope: "Tenant_Application/Read", info: "ResourceUnitLimitExceeded"}}
	if r.Method != http.MethodGet {
		ls = append(ls,
			limit{key: "write|" + n.app, n: 3000, window: 150 * time.Second, scope: "Tenant_Application/Write", info: "WriteLimitExceeded"},
			limit{key: "write", n: 18000, window: 5 * time.Minute, scope: "Tenant/Write", info: "WriteLimitExceeded"})
	}
	return ls
}

// throttle charges the request to its buckets, or answers 429 with the
// seconds until the fullest bucket has room.
func (s *Server) throttle(r *http.Request, n *requestNote) *graphError {
	t := n.tenant
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.faults.DisableThrottling {
		return nil
	}
	scale := s.opts.ThrottleScale
	if t.faults.ThrottleScale > 0 {
		scale = t.faults.ThrottleScale
	}
	now := s.now()
	ls := s.limitsFor(r, n)
	costs := make([]float64, len(ls))
	var worst *limit
	wait := 0.0
	for i := range ls {
		l := &ls[i]
		costs[i] = 1
		if strings.HasPrefix(l.key, "ru|") {
			costs[i] = resourceUnitCost(r, n.kind)
		}
		b, rate := t.refill(l, scale, now)
		if b.tokens < costs[i] {
			if w := (costs[i] - b.tokens) / rate; worst == nil || w > wait {
				worst, wait = l, w
			}
		}
	}
	if worst != nil {
		e := newGraphError(http.StatusTooManyRequests, "TooManyRequests",
			"Too many requests. Retry after the number of seconds in the Retry-After header.")
		e.retryAfter = max(1, int(math.Ceil(wait)))
		e.headers = map[string]string{
			"x-ms-throttle-scope":       worst.scope + "/" + n.app + "/" + t.id,
			"x-ms-throttle-information": worst.info,
		}
		return e
	}
	for i := range ls {
		t.buckets[ls[i].key].tokens -= costs[i]
	}
	return nil
}

// refill brings a bucket up to date; a new bucket starts full. Scale
// shrinks both the limit and its window, keeping at least one token.
func (t *tenant) refill(l *limit, scale float64, now time.Time) (*bucket, float64) {
	capacity := math.Max(1, math.Round(l.n*scale))
	window := float64(l.window) * scale / float64(time.Second)
	rate := capacity / window
	b := t.buckets[l.key]
	if b == nil {
		b = &bucket{tokens: capacity, last: now}
		t.buckets[l.key] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(capacity, b.tokens+el*rate)
	}
	b.last = now
	return b, rate
}
