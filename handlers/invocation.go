package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/galsync/galsync/shared/funcproto"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/logctx"
	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/shared/telemetry"
)

// Every function reads its invocation through serve (and the adapters
// serveHTTP, serveTimer and queueHandler over it) and answers through
// answer.write: one decoder, one answer writer.

// answer is what a function tells the host. status is the answer to the
// host: 0 (200) completes the invocation, anything else fails it (and
// the host drops its outputs). http is the http output an HTTP trigger's
// caller gets; logs go to the host's log.
type answer struct {
	status int
	http   *funcproto.HTTPOutput
	logs   []string
}

// write sends the answer to the host.
func (a answer) write(w http.ResponseWriter) {
	outputs := map[string]any{}
	if a.http != nil {
		outputs[httpOutput] = *a.http
	}
	funcproto.WriteResponse(w, a.status, funcproto.Response{Outputs: outputs, Logs: a.logs})
}

// logged completes an invocation that has no http output.
func logged(lines ...string) answer { return answer{logs: lines} }

// httpAnswer completes an HTTP trigger's invocation with an http output:
// status and body, of contentType (none when the body is empty), with
// extra headers.
func httpAnswer(status int, contentType string, body []byte, headers map[string]string, logLine string) answer {
	h := maps.Clone(headers)
	if len(body) > 0 {
		if h == nil {
			h = map[string]string{}
		}
		h["Content-Type"] = contentType
	}
	return answer{http: &funcproto.HTTPOutput{StatusCode: status, Body: string(body), Headers: h}, logs: []string{logLine}}
}

// textAnswer is an http output of plain text.
func textAnswer(status int, body, logLine string) answer {
	return httpAnswer(status, "text/plain; charset=utf-8", []byte(body), nil, logLine)
}

// jsonAnswer is an http output of v as JSON.
func jsonAnswer(status int, v any) answer {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"could not encode the answer"}`)
	}
	return httpAnswer(status, "application/json; charset=utf-8", b, nil, strconv.Itoa(status))
}

// jsonError is a JSON http output {"error": msg}.
func jsonError(status int, msg string) answer {
	return jsonAnswer(status, map[string]string{"error": msg})
}

// failure fails the invocation (500), logging err once with ctx's logger.
func failure(ctx context.Context, err error) answer {
	kind := "transient"
	if galsync.IsPermanent(err) {
		kind = "permanent"
	}
	logctx.From(ctx).ErrorContext(ctx, "invocation failed", "kind", kind, "err", err)
	return answer{status: http.StatusInternalServerError, logs: []string{kind + ": " + err.Error()}}
}

// serve adapts one function to the protocol. It names the function and
// the invocation in the context's logger (logctx) — the id is the
// X-Azure-Functions-InvocationId header the host sets, read before the
// body, so a malformed invocation is logged with it too — reads the
// invocation, at most maxBytes, and runs run on it. run's answer is
// written; its error fails the invocation and is logged once, here. An
// invocation over maxBytes is answered tooLarge when set (an HTTP
// trigger's 413 to its caller), else it fails.
func serve(d Deps, function string, maxBytes int64, tooLarge *answer, run func(ctx context.Context, inv *funcproto.Invocation) (answer, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := logctx.With(r.Context(), d.logger().With("function", function, "invocation", r.Header.Get(funcproto.HeaderInvocationID)))
		inv, err := funcproto.Decode(r, maxBytes)
		if errors.Is(err, funcproto.ErrBodyTooLarge) && tooLarge != nil {
			logctx.From(ctx).WarnContext(ctx, "invocation refused: body too large", "limit", maxBytes)
			tooLarge.write(w)
			return
		}
		if err != nil {
			failure(ctx, galsync.Permanent(err)).write(w)
			return
		}
		a, err := run(ctx, inv)
		if err != nil {
			a = failure(ctx, err)
		}
		a.write(w)
	})
}

// serveHTTP serves an HTTP-trigger function: run gets the request of its
// "req" binding. refuse makes the function's own answer to a request it
// refuses (here: over maxBytes).
func serveHTTP(d Deps, function string, maxBytes int64, refuse func(status int, msg string) answer,
	run func(ctx context.Context, req funcproto.HTTPRequest, invocationID string) (answer, error)) http.Handler {
	tooLarge := refuse(http.StatusRequestEntityTooLarge, "request body too large")
	return serve(d, function, maxBytes, &tooLarge, func(ctx context.Context, inv *funcproto.Invocation) (answer, error) {
		ctx, span := d.tracer().Start(ctx, function, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		req, err := inv.HTTP("req")
		if err != nil {
			return answer{}, galsync.Permanent(err)
		}
		return run(ctx, req, inv.InvocationID)
	})
}

// serveTimer serves a timer-trigger function: run gets its "timer"
// binding.
func serveTimer(d Deps, function string, run func(ctx context.Context, info funcproto.TimerInfo, invocationID string) (answer, error)) http.Handler {
	return serve(d, function, maxInvocationBytes, nil, func(ctx context.Context, inv *funcproto.Invocation) (answer, error) {
		ctx, span := d.tracer().Start(ctx, function)
		defer span.End()
		info, err := inv.Timer("timer")
		if err != nil {
			return answer{}, galsync.Permanent(err)
		}
		return run(ctx, info, inv.InvocationID)
	})
}

// queueHandler serves a Service Bus-trigger function: run gets the
// message of its "msg" binding and says what it did. A failure is settled
// here rather than handed back to the broker, which would redeliver at
// once (Service Bus does not delay an abandoned message): the Retrier
// reschedules a transient failure for later, or parks a permanent one
// (or one retried past the budget) with its reason for an operator, and
// the answer is 2xx so the host completes the message. Only when even
// that fails does the answer say 500, and the broker keeps the message.
// ctx's logger names the message's direction too, and its span continues
// the trace the message carries.
func queueHandler(d Deps, function, queueName string, run func(ctx context.Context, msg funcproto.ServiceBusMessage, invocationID string) (string, error)) http.Handler {
	return serve(d, function, maxInvocationBytes, nil, func(ctx context.Context, inv *funcproto.Invocation) (answer, error) {
		msg, err := inv.ServiceBus("msg")
		if err != nil {
			return answer{}, galsync.Permanent(err)
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
		summary, err := run(ctx, msg, inv.InvocationID)
		if err == nil {
			return logged(summary), nil
		}
		span.SetStatus(codes.Error, "failed")
		cause := fmt.Errorf("message %s (delivery %d): %w", msg.MessageID, msg.DeliveryCount, err)
		s, serr := d.Retrier.Fail(ctx, queueName, queueMessage(msg), cause, inv.InvocationID)
		if serr != nil {
			return failure(ctx, fmt.Errorf("%w; and it could not be set aside: %v", cause, serr)), nil
		}
		level, what := slog.LevelInfo, "invocation failed; rescheduled"
		switch {
		case s.Parked:
			level, what = slog.LevelError, "invocation failed; parked for an operator"
		case s.Deferred:
			level, what = slog.LevelDebug, "invocation put off for the tenant's Graph budget"
		}
		logctx.From(ctx).Log(ctx, level, what, "attempt", s.Attempt, "delay", s.Delay, "err", cause)
		return logged(s.String()), nil
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

// logger is the deployment's logger, or one that discards.
func (d Deps) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}

// tracer is the deployment's tracer, or a no-op one.
func (d Deps) tracer() trace.Tracer {
	if d.Tracer == nil {
		return tracenoop.NewTracerProvider().Tracer("")
	}
	return d.Tracer
}
