package telemetry

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// The standard variables
// (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/
// and https://opentelemetry.io/docs/specs/otel/protocol/exporter/) that
// decide what galsync exports, read through getenv so that a test or
// `galsync local` can pass them without touching the process environment.
// The SDK itself still reads the rest from the process environment
// (OTEL_EXPORTER_OTLP_CERTIFICATE, OTEL_BSP_*...).
const (
	envSDKDisabled     = "OTEL_SDK_DISABLED"
	envServiceName     = "OTEL_SERVICE_NAME"
	envResourceAttrs   = "OTEL_RESOURCE_ATTRIBUTES"
	envTracesExporter  = "OTEL_TRACES_EXPORTER"
	envMetricsExporter = "OTEL_METRICS_EXPORTER"
	envSampler         = "OTEL_TRACES_SAMPLER"
	envSamplerArg      = "OTEL_TRACES_SAMPLER_ARG"
	envMetricInterval  = "OTEL_METRIC_EXPORT_INTERVAL"
	envMetricTimeout   = "OTEL_METRIC_EXPORT_TIMEOUT"
	envOTLP            = "OTEL_EXPORTER_OTLP_"
	envTemporality     = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"
	envHistogram       = "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION"
)

// signal is one kind of telemetry galsync exports.
type signal struct {
	name     string // as in the variables: TRACES, METRICS
	path     string // appended to OTEL_EXPORTER_OTLP_ENDPOINT
	exporter string // OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER
}

var (
	tracesSignal  = signal{"TRACES", "/v1/traces", envTracesExporter}
	metricsSignal = signal{"METRICS", "/v1/metrics", envMetricsExporter}
)

// export is where and how one signal is exported.
type export struct {
	url     *url.URL
	headers map[string]string
	timeout time.Duration
	gzip    bool
}

// config is the telemetry configuration the environment asks for. A nil
// traces or metrics means that signal is off.
type config struct {
	traces, metrics *export
	// why is what turned a signal off, for Describe.
	why         map[string]string
	resource    []attribute.KeyValue
	sampler     sdktrace.Sampler
	temporality sdkmetric.TemporalitySelector
	aggregation sdkmetric.AggregationSelector
	interval    time.Duration
	pushTimeout time.Duration
}

// readConfig reads the variables above. Every bad value is an error that
// names its variable (never its value: headers carry API keys).
func readConfig(getenv func(string) string, serviceName, serviceVersion string) (config, error) {
	c := config{why: map[string]string{}}
	var errs []error
	if strings.EqualFold(strings.TrimSpace(getenv(envSDKDisabled)), "true") {
		c.why[tracesSignal.name], c.why[metricsSignal.name] = envSDKDisabled, envSDKDisabled
	} else {
		var err error
		if c.traces, err = readExport(getenv, tracesSignal, c.why); err != nil {
			errs = append(errs, err)
		}
		if c.metrics, err = readExport(getenv, metricsSignal, c.why); err != nil {
			errs = append(errs, err)
		}
	}
	var err error
	if c.resource, err = readResource(getenv, serviceName, serviceVersion); err != nil {
		errs = append(errs, err)
	}
	if c.sampler, err = readSampler(getenv); err != nil {
		errs = append(errs, err)
	}
	if c.temporality, err = readTemporality(getenv); err != nil {
		errs = append(errs, err)
	}
	if c.aggregation, err = readAggregation(getenv); err != nil {
		errs = append(errs, err)
	}
	if c.interval, err = millis(getenv, envMetricInterval, 60*time.Second); err != nil {
		errs = append(errs, err)
	}
	if c.pushTimeout, err = millis(getenv, envMetricTimeout, 30*time.Second); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return config{}, fmt.Errorf("telemetry: %w", err)
	}
	return c, nil
}

