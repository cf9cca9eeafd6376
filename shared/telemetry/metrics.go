package telemetry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Attribute keys of galsync's metrics and spans. Values are names from the
// topology, queue names and short reason codes: never a mail address, a
// display name or a token.
const (
	AttrDirection  = attribute.Key("galsync.direction")
	AttrTenant     = attribute.Key("galsync.tenant")
	AttrReason     = attribute.Key("galsync.reason")
	AttrBudget     = attribute.Key("galsync.budget")
	AttrQueueState = attribute.Key("galsync.queue.state")
	// AttrQueue is the OpenTelemetry messaging convention's queue name.
	AttrQueue = attribute.Key("messaging.destination.name")
)

// Metric names, as an operator finds them in the backend (docs/telemetry.md).
const (
	MetricInvitations    = "galsync.invitations"
	MetricPatches        = "galsync.patches"
	MetricConflicts      = "galsync.conflicts"
	MetricThrottled      = "galsync.graph.throttled"
	MetricRetries        = "galsync.retries.scheduled"
	MetricDeadLetters    = "galsync.dead_letters"
	MetricParked         = "galsync.parked"
	MetricPullLag        = "galsync.pull.lag"
	MetricQueueDepth     = "galsync.queue.depth"
	MetricBudgetUsed     = "galsync.tenant.budget.utilization"
	queueStateActive     = "active"
	queueStateDeadLetter = "dead_lettered"
)

// pullLagBuckets (seconds) span a notification folded into a pull within
// a second to a timer's safety-net pull minutes later.
var pullLagBuckets = []float64{0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}

// Metrics are galsync's instruments, one small dependency for the
// pipeline and the handlers. A nil *Metrics records nothing, at the cost
// of a nil check: that is what Telemetry.Metrics returns when metrics are
// off.
type Metrics struct {
	meter                                                             metric.Meter
	invitations, patches, conflicts, throttled, retries, dead, parked metric.Int64Counter
	pullLag                                                           metric.Float64Histogram
	queueDepth                                                        metric.Int64ObservableGauge
	budgetUsed                                                        metric.Float64ObservableGauge
}

// NewMetrics creates the instruments on mp's galsync meter.
func NewMetrics(mp metric.MeterProvider) (*Metrics, error) {
	m := &Metrics{meter: mp.Meter(ScopeName)}
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := m.meter.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	m.invitations = counter(MetricInvitations, "{invitation}", "Invitations sent (POST /invitations), by direction.")
	m.patches = counter(MetricPatches, "{request}", "User PATCHes sent to a target tenant, by direction.")
	m.conflicts = counter(MetricConflicts, "{conflict}", "Writes that lost a race (ETag mismatch, a claim held by another worker), by direction and reason.")
	m.throttled = counter(MetricThrottled, "{response}", "Microsoft Graph 429 answers, by tenant.")
	m.retries = counter(MetricRetries, "{message}", "Messages rescheduled past a transient cause (throttling, replication delay), by queue and reason.")
	m.dead = counter(MetricDeadLetters, "{message}", "Messages dead-lettered with their reason, by queue and reason.")
	m.parked = counter(MetricParked, "{item}", "Items held for an operator (a paused direction), by direction and reason.")
	var err error
	m.pullLag, err = m.meter.Float64Histogram(MetricPullLag, metric.WithUnit("s"),
		metric.WithDescription("From the pull's request (notification, timer) to the pull reading Graph, by direction."),
		metric.WithExplicitBucketBoundaries(pullLagBuckets...))
	errs = append(errs, err)
	m.queueDepth, err = m.meter.Int64ObservableGauge(MetricQueueDepth, metric.WithUnit("{message}"),
		metric.WithDescription("Messages in each queue, by queue and state (active, dead_lettered)."))
	errs = append(errs, err)
	m.budgetUsed, err = m.meter.Float64ObservableGauge(MetricBudgetUsed, metric.WithUnit("1"),
		metric.WithDescription("Share of a Graph budget used in its current window (0 to 1), by tenant and budget."))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("telemetry: instruments: %w", err)
	}
	return m, nil
}

// Invitation counts one invitation sent for direction.
func (m *Metrics) Invitation(ctx context.Context, direction string) {
	if m == nil {
		return
	}
	m.invitations.Add(ctx, 1, metric.WithAttributes(AttrDirection.String(direction)))
}

