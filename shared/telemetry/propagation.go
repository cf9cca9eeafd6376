package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Application properties that carry a message's trace context, as the
// Azure SDKs set them on Service Bus messages: the W3C traceparent and
// tracestate, and Diagnostic-Id holding the same traceparent value.
// Service Bus documents Diagnostic-Id in W3C traceparent format
// (https://learn.microsoft.com/azure/service-bus-messaging/service-bus-end-to-end-tracing);
// the SDKs write all three and read traceparent first, Diagnostic-Id when
// it is missing (Azure/azure-sdk-for-python,
// sdk/servicebus/azure-servicebus/azure/servicebus/_common/tracing.py:
// trace_message and get_span_link_from_message). The Functions host's
// Service Bus trigger is built on that SDK, so with telemetryMode
// OpenTelemetry its own invocation spans join the same trace.
const (
	PropTraceParent  = "traceparent"
	PropTraceState   = "tracestate"
	PropDiagnosticID = "Diagnostic-Id"
)

// w3c is stateless: no global propagator is read or set.
var w3c = propagation.TraceContext{}

// InjectProperties writes the trace context of ctx's span into a message's
// application properties and returns them (a new map when props is nil).
// With no span context in ctx it writes nothing, so a message sent with
// telemetry off carries no trace properties.
func InjectProperties(ctx context.Context, props map[string]string) map[string]string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return props
	}
	if props == nil {
		props = make(map[string]string, 3)
	}
	// A copied message may hold the previous hop's tracestate.
	delete(props, PropTraceState)
	w3c.Inject(ctx, propagation.MapCarrier(props))
	props[PropDiagnosticID] = props[PropTraceParent]
	return props
}

// ExtractProperties returns ctx with the remote span context a message's
// application properties carry (traceparent and tracestate, else
// Diagnostic-Id), so the span started next continues the sender's trace.
// Properties without a valid W3C traceparent leave ctx as it is.
func ExtractProperties(ctx context.Context, props map[string]string) context.Context {
	return extract(ctx, func(k string) string { return props[k] })
}

// ExtractApplicationProperties is ExtractProperties for the properties as
// the Functions host delivers them (funcproto.ServiceBusMessage's
// ApplicationProperties): only string values count.
func ExtractApplicationProperties(ctx context.Context, props map[string]any) context.Context {
	return extract(ctx, func(k string) string { s, _ := props[k].(string); return s })
}

func extract(ctx context.Context, get func(string) string) context.Context {
	parent := get(PropTraceParent)
	if parent == "" {
		parent = get(PropDiagnosticID)
	}
	if parent == "" {
		return ctx
	}
	carrier := propagation.MapCarrier{PropTraceParent: parent}
	if state := get(PropTraceState); state != "" {
		carrier[PropTraceState] = state
	}
	return w3c.Extract(ctx, carrier)
}

// LinkFromProperties returns a link to the span context a message's
// properties carry, and false when they carry none. Coalesced pulls are
// joined this way: the pull that runs links each request folded into it,
// and a request folded into a pull already sent links that pull's
// message (trace.SpanFromContext(ctx).AddLink(link)).
func LinkFromProperties(props map[string]string, attrs ...attribute.KeyValue) (trace.Link, bool) {
	sc := trace.SpanContextFromContext(ExtractProperties(context.Background(), props))
	if !sc.IsValid() {
		return trace.Link{}, false
	}
	return trace.Link{SpanContext: sc, Attributes: attrs}, true
}

// StartProducer starts the span that sends messages to queue: kind
// producer, named "send <queue>", a child of ctx's span. Write its context
// into each message with InjectProperties(ctx, ...) before sending; end it
// once the send returns.
func StartProducer(ctx context.Context, tr trace.Tracer, queue string, messages int) (context.Context, trace.Span) {
	attrs := []attribute.KeyValue{AttrQueue.String(queue), attribute.String("messaging.operation.type", "send")}
	if messages > 1 {
		attrs = append(attrs, attribute.Int("messaging.batch.message_count", messages))
	}
	return tr.Start(ctx, "send "+queue, trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...))
}

// StartConsumer starts the span that processes one message of queue:
// kind consumer, named "process <queue>", a child of the trace context
// ctx carries, which ExtractProperties (or ExtractApplicationProperties)
// took from the message, so one trace runs across the queue hop. links
// (for instance to coalesced requests) go on the span.
func StartConsumer(ctx context.Context, tr trace.Tracer, queue string, links ...trace.Link) (context.Context, trace.Span) {
	return tr.Start(ctx, "process "+queue,
		trace.WithSpanKind(trace.SpanKindConsumer), trace.WithLinks(links...),
		trace.WithAttributes(AttrQueue.String(queue), attribute.String("messaging.operation.type", "process")))
}
