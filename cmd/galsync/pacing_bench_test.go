package main

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/sim"
)

// The pacing benchmarks of issue 11: a sync against the simulator applying
// Microsoft's documented identity limits scaled ×0.1 (bursts a tenth of
// Graph's, rates Graph's: 150 invitations per 5 s, 3,000 writes per
// 2 min 30 s per app and tenant), reporting per target tenant the 429
// answers as a share of its writes and the budget used: the minimum time
// the limits allow for the writes it took, divided by the time it took.
//
//	make bench   (or: go test -run '^$' -bench Throttled -benchtime 1x ./cmd/galsync/)

const throttleScale = 0.1

// budgetReport is what one target tenant saw.
type budgetReport struct {
	tenant              string
	invitations, writes int
	throttled           int
	throttledKinds      map[string]int
	wall, minimum       time.Duration
	inviteSpan          time.Duration
}

func (r budgetReport) share429() float64 {
	return float64(r.throttled) / float64(max(1, r.invitations+r.writes))
}

func (r budgetReport) used() float64 { return r.minimum.Seconds() / max(r.wall.Seconds(), 1e-9) }

func (r budgetReport) String() string {
	return fmt.Sprintf("%s: %d invitations + %d writes, %d answered 429 (%.1f%% of writes; %v); %s taken, %s the limits allow: budget used %.1f%% (invitations over %s)",
		r.tenant, r.invitations, r.writes, r.throttled, 100*r.share429(), r.throttledKinds, r.wall.Round(time.Millisecond), r.minimum.Round(time.Millisecond), 100*r.used(), r.inviteSpan.Round(time.Millisecond))
}

// budgetOf reads the simulator's request log of one tenant. The minimum
// time is the longer of what the invitation limit and the write limit
// allow for the invitations and writes made, each bucket starting full.
func budgetOf(h *harness, name, tenantID string) budgetReport {
	r := budgetReport{tenant: name}
	var first, last, firstInvite, lastInvite time.Time
	for _, q := range h.sim.FindRequests(sim.RequestFilter{Tenant: tenantID}) {
		if q.Kind == "token" || q.Kind == "openid" {
			continue
		}
		if first.IsZero() || q.Time.Before(first) {
			first = q.Time
		}
		switch {
		case q.Status == 429:
			r.throttled++
			if r.throttledKinds == nil {
				r.throttledKinds = map[string]int{}
			}
			r.throttledKinds[q.Method+" "+q.Kind]++
			continue
		case q.Status < 200 || q.Status > 299:
			continue
		case q.Kind == "invitations":
			r.invitations++
			if firstInvite.IsZero() {
				firstInvite = q.Time
			}
			lastInvite = q.Time
		case q.Method != "GET":
			r.writes++
		default:
			continue
		}
		if q.Time.After(last) {
			last = q.Time
		}
	}
	r.wall, r.inviteSpan = last.Sub(first), lastInvite.Sub(firstInvite)
	minimum := func(n int, limit float64, window time.Duration) time.Duration {
		burst := limit * throttleScale
		rate := limit / window.Seconds()
		return time.Duration(max(0, float64(n)-burst) / rate * float64(time.Second))
	}
	r.minimum = max(minimum(r.invitations, 150, 5*time.Second), minimum(r.writes, 3000, 150*time.Second))
	return r
}

func throttledHarness(b *testing.B, o harnessOptions) *harness {
	o.seed = sim.SeedSpec{Count: 400, Seed: 81}
	o.deprovision, o.throttleScale, o.replicationDelay = galsync.DeprovisionDisable, throttleScale, -1
	h := newHarness(b, o)
	// A new guest is read 100 ms after its invitation: the benchmark
	// measures pacing, not the replication wait.
	h.setenv("GALSYNC_REPLICATION_WAIT", "100ms")
	h.setenv("GALSYNC_QUEUE_CONCURRENCY", "16")
	return h
}

// BenchmarkThrottledSync400 syncs 400 users into one throttled target,
// without and with pacing.
func BenchmarkThrottledSync400(b *testing.B) {
	for i := 0; i < b.N; i++ {
		for _, paced := range []bool{false, true} {
			h := throttledHarness(b, harnessOptions{noPacing: !paced})
			if out, err := h.sync(); err != nil {
				b.Fatalf("sync: %v\n%s", err, out)
			}
			checkConverged(b, h, inScope(h.source))
			r := budgetOf(h, "target", dstTenantID)
			fmt.Printf("throttled sync of 400 users, pacing %t: %s\n", paced, r)
			if paced {
				b.ReportMetric(100*r.share429(), "429%")
				b.ReportMetric(100*r.used(), "budget%")
			}
		}
	}
}

