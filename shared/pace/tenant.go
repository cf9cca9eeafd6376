package pace

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Tenant is one tenant's budget, shared by every worker of the process.
type Tenant struct {
	name       string
	maxWait    time.Duration
	maxWaiters int

	mu      sync.Mutex
	buckets [bucketCount]bucket
	lines   [bucketCount][]*waiter // Wait's lines, by the limit that binds
	// deferred is, per line, when the last request refused by MaxWait was
	// told to come back.
	deferred [bucketCount]time.Time
	stats    Stats
}

// Stats count what a tenant's pacing did.
type Stats struct {
	Requests  int           // granted by Wait
	Waited    time.Duration // summed over the requests that waited
	Throttled int           // 429s adopted
}

func newTenant(name string, b Budget, opts Options) *Tenant {
	l := Documented(b.Size)
	t := &Tenant{name: name, maxWait: opts.MaxWait, maxWaiters: opts.MaxWaiters}
	t.buckets[resourceUnitIndex] = newBucket(b.size(l.ResourceUnits))
	t.buckets[writeIndex] = newBucket(b.size(l.Writes))
	t.buckets[tenantWriteIndex] = newBucket(b.size(l.TenantWrites))
	t.buckets[invitationIndex] = newBucket(b.size(l.Invitations))
	return t
}

// Name is the tenant's name.
func (t *Tenant) Name() string { return t.name }

// Wait blocks until every bucket c is charged to holds its units, then
// takes them. It fails when ctx ends first, or with a *WaitError when the
// wait would be longer than the pacer's MaxWait. A nil Tenant paces
// nothing.
//
// Waiters are served first come, first served, in one line per limit that
// binds them (Cost.primary: invitations, writes, reads), so a read does
// not wait behind writes, and no worker loses the race for each refill to
// newcomers until its MaxWait runs out. A request joining a line learns
// at once how long the requests ahead of it will take: when that is more
// than MaxWait, or MaxWaiters requests wait for the tenant already, it
// fails with that wait without joining, so its caller puts the work off
// for as long and takes other work (other tenants) meanwhile.
func (t *Tenant) Wait(ctx context.Context, c Cost) error {
	if t == nil || c.Zero() {
		return nil
	}
	line := c.primary()
	t.mu.Lock()
	// A request that would not wait at all (d == 0) holds no worker, so
	// MaxWaiters does not refuse it.
	if d := t.expectedWait(line, c); (t.maxWait > 0 && d > t.maxWait) || (t.maxWaiters > 0 && d > 0 && t.waiters() >= t.maxWaiters) {
		d = t.putOff(line, c, d)
		t.mu.Unlock()
		return &WaitError{Tenant: t.name, Wait: d}
	}
	w := &waiter{units: c.units(line), turn: make(chan struct{})}
	t.join(line, w)
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		t.leave(line, w)
		t.mu.Unlock()
	}()

	start := time.Now()
	select {
	case <-w.turn:
	case <-ctx.Done():
		return fmt.Errorf("pace: tenant %s: waiting for Graph's budget: %w", t.name, context.Cause(ctx))
	}
	for {
		t.mu.Lock()
		now := time.Now()
		at := now
		for i := range t.buckets {
			if e := t.buckets[i].earliest(now, c.units(i)); e.After(at) {
				at = e
			}
		}
		if !at.After(now) {
			for i := range t.buckets {
				t.buckets[i].take(now, c.units(i))
			}
			t.stats.Requests++
			t.stats.Waited += now.Sub(start)
			t.mu.Unlock()
			return nil
		}
		// Nothing is reserved while waiting: a 429 adopted meanwhile
		// (Throttled) moves the instant, and the loop sees it. A request
		// it pushes past MaxWait is told the wait left from now (not the
		// time it already waited on top), put off like one refused on
		// joining, so the line comes back spread over the refill.
		d := at.Sub(now)
		if waited := now.Sub(start); t.maxWait > 0 && waited+d > t.maxWait {
			d = t.putOff(line, c, d)
			t.mu.Unlock()
			return &WaitError{Tenant: t.name, Wait: d}
		}
		t.mu.Unlock()
		if err := ctxWait(ctx, d); err != nil {
			return fmt.Errorf("pace: tenant %s: waiting for Graph's budget: %w", t.name, err)
		}
	}
}

// putOff is when a request refused with an expected wait of d should come
// back: after the line ahead of it, and after the requests put off before
// it, each the refill of its units later, so that work put off comes back
// spread over the refill instead of all at once (to be put off again).
// t.mu is held.
func (t *Tenant) putOff(line int, c Cost, d time.Duration) time.Duration {
	now := time.Now()
	at := now.Add(d)
	if next := t.deferred[line].Add(t.buckets[line].units(c.units(line))); next.After(at) {
		at = next
	}
	t.deferred[line] = at
	return at.Sub(now)
}

