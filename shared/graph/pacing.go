package graph

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	khttp "github.com/microsoft/kiota-http-go"

	"github.com/galsync/galsync/shared/pace"
)

// pacing keeps one tenant's calls within its budget (docs/pacing.md). It
// sits inside kiota's retry handler, so every attempt, retries included,
// waits for its tokens first and is charged.
//
// A 429 is waited out once, by everyone: pacing makes the tenant's buckets
// adopt its Retry-After, which holds every other worker of the tenant until
// then, while the retry handler holds the throttled request itself for the
// same Retry-After and then sends it back through pacing. Kiota reads
// Retry-After in whole seconds (kiota-http-go v1.5.4, getRetryDelay drops
// the fraction of "2.128"); pacing holds the retry for the rest.
type pacing struct {
	pacer  *pace.Pacer
	tenant *pace.Tenant
}

func (m pacing) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	cost, paced := requestCost(req.Method, req.URL)
	if !paced {
		return p.Next(req, i)
	}
	if err := m.tenant.Wait(req.Context(), cost); err != nil {
		return nil, err
	}
	resp, err := p.Next(req, i)
	if err != nil {
		return resp, err
	}
	m.observe(cost, resp.StatusCode, resp.Header.Get)
	return resp, nil
}

// observe applies what an answer to a request of cost c says of the
// budget; header reads its headers (a standalone answer's or a batch
// answer's).
func (m pacing) observe(c pace.Cost, status int, header func(string) string) {
	if status != http.StatusTooManyRequests {
		m.tenant.Observe(c, usage(header))
		return
	}
	wait, _ := retryAfter(header("Retry-After"), time.Now())
	buckets, appWide := throttledBuckets(header("x-ms-throttle-scope"), c)
	if appWide {
		m.pacer.ThrottledApp(buckets, wait)
		return
	}
	m.tenant.Throttled(buckets, c, wait)
}

// throttledBuckets maps a 429 to the buckets that adopt it. The identity
// service names the limit it hit in x-ms-throttle-scope,
// "<Scope>/<Limit>/<ApplicationId>/<TenantId>" with Scope Tenant_Application,
// Tenant or Application and Limit Read, Write or ReadWrite (throttling-limits,
// "Throttled responses requests"); without it, every bucket the request was
// charged to. An invitation is the invitation manager's own limit whatever
// the scope says.
func throttledBuckets(scopeHeader string, c pace.Cost) (b pace.Buckets, appWide bool) {
	if c.Invitations > 0 {
		return pace.InvitationBucket, false
	}
	parts := strings.Split(scopeHeader, "/")
	if len(parts) < 2 {
		return c.Buckets(), false
	}
	write := pace.WriteBucket
	switch {
	case strings.EqualFold(parts[0], "Tenant"):
		write = pace.TenantWriteBucket
	case strings.EqualFold(parts[0], "Application"):
		appWide = true
	case !strings.EqualFold(parts[0], "Tenant_Application"):
		return c.Buckets(), false
	}
	switch {
	case strings.EqualFold(parts[1], "Read"):
		return pace.ResourceUnitBucket, appWide
	case strings.EqualFold(parts[1], "Write"):
		return write, appWide
	case strings.EqualFold(parts[1], "ReadWrite"):
		return pace.ResourceUnitBucket | write, appWide
	}
	return c.Buckets(), false
}

// retryAfter reads a Retry-After: seconds, fractions allowed (Graph's
// sample answer has "Retry-After: 2.128", learn.microsoft.com/graph/throttling),
// or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s < 0 || s > 24*3600 {
			return 0, false
		}
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}

// usage reads the budget headers the identity service sends on answers
// that were not throttled (throttling-limits, "Regular responses
// requests"): x-ms-resource-unit, the resource units the request cost, and
// x-ms-throttle-limit-percentage, the share of the limit used, sent once
// past 0.8 and documented as 0.8 to 1.8 (a value above 2 is read as a
// percentage: 80 = 0.8).
func usage(header func(string) string) pace.Usage {
	var u pace.Usage
	if n, err := strconv.Atoi(strings.TrimSpace(header("x-ms-resource-unit"))); err == nil && n > 0 {
		u.ResourceUnits = n
	}
	if f, err := strconv.ParseFloat(strings.TrimSpace(header("x-ms-throttle-limit-percentage")), 64); err == nil && f > 0 {
		if f > 2 {
			f /= 100
		}
		u.LimitFraction = f
	}
	return u
}
