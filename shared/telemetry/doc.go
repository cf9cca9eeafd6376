// Package telemetry sets up OpenTelemetry for galsync: traces and metrics
// exported over OTLP/HTTP (protobuf) when the standard OTEL_EXPORTER_OTLP_*
// variables name an endpoint, no-op providers (a nil check per call) when
// they do not. It owns the three things the rest of galsync needs:
//
//   - the SDK: New(ctx, getenv, Options) reads the OTEL_* variables
//     through getenv, builds the providers (no global is set) and
//     Shutdown flushes them; Tracer and Metrics are the dependencies
//     handed to the pipeline, Transport wraps an HTTP client so each
//     Graph call is a span;
//   - the trace context of a message: InjectProperties writes
//     traceparent, tracestate and Diagnostic-Id into a message's
//     application properties exactly as the Azure SDKs do for Service Bus,
//     ExtractProperties reads them back on the other side of the queue,
//     so one trace runs from a notification to the PATCH it caused;
//     LinkFromProperties links coalesced pull requests;
//   - the instruments (Metrics): invitations, PATCHes, conflicts, 429s,
//     scheduled retries, dead letters, parked items, pull lag, and the
//     queue-depth and budget gauges fed by callbacks the caller registers.
//
// docs/telemetry.md says what an operator sets and sees. otlptest is an
// in-process OTLP/HTTP receiver for tests.
//
// # A queue hop
//
// The sender writes its span's context into the message; the receiver,
// maybe another instance minutes later, continues the trace from the
// message alone:
//
//	// delta-pull, enqueuing a user's work
//	ctx, send := telemetry.StartProducer(ctx, tel.Tracer(), galsync.QueueInvites, 1)
//	msg.Properties = telemetry.InjectProperties(ctx, msg.Properties)
//	err := sender.Send(ctx, galsync.QueueInvites, msg)
//	send.End()
//
//	// invite-worker, from the Functions host's invocation
//	ctx = telemetry.ExtractApplicationProperties(r.Context(), sb.ApplicationProperties)
//	ctx, span := telemetry.StartConsumer(ctx, tel.Tracer(), galsync.QueueInvites)
//	defer span.End()
//	... POST /invitations through tel.Transport: a child span of "process invites"
//	tel.Metrics().Invitation(ctx, item.Direction)
//
// A pull request folded into a pull already sent (same message id, so the
// broker drops it) links the message it folded into, and the pull links
// back when it knows the requests it stands for:
//
//	if link, ok := telemetry.LinkFromProperties(sent.Properties); ok {
//		trace.SpanFromContext(ctx).AddLink(link)
//	}
package telemetry