// BenchmarkThrottledSync400ThreeProcesses: three worker processes share
// the Service Bus and Cosmos DB test servers, each pacing itself to a
// third of the budget (GALSYNC_MAX_INSTANCES=3).
func BenchmarkThrottledSync400ThreeProcesses(b *testing.B) {
	bin := buildBinary(b)
	for i := 0; i < b.N; i++ {
		h := throttledHarness(b, harnessOptions{backend: "azure"})
		h.setenv("GALSYNC_MAX_INSTANCES", "3")
		want := inScope(h.source)
		var procs []*exec.Cmd
		var outs []*lockedBuffer
		for p := 0; p < 3; p++ {
			args := []string{"local", "--no-timers", "--no-subscribe", "--progress", "0", "--http", "127.0.0.1:0"}
			if p > 0 {
				args = append(args, "--no-start-pull")
			}
			cmd := h.command(bin, args...)
			out := &lockedBuffer{}
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			procs, outs = append(procs, cmd), append(outs, out)
		}
		converged := waitForGuests(h, want, 5*time.Minute)
		for _, cmd := range procs {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if !converged {
			b.Fatalf("not converged in 5 minutes:\n%s", outs[0])
		}
		r := budgetOf(h, "target", dstTenantID)
		fmt.Printf("throttled sync of 400 users by 3 processes (Service Bus + Cosmos DB test servers): %s\n", r)
		b.ReportMetric(100*r.share429(), "429%")
		b.ReportMetric(100*r.used(), "budget%")
	}
}

// waitForGuests waits until every user has a guest with its job title.
func waitForGuests(h *harness, want []sim.User, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		guests, done := h.guests(), 0
		for _, u := range want {
			if g, ok := guests[strings.ToLower(u.Mail)]; ok && g.JobTitle == u.JobTitle {
				done++
			}
		}
		if done == len(want) {
			return true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

// BenchmarkThrottledMeshFiveTargets: one source synced into five throttled
// targets at once, one of them slow (100 ms per request): each target's
// budget is its own, and the slow one does not hold the others back.
func BenchmarkThrottledMeshFiveTargets(b *testing.B) {
	for i := 0; i < b.N; i++ {
		h := throttledHarness(b, harnessOptions{extraTargets: 4})
		h.setenv("GALSYNC_QUEUE_CONCURRENCY", "40")
		slow := extraTargetOf(5)
		if err := h.sim.SetFaults(slow.id, sim.Faults{LatencyMS: 100}); err != nil {
			b.Fatal(err)
		}
		if out, err := h.sync(); err != nil {
			b.Fatalf("sync: %v\n%s", err, out)
		}
		want := inScope(h.source)
		checkConverged(b, h, want)
		reports := []budgetReport{budgetOf(h, "target", dstTenantID)}
		for n := 2; n <= 5; n++ {
			x := extraTargetOf(n)
			checkGuestsIn(b, h, x, want)
			reports = append(reports, budgetOf(h, x.name, x.id))
		}
		worst429, worstUsed := 0.0, 1.0
		for _, r := range reports {
			fmt.Printf("mesh of 5 targets (target5 slow): %s\n", r)
			worst429, worstUsed = max(worst429, r.share429()), min(worstUsed, r.used())
		}
		b.ReportMetric(100*worst429, "worst-429%")
		b.ReportMetric(100*worstUsed, "worst-budget%")
	}
}

// checkGuestsIn fails unless every user has exactly one guest in target
// x with its job title (the mapped attribute that differs per user).
func checkGuestsIn(b *testing.B, h *harness, x extraTarget, want []sim.User) {
	b.Helper()
	users, err := h.sim.Users(x.id)
	if err != nil {
		b.Fatal(err)
	}
	guests := map[string]sim.User{}
	for _, u := range users {
		if u.CreationType != "Invitation" {
			continue
		}
		if _, dup := guests[strings.ToLower(u.Mail)]; dup {
			b.Errorf("%s: a second guest for one address", x.name)
		}
		guests[strings.ToLower(u.Mail)] = u
	}
	for _, u := range want {
		if g, ok := guests[strings.ToLower(u.Mail)]; !ok || g.JobTitle != u.JobTitle {
			b.Errorf("%s: user %s not converged (guest found %t)", x.name, u.ID, ok)
		}
	}
	if len(guests) != len(want) {
		b.Errorf("%s: %d guests, want %d", x.name, len(guests), len(want))
	}
}
