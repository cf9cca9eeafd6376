package graph

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/pace"
	"github.com/galsync/galsync/sim"
)

// The pacing benchmarks write to the tenant simulator, which applies
// Graph's documented identity limits (sim/throttle.go) scaled by benchScale:
// per tenant, 300 writes at once, then 20 per second. Each prints, per
// target tenant, the 429 answers as a share of the writes and the budget
// used: the least time the write limit allows for the writes (its bucket
// starting full) divided by the time they took.

const (
	benchScale   = 0.1
	benchUsers   = 400
	benchWriters = 16
)

// benchTenant is one tenant of the benchmark's simulator.
type benchTenant struct {
	name, id string
	users    []string // ids
}

// benchSim starts a simulator with n tenants of benchUsers users each and
// returns it with a Graph endpoint per tenant.
func benchSim(b *testing.B, n int) (*sim.Server, []benchTenant, map[string]Endpoint) {
	b.Helper()
	s, base := startSim(b, sim.Options{ThrottleScale: benchScale, Logger: slog.New(slog.DiscardHandler)})
	var tenants []benchTenant
	endpoints := map[string]Endpoint{}
	for i := range n {
		tn := benchTenant{name: fmt.Sprintf("target%d", i), id: fmt.Sprintf("7a0e0000-0000-4000-8000-%012d", i)}
		endpoints[tn.name] = simEndpoint(b, s, base, tn.id, tn.name+".onmicrosoft.com",
			fmt.Sprintf("c1e47000-0000-4000-8000-%012d", i), fmt.Sprintf("secret-%d", i))
		users, err := s.SeedUsers(tn.id, sim.SeedSpec{Count: benchUsers, Seed: uint64(i + 1)})
		if err != nil {
			b.Fatal(err)
		}
		for _, u := range users {
			tn.users = append(tn.users, u.ID)
		}
		tenants = append(tenants, tn)
	}
	return s, tenants, endpoints
}

// statusCounter counts the PATCH answers per tenant id, below the retry
// handler, so every attempt is seen.
type statusCounter struct {
	next http.RoundTripper
	mu   sync.Mutex
	n    map[string]map[int]int // tenant id → status → count
}

func (c *statusCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err != nil || req.Method != http.MethodPatch {
		return resp, err
	}
	// /graph/{tenant}/v1.0/users/{id}
	parts := strings.Split(req.URL.Path, "/")
	if len(parts) < 3 {
		return resp, err
	}
	c.mu.Lock()
	if c.n[parts[2]] == nil {
		c.n[parts[2]] = map[int]int{}
	}
	c.n[parts[2]][resp.StatusCode]++
	c.mu.Unlock()
	return resp, err
}

// writeRun is one tenant's figures.
type writeRun struct {
	writes, throttled, failed int
	took                      time.Duration
}

func (r writeRun) throttledShare() float64 { return float64(r.throttled) / float64(max(r.writes, 1)) }

// budgetUsed is the least time the documented write limits, scaled, allow
// for r.writes (each bucket starting full), over the time they took.
func (r writeRun) budgetUsed() float64 {
	least := 0.0
	for _, l := range []pace.Limit{pace.Documented(pace.Small).Writes, pace.Documented(pace.Small).TenantWrites} {
		capacity := math.Round(l.N * benchScale)
		rate := l.N / l.Window.Seconds()
		least = max(least, (float64(r.writes)-capacity)/rate)
	}
	return least / r.took.Seconds()
}

