package telemetry_test

import (
	"context"
	"testing"

	"github.com/galsync/galsync/shared/telemetry"
	"github.com/galsync/galsync/shared/telemetry/otlptest"
)

// What telemetry costs per operation, off (no endpoint) and on (exporting
// to an in-process receiver). go test -bench . ./shared/telemetry/ prints
// ns/op and allocs/op for each.
func BenchmarkTelemetry(b *testing.B) {
	rcv := otlptest.New(b)
	for _, mode := range []struct {
		name string
		vars map[string]string
	}{
		{"off", map[string]string{}},
		{"on", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": rcv.URL}},
	} {
		tel, err := telemetry.New(context.Background(), env(mode.vars), telemetry.Options{})
		if err != nil {
			b.Fatal(err)
		}
		tr, m := tel.Tracer(), tel.Metrics()
		ctx := context.Background()
		b.Run(mode.name+"/counter", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.Patch(ctx, "a-to-b")
			}
		})
		b.Run(mode.name+"/span", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, s := tr.Start(ctx, "process invites")
				s.End()
			}
		})
		b.Run(mode.name+"/hop", func(b *testing.B) {
			b.ReportAllocs()
			sctx, s := tr.Start(ctx, "send invites")
			defer s.End()
			for b.Loop() {
				props := telemetry.InjectProperties(sctx, map[string]string{"galsync-direction": "a-to-b"})
				_ = telemetry.ExtractProperties(ctx, props)
			}
		})
		if err := tel.Shutdown(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
