package pace

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Microsoft Graph's identity and access limits, as "Microsoft Graph
// service-specific throttling limits" documents them
// (https://learn.microsoft.com/graph/throttling-limits, sections "Identity
// and access service limits" and "Invitation manager service limits"):
//
//	per application+tenant pair: S 3,500 / M 5,000 / L 8,000 resource units per 10 s,
//	                             3,000 writes per 2 min 30 s
//	per tenant, all apps:        18,000 writes per 5 min
//	invitation manager:          150 requests per 5 s per tenant, all apps
//
// "Throttling is based on a token bucket algorithm, which works by adding
// individual costs of requests": each limit is a bucket holding its N units
// and refilling at N per window. The per-application limits across all
// tenants (150,000 resource units per 20 s, 70,000 writes per 5 min) are not
// kept as buckets here: they bind only past a dozen target tenants writing
// at full speed, and a 429 scoped to the application is adopted by every
// tenant (Pacer.ThrottledApp).

// TenantSize is Graph's size class of a tenant, by its number of users; it
// sets the resource-unit limit.
type TenantSize string

const (
	Small  TenantSize = "S" // under 50 users
	Medium TenantSize = "M" // 50 to 500 users
	Large  TenantSize = "L" // above 500 users
)

// Limit is one documented limit: N units per Window.
type Limit struct {
	N      float64
	Window time.Duration
}

// Limits are one tenant's documented limits for one app.
type Limits struct {
	ResourceUnits Limit // per app per tenant, by tenant size
	Writes        Limit // per app per tenant
	TenantWrites  Limit // per tenant, all apps
	Invitations   Limit // per tenant, all apps
}

// Documented returns Graph's limits for a tenant of the given size; an
// unknown size is Small, the lowest.
func Documented(size TenantSize) Limits {
	ru := 3500.0
	switch size {
	case Medium:
		ru = 5000
	case Large:
		ru = 8000
	}
	return Limits{
		ResourceUnits: Limit{N: ru, Window: 10 * time.Second},
		Writes:        Limit{N: 3000, Window: 150 * time.Second},
		TenantWrites:  Limit{N: 18000, Window: 5 * time.Minute},
		Invitations:   Limit{N: 150, Window: 5 * time.Second},
	}
}

// MaxMargin is the largest margin a Budget may hold back.
const MaxMargin = 0.9

// Budget is how much of one tenant's documented limits this process uses.
type Budget struct {
	// Size picks the resource-unit limit; empty means Small.
	Size TenantSize
	// Scale multiplies every limit and its window alike, so the refill rate
	// stays and the burst shrinks: 1 (or 0) is Microsoft's numbers; a tenant
	// simulator's throttle scale for it.
	Scale float64
	// Margin is the share of each limit held back, 0 to MaxMargin: of its
	// refill rate, for what galsync cannot see (other apps), and of its
	// burst, because requests granted together reach Graph in another
	// order and a little apart, and a bucket that is full refills nothing:
	// with the whole burst granted at once, the first throttled sync of
	// 400 users in the simulator (scale 0.1, a burst of 15 invitations)
	// got one 429 within 50 ms, after the 15th invitation, in two runs of
	// three, and its Retry-After (whole seconds) cost 7% of the budget.
	Margin float64
	// Instances splits every bucket evenly among this many processes
	// (GALSYNC_MAX_INSTANCES); 0 means 1.
	Instances int
}

// Validate reports a budget that cannot be paced.
func (b Budget) Validate() error {
	var errs []error
	switch b.Size {
	case "", Small, Medium, Large:
	default:
		errs = append(errs, fmt.Errorf("size %q is not S, M or L", b.Size))
	}
	if b.Scale < 0 || b.Scale > 1 {
		errs = append(errs, fmt.Errorf("scale %v is not within (0, 1]", b.Scale))
	}
	if b.Margin < 0 || b.Margin > MaxMargin {
		errs = append(errs, fmt.Errorf("margin %v is not within [0, %v]", b.Margin, MaxMargin))
	}
	if b.Instances < 0 {
		errs = append(errs, fmt.Errorf("instances %d is negative", b.Instances))
	}
	return errors.Join(errs...)
}

// bucketSize is one bucket as this process keeps it: Capacity units,
// refilled at Rate units per second.
type bucketSize struct {
	Capacity float64
	Rate     float64
}

// size turns a documented limit into this process's share of it. Scaling
// follows the tenant simulator (sim/throttle.go): the scaled capacity is
// rounded and at least one unit, the window shrinks by the same factor.
func (b Budget) size(l Limit) bucketSize {
	scale, instances := b.Scale, float64(max(b.Instances, 1))
	if scale == 0 {
		scale = 1
	}
	capacity := max(1, math.Round(l.N*scale))
	window := l.Window.Seconds() * scale
	share := capacity / instances
	return bucketSize{
		Capacity: max(min(1, share), share*(1-b.Margin)),
		Rate:     capacity / window / instances * (1 - b.Margin),
	}
}
