// Package logctx carries an invocation's logger in its context, so every
// line of the invocation names the function, the invocation and the
// direction without passing them down as parameters, and so every line
// logged under a span carries that span's trace_id and span_id (the ids an
// operator pastes into the trace view).
//
// At the boundary (the handler that decodes an invocation):
//
//	ctx := logctx.With(r.Context(), logger.With("function", fn, "invocation", id))
//
// Anywhere below:
//
//	logctx.From(ctx).Info("invited", "user", item.SourceUserID)
//	// function=invite-worker invocation=… direction=… trace_id=… span_id=… user=…
package logctx

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

type key struct{}

// With returns ctx carrying logger.
func With(ctx context.Context, logger *slog.Logger) context.Context {
	return context.WithValue(ctx, key{}, logger)
}

// From returns the logger ctx carries (slog.Default() when it carries
// none), bound to ctx: each line gets the trace_id and span_id of the span
// in the context it is logged with (the *Context methods), else of the
// span in ctx.
func From(ctx context.Context) *slog.Logger {
	logger, ok := ctx.Value(key{}).(*slog.Logger)
	if !ok {
		logger = slog.Default()
	}
	h := logger.Handler()
	if th, ok := h.(traceHandler); ok {
		h = th.inner
	}
	return slog.New(traceHandler{inner: h, ctx: ctx})
}

// NewHandler wraps h so that a line logged with a context holding a span
// (logger.InfoContext(ctx, ...)) carries its trace_id and span_id, for
// loggers that do not come from From.
func NewHandler(h slog.Handler) slog.Handler {
	if th, ok := h.(traceHandler); ok {
		return th
	}
	return traceHandler{inner: h}
}

// traceHandler adds trace_id and span_id from the context a record is
// handled with, falling back to the context From bound it to.
type traceHandler struct {
	inner slog.Handler
	ctx   context.Context
}

func (h traceHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() && h.ctx != nil {
		sc = trace.SpanContextFromContext(h.ctx)
	}
	if sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.inner.Handle(ctx, r)
}

func (h traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceHandler{inner: h.inner.WithAttrs(attrs), ctx: h.ctx}
}

func (h traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{inner: h.inner.WithGroup(name), ctx: h.ctx}
}
