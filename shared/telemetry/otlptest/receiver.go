// Package otlptest is an in-process OTLP/HTTP receiver for tests: an
// httptest server that answers POST /v1/traces and /v1/metrics as a
// collector does (protobuf, gzip or not), decodes them with the OTLP
// protocol's own types (go.opentelemetry.io/proto/otlp) and keeps a flat
// view of what arrived. Point OTEL_EXPORTER_OTLP_ENDPOINT at URL and
// flush the SDK (Shutdown or ForceFlush) before looking: the exports are
// synchronous, so no test has to wait.
package otlptest

import (
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	collmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	colltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Span is one received span; ids are lowercase hex, as in traceparent.
type Span struct {
	Name                          string
	TraceID, SpanID, ParentSpanID string
	Kind                          tracepb.Span_SpanKind
	Error                         bool
	Attributes                    map[string]string
	Links                         []Link
	// Resource holds the resource attributes of the export (service.name...).
	Resource map[string]string
}

// Link is one span link.
type Link struct {
	TraceID, SpanID string
	Attributes      map[string]string
}

// Point is one data point of a metric: Value for sums and gauges, Count
// and Sum for histograms.
type Point struct {
	Metric     string
	Unit       string
	Attributes map[string]string
	Value      float64
	Count      uint64
	Sum        float64
	// Delta is true for delta temporality.
	Delta bool
}

// Request is what an export request carried besides its payload.
type Request struct {
	Path   string
	Header http.Header
}

// Receiver collects exports until the test ends.
type Receiver struct {
	// URL is the receiver's base URL, for OTEL_EXPORTER_OTLP_ENDPOINT.
	URL string

	mu       sync.Mutex
	spans    []Span
	points   []Point
	requests []Request
	// fail answers every export with this status when not 0.
	fail int
}

// New starts a receiver, closed when the test ends.
func New(t testing.TB) *Receiver {
	t.Helper()
	r := &Receiver{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", r.traces)
	mux.HandleFunc("POST /v1/metrics", r.metrics)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// FailWith makes the receiver answer every export with status (0: accept
// again), as an unavailable collector does.
func (r *Receiver) FailWith(status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = status
}

// Spans returns the spans received so far.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

// Points returns the data points of the metric named name received so far.
func (r *Receiver) Points(name string) []Point {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Point
	for _, p := range r.points {
		if p.Metric == name {
			out = append(out, p)
		}
	}
	return out
}

// Requests returns the export requests received so far.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
}

func (r *Receiver) traces(w http.ResponseWriter, req *http.Request) {
	var msg colltracepb.ExportTraceServiceRequest
	if !r.read(w, req, &msg) {
		return
	}
	var spans []Span
	for _, rs := range msg.GetResourceSpans() {
		res := attributes(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				sp := Span{
					Name: s.GetName(), TraceID: hex.EncodeToString(s.GetTraceId()), SpanID: hex.EncodeToString(s.GetSpanId()),
					Kind: s.GetKind(), Error: s.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR,
					Attributes: attributes(s.GetAttributes()), Resource: res,
				}
				if p := s.GetParentSpanId(); len(p) > 0 {
					sp.ParentSpanID = hex.EncodeToString(p)
				}
				for _, l := range s.GetLinks() {
					sp.Links = append(sp.Links, Link{TraceID: hex.EncodeToString(l.GetTraceId()), SpanID: hex.EncodeToString(l.GetSpanId()), Attributes: attributes(l.GetAttributes())})
				}
				spans = append(spans, sp)
			}
		}
	}
	r.mu.Lock()
	r.spans = append(r.spans, spans...)
	r.mu.Unlock()
	answer(w, &colltracepb.ExportTraceServiceResponse{})
}

func (r *Receiver) metrics(w http.ResponseWriter, req *http.Request) {
	var msg collmetricspb.ExportMetricsServiceRequest
	if !r.read(w, req, &msg) {
		return
	}
	var points []Point
	for _, rm := range msg.GetResourceMetrics() {
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				points = append(points, metricPoints(m)...)
			}
		}
	}
	r.mu.Lock()
	r.points = append(r.points, points...)
	r.mu.Unlock()
	answer(w, &collmetricspb.ExportMetricsServiceResponse{})
}

