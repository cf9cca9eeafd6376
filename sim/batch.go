package sim

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
)

// JSON batching, after https://learn.microsoft.com/graph/json-batching:
// POST /$batch with {"requests": [...]}, at most 20; each request has an
// id (required, unique, not case-sensitive), a method, a relative url,
// headers (Content-Type required with a body) and a body (a JSON value, or
// a base64 string for binary content), and may name requests it dependsOn.
// The answer is 200 with {"responses": [{id, status, headers, body}]}
// whenever the batch parses, 400 when it does not. "Requests in a batch
// are evaluated individually against the applicable throttling limits":
// each request runs through the same handler as a standalone one (faults,
// throttling, validation, recording), and a 429 carries its Retry-After
// in its own headers. "If an individual request fails, any request that
// depends on that request fails with status code 424 (Failed Dependency)."

// maxBatch is "JSON batch requests are currently limited to 20 individual
// requests".
const maxBatch = 20

type batchRequest struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      json.RawMessage   `json:"body"`
	DependsOn []string          `json:"dependsOn"`
}

type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

type inBatchKey struct{}

// inBatch reports whether a request is one of a batch's.
func inBatch(r *http.Request) bool { return r.Context().Value(inBatchKey{}) != nil }

func batchError(format string, args ...any) *graphError {
	return newGraphError(http.StatusBadRequest, "BadRequest", "Invalid batch payload: "+format, args...)
}

// batch wraps the $batch endpoint: tenant, faults, bearer token, body. The
// envelope itself is not throttled; its requests are.
func (s *Server) batch() http.Handler {
	return s.recorded("batch", func(w http.ResponseWriter, r *http.Request, n *requestNote) {
		w.Header().Set("request-id", requestID())
		w.Header().Set("client-request-id", clientRequestID(r))
		t, err := s.tenant(r.PathValue("tenant"))
		if err != nil {
			s.writeGraphError(w, r, unauthorized(r, "Access token validation failure. Invalid audience."))
			return
		}
		n.tenant = t
		if s.injectFault(w, r, n) {
			return
		}
		if e := s.authorize(r, n); e != nil {
			s.writeGraphError(w, r, e)
			return
		}
		if e := readBody(r, n); e != nil {
			s.writeGraphError(w, r, e)
			return
		}
		s.handleBatch(w, r, n)
	})
}

func (s *Server) handleBatch(w http.ResponseWriter, r *http.Request, n *requestNote) {
	reqs, gerr := decodeBatch(r.Body)
	if gerr != nil {
		s.writeGraphError(w, r, gerr)
		return
	}
	n.items = len(reqs)
	n.body = nil // each request is recorded with its own body
	out := make([]batchResponse, 0, len(reqs))
	status := map[string]int{}
	for _, br := range reqs {
		var resp batchResponse
		if failed := failedDependency(br, status); failed != "" {
			resp = dependencyFailure(br.ID, failed)
		} else {
			resp = s.runBatched(r, br)
		}
		status[strings.ToLower(br.ID)] = resp.Status
		out = append(out, resp)
	}
	writeJSON(w, http.StatusOK, map[string]any{"responses": out})
}

// decodeBatch reads and checks the envelope; any fault in it fails the
// whole batch with 400.
func decodeBatch(body io.Reader) ([]batchRequest, *graphError) {
	var env struct {
		Requests []batchRequest `json:"requests"`
	}
	raw, err := io.ReadAll(body)
	if err != nil || json.Unmarshal(raw, &env) != nil {
		return nil, batchError("the body is not a JSON object with a requests collection.")
	}
	switch {
	case len(env.Requests) == 0:
		return nil, batchError("the requests collection is missing or empty.")
	case len(env.Requests) > maxBatch:
		return nil, batchError("the batch holds %d requests; at most %d are allowed.", len(env.Requests), maxBatch)
	}
	seen := map[string]bool{}
	for i, br := range env.Requests {
		id := strings.ToLower(br.ID)
		switch {
		case br.ID == "":
			return nil, batchError("request %d has no id.", i+1)
		case seen[id]:
			return nil, batchError("the id '%s' is used more than once.", br.ID)
		case !slices.Contains([]string{"GET", "POST", "PATCH", "PUT", "DELETE"}, strings.ToUpper(br.Method)):
			return nil, batchError("request '%s' has no valid method.", br.ID)
		case br.URL == "" || strings.Contains(br.URL, "://"):
			return nil, batchError("request '%s' needs a relative url, such as /users.", br.ID)
		case strings.HasPrefix(strings.TrimPrefix(br.URL, "/"), "$batch"):
			return nil, batchError("request '%s' is itself a batch.", br.ID)
		case len(br.Body) > 0 && headerValue(br.Headers, "Content-Type") == "":
			return nil, batchError("request '%s' has a body but no Content-Type header.", br.ID)
		}
		for _, d := range br.DependsOn {
			if !seen[strings.ToLower(d)] {
				return nil, batchError("request '%s' depends on '%s', which is not an earlier request of the batch.", br.ID, d)
			}
		}
		seen[id] = true
	}
	return env.Requests, nil
}

