package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/galsync/galsync/shared/funcproto"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/logctx"
	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/shared/telemetry"
)

// queueHandler adapts a function of one Service Bus message to the
// protocol: decode the invocation, run, answer. A failure is settled here
// rather than handed back to the broker, which would redeliver at once
// (Service Bus does not delay an abandoned message): the Retrier
// reschedules a transient failure for later, or parks a permanent one (or
// one retried past the budget) with its reason for an operator, and the
// answer is 2xx so the host completes the message. Only when even that
// fails does the answer say 500, and the broker keeps the message.
// Errors are logged once, here. run gets r with a context logger (logctx)
// naming the function, the invocation and the message's direction.
func queueHandler(d Deps, function, queueName string, run func(r *http.Request, msg funcproto.ServiceBusMessage, invocationID string) (string, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := invocationContext(r, d.Logger, function)
		inv, err := funcproto.Decode(r, maxInvocationBytes)
		if err != nil {
			failed(ctx, w, galsync.Permanent(err))
			return
		}
		msg, err := inv.ServiceBus("msg")
		if err != nil {
			failed(ctx, w, galsync.Permanent(err))
			return
		}
		// Every galsync message names its direction in its properties
		// (pipeline's messages), so the lines logged before the body is
		// decoded, the failure included, carry it too.
		if dir, _ := msg.ApplicationProperties[queue.PropDirection].(string); dir != "" {
			ctx = logctx.With(ctx, logctx.From(ctx).With("direction", dir))
		}
		// The trace the message carries continues here, across the hop.
		ctx = telemetry.ExtractApplicationProperties(ctx, msg.ApplicationProperties)
		ctx, span := telemetry.StartConsumer(ctx, d.tracer(), queueName)
		defer span.End()
		summary, err := run(r.WithContext(ctx), msg, inv.InvocationID)
		if err != nil {
			span.SetStatus(codes.Error, "failed")
		}
		if err == nil {
			funcproto.WriteResponse(w, http.StatusOK, funcproto.Response{Logs: []string{summary}})
			return
		}
		cause := fmt.Errorf("message %s (delivery %d): %w", msg.MessageID, msg.DeliveryCount, err)
		s, serr := d.Retrier.Fail(ctx, queueName, queueMessage(msg), cause, inv.InvocationID)
		if serr != nil {
			failed(ctx, w, fmt.Errorf("%w; and it could not be set aside: %v", cause, serr))
			return
		}
		level, what := slog.LevelInfo, "invocation failed; rescheduled"
		switch {
		case s.Parked:
			level, what = slog.LevelError, "invocation failed; parked for an operator"
		case s.Deferred:
			level, what = slog.LevelDebug, "invocation put off for the tenant's Graph budget"
		}
		logctx.From(ctx).Log(ctx, level, what, "attempt", s.Attempt, "delay", s.Delay, "err", cause)
		funcproto.WriteResponse(w, http.StatusOK, funcproto.Response{Logs: []string{s.String()}})
	})
}

// queueMessage is the delivered message as the queue port sends it again.
func queueMessage(m funcproto.ServiceBusMessage) queue.Message {
	props := make(map[string]string, len(m.ApplicationProperties))
	for k, v := range m.ApplicationProperties {
		if s, ok := v.(string); ok {
			props[k] = s
		} else {
			props[k] = fmt.Sprint(v)
		}
	}
	return queue.Message{ID: m.MessageID, Body: m.Body, ContentType: m.ContentType, Subject: m.Subject,
		CorrelationID: m.CorrelationID, SessionID: m.SessionID, Properties: props}
}

// invocationContext returns r's context with a logger naming the function
// and the invocation. The id is the X-Azure-Functions-InvocationId header
// the host sets on every invocation, read before the body is decoded, so a
// malformed invocation is logged with its id too.
func invocationContext(r *http.Request, logger *slog.Logger, function string) context.Context {
	return logctx.With(r.Context(), logger.With("function", function, "invocation", r.Header.Get(funcproto.HeaderInvocationID)))
}

// failed answers a failed invocation and logs it once with ctx's logger.
func failed(ctx context.Context, w http.ResponseWriter, err error) {
	kind := "transient"
	if galsync.IsPermanent(err) {
		kind = "permanent"
	}
	logctx.From(ctx).ErrorContext(ctx, "invocation failed", "kind", kind, "err", err)
	funcproto.WriteResponse(w, http.StatusInternalServerError, funcproto.Response{Logs: []string{kind + ": " + err.Error()}})
}

// fail is failed for the handlers that name the function and invocation
// themselves.
func fail(w http.ResponseWriter, logger *slog.Logger, function, invocationID string, err error) {
	failed(logctx.With(context.Background(), logger.With("function", function, "invocation", invocationID)), w, err)
}

// tracer is the deployment's tracer, or a no-op one.
func (d Deps) tracer() trace.Tracer {
	if d.Tracer == nil {
		return tracenoop.NewTracerProvider().Tracer("")
	}
	return d.Tracer
}
