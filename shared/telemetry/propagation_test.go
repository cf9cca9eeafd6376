package telemetry_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/galsync/galsync/shared/telemetry"
)

const (
	w3cParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	w3cTrace  = "0af7651916cd43dd8448eb211c80319c"
)

// Properties are read as the Azure SDKs read them: traceparent first,
// Diagnostic-Id when it is missing, tracestate beside; anything else
// leaves the context alone.
func TestExtractProperties(t *testing.T) {
	for _, tc := range []struct {
		name      string
		props     map[string]string
		wantTrace string
		wantState string
	}{
		{"traceparent", map[string]string{"traceparent": w3cParent, "tracestate": "az=1"}, w3cTrace, "az=1"},
		{"diagnostic-id only", map[string]string{"Diagnostic-Id": w3cParent}, w3cTrace, ""},
		{"traceparent wins", map[string]string{"traceparent": w3cParent, "Diagnostic-Id": "00-11111111111111111111111111111111-2222222222222222-01"}, w3cTrace, ""},
		{"hierarchical request id", map[string]string{"Diagnostic-Id": "|a1b2c3.1."}, "", ""},
		{"malformed", map[string]string{"traceparent": "00-xyz-01"}, "", ""},
		{"none", map[string]string{"galsync-direction": "a-to-b"}, "", ""},
		{"nil", nil, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := trace.SpanContextFromContext(telemetry.ExtractProperties(context.Background(), tc.props))
			if tc.wantTrace == "" {
				if sc.IsValid() {
					t.Errorf("extracted %v", sc)
				}
				return
			}
			if sc.TraceID().String() != tc.wantTrace || !sc.IsRemote() || sc.TraceState().String() != tc.wantState {
				t.Errorf("extracted trace %s remote %t state %q", sc.TraceID(), sc.IsRemote(), sc.TraceState())
			}
			anyProps := map[string]any{"other": 7}
			for k, v := range tc.props {
				anyProps[k] = v
			}
			if got := trace.SpanContextFromContext(telemetry.ExtractApplicationProperties(context.Background(), anyProps)); !got.Equal(sc) {
				t.Errorf("from the host's properties: %v, want %v", got, sc)
			}
		})
	}
}

// Injecting replaces the previous hop's trace context, tracestate too.
func TestInjectReplacesThePreviousHop(t *testing.T) {
	props := map[string]string{"traceparent": "00-11111111111111111111111111111111-2222222222222222-01", "tracestate": "old=1", "galsync-seq": "3"}
	ctx := telemetry.ExtractProperties(context.Background(), map[string]string{"traceparent": w3cParent})
	got := telemetry.InjectProperties(ctx, props)
	want := map[string]string{"traceparent": w3cParent, "Diagnostic-Id": w3cParent, "galsync-seq": "3"}
	if len(got) != len(want) {
		t.Errorf("properties %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestLinkFromProperties(t *testing.T) {
	if _, ok := telemetry.LinkFromProperties(map[string]string{"galsync-direction": "a-to-b"}); ok {
		t.Error("a link from properties without a trace context")
	}
	l, ok := telemetry.LinkFromProperties(map[string]string{"Diagnostic-Id": w3cParent})
	if !ok || l.SpanContext.TraceID().String() != w3cTrace {
		t.Errorf("link %v %t", l, ok)
	}
}

func TestPathTemplate(t *testing.T) {
	for in, want := range map[string]string{
		"/v1.0/users/delta": "/v1.0/users/delta",
		"/v1.0/users/5e1d0c2b-3a49-4f6e-8d7c-1b2a3c4d5e01":            "/v1.0/users/{id}",
		"/v1.0/users/alice@contoso.com":                               "/v1.0/users/{id}",
		"/v1.0/users/alice_contoso.com#EXT#@fabrikam.onmicrosoft.com": "/v1.0/users/{id}",
		"/v1.0/users('5e1d0c2b')/manager":                             "/v1.0/{id}/manager",
		"/v1.0/$batch":                                                "/v1.0/$batch",
		"/5e1d0c2b-3a49-4f6e-8d7c-1b2a3c4d5e01/oauth2/v2.0/token":     "/{id}/oauth2/v2.0/token",
		"/v1.0/subscriptions/12345678":                                "/v1.0/subscriptions/{id}",
		"/v1.0/invitations":                                           "/v1.0/invitations",
		"/":                                                           "/",
	} {
		if got := telemetry.PathTemplate(in); got != want {
			t.Errorf("PathTemplate(%q) = %q, want %q", in, got, want)
		}
	}
}
