package pace

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

var (
	write      = Cost{ResourceUnits: 1, Writes: 1}
	read       = Cost{ResourceUnits: 1}
	invitation = Cost{Invitations: 1}
)

func tenantFor(t *testing.T, b Budget, opts Options) *Tenant {
	t.Helper()
	p, err := New(map[string]Budget{"fabrikam": b}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p.Tenant("fabrikam")
}

func TestBudgetSizes(t *testing.T) {
	doc := Documented(Small)
	for _, tc := range []struct {
		name         string
		b            Budget
		l            Limit
		capacity, rt float64
	}{
		{"documented writes", Budget{}, doc.Writes, 3000, 20},
		{"documented tenant writes", Budget{}, doc.TenantWrites, 18000, 60},
		{"invitations", Budget{}, doc.Invitations, 150, 30},
		{"resource units, small", Budget{}, doc.ResourceUnits, 3500, 350},
		{"resource units, large", Budget{Size: Large}, Documented(Large).ResourceUnits, 8000, 800},
		{"scaled like the simulator", Budget{Scale: 0.1}, doc.Writes, 300, 20},
		{"scaled below one unit", Budget{Scale: 0.001}, doc.Invitations, 1, 1 / 0.005},
		{"margin holds back burst and refill", Budget{Scale: 0.1, Margin: 0.05}, doc.Writes, 285, 19},
		{"margin keeps one unit", Budget{Scale: 0.001, Margin: 0.5}, doc.Invitations, 1, 1 / 0.005 * 0.5},
		{"split by instances", Budget{Scale: 0.1, Instances: 4}, doc.Writes, 75, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.b.size(tc.l)
			if math.Abs(got.Capacity-tc.capacity) > 1e-9 || math.Abs(got.Rate-tc.rt) > 1e-9 {
				t.Errorf("size = %+v, want capacity %v rate %v", got, tc.capacity, tc.rt)
			}
		})
	}
}

func TestBudgetValidate(t *testing.T) {
	_, err := New(map[string]Budget{"ok": {}, "bad": {Size: "XL", Scale: 2, Margin: 0.95, Instances: -1}}, Options{})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"tenant bad", `size "XL"`, "scale 2", "margin 0.95", "instances -1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "tenant ok") {
		t.Errorf("error %q names the valid tenant", err)
	}
}

// grants runs n requests of cost c from workers goroutines and returns
// when each was granted, relative to the start.
func grants(t *testing.T, tn *Tenant, c Cost, n, workers int) []time.Duration {
	t.Helper()
	start := time.Now()
	var (
		mu   sync.Mutex
		next int
		out  []time.Duration
		wg   sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				if next == n {
					mu.Unlock()
					return
				}
				next++
				mu.Unlock()
				if err := tn.Wait(t.Context(), c); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				out = append(out, time.Since(start))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out
}

// checkConforms fails if the grants ever exceed the token bucket
// (capacity, rate) that starts full.
func checkConforms(t *testing.T, at []time.Duration, capacity, rate float64) {
	t.Helper()
	for i, a := range at {
		if allowed := capacity + rate*a.Seconds(); float64(i+1) > allowed+1e-6 {
			t.Fatalf("grant %d at %v: the bucket allows %.2f by then", i+1, a, allowed)
		}
	}
}

func last(at []time.Duration) time.Duration {
	var m time.Duration
	for _, a := range at {
		m = max(m, a)
	}
	return m
}

// TestWritesBurstThenRefill: 16 workers, 400 writes, the simulator's write
// limit at scale 0.1 (300 per 15 s): 300 at once, the other 100 at 20/s, so
// the last at exactly 5 s, never ahead of the bucket.
func TestWritesBurstThenRefill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := tenantFor(t, Budget{Scale: 0.1}, Options{})
		at := grants(t, tn, write, 400, 16)
		if len(at) != 400 {
			t.Fatalf("%d grants", len(at))
		}
		checkConforms(t, sortDurations(at), 300, 20)
		if got := last(at); got != 5*time.Second {
			t.Errorf("last write at %v, want 5s", got)
		}
		if s := tn.Stats(); s.Requests != 400 || s.Waited == 0 {
			t.Errorf("stats %+v", s)
		}
	})
}

func sortDurations(d []time.Duration) []time.Duration { return slices.Sorted(slices.Values(d)) }

func TestMarginAndInstances(t *testing.T) {
	for _, tc := range []struct {
		name     string
		b        Budget
		capacity float64
		rate     float64
		lastAt   time.Duration
	}{
		{"margin 0.5 halves burst and refill", Budget{Scale: 0.1, Margin: 0.5}, 150, 10, 25 * time.Second},
		{"four instances share the budget", Budget{Scale: 0.1, Instances: 4}, 75, 5, 65 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				at := sortDurations(grants(t, tenantFor(t, tc.b, Options{}), write, 400, 8))
				checkConforms(t, at, tc.capacity, tc.rate)
				if got := last(at); got != tc.lastAt {
					t.Errorf("last write at %v, want %v", got, tc.lastAt)
				}
			})
		})
	}
}

