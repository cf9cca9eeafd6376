package funcproto

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func invocationRequest(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/delta-pull", strings.NewReader(body))
	r.Header.Set(HeaderInvocationID, "0f8fad5b-d9cb-469f-a165-70867728950e")
	return r
}

func TestDecodeRejectsBadEnvelopes(t *testing.T) {
	tests := []struct {
		name, body string
		want       error
		mention    string
	}{
		{"empty", "", ErrMalformed, "empty body"},
		{"blank", "  \n", ErrMalformed, "empty body"},
		{"not JSON", "Data=1", ErrMalformed, "not a JSON object"},
		{"array", `[{"Data":{}}]`, ErrMalformed, "not a JSON object"},
		{"null", `null`, ErrMalformed, "null"},
		{"missing Data", `{"Metadata":{}}`, ErrMalformed, "missing Data"},
		{"null Data", `{"Data":null}`, ErrMalformed, "missing Data"},
		{"Data not an object", `{"Data":"x"}`, ErrMalformed, "Data is not a JSON object"},
		{"Metadata not an object", `{"Data":{},"Metadata":[1]}`, ErrMalformed, "Metadata is not a JSON object"},
		{"too large", `{"Data":{"msg":"` + strings.Repeat("x", 100) + `"}}`, ErrBodyTooLarge, "exceeds 64 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(invocationRequest(tt.body), 64)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode error = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("Decode error %q does not say %q", err, tt.mention)
			}
		})
	}
}

// The host sends invocations chunked: no Content-Length to check up front.
func TestDecodeRefusesOversizedChunkedBody(t *testing.T) {
	body := `{"Data":{"msg":"` + strings.Repeat("x", 100) + `"}}`
	r := invocationRequest("")
	r.Body = io.NopCloser(strings.NewReader(body))
	r.ContentLength = -1
	if _, err := Decode(r, 64); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("Decode error = %v, want ErrBodyTooLarge", err)
	}
	r = invocationRequest("")
	r.Body = io.NopCloser(strings.NewReader(body))
	r.ContentLength = -1
	if _, err := Decode(r, int64(len(body))); err != nil {
		t.Fatalf("Decode at exactly the limit: %v", err)
	}
}

func TestDecodeMatchesEnvelopeKeysCaseInsensitively(t *testing.T) {
	inv, err := Decode(invocationRequest(`{"data":{"msg":"\"hi\""},"METADATA":{"MessageId":"\"m1\""}}`), 1<<10)
	if err != nil {
		t.Fatal(err)
	}
	if inv.InvocationID != "0f8fad5b-d9cb-469f-a165-70867728950e" {
		t.Errorf("InvocationID = %q", inv.InvocationID)
	}
	m, err := inv.ServiceBus("msg")
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Body) != "hi" || m.MessageID != "m1" {
		t.Errorf("got body %q, message id %q", m.Body, m.MessageID)
	}
}

func TestDecodeWithoutMetadata(t *testing.T) {
	inv, err := Decode(invocationRequest(`{"Data":{"msg":"x"}}`), 1<<10)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Metadata == nil || len(inv.Metadata) != 0 {
		t.Errorf("Metadata = %v, want empty", inv.Metadata)
	}
}

func TestMissingBindingNamesThoseThere(t *testing.T) {
	inv, err := Decode(invocationRequest(`{"Data":{"timer":{},"other":1}}`), 1<<10)
	if err != nil {
		t.Fatal(err)
	}
	_, err = inv.ServiceBus("msg")
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), `["other" "timer"]`) {
		t.Fatalf("ServiceBus(msg) error = %v, want one naming the bindings present", err)
	}
}
