package logctx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/galsync/galsync/shared/logctx"
)

func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestFromCarriesTheLoggerAndTheSpan(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewJSONHandler(&buf, nil))
	ctx := logctx.With(context.Background(), base.With("function", "invite-worker", "invocation", "inv-1"))
	ctx = logctx.With(ctx, logctx.From(ctx).With("direction", "a-to-b"))

	logctx.From(ctx).Info("no span yet")

	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()
	spanCtx, span := tp.Tracer("test").Start(ctx, "process invites")
	sc := span.SpanContext()
	logctx.From(spanCtx).Info("plain method")
	logctx.From(ctx).InfoContext(spanCtx, "context method")
	_, child := tp.Tracer("test").Start(spanCtx, "child")
	logctx.From(spanCtx).InfoContext(trace.ContextWithSpan(spanCtx, child), "the record's context wins")
	child.End()
	span.End()

	got := lines(t, &buf)
	if len(got) != 4 {
		t.Fatalf("%d lines", len(got))
	}
	for i, l := range got {
		if l["function"] != "invite-worker" || l["invocation"] != "inv-1" || l["direction"] != "a-to-b" {
			t.Errorf("line %d lost the invocation's attributes: %v", i, l)
		}
	}
	if _, ok := got[0]["trace_id"]; ok {
		t.Errorf("a line logged without a span has a trace id: %v", got[0])
	}
	for i, l := range got[1:3] {
		if l["trace_id"] != sc.TraceID().String() || l["span_id"] != sc.SpanID().String() {
			t.Errorf("line %d: trace_id %v span_id %v, want %s %s", i+1, l["trace_id"], l["span_id"], sc.TraceID(), sc.SpanID())
		}
	}
	if got[3]["span_id"] != child.SpanContext().SpanID().String() {
		t.Errorf("span_id %v, want the child's %s", got[3]["span_id"], child.SpanContext().SpanID())
	}
	// Rebinding never nests handlers: one trace_id per line.
	if n := strings.Count(buf.String(), `"trace_id"`); n != 3 {
		t.Errorf("%d trace_id attributes in 3 traced lines", n)
	}
}

func TestFromWithoutLoggerUsesTheDefault(t *testing.T) {
	if logctx.From(context.Background()) == nil {
		t.Fatal("From of a bare context returned nil")
	}
}

func TestNewHandlerAddsSpanOfTheRecord(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(logctx.NewHandler(slog.NewJSONHandler(&buf, nil)))
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()
	ctx, span := tp.Tracer("test").Start(context.Background(), "s")
	logger.InfoContext(ctx, "traced")
	logger.Info("untraced")
	span.End()
	got := lines(t, &buf)
	if got[0]["trace_id"] != span.SpanContext().TraceID().String() {
		t.Errorf("traced line: %v", got[0])
	}
	if _, ok := got[1]["trace_id"]; ok {
		t.Errorf("untraced line has a trace id: %v", got[1])
	}
}
