package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/galsync/galsync/functions"
	"github.com/galsync/galsync/shared/funchost"
	"github.com/galsync/galsync/shared/funcproto"
	"github.com/galsync/galsync/shared/status"
)

// The status function's tests post invocations encoded by funcproto's
// host-side encoder, as the Functions host (or galsync's local host)
// sends them, to the handler served as in production, and read the http
// output binding back. A stub reporter answers a fixed report.

const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"

var statusNow = time.Date(2026, 11, 1, 3, 7, 0, 0, time.UTC)

type stubReporter struct {
	mu    sync.Mutex
	rep   status.Report
	calls int
}

func (s *stubReporter) Report(context.Context) status.Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return s.rep
}

// statusReport is two directions: one running, one paused.
func statusReport() status.Report {
	from := statusNow.Add(-24 * time.Hour).Truncate(time.Hour)
	buckets := func(counts map[int]map[string]int) []status.TimelineBucket {
		out := make([]status.TimelineBucket, 25)
		for i := range out {
			out[i] = status.TimelineBucket{Start: from.Add(time.Duration(i) * time.Hour), Counts: counts[i]}
			if out[i].Counts == nil {
				out[i].Counts = map[string]int{}
			}
		}
		return out
	}
	queues := func(invites, deadInvites int) []status.QueueDepth {
		return []status.QueueDepth{{Queue: "pulls"}, {Queue: "invites", Active: status.Count{Count: invites},
			DeadLettered: status.Count{Count: deadInvites}}, {Queue: "updates", Active: status.Count{Count: 10000, AtLeast: true}}}
	}
	return status.Report{
		GeneratedAt: statusNow,
		Window:      status.Window{From: from, To: statusNow, BucketSeconds: 3600},
		Summary:     status.Summary{Directions: 2, OK: 1, Paused: 1},
		Queues:      queues(3, 2),
		Errors:      []string{},
		Directions: []status.DirectionReport{
			{Name: "contoso-to-fabrikam", State: status.StateOK, Source: status.TenantRef{Tenant: "contoso", Cloud: "public"},
				Target:   status.TenantRef{Tenant: "fabrikam", Cloud: "public"},
				Cursor:   &status.CursorStatus{UpdatedAt: statusNow.Add(-2 * time.Minute), AgeSeconds: 120, LastRoundFinishedAt: statusNow.Add(-2 * time.Minute)},
				Queues:   queues(3, 0),
				Actions:  status.ActionCounts{Total: 5, ByAction: map[string]map[string]int{"invite": {"success": 5}}},
				Timeline: status.Timeline{Series: []string{"invite"}, Buckets: buckets(map[int]map[string]int{20: {"invite": 5}})},
				Warnings: []string{}, Errors: []string{}},
			{Name: "contoso-to-gcchigh", State: status.StatePaused, Source: status.TenantRef{Tenant: "contoso", Cloud: "public"},
				Target: status.TenantRef{Tenant: "gcchigh", Cloud: "usgov"},
				Cursor: &status.CursorStatus{UpdatedAt: statusNow.Add(-time.Hour), AgeSeconds: 3600},
				Paused: &status.PauseStatus{Since: statusNow.Add(-time.Hour), AgeSeconds: 3600, HeldDeprovisions: 40,
					Reason: "40 deprovisions in one round exceed the accidental-deletion threshold"},
				Queues:   queues(0, 2),
				Actions:  status.ActionCounts{Total: 3, Failed: 1, ByAction: map[string]map[string]int{"invite": {"success": 2, "failed": 1}}},
				Timeline: status.Timeline{Series: []string{"invite", "failed"}, Buckets: buckets(map[int]map[string]int{3: {"invite": 2, "failed": 1}})},
				Warnings: []string{"2 messages dead-lettered in invites"}, Errors: []string{}},
		},
	}
}

type statusEnv struct {
	t        *testing.T
	reporter *stubReporter
	handler  *httptest.Server
	logs     *logBuffer
}

func newStatusEnv(t *testing.T, reporter *stubReporter) *statusEnv {
	e := &statusEnv{t: t, reporter: reporter, logs: &logBuffer{}}
	d := Deps{Logger: slog.New(slog.NewTextHandler(e.logs, nil))}
	if reporter != nil {
		d.Status = reporter
	}
	e.handler = httptest.NewServer(New(d))
	t.Cleanup(e.handler.Close)
	return e
}

