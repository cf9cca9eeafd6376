package main

import (
	"strings"
	"testing"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/telemetry"
	"github.com/galsync/galsync/shared/telemetry/otlptest"
	"github.com/galsync/galsync/sim"
)

// TestTelemetryTracesEachUserAcrossTheQueues: `galsync local` with
// OTEL_EXPORTER_OTLP_ENDPOINT set exports one trace per synced user that
// runs from the pull's decision through the invites and updates queues to
// the invitation and the PATCH, and the metrics of issue 13.
func TestTelemetryTracesEachUserAcrossTheQueues(t *testing.T) {
	rcv := otlptest.New(t)
	// The simulator throttles (Graph's limits, bursts scaled to a tenth),
	// so galsync paces itself and reports its budget use.
	h := newHarness(t, harnessOptions{seed: sim.SeedSpec{Count: 20, Seed: 71}, deprovision: galsync.DeprovisionDisable,
		throttleScale: 0.1})
	h.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.URL)
	h.setenv("OTEL_SERVICE_NAME", "galsync-e2e")
	users := inScope(h.source)
	h.mustSync() // closing the app flushes the exporters

	byTrace := map[string][]otlptest.Span{}
	for _, s := range rcv.Spans() {
		byTrace[s.TraceID] = append(byTrace[s.TraceID], s)
	}
	traced := map[string]bool{}
	for _, spans := range byTrace {
		var change *otlptest.Span
		names := map[string]int{}
		for i, s := range spans {
			names[s.Name]++
			if s.Name == "change" {
				change = &spans[i]
			}
		}
		if change == nil {
			continue
		}
		user := change.Attributes[string(telemetry.AttrSourceUser)]
		if traced[user] {
			t.Errorf("user %s has two change traces", user)
		}
		traced[user] = true
		if len(change.Links) != 1 {
			t.Errorf("change of %s links %d spans, want the pull's", user, len(change.Links))
		}
		// The change is the parent of the invite worker's span (the page
		// of changes went in one "send invites" of the pull's trace); the
		// invite worker hands on to the update worker within the trace.
		for _, want := range []string{"process invites", "send updates", "process updates"} {
			if names[want] == 0 {
				t.Errorf("trace of user %s lacks %q: %v", user, want, names)
			}
		}
		// Graph spans are named by method and path template; the
		// simulator's base path (/graph/{id}) comes before /v1.0.
		for _, want := range []struct{ method, path string }{{"POST", "/v1.0/invitations"}, {"GET", "/v1.0/users/{id}"}, {"PATCH", "/v1.0/users/{id}"}} {
			found := false
			for n := range names {
				found = found || strings.HasPrefix(n, want.method+" ") && strings.HasSuffix(n, want.path)
			}
			if !found {
				t.Errorf("trace of user %s lacks %s %s: %v", user, want.method, want.path, names)
			}
		}
		for _, s := range spans {
			if s.Resource["service.name"] != "galsync-e2e" {
				t.Errorf("span %s has service.name %q", s.Name, s.Resource["service.name"])
			}
			for k, v := range s.Attributes {
				if strings.Contains(v, "@") {
					t.Errorf("span %s attribute %s holds an address", s.Name, k)
				}
			}
		}
	}
	for _, u := range users {
		if !traced[u.ID] {
			t.Errorf("user %s has no trace", u.ID)
		}
	}
	// The pull that found the changes is a trace of its own, which the
	// changes link to.
	pulls := 0
	for _, spans := range byTrace {
		for _, s := range spans {
			if s.Name == "process pulls" {
				pulls++
			}
		}
	}
	if pulls == 0 {
		t.Error("no span processed the pulls queue")
	}

	sum := func(name string) float64 {
		total := 0.0
		for _, p := range rcv.Points(name) {
			total += p.Value
		}
		return total
	}
	if got := sum(telemetry.MetricInvitations); got != float64(len(users)) {
		t.Errorf("%s = %v, want %d", telemetry.MetricInvitations, got, len(users))
	}
	if got := sum(telemetry.MetricPatches); got != float64(len(users)) {
		t.Errorf("%s = %v, want %d", telemetry.MetricPatches, got, len(users))
	}
	if len(rcv.Points(telemetry.MetricPullLag)) == 0 {
		t.Errorf("no %s histogram", telemetry.MetricPullLag)
	}
	if len(rcv.Points(telemetry.MetricQueueDepth)) == 0 {
		t.Errorf("no %s gauge", telemetry.MetricQueueDepth)
	}
	budgets := map[string]bool{}
	for _, p := range rcv.Points(telemetry.MetricBudgetUsed) {
		budgets[p.Attributes[string(telemetry.AttrTenant)]+"/"+p.Attributes[string(telemetry.AttrBudget)]] = true
	}
	if !budgets["target/invitations"] || !budgets["target/writes"] || !budgets["source/resource_units"] {
		t.Errorf("%s points by tenant and budget: %v", telemetry.MetricBudgetUsed, budgets)
	}
	t.Logf("%d traces, %d spans; %d users traced", len(byTrace), len(rcv.Spans()), len(traced))
}