// readExport reads one signal's exporter settings; nil (and why) when the
// signal is off: no endpoint, or its exporter is "none".
func readExport(getenv func(string) string, s signal, why map[string]string) (*export, error) {
	switch v := strings.TrimSpace(getenv(s.exporter)); v {
	case "", "otlp":
	case "none":
		why[s.name] = s.exporter + "=none"
		return nil, nil
	default:
		return nil, fmt.Errorf("%s=%q: galsync exports otlp (or none)", s.exporter, v)
	}
	specific := envOTLP + s.name + "_"
	endpoint := setting{specific + "ENDPOINT", strings.TrimSpace(getenv(specific + "ENDPOINT"))}
	appendPath := false
	if endpoint.value == "" {
		endpoint = setting{envOTLP + "ENDPOINT", strings.TrimSpace(getenv(envOTLP + "ENDPOINT"))}
		if endpoint.value == "" {
			why[s.name] = "no " + envOTLP + "ENDPOINT"
			return nil, nil
		}
		appendPath = true
	}
	var errs []error
	u, err := url.Parse(endpoint.value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("%s: not an http(s) URL", endpoint.name))
		u = &url.URL{}
	}
	if appendPath {
		// The signal's path is appended to the base's, as the
		// specification says (and the Functions host does with the same
		// setting).
		u.Path = strings.TrimSuffix(u.Path, "/") + s.path
		u.RawPath = ""
	}
	e := &export{url: u}
	if p := firstSet(getenv, specific+"PROTOCOL", envOTLP+"PROTOCOL"); p.value != "" && p.value != "http/protobuf" {
		errs = append(errs, fmt.Errorf("%s=%q: galsync exports OTLP over http/protobuf only (the Functions host accepts it too)", p.name, p.value))
	}
	e.headers = map[string]string{}
	for _, name := range []string{envOTLP + "HEADERS", specific + "HEADERS"} {
		if err := parseHeaders(getenv(name), e.headers); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	t := firstSet(getenv, specific+"TIMEOUT", envOTLP+"TIMEOUT")
	if e.timeout, err = millis(func(string) string { return t.value }, t.name, 10*time.Second); err != nil {
		errs = append(errs, err)
	}
	switch c := firstSet(getenv, specific+"COMPRESSION", envOTLP+"COMPRESSION"); c.value {
	case "", "none":
	case "gzip":
		e.gzip = true
	default:
		errs = append(errs, fmt.Errorf("%s=%q: gzip or none", c.name, c.value))
	}
	return e, errors.Join(errs...)
}

type setting struct{ name, value string }

// firstSet returns the first of the variables that is set (the
// signal-specific one goes first), or the last one, empty.
func firstSet(getenv func(string) string, names ...string) setting {
	for _, n := range names {
		if v := strings.TrimSpace(getenv(n)); v != "" {
			return setting{n, v}
		}
	}
	return setting{names[len(names)-1], ""}
}

// parseHeaders adds the W3C-baggage-style list "k1=v1,k2=v2" (values
// percent-encoded) to into.
func parseHeaders(list string, into map[string]string) error {
	if strings.TrimSpace(list) == "" {
		return nil
	}
	for i, pair := range strings.Split(list, ",") {
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return fmt.Errorf("entry %d is not key=value", i+1)
		}
		dec, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("entry %d (%s): bad percent-encoding", i+1, k)
		}
		into[k] = dec
	}
	return nil
}

// readResource returns the resource attributes: service.name (the
// caller's, or OTEL_SERVICE_NAME), service.version, and
// OTEL_RESOURCE_ATTRIBUTES. Azure Monitor shows service.name as the cloud
// role name.
func readResource(getenv func(string) string, serviceName, serviceVersion string) ([]attribute.KeyValue, error) {
	attrs := map[string]string{}
	var errs []error
	if list := strings.TrimSpace(getenv(envResourceAttrs)); list != "" {
		for i, pair := range strings.Split(list, ",") {
			k, v, ok := strings.Cut(pair, "=")
			k = strings.TrimSpace(k)
			dec, err := url.PathUnescape(strings.TrimSpace(v))
			if !ok || k == "" || err != nil {
				errs = append(errs, fmt.Errorf("%s: entry %d is not key=value (values percent-encoded)", envResourceAttrs, i+1))
				continue
			}
			attrs[k] = dec
		}
	}
	if attrs["service.name"] == "" {
		attrs["service.name"] = serviceName
	}
	if n := strings.TrimSpace(getenv(envServiceName)); n != "" {
		attrs["service.name"] = n
	}
	if serviceVersion != "" && attrs["service.version"] == "" {
		attrs["service.version"] = serviceVersion
	}
	out := make([]attribute.KeyValue, 0, len(attrs))
	for k, v := range attrs {
		out = append(out, attribute.String(k, v))
	}
	return out, errors.Join(errs...)
}

