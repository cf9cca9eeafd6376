package telemetry_test

import (
	"context"
	"strings"
	"testing"

	"github.com/galsync/galsync/shared/telemetry"
)

// A bad OTEL_* value is a configuration error that names the variable and
// never echoes a header's value (headers carry API keys).
func TestBadSettingsAreNamed(t *testing.T) {
	base := "http://127.0.0.1:4318"
	for _, tc := range []struct {
		name string
		vars map[string]string
		want string
	}{
		{"grpc", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": base, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{"signal protocol", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": base, "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/json"}, "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"},
		{"not a url", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{"signal url", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "ftp://x/v1/traces"}, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"},
		{"headers", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": base, "OTEL_EXPORTER_OTLP_HEADERS": "api-key=topsecret,broken"}, "OTEL_EXPORTER_OTLP_HEADERS: entry 2"},
		{"header escape", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": base, "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "api-key=topsecret%zz"}, "OTEL_EXPORTER_OTLP_TRACES_HEADERS"},
		{"timeout", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": base, "OTEL_EXPORTER_OTLP_TIMEOUT": "10s"}, "OTEL_EXPORTER_OTLP_TIMEOUT"},
		{"compression", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": base, "OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"}, "OTEL_EXPORTER_OTLP_COMPRESSION"},
		{"exporter", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": base, "OTEL_METRICS_EXPORTER": "prometheus"}, "OTEL_METRICS_EXPORTER"},
		{"sampler", map[string]string{"OTEL_TRACES_SAMPLER": "sometimes"}, "OTEL_TRACES_SAMPLER"},
		{"sampler arg", map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"}, "OTEL_TRACES_SAMPLER_ARG"},
		{"temporality", map[string]string{"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "sometimes"}, "TEMPORALITY_PREFERENCE"},
		{"histogram", map[string]string{"OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION": "linear"}, "HISTOGRAM_AGGREGATION"},
		{"interval", map[string]string{"OTEL_METRIC_EXPORT_INTERVAL": "-1"}, "OTEL_METRIC_EXPORT_INTERVAL"},
		{"resource", map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "a=1,b"}, "OTEL_RESOURCE_ATTRIBUTES: entry 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tel, err := telemetry.New(context.Background(), env(tc.vars), telemetry.Options{})
			if err == nil {
				_ = tel.Shutdown(context.Background())
				t.Fatalf("accepted %v", tc.vars)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "topsecret") {
				t.Errorf("error %q shows a header value", err)
			}
		})
	}
}

// Describe shows where telemetry goes, without credentials.
func TestDescribeHidesCredentials(t *testing.T) {
	tel := start(t, map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": "https://user:pass@collector.example:4318/?code=abc",
		"OTEL_EXPORTER_OTLP_HEADERS":  "api-key=topsecret",
		"OTEL_METRICS_EXPORTER":       "none",
	})
	d := tel.Describe()
	if !strings.Contains(d, "traces to https://collector.example:4318/v1/traces") || !strings.Contains(d, "metrics off (OTEL_METRICS_EXPORTER=none)") {
		t.Errorf("Describe = %q", d)
	}
	for _, secret := range []string{"pass", "topsecret", "abc"} {
		if strings.Contains(d, secret) {
			t.Errorf("Describe = %q shows %q", d, secret)
		}
	}
}

// Sampling follows OTEL_TRACES_SAMPLER; by default a trace is sampled
// where it starts and every hop follows that decision.
func TestSampler(t *testing.T) {
	ep := map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:1/v1/traces"}
	off := start(t, map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": ep["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"], "OTEL_TRACES_SAMPLER": "always_off"})
	if _, s := off.Tracer().Start(context.Background(), "x"); s.IsRecording() {
		t.Error("always_off recorded a span")
	}
	on := start(t, ep)
	unsampled := map[string]string{telemetry.PropTraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"}
	if _, s := on.Tracer().Start(telemetry.ExtractProperties(context.Background(), unsampled), "x"); s.IsRecording() {
		t.Error("the default sampler recorded a span whose parent was not sampled")
	}
	if _, s := on.Tracer().Start(context.Background(), "root"); !s.IsRecording() {
		t.Error("the default sampler dropped a root span")
	}
}