func metricPoints(m *metricspb.Metric) []Point {
	base := Point{Metric: m.GetName(), Unit: m.GetUnit()}
	var out []Point
	number := func(dps []*metricspb.NumberDataPoint, delta bool) {
		for _, dp := range dps {
			p := base
			p.Attributes, p.Delta = attributes(dp.GetAttributes()), delta
			switch v := dp.GetValue().(type) {
			case *metricspb.NumberDataPoint_AsInt:
				p.Value = float64(v.AsInt)
			case *metricspb.NumberDataPoint_AsDouble:
				p.Value = v.AsDouble
			}
			out = append(out, p)
		}
	}
	isDelta := func(t metricspb.AggregationTemporality) bool {
		return t == metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA
	}
	switch d := m.GetData().(type) {
	case *metricspb.Metric_Sum:
		number(d.Sum.GetDataPoints(), isDelta(d.Sum.GetAggregationTemporality()))
	case *metricspb.Metric_Gauge:
		number(d.Gauge.GetDataPoints(), false)
	case *metricspb.Metric_Histogram:
		for _, dp := range d.Histogram.GetDataPoints() {
			p := base
			p.Attributes, p.Count, p.Sum = attributes(dp.GetAttributes()), dp.GetCount(), dp.GetSum()
			p.Delta = isDelta(d.Histogram.GetAggregationTemporality())
			out = append(out, p)
		}
	case *metricspb.Metric_ExponentialHistogram:
		for _, dp := range d.ExponentialHistogram.GetDataPoints() {
			p := base
			p.Attributes, p.Count, p.Sum = attributes(dp.GetAttributes()), dp.GetCount(), dp.GetSum()
			p.Delta = isDelta(d.ExponentialHistogram.GetAggregationTemporality())
			out = append(out, p)
		}
	}
	return out
}

// read decodes an export body into msg, answering the request itself when
// it cannot.
func (r *Receiver) read(w http.ResponseWriter, req *http.Request, msg proto.Message) bool {
	r.mu.Lock()
	r.requests = append(r.requests, Request{Path: req.URL.Path, Header: req.Header.Clone()})
	fail := r.fail
	r.mu.Unlock()
	if fail != 0 {
		http.Error(w, "receiver told to fail", fail)
		return false
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		http.Error(w, "Content-Type "+ct+" (want application/x-protobuf)", http.StatusUnsupportedMediaType)
		return false
	}
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return false
		}
		defer zr.Close()
		body = zr
	}
	b, err := io.ReadAll(body)
	if err == nil {
		err = proto.Unmarshal(b, msg)
	}
	if err != nil {
		http.Error(w, fmt.Sprintf("decode %s: %v", req.URL.Path, err), http.StatusBadRequest)
		return false
	}
	return true
}

func answer(w http.ResponseWriter, msg proto.Message) {
	b, err := proto.Marshal(msg)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(b)
}

// attributes renders OTLP attributes as strings (ints in decimal).
func attributes(kvs []*commonpb.KeyValue) map[string]string {
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		switch v := kv.GetValue().GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			out[kv.GetKey()] = v.StringValue
		case *commonpb.AnyValue_IntValue:
			out[kv.GetKey()] = strconv.FormatInt(v.IntValue, 10)
		case *commonpb.AnyValue_DoubleValue:
			out[kv.GetKey()] = strconv.FormatFloat(v.DoubleValue, 'g', -1, 64)
		case *commonpb.AnyValue_BoolValue:
			out[kv.GetKey()] = strconv.FormatBool(v.BoolValue)
		default:
			out[kv.GetKey()] = kv.GetValue().String()
		}
	}
	return out
}