// invoke encodes r as the host does and posts it to the status function;
// it returns the host-facing status and the decoded answer.
func (e *statusEnv) invoke(r *http.Request) (int, funcproto.Response) {
	e.t.Helper()
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
	}
	payload, err := funcproto.EncodeHTTP("req", r, body, map[string]string{}, funcproto.NewSys(FuncStatus, statusNow))
	if err != nil {
		e.t.Fatal(err)
	}
	return e.post(payload)
}

func (e *statusEnv) post(payload []byte) (int, funcproto.Response) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.handler.URL+"/"+FuncStatus, bytes.NewReader(payload))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set(funcproto.HeaderInvocationID, "6f1c2d3e-0000-4000-8000-00000000beef")
	req.Header.Set(funcproto.HeaderHostVersion, funchost.HostVersion)
	req.Header.Set("User-Agent", funcproto.UserAgentPrefix+"/"+funchost.HostVersion)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		e.t.Fatalf("the host would refuse content type %q", ct)
	}
	out, err := funcproto.DecodeResponse(b)
	if err != nil {
		e.t.Fatalf("%v: %s", err, b)
	}
	return resp.StatusCode, out
}

// get invokes the function for GET target with an Accept header and
// returns its http output.
func (e *statusEnv) get(target, accept string) funcproto.HTTPOutput {
	e.t.Helper()
	r := httptest.NewRequest(http.MethodGet, "https://galsync.example/api/status"+target, nil)
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	code, resp := e.invoke(r)
	if code != http.StatusOK {
		e.t.Fatalf("GET %s: invocation answered %d %v", target, code, resp.Logs)
	}
	out, err := resp.HTTPOutput("res")
	if err != nil {
		e.t.Fatalf("GET %s: %v (%v)", target, err, resp.Logs)
	}
	return out
}

func TestStatusAnswersJSONOrHTML(t *testing.T) {
	e := newStatusEnv(t, &stubReporter{rep: statusReport()})
	for _, tc := range []struct {
		name, target, accept string
		html                 bool
	}{
		{"no Accept", "", "", false},
		{"curl", "", "*/*", false},
		{"json asked", "", "application/json", false},
		{"a browser", "", browserAccept, true},
		{"json preferred", "", "application/json, text/html;q=0.5", false},
		{"html refused", "", "text/html;q=0, */*", false},
		{"format=html", "?format=html", "application/json", true},
		{"format=json from a browser", "?format=json", browserAccept, false},
		{"with a function key", "?code=FUNCTION-KEY-SECRET&format=HTML", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := e.get(tc.target, tc.accept)
			if out.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", out.StatusCode, out.Body)
			}
			h := out.Headers
			if h["Cache-Control"] != "no-store" || h["X-Content-Type-Options"] != "nosniff" || !strings.Contains(h["Content-Security-Policy"], "default-src 'none'") {
				t.Errorf("headers %v", h)
			}
			if strings.Contains(out.Body, "FUNCTION-KEY-SECRET") {
				t.Error("the answer echoes the function key")
			}
			if tc.html {
				if h["Content-Type"] != "text/html; charset=utf-8" || !strings.HasPrefix(out.Body, "<!DOCTYPE html>") {
					t.Fatalf("content type %q, body %.80q", h["Content-Type"], out.Body)
				}
				for _, want := range []string{`data-direction="contoso-to-fabrikam" data-state="ok"`, `data-direction="contoso-to-gcchigh" data-state="paused"`,
					"PAUSED since 1h ago", "<code>galsync approve --direction contoso-to-gcchigh</code>", `<svg class="chart"`, `<rect class="bar s-failed"`,
					`<li data-series="failed">`, "2 messages dead-lettered in invites"} {
					if !strings.Contains(out.Body, want) {
						t.Errorf("page lacks %q", want)
					}
				}
				return
			}
			if h["Content-Type"] != "application/json; charset=utf-8" {
				t.Fatalf("content type %q", h["Content-Type"])
			}
			var rep status.Report
			if err := json.Unmarshal([]byte(out.Body), &rep); err != nil {
				t.Fatalf("%v: %.200s", err, out.Body)
			}
			if len(rep.Directions) != 2 || rep.Directions[1].Paused == nil || rep.Directions[1].Paused.HeldDeprovisions != 40 ||
				rep.Queues[2].Active != (status.Count{Count: 10000, AtLeast: true}) || rep.Directions[0].Cursor.AgeSeconds != 120 {
				t.Errorf("report %+v", rep)
			}
		})
	}
}