// runWrites has benchWriters goroutines PATCH every user of every tenant
// once, the tenants' users interleaved as a shared queue would hold them.
func runWrites(b *testing.B, s *sim.Server, tenants []benchTenant, endpoints map[string]Endpoint, paced bool, round int) map[string]writeRun {
	b.Helper()
	ctx := testContext(b)
	counter := &statusCounter{next: s.Client().Transport, n: map[string]map[int]int{}}
	opts := Options{HTTPClient: &http.Client{Transport: counter, Timeout: time.Minute}}
	if paced {
		budgets := map[string]pace.Budget{}
		for _, tn := range tenants {
			budgets[tn.name] = pace.Budget{Scale: benchScale, Margin: 0.05}
		}
		p, err := pace.New(budgets, pace.Options{})
		if err != nil {
			b.Fatal(err)
		}
		opts.Pacer = p
	}
	c, err := New(endpoints, opts)
	if err != nil {
		b.Fatal(err)
	}
	type item struct{ tenant, user string }
	var items []item
	for i := range benchUsers {
		for _, tn := range tenants {
			// Fresh buckets in the simulator, and a token for each tenant
			// before the clock starts (a read: no write is spent).
			if i == 0 {
				if err := s.SetFaults(tn.id, faultsOf(s, tn.id)); err != nil {
					b.Fatal(err)
				}
				if _, err := c.GetUser(ctx, tn.name, tn.users[0], nil); err != nil {
					b.Fatal(err)
				}
			}
			items = append(items, item{tn.name, tn.users[i]})
		}
	}
	var (
		mu       sync.Mutex
		next     int
		finished = map[string]time.Time{}
		failed   = map[string]int{}
		wg       sync.WaitGroup
	)
	start := time.Now()
	for range benchWriters {
		wg.Go(func() {
			for {
				mu.Lock()
				if next == len(items) {
					mu.Unlock()
					return
				}
				it := items[next]
				next++
				mu.Unlock()
				err := c.UpdateUser(ctx, it.tenant, it.user, map[string]any{"jobTitle": fmt.Sprintf("Round %d", round)})
				mu.Lock()
				if err != nil {
					failed[it.tenant]++
				}
				finished[it.tenant] = time.Now()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	out := map[string]writeRun{}
	for _, tn := range tenants {
		n := counter.n[tn.id]
		out[tn.name] = writeRun{writes: n[http.StatusNoContent], throttled: n[http.StatusTooManyRequests],
			failed: failed[tn.name], took: finished[tn.name].Sub(start)}
	}
	return out
}

// faultsOf returns a tenant's faults as they are, to set them again
// (which starts its throttling afresh).
func faultsOf(s *sim.Server, id string) sim.Faults {
	f, _ := s.CurrentFaults(id)
	return f
}

func report(b *testing.B, label string, runs map[string]writeRun) {
	b.Helper()
	worstShare, worstBudget := 0.0, math.Inf(1)
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range runs {
			if !yield(n) {
				return
			}
		}
	}) {
		r := runs[name]
		b.Logf("%s %s: %d writes in %v, %d answered 429 (%.1f%% of writes), %d failed, budget used %.1f%%",
			label, name, r.writes, r.took.Round(time.Millisecond), r.throttled, 100*r.throttledShare(), r.failed, 100*r.budgetUsed())
		worstShare, worstBudget = max(worstShare, r.throttledShare()), min(worstBudget, r.budgetUsed())
	}
	b.ReportMetric(100*worstShare, label+"-429/write-%")
	b.ReportMetric(100*worstBudget, label+"-budget-used-%")
}

// BenchmarkPacedWrites: 16 writers PATCH 400 users of one tenant, without
// pacing and with it (targets: 429s ≤ 5% of writes, budget used ≥ 90%).
func BenchmarkPacedWrites(b *testing.B) {
	s, tenants, endpoints := benchSim(b, 1)
	for b.Loop() {
		report(b, "unpaced", runWrites(b, s, tenants, endpoints, false, 1))
		report(b, "paced", runWrites(b, s, tenants, endpoints, true, 2))
	}
}

// BenchmarkPacedWritesMesh: the same writers on 5 target tenants at once,
// one of them slow (100 ms per PATCH); each target should use ≥ 85% of its
// own budget with ≤ 5% 429s: budgets are per tenant, and a slow target must
// not hold back the others.
func BenchmarkPacedWritesMesh(b *testing.B) {
	s, tenants, endpoints := benchSim(b, 5)
	if err := s.SetFaults(tenants[0].id, sim.Faults{LatencyMS: 100, Kinds: []string{"patch"}}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		report(b, "unpaced", runWrites(b, s, tenants, endpoints, false, 1))
		report(b, "paced", runWrites(b, s, tenants, endpoints, true, 2))
	}
}
