package sim

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// requestNote travels with a request so that the handler can tell the
// recorder what it did.
type requestNote struct {
	kind   string
	tenant *tenant
	app    string
	items  int
	body   json.RawMessage
	fault  string
}

type noteKey struct{}

func noteOf(r *http.Request) *requestNote {
	n, _ := r.Context().Value(noteKey{}).(*requestNote)
	if n == nil {
		return &requestNote{}
	}
	return n
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("connection cannot be hijacked")
	}
	return h.Hijack()
}

// maxBody is Graph's request size limit (4 MB).
const maxBody = 4 << 20

// entra wraps a sign-in endpoint: tenant lookup, faults, recording.
func (s *Server) entra(kind string, h http.HandlerFunc) http.Handler {
	return s.recorded(kind, func(w http.ResponseWriter, r *http.Request, n *requestNote) {
		t, err := s.tenant(r.PathValue("tenant"))
		if err != nil {
			s.writeEntraError(w, entraError{http.StatusBadRequest, "invalid_tenant", 90002,
				fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", r.PathValue("tenant"))})
			return
		}
		n.tenant = t
		if s.injectFault(w, r, n) {
			return
		}
		if kind == "token" {
			n.body = tokenRequestSummary(r)
		}
		h(w, r)
	})
}

// graph wraps a Graph endpoint: tenant, faults, bearer token, throttling,
// request body decoding, recording.
func (s *Server) graph(kind string, h http.HandlerFunc) http.Handler {
	return s.recorded(kind, func(w http.ResponseWriter, r *http.Request, n *requestNote) {
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
		ch, e := s.throttle(r, n)
		if e != nil {
			n.fault = "throttled"
			s.writeGraphError(w, r, e)
			return
		}
		setChargeHeaders(w.Header(), ch)
		if e := readBody(r, n); e != nil {
			s.writeGraphError(w, r, e)
			return
		}
		h(w, r)
	})
}

func clientRequestID(r *http.Request) string {
	if id := r.Header.Get("client-request-id"); id != "" {
		return id
	}
	return requestID()
}

// recorded runs f with a note in the context and logs the request.
func (s *Server) recorded(kind string, f func(http.ResponseWriter, *http.Request, *requestNote)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.now()
		n := &requestNote{kind: kind}
		r = r.WithContext(context.WithValue(r.Context(), noteKey{}, n))
		sw := &statusWriter{ResponseWriter: w}
		f(sw, r, n)
		s.record(start, r, n, sw.status)
		s.log.Debug("sim request", "kind", kind, "method", r.Method, "status", sw.status, "fault", n.fault)
	})
}

// readBody decompresses a gzip body (msgraph-sdk-go compresses request
// bodies by default) and keeps write bodies for the request log.
func readBody(r *http.Request, n *requestNote) *graphError {
	if r.Body == nil || r.Method == http.MethodGet {
		return nil
	}
	var body io.Reader = http.MaxBytesReader(nil, r.Body, maxBody)
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return badRequest("The request body is not valid gzip: %v", err)
		}
		defer zr.Close()
		body = io.LimitReader(zr, maxBody+1)
		r.Header.Del("Content-Encoding")
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return badRequest("The request body could not be read: %v", err)
	}
	if len(b) > maxBody {
		return newGraphError(http.StatusRequestEntityTooLarge, "Request_EntityTooLarge", "The request body exceeds 4 MB.")
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	if len(bytes.TrimSpace(b)) > 0 {
		if json.Valid(b) {
			var c bytes.Buffer
			_ = json.Compact(&c, b)
			n.body = c.Bytes()
		} else {
			n.body, _ = json.Marshal(string(b))
		}
	}
	return nil
}

// tokenRequestSummary keeps what a test may assert about a token request
// and nothing secret: never the client secret or the assertion.
func tokenRequestSummary(r *http.Request) json.RawMessage {
	if err := r.ParseForm(); err != nil {
		return nil
	}
	auth := "none"
	switch {
	case r.PostForm.Get("client_secret") != "":
		auth = "secret"
	case r.PostForm.Get("client_assertion") != "":
		auth = "assertion"
	}
	if _, _, ok := r.BasicAuth(); ok {
		auth = "secret"
	}
	b, _ := json.Marshal(map[string]string{
		"grant_type": r.PostForm.Get("grant_type"), "client_id": r.PostForm.Get("client_id"),
		"scope": r.PostForm.Get("scope"), "credential": auth,
	})
	return b
}

// sleepCtx waits d unless the request goes away first.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
