package main

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/sim"
)

// BenchmarkInitialSync10k measures the initial sync of a 10,000-user
// source tenant (throttling off) by the built binary, `galsync local
// --once`, against the simulator in this process. It reports users per
// second, Graph writes per user and the product process's peak RSS.
//
//	make bench   (or: go test -run '^$' -bench InitialSync -benchtime 1x ./cmd/galsync/)
func BenchmarkInitialSync10k(b *testing.B) {
	bin := buildBinary(b)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		h := newBenchHarness(b, 10000)
		want := len(inScope(h.source))
		b.StartTimer()
		start := time.Now()
		cmd := h.command(bin, "local", "--no-timers", "--once", "--progress", "0")
		out, err := cmd.CombinedOutput()
		elapsed := time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatalf("galsync local --once: %v\n%s", err, out)
		}
		guests := h.guests()
		if len(guests) != want {
			b.Fatalf("%d guests, want %d", len(guests), want)
		}
		w := h.writes()
		rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB on Linux
		b.ReportMetric(float64(want)/elapsed.Seconds(), "users/s")
		b.ReportMetric(float64(len(w["invitations"]))/float64(want), "invites/user")
		b.ReportMetric(float64(len(w["patch"]))/float64(want), "patches/user")
		b.ReportMetric(float64(rss)/1024, "peakRSS-MiB")
		fmt.Printf("initial sync: %d users in %v = %.0f users/s; %d invitations + %d PATCHes (%.2f writes/user); peak RSS %.0f MiB\n",
			want, elapsed.Round(time.Millisecond), float64(want)/elapsed.Seconds(), len(w["invitations"]), len(w["patch"]),
			float64(len(w["invitations"])+len(w["patch"]))/float64(want), float64(rss)/1024)
	}
}

// newBenchHarness seeds a source tenant of the given size.
func newBenchHarness(b *testing.B, users int) *harness {
	return newHarness(b, harnessOptions{
		seed:        sim.SeedSpec{Count: users, Guests: users / 20, Disabled: users / 50, NoMail: users / 100, Seed: 31},
		deprovision: galsync.DeprovisionDisable, thresholdPercent: 10,
	})
}
