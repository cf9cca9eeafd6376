package telemetry_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/galsync/galsync/shared/telemetry"
	"github.com/galsync/galsync/shared/telemetry/otlptest"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func start(t *testing.T, vars map[string]string) *telemetry.Telemetry {
	t.Helper()
	tel, err := telemetry.New(context.Background(), env(vars), telemetry.Options{ServiceVersion: "1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	return tel
}

var traceparent = regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-01$`)

// A pipeline in miniature: a notification asks for a pull (a message with
// the trace context in its properties); a timer's request folds into that
// pull; the pull runs on "another instance" from the message alone, calls
// Graph, and counts what it did. One trace runs from the notification to
// the Graph call, the folded request is linked both ways, and the metrics
// arrive with their attributes.
func TestQueueHopContinuesTheTrace(t *testing.T) {
	rcv := otlptest.New(t)
	tel := start(t, map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": rcv.URL,
		"OTEL_EXPORTER_OTLP_HEADERS":  "x-api-key=s3cret%20key",
		"OTEL_SERVICE_NAME":           "galsync-test",
		"OTEL_RESOURCE_ATTRIBUTES":    "deployment.environment=test",
	})
	tr, m := tel.Tracer(), tel.Metrics()
	if m == nil {
		t.Fatal("metrics are off with an endpoint set")
	}
	graph := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("request-id", "graph-req-1")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer graph.Close()
	client := &http.Client{Transport: tel.Transport(nil)}

	// Sender: graph-notify.
	ctx, notify := tr.Start(context.Background(), "graph-notify")
	sendCtx, send := telemetry.StartProducer(ctx, tr, "pulls", 1)
	props := telemetry.InjectProperties(sendCtx, map[string]string{"galsync-direction": "a-to-b"})
	send.End()
	notify.End()
	if !traceparent.MatchString(props[telemetry.PropTraceParent]) || props[telemetry.PropDiagnosticID] != props[telemetry.PropTraceParent] {
		t.Fatalf("message properties %v: want a sampled W3C traceparent and the same Diagnostic-Id", props)
	}

	// A timer's request for the same pull is folded into the message
	// already sent, and links it.
	_, timer := tr.Start(context.Background(), "delta-timer")
	link, ok := telemetry.LinkFromProperties(props, attribute.String("galsync.coalesced", "true"))
	if !ok {
		t.Fatal("no link from the message's properties")
	}
	timer.AddLink(link)
	timer.End()

	// Receiver: delta-pull, from the properties as the host delivers them.
	delivered := map[string]any{}
	for k, v := range props {
		delivered[k] = v
	}
	pctx := telemetry.ExtractApplicationProperties(context.Background(), delivered)
	pctx, process := telemetry.StartConsumer(pctx, tr, "pulls", trace.LinkFromContext(trace.ContextWithSpan(context.Background(), timer)))
	pageCtx, page := tr.Start(pctx, "page")
	req, _ := http.NewRequestWithContext(pageCtx, http.MethodGet, graph.URL+"/v1.0/users/alice@contoso.com?$filter=mail%20eq%20'x'", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	m.Throttled(pageCtx, "contoso")
	m.RetryScheduled(pageCtx, "invites", "throttled")
	m.Invitation(pageCtx, "a-to-b")
	m.Patch(pageCtx, "a-to-b")
	m.Patch(pageCtx, "a-to-b")
	m.Conflict(pageCtx, "a-to-b", "etag")
	m.DeadLettered(pageCtx, "updates", "permanent")
	m.Parked(pageCtx, "a-to-b", "deletion-threshold")
	m.PullLag(pageCtx, "a-to-b", 1500*time.Millisecond)
	page.End()
	process.End()
	unregister, err := m.ObserveQueueDepth(func(_ context.Context, observe func(string, int64, int64)) error {
		observe("invites", 7, 1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = unregister() }()
	if _, err := m.ObserveBudget(func(_ context.Context, observe func(string, string, float64)) error {
		observe("contoso", "invitations", 0.25)
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	spans := map[string]otlptest.Span{}
	for _, s := range rcv.Spans() {
		spans[s.Name] = s
	}
	for _, name := range []string{"graph-notify", "send pulls", "delta-timer", "process pulls", "page", "GET /v1.0/users/{id}"} {
		if _, ok := spans[name]; !ok {
			t.Fatalf("no span %q among %v", name, rcv.Spans())
		}
	}
	traceID := spans["graph-notify"].TraceID
	for _, name := range []string{"send pulls", "process pulls", "page", "GET /v1.0/users/{id}"} {
		if spans[name].TraceID != traceID {
			t.Errorf("span %q is in trace %s, not the notification's %s", name, spans[name].TraceID, traceID)
		}
	}
	if spans["delta-timer"].TraceID == traceID {
		t.Error("the timer's own request shares the notification's trace; it should only link it")
	}
	if p := spans["process pulls"]; p.ParentSpanID != spans["send pulls"].SpanID || p.Kind != tracepb.Span_SPAN_KIND_CONSUMER {
		t.Errorf("process pulls: parent %s kind %v, want the send span %s, consumer", p.ParentSpanID, p.Kind, spans["send pulls"].SpanID)
	}
	if l := spans["delta-timer"].Links; len(l) != 1 || l[0].SpanID != spans["send pulls"].SpanID || l[0].Attributes["galsync.coalesced"] != "true" {
		t.Errorf("delta-timer links %+v, want the pull message it folded into", l)
	}
	if l := spans["process pulls"].Links; len(l) != 1 || l[0].SpanID != spans["delta-timer"].SpanID {
		t.Errorf("process pulls links %+v, want the folded request", l)
	}
	g := spans["GET /v1.0/users/{id}"]
	if g.ParentSpanID != spans["page"].SpanID || !g.Error || g.Attributes["http.response.status_code"] != "429" ||
		g.Attributes["galsync.graph.request_id"] != "graph-req-1" {
		t.Errorf("graph span %+v", g)
	}
	for _, s := range rcv.Spans() {
		for k, v := range s.Attributes {
			if strings.Contains(v, "alice") || strings.Contains(v, "filter") {
				t.Errorf("span %q attribute %s=%q leaks the request's address or query", s.Name, k, v)
			}
		}
	}
	if r := spans["page"].Resource; r["service.name"] != "galsync-test" || r["service.version"] != "1.2.3" || r["deployment.environment"] != "test" {
		t.Errorf("resource %v", r)
	}
	for _, req := range rcv.Requests() {
		if got := req.Header.Get("X-Api-Key"); got != "s3cret key" {
			t.Errorf("%s carried x-api-key %q, want the decoded OTEL_EXPORTER_OTLP_HEADERS value", req.Path, got)
		}
	}

	sum := func(name string, attrs map[string]string) float64 {
		var total float64
		for _, p := range rcv.Points(name) {
			match := true
			for k, v := range attrs {
				match = match && p.Attributes[k] == v
			}
			if match {
				total += p.Value
			}
		}
		return total
	}
	dir := map[string]string{"galsync.direction": "a-to-b"}
	for _, c := range []struct {
		name  string
		attrs map[string]string
		want  float64
	}{
		{telemetry.MetricInvitations, dir, 1},
		{telemetry.MetricPatches, dir, 2},
		{telemetry.MetricConflicts, map[string]string{"galsync.direction": "a-to-b", "galsync.reason": "etag"}, 1},
		{telemetry.MetricThrottled, map[string]string{"galsync.tenant": "contoso"}, 1},
		{telemetry.MetricRetries, map[string]string{"messaging.destination.name": "invites", "galsync.reason": "throttled"}, 1},
		{telemetry.MetricDeadLetters, map[string]string{"messaging.destination.name": "updates"}, 1},
		{telemetry.MetricParked, dir, 1},
		{telemetry.MetricQueueDepth, map[string]string{"messaging.destination.name": "invites", "galsync.queue.state": "active"}, 7},
		{telemetry.MetricQueueDepth, map[string]string{"messaging.destination.name": "invites", "galsync.queue.state": "dead_lettered"}, 1},
		{telemetry.MetricBudgetUsed, map[string]string{"galsync.tenant": "contoso", "galsync.budget": "invitations"}, 0.25},
	} {
		if got := sum(c.name, c.attrs); got != c.want {
			t.Errorf("%s %v = %v, want %v (points %+v)", c.name, c.attrs, got, c.want, rcv.Points(c.name))
		}
	}
	lag := rcv.Points(telemetry.MetricPullLag)
	if len(lag) != 1 || lag[0].Count != 1 || lag[0].Sum != 1.5 || lag[0].Unit != "s" || lag[0].Delta {
		t.Errorf("pull lag points %+v, want one cumulative observation of 1.5 s", lag)
	}
}

// With no endpoint, everything is a no-op: no metrics, no recorded spans,
// nothing written into messages, and the HTTP transport is left as is.
func TestOffWithoutEndpoint(t *testing.T) {
	for name, vars := range map[string]map[string]string{
		"no endpoint":  {"OTEL_SERVICE_NAME": "galsync"},
		"sdk disabled": {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_SDK_DISABLED": "true"},
		"both none":    {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none"},
	} {
		t.Run(name, func(t *testing.T) {
			tel := start(t, vars)
			if tel.Metrics() != nil {
				t.Error("metrics on")
			}
			ctx, span := tel.Tracer().Start(context.Background(), "x")
			if span.IsRecording() || span.SpanContext().IsValid() {
				t.Error("a span records")
			}
			if props := telemetry.InjectProperties(ctx, nil); props != nil {
				t.Errorf("wrote %v into a message", props)
			}
			if rt := tel.Transport(http.DefaultTransport); rt != http.DefaultTransport {
				t.Error("the transport was wrapped")
			}
			if !strings.Contains(tel.Describe(), "traces off") || !strings.Contains(tel.Describe(), "metrics off") {
				t.Errorf("Describe: %s", tel.Describe())
			}
			// A nil *Metrics takes every call.
			m := tel.Metrics()
			m.Invitation(ctx, "a-to-b")
			m.PullLag(ctx, "a-to-b", time.Second)
			if unregister, err := m.ObserveQueueDepth(nil); err != nil || unregister() != nil {
				t.Error("nil metrics refused a callback")
			}
		})
	}
}

// Telemetry off still carries an incoming trace context through: the next
// message names the same trace, so a trace started upstream (the
// Functions host's) is not cut here.
func TestOffPassesTheIncomingContextOn(t *testing.T) {
	tel := telemetry.Disabled()
	in := map[string]string{telemetry.PropTraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
	ctx, span := tel.Tracer().Start(telemetry.ExtractProperties(context.Background(), in), "process pulls")
	defer span.End()
	out := telemetry.InjectProperties(ctx, nil)
	if out[telemetry.PropTraceParent] != in[telemetry.PropTraceParent] {
		t.Errorf("passed on %v, want %v", out, in)
	}
}

// One signal can be on without the other: a signal-specific endpoint is
// used as given, and OTEL_*_EXPORTER=none turns a signal off.
func TestSignalsAreIndependent(t *testing.T) {
	rcv := otlptest.New(t)
	tel := start(t, map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": rcv.URL + "/v1/traces"})
	if tel.Metrics() != nil || !strings.Contains(tel.Describe(), "traces to "+rcv.URL+"/v1/traces") {
		t.Errorf("traces-only: metrics %v, %s", tel.Metrics(), tel.Describe())
	}
	_, span := tel.Tracer().Start(context.Background(), "only-traces")
	span.End()
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := rcv.Spans(); len(s) != 1 || s[0].Name != "only-traces" {
		t.Errorf("spans %+v", s)
	}

	rcv2 := otlptest.New(t)
	tel2 := start(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": rcv2.URL + "/", "OTEL_TRACES_EXPORTER": "none"})
	tel2.Metrics().Patch(context.Background(), "a-to-b")
	if err := tel2.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, r := range rcv2.Requests() {
		if r.Path != "/v1/metrics" {
			t.Errorf("export to %s with traces off", r.Path)
		}
	}
	if len(rcv2.Points(telemetry.MetricPatches)) != 1 {
		t.Errorf("no patches point from the base endpoint with a trailing slash")
	}
}

// Application Insights' OTLP ingestion wants delta temporality and
// exponential histograms; both preferences are honoured, with gzip.
func TestDeltaExponentialGzip(t *testing.T) {
	rcv := otlptest.New(t)
	tel := start(t, map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT":                              rcv.URL,
		"OTEL_EXPORTER_OTLP_COMPRESSION":                           "gzip",
		"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE":        "delta",
		"OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION": "base2_exponential_bucket_histogram",
	})
	tel.Metrics().Invitation(context.Background(), "a-to-b")
	tel.Metrics().PullLag(context.Background(), "a-to-b", 3*time.Second)
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p := rcv.Points(telemetry.MetricInvitations); len(p) != 1 || !p[0].Delta || p[0].Value != 1 {
		t.Errorf("invitations %+v, want one delta point", p)
	}
	if p := rcv.Points(telemetry.MetricPullLag); len(p) != 1 || !p[0].Delta || p[0].Count != 1 || p[0].Sum != 3 {
		t.Errorf("pull lag %+v, want one delta exponential-histogram point", p)
	}
	for _, r := range rcv.Requests() {
		if r.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("%s not gzipped", r.Path)
		}
	}
}

// A collector that refuses the export makes Shutdown say so.
func TestShutdownReportsARefusedExport(t *testing.T) {
	rcv := otlptest.New(t)
	rcv.FailWith(http.StatusBadRequest)
	tel := start(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": rcv.URL})
	tel.Metrics().Patch(context.Background(), "a-to-b")
	err := tel.Shutdown(context.Background())
	if err == nil || !strings.Contains(err.Error(), "telemetry") {
		t.Errorf("Shutdown = %v, want the refused export", err)
	}
	if again := tel.Shutdown(context.Background()); again != err {
		t.Errorf("second Shutdown = %v, want the first result", again)
	}
}