// readSampler reads OTEL_TRACES_SAMPLER (parentbased_always_on by
// default): a trace is sampled or not once, where it starts, and every
// queue hop after follows that decision.
func readSampler(getenv func(string) string) (sdktrace.Sampler, error) {
	name := strings.TrimSpace(getenv(envSampler))
	ratio := 1.0
	if strings.HasSuffix(name, "traceidratio") {
		if arg := strings.TrimSpace(getenv(envSamplerArg)); arg != "" {
			r, err := strconv.ParseFloat(arg, 64)
			if err != nil || r < 0 || r > 1 {
				return nil, fmt.Errorf("%s=%q: a ratio from 0 to 1", envSamplerArg, arg)
			}
			ratio = r
		}
	}
	switch name {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "parentbased_traceidratio":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio)), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(ratio), nil
	}
	return nil, fmt.Errorf("%s=%q: one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio", envSampler, name)
}

// readTemporality reads the metrics temporality preference. Application
// Insights' OTLP ingestion expects delta
// (https://learn.microsoft.com/azure/azure-monitor/containers/opentelemetry-protocol-ingestion).
func readTemporality(getenv func(string) string) (sdkmetric.TemporalitySelector, error) {
	switch v := strings.ToLower(strings.TrimSpace(getenv(envTemporality))); v {
	case "", "cumulative":
		return sdkmetric.DefaultTemporalitySelector, nil
	case "delta":
		return func(k sdkmetric.InstrumentKind) metricdata.Temporality {
			switch k {
			case sdkmetric.InstrumentKindUpDownCounter, sdkmetric.InstrumentKindObservableUpDownCounter:
				return metricdata.CumulativeTemporality
			}
			return metricdata.DeltaTemporality
		}, nil
	case "lowmemory":
		return func(k sdkmetric.InstrumentKind) metricdata.Temporality {
			switch k {
			case sdkmetric.InstrumentKindCounter, sdkmetric.InstrumentKindHistogram:
				return metricdata.DeltaTemporality
			}
			return metricdata.CumulativeTemporality
		}, nil
	default:
		return nil, fmt.Errorf("%s=%q: cumulative, delta or lowmemory", envTemporality, v)
	}
}

// readAggregation reads the default histogram aggregation; Application
// Insights' OTLP ingestion expects base2 exponential histograms (page above).
func readAggregation(getenv func(string) string) (sdkmetric.AggregationSelector, error) {
	switch v := strings.ToLower(strings.TrimSpace(getenv(envHistogram))); v {
	case "", "explicit_bucket_histogram":
		return sdkmetric.DefaultAggregationSelector, nil
	case "base2_exponential_bucket_histogram":
		return func(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
			if k == sdkmetric.InstrumentKindHistogram {
				// The specification's defaults.
				return sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: 160, MaxScale: 20}
			}
			return sdkmetric.DefaultAggregationSelector(k)
		}, nil
	default:
		return nil, fmt.Errorf("%s=%q: explicit_bucket_histogram or base2_exponential_bucket_histogram", envHistogram, v)
	}
}

// millis reads a duration in milliseconds, def when unset.
func millis(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q: a positive number of milliseconds", name, v)
	}
	return time.Duration(n) * time.Millisecond, nil
}