func headerValue(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// failedDependency names a dependency that did not succeed.
func failedDependency(br batchRequest, status map[string]int) string {
	for _, d := range br.DependsOn {
		if st := status[strings.ToLower(d)]; st < 200 || st > 299 {
			return d
		}
	}
	return ""
}

func dependencyFailure(id, failed string) batchResponse {
	body, _ := json.Marshal(graphErrorBody{Error: graphErrorDetail{Code: "FailedDependency",
		Message: "The request depends on request '" + failed + "', which failed."}})
	return batchResponse{ID: id, Status: http.StatusFailedDependency,
		Headers: map[string]string{"Content-Type": "application/json"}, Body: body}
}

// runBatched serves one request of a batch through the simulator's own
// routes, as if it had come alone with the batch's token.
func (s *Server) runBatched(outer *http.Request, br batchRequest) batchResponse {
	body, ok := batchBody(br.Body)
	if !ok {
		return batchResponse{ID: br.ID, Status: http.StatusBadRequest, Body: rawJSON(graphErrorBody{Error: graphErrorDetail{
			Code: "BadRequest", Message: "The body is neither JSON nor base64."}})}
	}
	target := "/graph/" + outer.PathValue("tenant") + "/v1.0/" + strings.TrimPrefix(br.URL, "/")
	ctx := context.WithValue(outer.Context(), inBatchKey{}, true)
	req, err := http.NewRequestWithContext(ctx, strings.ToUpper(br.Method), target, bytes.NewReader(body))
	if err != nil {
		return batchResponse{ID: br.ID, Status: http.StatusBadRequest, Body: rawJSON(graphErrorBody{Error: graphErrorDetail{
			Code: "BadRequest", Message: "The url is not valid."}})}
	}
	for k, v := range br.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Authorization", outer.Header.Get("Authorization"))
	req.Host, req.RemoteAddr, req.TLS = outer.Host, outer.RemoteAddr, outer.TLS
	rec := &batchRecorder{header: http.Header{}}
	s.handler.ServeHTTP(rec, req)
	return rec.response(br.ID)
}

func rawJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v) // plain structs
	return b
}

// batchBody is a request's body: a JSON value as sent, or a string's
// base64 content.
func batchBody(raw json.RawMessage) ([]byte, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, true
	}
	if raw[0] != '"' {
		return raw, true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return nil, false
	}
	for _, enc := range []*base64.Encoding{base64.URLEncoding, base64.RawURLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}

// batchRecorder captures one request's answer.
type batchRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *batchRecorder) Header() http.Header { return b.header }

func (b *batchRecorder) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *batchRecorder) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *batchRecorder) response(id string) batchResponse {
	resp := batchResponse{ID: id, Status: b.status, Headers: map[string]string{}}
	if resp.Status == 0 {
		resp.Status = http.StatusOK
	}
	for k, vs := range b.header {
		if len(vs) > 0 && k != "Content-Length" {
			resp.Headers[graphHeaderName(k)] = vs[0]
		}
	}
	switch {
	case b.body.Len() == 0:
	case strings.Contains(b.header.Get("Content-Type"), "json") && json.Valid(b.body.Bytes()):
		resp.Body = slices.Clone(b.body.Bytes())
	default:
		resp.Body = rawJSON(base64.StdEncoding.EncodeToString(b.body.Bytes()))
	}
	return resp
}

// graphHeaderName spells a header as Graph's batch answers do: its own
// headers in lower case ("x-ms-resource-unit", "request-id"), standard
// ones canonical ("Content-Type", "Retry-After").
func graphHeaderName(canonical string) string {
	if strings.HasPrefix(canonical, "X-Ms-") || canonical == "Request-Id" || canonical == "Client-Request-Id" {
		return strings.ToLower(canonical)
	}
	return canonical
}
