package graph

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

const (
	testTenant = "fabrikam"
	testToken  = "test-bearer-token"
)

// staticCredential hands out one fixed token.
type staticCredential struct{}

func (staticCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: testToken, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// recorded is one request as the fake Graph saw it, body decompressed.
type recorded struct {
	Method          string
	Path            string
	Query           url.Values
	ContentEncoding string
	Body            []byte
	At              time.Time // when it arrived
}

// fakeGraph is a TLS Graph stand-in: it insists on the bearer token,
// decompresses gzip request bodies (the SDK compresses them), records every
// request and answers with the test's handler.
type fakeGraph struct {
	t      *testing.T
	srv    *httptest.Server
	answer func(w http.ResponseWriter, r *http.Request, body []byte)

	mu   sync.Mutex
	reqs []recorded
}

func newFakeGraph(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, body []byte)) *fakeGraph {
	t.Helper()
	f := &fakeGraph{t: t, answer: answer}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGraph) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		writeJSON(w, http.StatusUnauthorized, graphError("InvalidAuthenticationToken", "Access token is empty."))
		return
	}
	body, err := readBody(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(),
		ContentEncoding: r.Header.Get("Content-Encoding"), Body: body, At: time.Now()})
	f.mu.Unlock()
	f.answer(w, r, body)
}

func readBody(r *http.Request) ([]byte, error) {
	var rd io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, err
		}
		rd = gz
	}
	return io.ReadAll(rd)
}

func (f *fakeGraph) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

// client is a Client for one tenant served by f.
func (f *fakeGraph) client(opts Options) *Client {
	f.t.Helper()
	if opts.HTTPClient == nil {
		opts.HTTPClient = f.srv.Client()
	}
	c, err := New(map[string]Endpoint{testTenant: {
		BaseURL: f.srv.URL + "/v1.0", Credential: staticCredential{}, Scopes: []string{"https://graph.microsoft.com/.default"},
	}}, opts)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func graphError(code, message string) map[string]any {
	return map[string]any{"error": map[string]any{"code": code, "message": message,
		"innerError": map[string]any{"request-id": "req-1", "date": "2026-11-22T00:00:00"}}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func logTo(buf *bytes.Buffer) *slog.Logger { return slog.New(slog.NewTextHandler(buf, nil)) }
