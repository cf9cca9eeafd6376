package funchost

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/galsync/galsync/shared/funcproto"
)

func httpTriggered(name, route, out string, methods ...string) Function {
	return Function{Name: name, Path: name + "/function.json",
		Trigger: Binding{Type: TypeHTTPTrigger, Direction: "in", Name: "req", Route: route, Methods: methods},
		Outputs: []Binding{{Type: TypeHTTP, Direction: "out", Name: out}}}
}

func outputs(status int, res funcproto.HTTPOutput) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		funcproto.WriteResponse(w, status, funcproto.Response{Outputs: map[string]any{"res": res}})
	}
}

func TestHTTPForwarding(t *testing.T) {
	stub := newStub(t, outputs(http.StatusOK, funcproto.HTTPOutput{StatusCode: 201, Body: "created u1",
		Headers: map[string]string{"X-Galsync": "yes", "Content-Type": "text/plain"}}))
	stub.Start()
	h := &Host{Functions: []Function{httpTriggered("provision", "users/{id}", "res", "get", "post")}, HandlerURL: stub.URL}
	front := httptest.NewServer(h.HTTPHandler())
	defer front.Close()

	resp, err := http.Post(front.URL+"/api/users/u1?dryRun=true", "application/json", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || string(body) != "created u1" || resp.Header.Get("X-Galsync") != "yes" || resp.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("got %d %q %v", resp.StatusCode, body, resp.Header)
	}

	r := stub.nextPost(t)
	if r.path != "/provision" {
		t.Errorf("posted to %s, want the function name", r.path)
	}
	req, err := decodeRecorded(t, r).HTTP("req")
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != "POST" || req.Params["id"] != "u1" || req.Query["dryRun"] != "true" || string(req.Body) != `{"a":1}` ||
		!strings.HasSuffix(req.URL, "/api/users/u1?dryRun=true") || req.Header("content-type") != "application/json" {
		t.Errorf("handler got %+v", req)
	}
	if got := h.Stats()["provision"]; got != (Count{Succeeded: 1}) {
		t.Errorf("Stats = %+v", got)
	}
}

func TestHTTPReturnBinding(t *testing.T) {
	stub := newStub(t, func(w http.ResponseWriter, _ *http.Request) {
		funcproto.WriteResponse(w, http.StatusOK, funcproto.Response{ReturnValue: funcproto.HTTPOutput{StatusCode: 200, Body: "ok"}})
	})
	stub.Start()
	h := &Host{Functions: []Function{httpTriggered("status", "", "$return")}, HandlerURL: stub.URL}
	rec := httptest.NewRecorder()
	h.HTTPHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/status", nil))
	if rec.Code != 200 || rec.Body.String() != "ok" {
		t.Errorf("got %d %q", rec.Code, rec.Body)
	}
}

func TestHTTPErrors(t *testing.T) {
	tests := []struct {
		name, method, path string
		respond            http.HandlerFunc
		want               int
		invoked            bool
	}{
		{"unknown route", "GET", "/api/nothing/here", nil, http.StatusNotFound, false},
		{"outside /api", "GET", "/users/u1", nil, http.StatusNotFound, false},
		{"method not listed", "DELETE", "/api/users/u1", nil, http.StatusMethodNotAllowed, false},
		{"handler fails", "GET", "/api/users/u1", answer(http.StatusInternalServerError, "boom"), http.StatusInternalServerError, true},
		{"handler sets no output", "GET", "/api/users/u1", answer(http.StatusOK), http.StatusInternalServerError, true},
		{"output without statusCode", "GET", "/api/users/u1", func(w http.ResponseWriter, _ *http.Request) {
			funcproto.WriteResponse(w, http.StatusOK, funcproto.Response{Outputs: map[string]any{"res": map[string]any{"status": 200, "body": "x"}}})
		}, http.StatusInternalServerError, true},
		{"handler answers text", "GET", "/api/users/u1", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("hi")) }, http.StatusInternalServerError, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := newStub(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.respond == nil {
					t.Errorf("handler invoked for %s %s", tt.method, tt.path)
					return
				}
				tt.respond(w, r)
			})
			stub.Start()
			h := &Host{Functions: []Function{httpTriggered("provision", "users/{id}", "res", "get", "post")}, HandlerURL: stub.URL}
			rec := httptest.NewRecorder()
			h.HTTPHandler().ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.want {
				t.Errorf("status = %d, want %d", rec.Code, tt.want)
			}
			wantCount := Count{}
			if tt.invoked {
				wantCount.Failed = 1
			}
			if got := h.Stats()["provision"]; got != wantCount {
				t.Errorf("Stats = %+v, want %+v", got, wantCount)
			}
		})
	}
}
