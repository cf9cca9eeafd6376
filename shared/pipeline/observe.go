package pipeline

import (
	"context"
	"time"
)

// Metrics counts what the pipeline does (telemetry.Metrics provides it).
// Labels are topology names, queue names and short reasons: never an
// address.
type Metrics interface {
	Invitation(ctx context.Context, direction string)
	Patch(ctx context.Context, direction string)
	Conflict(ctx context.Context, direction, reason string)
	RetryScheduled(ctx context.Context, queue, reason string)
	Parked(ctx context.Context, direction, reason string)
	PullLag(ctx context.Context, direction string, lag time.Duration)
}

// ChangeTracer gives each user's change a trace of its own, from the pull
// that found it to the Graph writes it caused (telemetry.Telemetry
// provides it).
type ChangeTracer interface {
	// StartChange starts the change's trace, linked to ctx's span.
	StartChange(ctx context.Context, direction, sourceUser string) (context.Context, func())
	// Inject writes ctx's trace context into message properties.
	Inject(ctx context.Context, props map[string]string) map[string]string
}

// noMetrics and noTraces stand in when no telemetry is wired.
type noMetrics struct{}

func (noMetrics) Invitation(context.Context, string)             {}
func (noMetrics) Patch(context.Context, string)                  {}
func (noMetrics) Conflict(context.Context, string, string)       {}
func (noMetrics) RetryScheduled(context.Context, string, string) {}
func (noMetrics) Parked(context.Context, string, string)         {}
func (noMetrics) PullLag(context.Context, string, time.Duration) {}

type noTraces struct{}

func (noTraces) StartChange(ctx context.Context, _, _ string) (context.Context, func()) {
	return ctx, func() {}
}
func (noTraces) Inject(_ context.Context, props map[string]string) map[string]string { return props }

func metricsOr(m Metrics) Metrics {
	if m == nil {
		return noMetrics{}
	}
	return m
}

func tracesOr(t ChangeTracer) ChangeTracer {
	if t == nil {
		return noTraces{}
	}
	return t
}