func TestStatusRefusals(t *testing.T) {
	e := newStatusEnv(t, &stubReporter{rep: statusReport()})
	if out := e.get("?format=xml", ""); out.StatusCode != http.StatusBadRequest || !strings.Contains(out.Body, `format "xml"`) {
		t.Errorf("format=xml: %+v", out)
	}
	r := httptest.NewRequest(http.MethodPost, "https://galsync.example/api/status", strings.NewReader(`{"a":1}`))
	r.Header.Set("Content-Type", "application/json")
	code, resp := e.invoke(r)
	out, err := resp.HTTPOutput("res")
	if code != http.StatusOK || err != nil || out.StatusCode != http.StatusMethodNotAllowed || out.Headers["Allow"] != "GET" {
		t.Errorf("POST: %d %+v %v", code, out, err)
	}
	// Not an invocation: the handler fails it (the host answers the caller 500).
	if code, resp := e.post([]byte(`{"Data":`)); code != http.StatusInternalServerError || len(resp.Logs) == 0 {
		t.Errorf("malformed invocation: %d %v", code, resp.Logs)
	}
	if code, _ := e.post([]byte(`{"Data":{},"Metadata":{}}`)); code != http.StatusInternalServerError {
		t.Errorf("no req binding: %d", code)
	}
	if e.reporter.calls != 0 {
		t.Errorf("refused requests built %d reports", e.reporter.calls)
	}

	unconfigured := newStatusEnv(t, nil)
	if out := unconfigured.get("", ""); out.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("no reporter: %+v", out)
	}
}

// A report that could not read everything is still answered, and what
// failed is logged once with the invocation id.
func TestStatusWithReadErrorsAnswersAndLogs(t *testing.T) {
	rep := statusReport()
	rep.Errors = []string{"peek invites/$deadletterqueue: amqp: link detached"}
	rep.Directions[0].Errors = []string{"read cursor: cosmos: 503", rep.Errors[0]}
	rep.Directions[1].Errors = []string{rep.Errors[0]}
	e := newStatusEnv(t, &stubReporter{rep: rep})
	out := e.get("?format=html", "")
	if out.StatusCode != http.StatusOK || !strings.Contains(out.Body, "Some of this report could not be read") {
		t.Fatalf("%d %.200s", out.StatusCode, out.Body)
	}
	logs := e.logs.String()
	if strings.Count(logs, "status: some reads failed") != 1 || !strings.Contains(logs, "6f1c2d3e-0000-4000-8000-00000000beef") ||
		!strings.Contains(logs, "contoso-to-fabrikam: read cursor: cosmos: 503") || strings.Count(logs, "link detached") != 1 {
		t.Errorf("logs:\n%s", logs)
	}
}

// function.json: GET /api/status, behind a function key, with an http
// output; the local host's HTTP front serves it (keys are not checked
// locally) and refuses other methods.
func TestStatusFunctionDefinitionAndFront(t *testing.T) {
	all, err := funchost.Load(functions.FS)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(all, func(f funchost.Function) bool { return f.Name == FuncStatus })
	if i < 0 {
		t.Fatal("no functions/status")
	}
	fn := all[i]
	if tr := fn.Trigger; tr.Type != "httpTrigger" || tr.Name != "req" || tr.AuthLevel != "function" || tr.Route != "status" ||
		!slices.Equal(tr.Methods, []string{"get"}) {
		t.Errorf("trigger %+v", tr)
	}
	if out, ok := fn.HTTPOutput(); !ok || out.Name != "res" {
		t.Errorf("http output %+v", out)
	}

	e := newStatusEnv(t, &stubReporter{rep: statusReport()})
	host := &funchost.Host{Functions: []funchost.Function{fn}, HandlerURL: e.handler.URL, Now: time.Now,
		Logger: slog.New(slog.DiscardHandler)}
	front := httptest.NewServer(host.HTTPHandler())
	t.Cleanup(front.Close)

	req, _ := http.NewRequest(http.MethodGet, front.URL+"/api/status?code=k", nil)
	req.Header.Set("Accept", browserAccept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
		!strings.Contains(string(b), "contoso-to-gcchigh") || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("GET through the front: %d %q %.100s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	resp, err = http.Post(front.URL+"/api/status", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST through the front: %d", resp.StatusCode)
	}
}
