// Package pace keeps galsync's Microsoft Graph calls within the budgets
// Graph documents, per tenant and app, so that throttling is planned for
// rather than bounced off (docs/pacing.md).
//
// A Pacer holds one Tenant per configured tenant; every worker of the
// process calling that tenant shares it. Before a request is sent, Wait
// takes its Cost from the tenant's token buckets, waiting for them to
// refill if need be. After the answer, Throttled makes the buckets adopt a
// 429's Retry-After, so every worker waits for it, not only the one that
// got it; Observe reads what Graph reports of the budget (the resource
// units a request actually cost, the share of the limit used).
//
// Time comes from the time package. Tests run in a testing/synctest
// bubble, whose clock is fake and moves only when every goroutine in it is
// blocked, so they are deterministic.
package pace

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Cost is what one request takes from its tenant's budget.
type Cost struct {
	// ResourceUnits per Graph's cost table (GET users 2, most requests 1).
	ResourceUnits int
	// Writes counts against the per app per tenant and per tenant write
	// limits (POST, PATCH, PUT and DELETE on identity paths).
	Writes int
	// Invitations counts against the invitation manager's limit.
	Invitations int
}

// Zero reports a request the budget does not cover.
func (c Cost) Zero() bool { return c.ResourceUnits <= 0 && c.Writes <= 0 && c.Invitations <= 0 }

// Buckets names a set of a tenant's buckets.
type Buckets uint8

const (
	ResourceUnitBucket Buckets = 1 << iota
	WriteBucket                // per app per tenant
	TenantWriteBucket          // per tenant, all apps
	InvitationBucket
)

// Bucket indexes, in the order of the Buckets bits.
const (
	resourceUnitIndex = iota
	writeIndex
	tenantWriteIndex
	invitationIndex
	bucketCount
)

// Buckets are the buckets c is charged to.
func (c Cost) Buckets() Buckets {
	var b Buckets
	if c.ResourceUnits > 0 {
		b |= ResourceUnitBucket
	}
	if c.Writes > 0 {
		b |= WriteBucket | TenantWriteBucket
	}
	if c.Invitations > 0 {
		b |= InvitationBucket
	}
	return b
}

// units is c's charge to bucket i.
func (c Cost) units(i int) float64 {
	switch i {
	case resourceUnitIndex:
		return float64(c.ResourceUnits)
	case writeIndex, tenantWriteIndex:
		return float64(c.Writes)
	default:
		return float64(c.Invitations)
	}
}

// primary is the index of the app limit c is bound by.
func (c Cost) primary() int {
	switch {
	case c.Invitations > 0:
		return invitationIndex
	case c.Writes > 0:
		return writeIndex
	default:
		return resourceUnitIndex
	}
}

// Options configure a Pacer.
type Options struct {
	// MaxWait bounds one Wait: a request that would wait longer fails at
	// once with a *WaitError naming the wait, so its caller can put the
	// work off and take other work (other tenants) meanwhile. Zero waits
	// as long as the context allows.
	MaxWait time.Duration
	// MaxWaiters bounds how many requests wait for one tenant's budget at
	// once; one more is refused at once with a *WaitError, as if it had
	// to wait past MaxWait. Waiters beyond the few that keep the budget
	// busy add no throughput: they hold workers other tenants could use.
	// Zero: no bound.
	MaxWaiters int
}

// Pacer holds the budgets of every configured tenant. It is safe for
// concurrent use.
type Pacer struct {
	tenants map[string]*Tenant
}

// New builds a pacer with one budget per tenant name.
func New(budgets map[string]Budget, opts Options) (*Pacer, error) {
	names := make([]string, 0, len(budgets))
	for name := range budgets {
		names = append(names, name)
	}
	sort.Strings(names)
	p := &Pacer{tenants: make(map[string]*Tenant, len(budgets))}
	var errs []error
	for _, name := range names {
		b := budgets[name]
		if err := b.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("pace: tenant %s: %w", name, err))
			continue
		}
		p.tenants[name] = newTenant(name, b, opts)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

// Tenants lists the tenants the pacer keeps budgets for, by name.
func (p *Pacer) Tenants() []string {
	if p == nil {
		return nil
	}
	names := make([]string, 0, len(p.tenants))
	for n := range p.tenants {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Tenant is the named tenant's budget, or nil if it has none (its calls
// are not paced).
func (p *Pacer) Tenant(name string) *Tenant {
	if p == nil {
		return nil
	}
	return p.tenants[name]
}

// ThrottledApp adopts a 429 whose scope is the application across all
// tenants: every tenant's buckets b wait for it.
func (p *Pacer) ThrottledApp(b Buckets, retryAfter time.Duration) {
	if p == nil {
		return
	}
	for _, t := range p.tenants {
		t.Throttled(b, Cost{}, retryAfter)
	}
}

// WaitError is a Wait refused because the budget would make it wait longer
// than Options.MaxWait.
type WaitError struct {
	Tenant string
	Wait   time.Duration
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("pace: tenant %s: Graph's budget allows this request in %s", e.Tenant, e.Wait.Round(time.Millisecond))
}

// RetryAfter is how long the caller should put the work off.
func (e *WaitError) RetryAfter() time.Duration { return e.Wait }

// ctxWait waits d unless ctx ends first.
func ctxWait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
