package sim

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// Throttling follows "Microsoft Graph service-specific throttling limits"
// (https://learn.microsoft.com/graph/throttling-limits): identity and
// access limits are token buckets per app+tenant pair (resource units per
// 10 s by tenant size, 3,000 writes per 2 min 30 s), per app across all
// tenants (150,000 resource units per 20 s, 35,000 writes per 5 min) and
// per tenant (18,000 writes per 5 min); the invitation manager allows 150
// requests per 5 s per tenant for all apps. "Only the requests exceeding
// the limits are throttled", so a throttled request costs nothing.
//
// Every identity answer carries x-ms-resource-unit ("the resource unit
// used for this request") and, once the app has used more than 0.8 of a
// limit, x-ms-throttle-limit-percentage; a 429 carries x-ms-throttle-scope
// (<Scope>/<Limit>/<ApplicationId>/<TenantId>), x-ms-throttle-information
// and Retry-After. Retry-After is whole seconds: Graph documents it as "the
// number of seconds" and HTTP's delay-seconds is an integer (RFC 9110
// 10.2.3), so under a ThrottleScale that refills a bucket in milliseconds
// it still says 1; a client paces finer from the percentage header.

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
	ru     bool   // charged in resource units, not requests
	app    bool   // across all tenants: kept by the server, not the tenant
}

// charge is what a request that passed cost, for its answer's headers.
type charge struct {
	resourceUnits float64
	usage         float64 // the fullest of the app's buckets, 0..1
	identity      bool
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

// baseCosts are the listed base costs of identity requests by kind (GET
// users 2, GET groups/{id}/members 3); anything else costs 1.
var baseCosts = map[string]float64{"users": 2, "members": 3}

// resourceUnitCost is a request's base cost, less 1 for $select and for
// $top under 20, plus 1 for $expand, never below 1.
func resourceUnitCost(r *http.Request, kind string) float64 {
	cost := 1.0
	if c, ok := baseCosts[kind]; ok && r.Method == http.MethodGet {
		cost = c
	}
	q := r.URL.Query()
	if q.Get("$select") != "" {
		cost--
	}
	if top, err := strconv.Atoi(q.Get("$top")); err == nil && top < 20 {
		cost--
	}
	if q.Get("$expand") != "" {
		cost++
	}
	return math.Max(cost, 1)
}

func (s *Server) limitsFor(r *http.Request, n *requestNote) []limit {
	if n.kind == "invitations" {
		return []limit{{key: "invitations", n: 150, window: 5 * time.Second, scope: "Tenant/Write", info: "WriteLimitExceeded"}}
	}
	t := n.tenant
	ls := []limit{
		{key: "ru|" + n.app, n: resourceUnitLimit(t.live), window: 10 * time.Second,
			scope: "Tenant_Application/ReadWrite", info: "ResourceUnitLimitExceeded", ru: true},
		{key: "ru|" + n.app, n: 150000, window: 20 * time.Second,
			scope: "Application/ReadWrite", info: "ResourceUnitLimitExceeded", ru: true, app: true},
	}
	if r.Method != http.MethodGet {
		ls = append(ls,
			limit{key: "write|" + n.app, n: 3000, window: 150 * time.Second, scope: "Tenant_Application/Write", info: "WriteLimitExceeded"},
			limit{key: "write|" + n.app, n: 35000, window: 5 * time.Minute, scope: "Application/Write", info: "WriteLimitExceeded", app: true},
			limit{key: "write", n: 18000, window: 5 * time.Minute, scope: "Tenant/Write", info: "WriteLimitExceeded"})
	}
	return ls
}

// throttle charges the request to its buckets, or answers 429 with the
// seconds until the fullest bucket has room. A tenant's ThrottleScale fault
// scales its own limits; the app-wide ones follow Options.ThrottleScale.
func (s *Server) throttle(r *http.Request, n *requestNote) (charge, *graphError) {
	t := n.tenant
	ch := charge{resourceUnits: resourceUnitCost(r, n.kind), identity: n.kind != "invitations"}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.faults.DisableThrottling {
		return ch, nil
	}
	scale := s.opts.ThrottleScale
	if t.faults.ThrottleScale > 0 {
		scale = t.faults.ThrottleScale
	}
	s.appBucketsMu.Lock()
	defer s.appBucketsMu.Unlock()
	now := s.now()
	ls := s.limitsFor(r, n)
	costs := make([]float64, len(ls))
	held := make([]*bucket, len(ls))
	caps := make([]float64, len(ls))
	var worst *limit
	wait := 0.0
	for i := range ls {
		l := &ls[i]
		costs[i] = 1
		if l.ru {
			costs[i] = ch.resourceUnits
		}
		buckets, sc := t.buckets, scale
		if l.app {
			buckets, sc = s.appBuckets, s.opts.ThrottleScale
		}
		b, rate, capacity := refill(buckets, l, sc, now)
		held[i], caps[i] = b, capacity
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
		return ch, e
	}
	for i := range ls {
		held[i].tokens -= costs[i]
		if ls[i].key != "write" && ls[i].key != "invitations" { // the app's own limits
			ch.usage = math.Max(ch.usage, 1-held[i].tokens/caps[i])
		}
	}
	return ch, nil
}

// refill brings a bucket up to date; a new bucket starts full. Scale
// shrinks both the limit and its window, keeping at least one token.
func refill(buckets map[string]*bucket, l *limit, scale float64, now time.Time) (*bucket, float64, float64) {
	capacity := math.Max(1, math.Round(l.n*scale))
	window := float64(l.window) * scale / float64(time.Second)
	rate := capacity / window
	b := buckets[l.key]
	if b == nil {
		b = &bucket{tokens: capacity, last: now}
		buckets[l.key] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(capacity, b.tokens+el*rate)
	}
	b.last = now
	return b, rate, capacity
}

// setChargeHeaders writes the headers of an identity answer that passed.
func setChargeHeaders(h http.Header, ch charge) {
	if !ch.identity {
		return
	}
	h.Set("x-ms-resource-unit", strconv.FormatFloat(ch.resourceUnits, 'f', 0, 64))
	if ch.usage > 0.8 {
		h.Set("x-ms-throttle-limit-percentage", strconv.FormatFloat(ch.usage, 'f', 2, 64))
	}
}
