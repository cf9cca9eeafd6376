package telemetry

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// ScopeName names galsync's tracer and meter (the instrumentation scope).
const ScopeName = "github.com/galsync/galsync"

// Options are what the caller knows and the environment does not.
type Options struct {
	// ServiceName is service.name unless OTEL_SERVICE_NAME or
	// OTEL_RESOURCE_ATTRIBUTES set it ("galsync" when empty).
	ServiceName string
	// ServiceVersion is service.version, when known.
	ServiceVersion string
}

// Telemetry is galsync's OpenTelemetry SDK: a tracer provider and a meter
// provider exporting over OTLP/HTTP, or no-op ones when no endpoint is set.
// It sets no global (otel.SetTracerProvider is never called): callers get
// the Tracer and the Metrics as dependencies.
type Telemetry struct {
	tp       trace.TracerProvider
	mp       metric.MeterProvider
	tracer   trace.Tracer
	metrics  *Metrics
	describe string
	tracing  bool

	shutdowns []func(context.Context) error
	flushes   []func(context.Context) error
	once      sync.Once
	err       error
}

// New sets the SDK up from the standard OTEL_* variables read through
// getenv (os.Getenv in production): OTEL_EXPORTER_OTLP_ENDPOINT (or the
// _TRACES_/_METRICS_ endpoints), _HEADERS, _TIMEOUT, _COMPRESSION,
// OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER(_ARG),
// OTEL_METRIC_EXPORT_INTERVAL, the metrics temporality and histogram
// preferences, OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER=none and
// OTEL_SDK_DISABLED. A signal without an endpoint is off and costs a no-op
// call. Nothing is dialled here; Shutdown flushes.
func New(ctx context.Context, getenv func(string) string, o Options) (*Telemetry, error) {
	if o.ServiceName == "" {
		o.ServiceName = "galsync"
	}
	c, err := readConfig(getenv, o.ServiceName, o.ServiceVersion)
	if err != nil {
		return nil, err
	}
	t := &Telemetry{tp: tracenoop.NewTracerProvider(), mp: metricnoop.NewMeterProvider()}
	if c.traces == nil && c.metrics == nil {
		t.finish(c)
		return t, nil
	}
	// resource.New without WithFromEnv: the attributes come from getenv.
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithAttributes(c.resource...))
	if err != nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}
	if c.traces != nil {
		exp, err := otlptracehttp.New(ctx, traceOptions(c.traces)...)
		if err != nil {
			return nil, fmt.Errorf("telemetry: trace exporter: %w", err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res), sdktrace.WithSampler(c.sampler))
		t.tp, t.tracing = tp, true
		t.shutdowns = append(t.shutdowns, tp.Shutdown)
		t.flushes = append(t.flushes, tp.ForceFlush)
	}
	if c.metrics != nil {
		exp, err := otlpmetrichttp.New(ctx, append(metricOptions(c.metrics),
			otlpmetrichttp.WithTemporalitySelector(c.temporality),
			otlpmetrichttp.WithAggregationSelector(c.aggregation))...)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("telemetry: metric exporter: %w", err), t.Shutdown(ctx))
		}
		reader := sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(c.interval), sdkmetric.WithTimeout(c.pushTimeout))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(res))
		t.mp = mp
		t.shutdowns = append(t.shutdowns, mp.Shutdown)
		t.flushes = append(t.flushes, mp.ForceFlush)
		if t.metrics, err = NewMetrics(mp); err != nil {
			return nil, errors.Join(err, t.Shutdown(ctx))
		}
	}
	t.finish(c)
	return t, nil
}

// Disabled returns a Telemetry that records nothing (tests, commands that
// do not sync).
func Disabled() *Telemetry {
	t := &Telemetry{tp: tracenoop.NewTracerProvider(), mp: metricnoop.NewMeterProvider()}
	t.finish(config{why: map[string]string{tracesSignal.name: "disabled", metricsSignal.name: "disabled"}})
	return t
}

func (t *Telemetry) finish(c config) {
	t.tracer = t.tp.Tracer(ScopeName)
	t.describe = fmt.Sprintf("traces %s; metrics %s", where(c.traces, c.why[tracesSignal.name]), where(c.metrics, c.why[metricsSignal.name]))
}

// where describes an export without its headers or any credentials in
// the URL.
func where(e *export, why string) string {
	if e == nil {
		return "off (" + why + ")"
	}
	u := *e.url
	u.User, u.RawQuery = nil, ""
	return "to " + u.String()
}

func traceOptions(e *export) []otlptracehttp.Option {
	opts := []otlptracehttp.Option{
		otlptracehttp.WithEndpointURL(e.url.String()),
		otlptracehttp.WithHeaders(e.headers),
		otlptracehttp.WithTimeout(e.timeout),
		otlptracehttp.WithCompression(otlptracehttp.NoCompression),
	}
	if e.gzip {
		opts = append(opts, otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
	}
	return opts
}

func metricOptions(e *export) []otlpmetrichttp.Option {
	opts := []otlpmetrichttp.Option{
		otlpmetrichttp.WithEndpointURL(e.url.String()),
		otlpmetrichttp.WithHeaders(e.headers),
		otlpmetrichttp.WithTimeout(e.timeout),
		otlpmetrichttp.WithCompression(otlpmetrichttp.NoCompression),
	}
	if e.gzip {
		opts = append(opts, otlpmetrichttp.WithCompression(otlpmetrichttp.GzipCompression))
	}
	return opts
}

// Tracer is galsync's tracer.
func (t *Telemetry) Tracer() trace.Tracer { return t.tracer }

// TracerProvider and MeterProvider are for libraries that take a
// provider.
func (t *Telemetry) TracerProvider() trace.TracerProvider { return t.tp }
func (t *Telemetry) MeterProvider() metric.MeterProvider  { return t.mp }

// Metrics are galsync's instruments; nil (which records nothing) when
// metrics are off.
func (t *Telemetry) Metrics() *Metrics { return t.metrics }

// Describe says where each signal goes, for a line in the startup log
// ("traces to https://collector:4318/v1/traces; metrics off (no
// OTEL_EXPORTER_OTLP_ENDPOINT)"). It never shows headers or credentials.
func (t *Telemetry) Describe() string { return t.describe }

// ForceFlush exports what is buffered now, without shutting down.
func (t *Telemetry) ForceFlush(ctx context.Context) error {
	var errs []error
	for _, f := range t.flushes {
		errs = append(errs, f(ctx))
	}
	return joinTelemetry(errs)
}

// Shutdown flushes what is buffered and stops the exporters; ctx bounds
// how long an unreachable collector can hold the exit. Later calls return
// the first call's result.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	t.once.Do(func() {
		var errs []error
		for _, s := range t.shutdowns {
			errs = append(errs, s(ctx))
		}
		t.err = joinTelemetry(errs)
	})
	return t.err
}

func joinTelemetry(errs []error) error {
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	return nil
}
