package telemetry

import (
	"context"
	"maps"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/galsync/galsync/shared/queue"
)

// AttrSourceUser is the source user's object id (a GUID, never an address).
const AttrSourceUser = attribute.Key("galsync.source_user")

// StartChange starts the trace of one user's change: a new root span
// "change", linked to the span in ctx (the pull that found the change), so
// each synced user has a trace of its own that runs from the pull through
// the queue hops to the Graph writes. End it once the change is handed on.
func (t *Telemetry) StartChange(ctx context.Context, direction, sourceUser string) (context.Context, func()) {
	opts := []trace.SpanStartOption{trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(AttrDirection.String(direction), AttrSourceUser.String(sourceUser))}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
	}
	ctx, span := t.tracer.Start(ctx, "change", opts...)
	return ctx, func() { span.End() }
}

// Inject writes ctx's trace context into a message's properties.
func (t *Telemetry) Inject(ctx context.Context, props map[string]string) map[string]string {
	return InjectProperties(ctx, props)
}

// Link records on ctx's span a link to the trace whose context props
// carry: a pull request folded into a pull already sent links that pull's
// trace.
func (t *Telemetry) Link(ctx context.Context, props map[string]string) {
	if l, ok := LinkFromProperties(props); ok {
		trace.SpanFromContext(ctx).AddLink(l)
	}
}

// Sender sends through next in a producer span ("send <queue>") and
// writes the trace context into each message, so the worker that receives
// it continues the trace. A message that already carries the context of
// another trace keeps it: the pull gives each user's change a trace of its
// own (StartChange) and sends a page of them at once; a message copied
// within one trace (a hand-off, a retry) is re-parented to the current
// span.
func (t *Telemetry) Sender(next queue.Sender) queue.Sender {
	if !t.tracing {
		return next
	}
	return &tracingSender{next: next, tracer: t.tracer}
}

type tracingSender struct {
	next   queue.Sender
	tracer trace.Tracer
}

func (s *tracingSender) Send(ctx context.Context, name string, msgs ...queue.Message) error {
	ctx, span := StartProducer(ctx, s.tracer, name, len(msgs))
	defer span.End()
	current := trace.SpanContextFromContext(ctx).TraceID().String()
	out := make([]queue.Message, len(msgs))
	for i, m := range msgs {
		if own := traceIDOf(m.Properties[PropTraceParent]); own == "" || own == current {
			m.Properties = InjectProperties(ctx, maps.Clone(m.Properties))
		}
		out[i] = m
	}
	return s.next.Send(ctx, name, out...)
}

// traceIDOf is the trace id of a W3C traceparent
// (version-traceid-parentid-flags), "" when it is not one.
func traceIDOf(traceparent string) string {
	parts := strings.Split(traceparent, "-")
	if len(parts) != 4 || len(parts[1]) != 32 {
		return ""
	}
	return parts[1]
}
