package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/sim"
)

// BenchmarkSweepUnchanged10k measures a sweep over 10,000 linked guests
// that all match their desired state (issue 10: it must write nothing): the
// Graph requests it makes of the target and its time, through
// `galsync local --once --sweep` in this process.
//
//	make bench   (or: go test -run '^$' -bench SweepUnchanged -benchtime 1x ./cmd/galsync/)
func BenchmarkSweepUnchanged10k(b *testing.B) {
	h := newHarness(b, harnessOptions{seed: sim.SeedSpec{Count: 10000, Seed: 32},
		deprovision: galsync.DeprovisionDisable, replicationDelay: -1})
	if out, err := h.sync(); err != nil {
		b.Fatalf("initial sync: %v\n%s", err, out)
	}
	guests := len(h.guests())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.sim.ResetRequests()
		start := time.Now()
		if out, err := h.sweep(); err != nil {
			b.Fatalf("sweep: %v\n%s", err, out)
		}
		elapsed := time.Since(start)
		w := h.writes()
		if n := countWrites(w); n != 0 {
			b.Fatalf("a sweep of unchanged guests wrote %d time(s): %v", n, w)
		}
		lists := len(h.sim.FindRequests(sim.RequestFilter{Tenant: dstTenantID, Kind: "users"}))
		all := len(h.sim.FindRequests(sim.RequestFilter{Tenant: dstTenantID}))
		b.ReportMetric(float64(all), "target-requests")
		b.ReportMetric(elapsed.Seconds(), "s/sweep")
		fmt.Printf("sweep of %d unchanged guests: %d target requests (%d pages of users), 0 writes, %v (galsync local --once --sweep, including the delta pull)\n",
			guests, all, lists, elapsed.Round(time.Millisecond))
	}
}
