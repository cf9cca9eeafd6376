package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/sim"
)

// BenchmarkInitialSync measures the initial sync of a 10,000-user and of a
// 100,000-user source tenant (throttling off) by the built binary,
// `galsync local --once`, on the embedded backends, against the simulator
// in this process. For each it reports users per second, the product
// process's CPU time per user (which, unlike users/s, does not depend on
// what else the machine runs), Graph writes per user, its peak resident
// size (and its peak of anonymous memory: the rest is the data file's
// pages mapped by bbolt) and the size of the data file; then how 100,000
// compares with 10,000 (issue 11: flat, within 25%).
//
//	make bench   (or: go test -run '^$' -bench InitialSync -benchtime 1x -timeout 60m ./cmd/galsync/)
func BenchmarkInitialSync(b *testing.B) {
	bin := buildBinary(b)
	results := map[int]result{}
	for _, users := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("users=%d", users), func(b *testing.B) {
			for range b.N {
				results[users] = initialSync(b, bin, users)
			}
		})
	}
	if small, large := results[10_000], results[100_000]; small.rate > 0 && large.rate > 0 {
		fmt.Printf("initial sync: at 100,000 users, %.0f%% of the users/s at 10,000 (%.0f vs %.0f) and %.0f%% of the CPU per user (%.2f vs %.2f ms)\n",
			100*large.rate/small.rate, large.rate, small.rate, 100*large.cpuPerUser/small.cpuPerUser, large.cpuPerUser, small.cpuPerUser)
	}
}

// result is what one initial sync measured.
type result struct{ rate, cpuPerUser float64 }

// initialSync syncs a fresh source tenant of the given size once.
func initialSync(b *testing.B, bin string, users int) result {
	b.StopTimer()
	h := newBenchHarness(b, users)
	want := len(inScope(h.source))
	b.StartTimer()
	start := time.Now()
	cmd := h.command(bin, "local", "--no-timers", "--once", "--progress", "0")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	anon := watchAnon(cmd.Process.Pid)
	err := cmd.Wait()
	elapsed := time.Since(start)
	peakAnon := anon()
	b.StopTimer()
	if err != nil {
		b.Fatalf("galsync local --once: %v\n%s", err, out.String())
	}
	if guests := h.guests(); len(guests) != want {
		b.Fatalf("%d guests, want %d", len(guests), want)
	}
	// Counted by the simulator's statistics: its request log keeps only the
	// latest 100,000 requests.
	writes := h.sim.Stats(dstTenantID).Requests
	invites, patches := writes["POST invitations"], writes["PATCH patch"]
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	rss := ru.Maxrss // KiB on Linux
	// CPU time per user does not depend on what else the machine runs, as
	// users/s does: it shows whether the cost per user stays flat.
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	cpuPerUser := float64(cpu.Microseconds()) / 1000 / float64(want)
	file, err := os.Stat(filepath.Join(h.env["GALSYNC_DATA_DIR"], "galsync.db"))
	if err != nil {
		b.Fatal(err)
	}
	rate := float64(want) / elapsed.Seconds()
	b.ReportMetric(rate, "users/s")
	b.ReportMetric(float64(invites)/float64(want), "invites/user")
	b.ReportMetric(float64(patches)/float64(want), "patches/user")
	b.ReportMetric(cpuPerUser, "cpu-ms/user")
	b.ReportMetric(float64(rss)/1024, "peakRSS-MiB")
	b.ReportMetric(float64(peakAnon)/1024, "peakAnon-MiB")
	b.ReportMetric(float64(file.Size())/(1<<20), "file-MiB")
	fmt.Printf("initial sync of %d users: %d in scope in %v = %.0f users/s (%.2f ms CPU/user); %d invitations + %d PATCHes (%.2f writes/user); peak RSS %.0f MiB (anonymous %.0f MiB); data file %.0f MiB\n",
		users, want, elapsed.Round(time.Millisecond), rate, cpuPerUser, invites, patches, float64(invites+patches)/float64(want),
		float64(rss)/1024, float64(peakAnon)/1024, float64(file.Size())/(1<<20))
	return result{rate: rate, cpuPerUser: cpuPerUser}
}

// newBenchHarness seeds a source tenant of the given size.
func newBenchHarness(b *testing.B, users int) *harness {
	return newHarness(b, harnessOptions{
		seed:        sim.SeedSpec{Count: users, Guests: users / 20, Disabled: users / 50, NoMail: users / 100, Seed: 31},
		deprovision: galsync.DeprovisionDisable, thresholdPercent: 10,
	})
}

// watchAnon samples a process's anonymous resident memory (RssAnon in
// /proc/<pid>/status, Linux) every 200 ms until it exits; the function it
// returns stops the sampling and gives the peak in KiB (0 where /proc
// does not tell).
func watchAnon(pid int) func() int {
	var (
		mu   sync.Mutex
		peak int
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	wg.Go(func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			if kib, ok := rssAnon(pid); ok {
				mu.Lock()
				peak = max(peak, kib)
				mu.Unlock()
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() int {
		close(done)
		wg.Wait()
		return peak
	}
}

// rssAnon reads RssAnon of a process, in KiB.
func rssAnon(pid int) (int, bool) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "RssAnon:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n, err == nil
		}
	}
	return 0, false
}