// waiter is one request in a line.
type waiter struct {
	units float64       // its charge to the line's bucket
	turn  chan struct{} // closed when it is first in line
}

// expectedWait is how long a request of cost c joining line now would
// wait: until its line's bucket has refilled for everyone ahead of it and
// for c, and every other bucket of c holds its units. t.mu is held.
func (t *Tenant) expectedWait(line int, c Cost) time.Duration {
	now := time.Now()
	ahead := 0.0
	for _, w := range t.lines[line] {
		ahead += w.units
	}
	at := now
	for i := range t.buckets {
		units := c.units(i)
		if i == line {
			units += ahead
		}
		if e := t.buckets[i].earliest(now, units); e.After(at) {
			at = e
		}
	}
	return at.Sub(now)
}

// waiters counts the requests waiting in the tenant's lines. t.mu is held.
func (t *Tenant) waiters() int {
	n := 0
	for _, l := range t.lines {
		n += len(l)
	}
	return n
}

// join puts w at the end of line; first in line, it has its turn at once.
// t.mu is held.
func (t *Tenant) join(line int, w *waiter) {
	t.lines[line] = append(t.lines[line], w)
	if len(t.lines[line]) == 1 {
		close(w.turn)
	}
}

// leave takes w out of line (granted, refused or given up) and gives the
// next its turn. t.mu is held.
func (t *Tenant) leave(line int, w *waiter) {
	l := t.lines[line]
	i := slices.Index(l, w)
	if i < 0 {
		return
	}
	t.lines[line] = slices.Delete(l, i, i+1)
	if i == 0 && len(t.lines[line]) > 0 {
		close(t.lines[line][0].turn)
	}
}

// Throttled adopts a 429: Graph will take no more of buckets b until
// retryAfter has passed, and then has room for the throttled request
// (cost) only, so the buckets refill from there at their steady rate.
// Every worker waiting on them waits for it. Without a Retry-After
// (retryAfter ≤ 0) the buckets are emptied now.
func (t *Tenant) Throttled(b Buckets, cost Cost, retryAfter time.Duration) {
	if t == nil || b == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	t.stats.Throttled++
	for i := range t.buckets {
		if b&(Buckets(1)<<i) == 0 {
			continue
		}
		if retryAfter <= 0 {
			t.buckets[i].leaveAt(now, 0)
			continue
		}
		t.buckets[i].leaveAt(now.Add(retryAfter), max(1, cost.units(i)))
	}
}

// Usage is what an answer said of the budget; zero fields were absent.
type Usage struct {
	// ResourceUnits the request actually cost (x-ms-resource-unit).
	ResourceUnits int
	// LimitFraction is the share of its limit the app has used, sent by
	// Graph once past 0.8 (x-ms-throttle-limit-percentage, 0.8 to 1.8).
	LimitFraction float64
}

// Observe corrects the buckets a request of cost c was charged to by what
// its answer reported: the resource units it really cost, and, past 80%
// of a limit, how much of it the app has used, which counts what this
// process cannot see (other instances, another caller of the app). The
// documentation says "the application consumed more than 0.8 of its
// limit": that is taken as the app's limit the request is bound by, the
// write limit for a write, the invitation limit for an invitation and the
// resource units otherwise (the per-tenant limit of all apps is learnt
// from a 429 scoped to it).
func (t *Tenant) Observe(c Cost, u Usage) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if u.ResourceUnits > 0 && c.ResourceUnits > 0 && u.ResourceUnits != c.ResourceUnits {
		t.buckets[resourceUnitIndex].adjust(float64(u.ResourceUnits - c.ResourceUnits))
	}
	if u.LimitFraction <= 0 {
		return
	}
	b := &t.buckets[c.primary()]
	b.leaveAt(time.Now(), b.capacity*(1-u.LimitFraction))
}

// Stats returns the tenant's counters.
func (t *Tenant) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stats
}

// bucketNames name the buckets in the budget-use metric.
var bucketNames = [bucketCount]string{"resource_units", "writes", "tenant_writes", "invitations"}

// Utilization reports, by bucket, the share of the tenant's budget spoken
// for at now: 0 when a bucket is full, 1 when it is empty, above 1 while
// it owes a debt (a cost larger than it holds).
func (t *Tenant) Utilization(now time.Time) map[string]float64 {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]float64, bucketCount)
	for i := range t.buckets {
		b := &t.buckets[i]
		span := b.units(b.capacity)
		if span <= 0 {
			continue
		}
		out[bucketNames[i]] = float64(max(0, b.full.Sub(now))) / float64(span)
	}
	return out
}
