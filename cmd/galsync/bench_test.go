package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

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
//
// With -args -galsync.profile DIR, galsync writes its CPU and allocation
// profiles to DIR (cpu-<users>.pprof, allocs-<users>.pprof); the
// simulator's are the test binary's own (go test -cpuprofile).
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

// profileDir, when set, is where the benchmarks have galsync write its
// pprof profiles.
var profileDir = flag.String("galsync.profile", "", "write galsync's CPU and allocation profiles of each benchmark run to this directory")

// result is what one initial sync measured.
type result struct{ rate, cpuPerUser float64 }

// initialSync syncs a fresh source tenant of the given size once.
func initialSync(b *testing.B, bin string, users int) result {
	b.StopTimer()
	h := newBenchHarness(b, users)
	want := len(inScope(h.source))
	b.StartTimer()
	start := time.Now()
	args := []string{"local", "--no-timers", "--once", "--progress", "0"}
	if *profileDir != "" {
		args = append(args, "--cpuprofile", filepath.Join(*profileDir, fmt.Sprintf("cpu-%d.pprof", users)),
			"--memprofile", filepath.Join(*profileDir, fmt.Sprintf("allocs-%d.pprof", users)))
	}
	cmd := h.command(bin, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	memory := watchMemory(cmd.Process.Pid)
	simBefore := selfCPU(b)
	err := cmd.Wait()
	elapsed := time.Since(start)
	simCPU := selfCPU(b) - simBefore
	rss, peakAnon := memory()
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
	// Not ru.Maxrss: Go starts a child with vfork, and Linux carries the
	// parent's high-water mark (this process, which holds the simulated
	// tenant) into the child's maxrss at exec (exec_mmap), so at 100,000
	// users it reported the simulator's 550 MiB, not galsync's.
	// CPU time per user does not depend on what else the machine runs, as
	// users/s does: it shows whether the cost per user stays flat.
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	cpuPerUser := float64(cpu.Microseconds()) / 1000 / float64(want)
	// This process is the simulator's: its CPU over the run is what
	// serving galsync's requests cost.
	simPerUser := float64(simCPU.Microseconds()) / 1000 / float64(want)
	dbPath := filepath.Join(h.env["GALSYNC_DATA_DIR"], "galsync.db")
	file, err := os.Stat(dbPath)
	if err != nil {
		b.Fatal(err)
	}
	commits := float64(committed(b, dbPath)) / float64(want)
	rate := float64(want) / elapsed.Seconds()
	b.ReportMetric(rate, "users/s")
	b.ReportMetric(float64(invites)/float64(want), "invites/user")
	b.ReportMetric(float64(patches)/float64(want), "patches/user")
	b.ReportMetric(cpuPerUser, "cpu-ms/user")
	b.ReportMetric(simPerUser, "sim-cpu-ms/user")
	b.ReportMetric(float64(rss)/1024, "peakRSS-MiB")
	b.ReportMetric(float64(peakAnon)/1024, "peakAnon-MiB")
	b.ReportMetric(float64(file.Size())/(1<<20), "file-MiB")
	b.ReportMetric(commits, "commits/user")
	fmt.Printf("initial sync of %d users: %d in scope in %v = %.0f users/s (%.2f ms CPU/user, simulator %.2f); %d invitations + %d PATCHes (%.2f writes/user); %.2f commits/user; peak RSS %.0f MiB (anonymous %.0f MiB); data file %.0f MiB\n",
		users, want, elapsed.Round(time.Millisecond), rate, cpuPerUser, simPerUser, invites, patches, float64(invites+patches)/float64(want), commits,
		float64(rss)/1024, float64(peakAnon)/1024, float64(file.Size())/(1<<20))
	return result{rate: rate, cpuPerUser: cpuPerUser}
}

// committed is how many write transactions the data file has had: bbolt
// numbers them, and the file is new for each run.
func committed(b *testing.B, path string) uint64 {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var id int
	if err := db.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil }); err != nil {
		b.Fatal(err)
	}
	return uint64(id)
}

// selfCPU is the CPU time this process has used.
func selfCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// newBenchHarness seeds a source tenant of the given size.
func newBenchHarness(b *testing.B, users int) *harness {
	return newHarness(b, harnessOptions{
		seed:        sim.SeedSpec{Count: users, Guests: users / 20, Disabled: users / 50, NoMail: users / 100, Seed: 31},
		deprovision: galsync.DeprovisionDisable, thresholdPercent: 10,
	})
}

// watchMemory samples a process's memory every 200 ms until it exits
// (Linux /proc/<pid>/status): its peak resident size (VmHWM, the kernel's
// own high-water mark of this process's memory map, so nothing between
// samples is missed but the last 200 ms) and its peak of anonymous resident
// memory (RssAnon, sampled). The function it returns stops the sampling
// and gives both in KiB (0 where /proc does not tell).
func watchMemory(pid int) func() (hwm, anon int) {
	var (
		mu       sync.Mutex
		peakHWM  int
		peakAnon int
		done     = make(chan struct{})
		wg       sync.WaitGroup
	)
	wg.Go(func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			st := procStatus(pid)
			mu.Lock()
			peakHWM, peakAnon = max(peakHWM, st["VmHWM"]), max(peakAnon, st["RssAnon"])
			mu.Unlock()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() (int, int) {
		close(done)
		wg.Wait()
		return peakHWM, peakAnon
	}
}

// procStatus reads the kB figures of a process's /proc status.
func procStatus(pid int) map[string]int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil
	}
	defer f.Close()
	kib := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), ":")
		v, isKB := strings.CutSuffix(strings.TrimSpace(v), " kB")
		if !ok || !isKB {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			kib[name] = n
		}
	}
	return kib
}
