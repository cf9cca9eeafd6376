package handlers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/pipeline"
	"github.com/galsync/galsync/sim"
)

// BenchmarkNotificationLatency measures what notifications are for: the
// time from a change in the source (the simulator, delivering with no
// delay) to the PATCH of the guest in the target, over 200 single-user
// changes made 50 ms apart, with the local host running the queues and no
// timers. It also reports the notify endpoint's p99 response time as
// Graph sees it (through the Functions host's front).
//
//	go test -run '^$' -bench NotificationLatency -benchtime 1x ./handlers/
func BenchmarkNotificationLatency(b *testing.B) {
	const changes = 200
	e := newEnv(b, envOptions{})
	e.runHost()
	e.ensureSubscriptions()
	users, err := e.sim.SeedUsers(sourceID, sim.SeedSpec{Count: changes, Seed: 11})
	if err != nil {
		b.Fatal(err)
	}
	waitFor(b, 2*time.Minute, "the first sync", func() bool {
		guests, err := e.sim.Users(targetID)
		return err == nil && len(guests) == changes && e.idle()
	})
	ctx := context.Background()
	guestOf := map[string]string{} // guest id → source id
	for _, u := range users {
		l, err := e.db.GetLink(ctx, dirSource, u.ID)
		if err != nil {
			b.Fatal(err)
		}
		guestOf[l.TargetUserID] = u.ID
	}

	var latencies []time.Duration
	b.ResetTimer()
	for round := range b.N {
		e.sim.ResetRequests()
		e.mu.Lock()
		e.notifyTimes = nil
		e.mu.Unlock()
		changed := map[string]time.Time{}
		for i, u := range users {
			changed[u.ID] = time.Now()
			if _, err := e.sim.UpdateUser(sourceID, u.ID, map[string]any{"jobTitle": fmt.Sprintf("Title %d.%d", round, i)}); err != nil {
				b.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		patched := map[string]time.Time{}
		waitFor(b, 2*time.Minute, "every change in the target", func() bool {
			for _, r := range e.sim.FindRequests(sim.RequestFilter{Tenant: targetID, Kind: "patch"}) {
				src := guestOf[r.Path[strings.LastIndexByte(r.Path, '/')+1:]]
				if _, done := patched[src]; src != "" && !done && strings.Contains(string(r.Body), "jobTitle") {
					patched[src] = r.Time
				}
			}
			return len(patched) == changes
		})
		for src, at := range patched {
			latencies = append(latencies, at.Sub(changed[src]))
		}
	}
	b.StopTimer()

	slices.Sort(latencies)
	e.mu.Lock()
	endpoint := slices.Clone(e.notifyTimes)
	e.mu.Unlock()
	slices.Sort(endpoint)
	p50, p95, worst := quantile(latencies, 0.50), quantile(latencies, 0.95), latencies[len(latencies)-1]
	p99 := quantile(endpoint, 0.99)
	b.ReportMetric(ms(p50), "p50-ms")
	b.ReportMetric(ms(p95), "p95-ms")
	b.ReportMetric(ms(worst), "max-ms")
	b.ReportMetric(ms(p99), "notify-p99-ms")
	fmt.Printf("notification latency over %d changes (change → target PATCH): p50 %s, p95 %s, max %s; notify endpoint p99 %s over %d POSTs (%s window)\n",
		len(latencies), p50.Round(time.Millisecond), p95.Round(time.Millisecond), worst.Round(time.Millisecond),
		p99.Round(100*time.Microsecond), len(endpoint), pipeline.DefaultCoalesceWindow)
	if st := e.host.Stats(); st[FuncDeltaPull].Failed+st[FuncUpdateWorker].Failed > 0 {
		b.Errorf("failed invocations: %+v", st)
	}
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