// Patch counts one user PATCH sent for direction.
func (m *Metrics) Patch(ctx context.Context, direction string) {
	if m == nil {
		return
	}
	m.patches.Add(ctx, 1, metric.WithAttributes(AttrDirection.String(direction)))
}

// Conflict counts one write that lost a race, with a short reason code
// ("etag", "claim").
func (m *Metrics) Conflict(ctx context.Context, direction, reason string) {
	if m == nil {
		return
	}
	m.conflicts.Add(ctx, 1, metric.WithAttributes(AttrDirection.String(direction), AttrReason.String(reason)))
}

// Throttled counts one 429 from tenant's Graph.
func (m *Metrics) Throttled(ctx context.Context, tenant string) {
	if m == nil {
		return
	}
	m.throttled.Add(ctx, 1, metric.WithAttributes(AttrTenant.String(tenant)))
}

// RetryScheduled counts one message rescheduled on queue ("throttled",
// "replication").
func (m *Metrics) RetryScheduled(ctx context.Context, queue, reason string) {
	if m == nil {
		return
	}
	m.retries.Add(ctx, 1, metric.WithAttributes(AttrQueue.String(queue), AttrReason.String(reason)))
}

// DeadLettered counts one message of queue dead-lettered with reason.
func (m *Metrics) DeadLettered(ctx context.Context, queue, reason string) {
	if m == nil {
		return
	}
	m.dead.Add(ctx, 1, metric.WithAttributes(AttrQueue.String(queue), AttrReason.String(reason)))
}

// Parked counts one item of direction held for an operator.
func (m *Metrics) Parked(ctx context.Context, direction, reason string) {
	if m == nil {
		return
	}
	m.parked.Add(ctx, 1, metric.WithAttributes(AttrDirection.String(direction), AttrReason.String(reason)))
}

// PullLag records how long direction's pull waited between its request
// and its start.
func (m *Metrics) PullLag(ctx context.Context, direction string, lag time.Duration) {
	if m == nil {
		return
	}
	m.pullLag.Record(ctx, max(lag, 0).Seconds(), metric.WithAttributes(AttrDirection.String(direction)))
}

// QueueDepthFunc reports the depth of each queue through observe. It runs
// at each metric export (OTEL_METRIC_EXPORT_INTERVAL, 60 s by default),
// never on the request path.
type QueueDepthFunc func(ctx context.Context, observe func(queue string, active, deadLettered int64)) error

// BudgetFunc reports, through observe, the share (0 to 1) of each Graph
// budget of each tenant used in its current window ("invitations",
// "writes"). It runs at each metric export.
type BudgetFunc func(ctx context.Context, observe func(tenant, budget string, used float64)) error

// ObserveQueueDepth feeds galsync.queue.depth from f until unregister is
// called.
func (m *Metrics) ObserveQueueDepth(f QueueDepthFunc) (unregister func() error, err error) {
	if m == nil {
		return func() error { return nil }, nil
	}
	reg, err := m.meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		return f(ctx, func(queue string, active, deadLettered int64) {
			o.ObserveInt64(m.queueDepth, active, metric.WithAttributes(AttrQueue.String(queue), AttrQueueState.String(queueStateActive)))
			o.ObserveInt64(m.queueDepth, deadLettered, metric.WithAttributes(AttrQueue.String(queue), AttrQueueState.String(queueStateDeadLetter)))
		})
	}, m.queueDepth)
	if err != nil {
		return nil, fmt.Errorf("telemetry: queue depth callback: %w", err)
	}
	return reg.Unregister, nil
}

// ObserveBudget feeds galsync.tenant.budget.utilization from f until
// unregister is called.
func (m *Metrics) ObserveBudget(f BudgetFunc) (unregister func() error, err error) {
	if m == nil {
		return func() error { return nil }, nil
	}
	reg, err := m.meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		return f(ctx, func(tenant, budget string, used float64) {
			o.ObserveFloat64(m.budgetUsed, used, metric.WithAttributes(AttrTenant.String(tenant), AttrBudget.String(budget)))
		})
	}, m.budgetUsed)
	if err != nil {
		return nil, fmt.Errorf("telemetry: budget callback: %w", err)
	}
	return reg.Unregister, nil
}