// TestReadsAndInvitationsDoNotWaitForWrites: each limit is its own bucket.
func TestReadsAndInvitationsDoNotWaitForWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := tenantFor(t, Budget{Scale: 0.1}, Options{})
		grants(t, tn, write, 300, 4) // the write bucket is empty now
		start := time.Now()
		for _, c := range []Cost{read, invitation} {
			if err := tn.Wait(t.Context(), c); err != nil {
				t.Fatal(err)
			}
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("a read and an invitation waited %v behind writes", d)
		}
		if err := tn.Wait(t.Context(), write); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 50*time.Millisecond {
			t.Errorf("the next write waited %v, want one refill (50ms)", d)
		}
	})
}

// TestThrottledHoldsEveryWorker: a 429's Retry-After stops every worker of
// the tenant until it has passed; then the bucket refills at its steady
// rate (no burst into a second 429). Reads go on.
func TestThrottledHoldsEveryWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := tenantFor(t, Budget{Scale: 0.1}, Options{})
		tn.Throttled(WriteBucket|TenantWriteBucket, write, 2*time.Second)
		if err := tn.Wait(t.Context(), read); err != nil {
			t.Fatal(err)
		}
		at := sortDurations(grants(t, tn, write, 21, 8))
		if at[0] != 2*time.Second {
			t.Errorf("first write at %v, want at the Retry-After (2s)", at[0])
		}
		if got := last(at); got != 3*time.Second {
			t.Errorf("21st write at %v, want 3s (one at 2s, then 20 per second)", got)
		}
		if s := tn.Stats(); s.Throttled != 1 {
			t.Errorf("stats %+v", s)
		}
	})
}

func TestThrottledWithoutRetryAfterEmptiesTheBuckets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := tenantFor(t, Budget{Scale: 0.1}, Options{})
		tn.Throttled(InvitationBucket, invitation, 0)
		start := time.Now()
		if err := tn.Wait(t.Context(), invitation); err != nil {
			t.Fatal(err)
		}
		// 15 invitations per 0.5 s at scale 0.1: one refills in 1/30 s.
		if d, want := time.Since(start), time.Second/30; d < want-time.Microsecond || d > want+time.Microsecond {
			t.Errorf("waited %v, want %v", d, want)
		}
	})
}

func TestThrottledAppHoldsEveryTenant(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := New(map[string]Budget{"a": {}, "b": {}}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		p.ThrottledApp(WriteBucket, time.Second)
		start := time.Now()
		var wg sync.WaitGroup
		for _, name := range []string{"a", "b"} {
			wg.Go(func() {
				if err := p.Tenant(name).Wait(t.Context(), write); err != nil {
					t.Error(err)
				}
				if d := time.Since(start); d != time.Second {
					t.Errorf("tenant %s waited %v, want 1s", name, d)
				}
			})
		}
		wg.Wait()
	})
}

// TestObserveLimitFraction: Graph's share of the limit used counts what
// this process cannot see; past 1 it is a debt to wait out.
func TestObserveLimitFraction(t *testing.T) {
	for _, tc := range []struct {
		fraction float64
		wait     time.Duration
	}{
		{0.5, 0},                     // our own count is lower: unchanged
		{1.0, 50 * time.Millisecond}, // empty: one refill
		{1.5, 150*time.Second/20 + 50*time.Millisecond},
	} {
		synctest.Test(t, func(t *testing.T) {
			tn := tenantFor(t, Budget{Scale: 0.1}, Options{})
			grants(t, tn, write, 150, 1) // half the 300 write tokens used
			tn.Observe(write, Usage{LimitFraction: tc.fraction})
			start := time.Now()
			if err := tn.Wait(t.Context(), write); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d != tc.wait {
				t.Errorf("fraction %v: waited %v, want %v", tc.fraction, d, tc.wait)
			}
		})
	}
}

// TestObserveResourceUnits: the cost Graph reports replaces the estimate.
func TestObserveResourceUnits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 350 resource units per second at scale 0.1 (small tenant).
		tn := tenantFor(t, Budget{Scale: 0.1}, Options{})
		grants(t, tn, read, 340, 1)
		tn.Observe(read, Usage{ResourceUnits: 21}) // 20 more than charged
		start := time.Now()
		if err := tn.Wait(t.Context(), read); err != nil {
			t.Fatal(err)
		}
		// 340 + 20 = 360 spent of 350: the next unit after 11 refills.
		if d, want := time.Since(start), 11*time.Second/350; d < want-time.Microsecond || d > want+time.Microsecond {
			t.Errorf("waited %v, want %v", d, want)
		}
	})
}

func TestMaxWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := tenantFor(t, Budget{Scale: 0.1}, Options{MaxWait: time.Second})
		tn.Throttled(WriteBucket, write, 3*time.Second)
		err := tn.Wait(t.Context(), write)
		var we *WaitError
		if !errors.As(err, &we) || we.RetryAfter() != 3*time.Second || we.Tenant != "fabrikam" {
			t.Fatalf("err = %v, want a WaitError of 3s", err)
		}
		if d := tn.Stats().Requests; d != 0 {
			t.Errorf("%d requests granted", d)
		}
	})
}

func TestWaitEndsWithItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := tenantFor(t, Budget{Scale: 0.1}, Options{})
		tn.Throttled(WriteBucket, write, time.Minute)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		err := tn.Wait(ctx, write)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "tenant fabrikam") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestNilTenantPacesNothing(t *testing.T) {
	var p *Pacer
	tn := p.Tenant("any")
	if err := tn.Wait(context.Background(), write); err != nil {
		t.Fatal(err)
	}
	tn.Throttled(WriteBucket, write, time.Hour)
	tn.Observe(write, Usage{LimitFraction: 1.8})
}

// Utilization is 0 for a full bucket, 1 once its capacity is spent, and
// back to 0 after a full window.
func TestUtilization(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := New(map[string]Budget{"t": {Scale: 0.1}}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		tn := p.Tenant("t")
		if got := tn.Utilization(time.Now())["invitations"]; got != 0 {
			t.Fatalf("a fresh tenant uses %v of its invitations", got)
		}
		for range 15 { // the burst at scale 0.1
			if err := tn.Wait(t.Context(), invitation); err != nil {
				t.Fatal(err)
			}
		}
		if got := tn.Utilization(time.Now())["invitations"]; got < 0.99 || got > 1.01 {
			t.Errorf("after the burst: %v, want 1", got)
		}
		time.Sleep(time.Second)
		if got := tn.Utilization(time.Now())["invitations"]; got != 0 {
			t.Errorf("a window later: %v, want 0", got)
		}
		if names := p.Tenants(); len(names) != 1 || names[0] != "t" {
			t.Errorf("Tenants = %v", names)
		}
	})
}

// TestWaitersAreServedInTurn: invitations wait in one line, first come,
// first served, and a request that would wait beyond MaxWait behind those
// ahead of it is told so at once. The invitation bucket (15 per 0.5 s at
// scale 0.1) is empty; 40 workers ask one after another with MaxWait 1 s:
// the first 30 are granted in the order they asked, 1/30 s apart, and the
// last 10 are refused at once, each told to come back after the 30 in
// line and the refused ones before it, 1/30 s apart: put-off work returns
// spread over the refill, not all at once. Before
// the line, every waiter raced for each refill, and one that kept losing
// to newcomers ran out its MaxWait although the budget was not short.
func TestWaitersAreServedInTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := tenantFor(t, Budget{Scale: 0.1}, Options{MaxWait: time.Second})
		tn.Throttled(InvitationBucket, invitation, 0)
		start := time.Now()
		var (
			mu      sync.Mutex
			order   []int
			refused = map[int]time.Duration{}
			wg      sync.WaitGroup
		)
		for i := range 40 {
			wg.Go(func() {
				err := tn.Wait(t.Context(), invitation)
				mu.Lock()
				defer mu.Unlock()
				var we *WaitError
				switch {
				case err == nil:
					order = append(order, i)
					if want := time.Duration(len(order)) * time.Second / 30; math.Abs(float64(time.Since(start)-want)) > float64(time.Microsecond) {
						t.Errorf("grant %d at %v, want %v", len(order), time.Since(start), want)
					}
				case errors.As(err, &we):
					refused[i] = we.RetryAfter()
					if d := time.Since(start); d != 0 {
						t.Errorf("worker %d refused after %v, want at once", i, d)
					}
				default:
					t.Error(err)
				}
			})
			synctest.Wait() // worker i is in line (or refused) before i+1 asks
		}
		wg.Wait()
		if want := seq(30); !slices.Equal(order, want) {
			t.Errorf("granted in the order %v, want %v", order, want)
		}
		if len(refused) != 10 {
			t.Fatalf("%d refused, want 10", len(refused))
		}
		for i := 30; i < 40; i++ {
			if want := time.Duration(i+1) * time.Second / 30; math.Abs(float64(refused[i]-want)) > float64(time.Microsecond) {
				t.Errorf("worker %d told to wait %v, want %v (its place after the line and those refused before it)", i, refused[i], want)
			}
		}
	})
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}
