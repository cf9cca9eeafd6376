package funchost

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/galsync/galsync/shared/funcproto"
	"github.com/galsync/galsync/shared/queue"
)

func queueFunction(name, q string) Function {
	return Function{Name: name, Path: name + "/function.json",
		Trigger: Binding{Type: TypeServiceBusTrigger, Direction: "in", Name: "msg", QueueName: q}}
}

func timerFunction(name, schedule string, onStartup bool) Function {
	return Function{Name: name, Path: name + "/function.json",
		Trigger: Binding{Type: TypeTimerTrigger, Direction: "in", Name: "timer", Schedule: schedule, RunOnStartup: onStartup}}
}

func decodeRecorded(t *testing.T, r recorded) *funcproto.Invocation {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, r.path, bytes.NewReader(r.body))
	req.Header = r.header
	inv, err := funcproto.Decode(req, 1<<20)
	if err != nil {
		t.Fatalf("the host sent an invocation the handler cannot decode: %v\n%s", err, r.body)
	}
	return inv
}

var guidShape = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestQueueMessagePostedAsTheHostDoesAndCompleted(t *testing.T) {
	stub := newStub(t, answer(http.StatusOK, "done"))
	stub.Start()
	q := newFakeQueue()
	body := `{"direction":"a-b","sourceUserId":"u1","seq":3,"kind":"upsert","inviteAddress":"x@example.test"}`
	q.send("invites", queue.Message{ID: "a-b:u1:3:upsert", Body: []byte(body), ContentType: "application/json",
		Properties: map[string]string{queue.PropDirection: "a-b"}})
	h := &Host{Functions: []Function{queueFunction("invite-worker", "invites")}, HandlerURL: stub.URL, Receiver: q, Concurrency: 2}
	runHost(t, h)

	r := stub.nextPost(t)
	if r.path != "/invite-worker" {
		t.Errorf("posted to %s, want the function name /invite-worker", r.path)
	}
	if r.contentLength != -1 {
		t.Errorf("Content-Length %d: the host sends invocations chunked", r.contentLength)
	}
	if id := r.header.Get(funcproto.HeaderInvocationID); !guidShape.MatchString(id) {
		t.Errorf("invocation id %q is not a GUID", id)
	}
	if v := r.header.Get(funcproto.HeaderHostVersion); v != HostVersion {
		t.Errorf("host version header %q", v)
	}
	if ua := r.header.Get("User-Agent"); ua != "Azure-Functions-Host/"+HostVersion {
		t.Errorf("User-Agent %q", ua)
	}
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Errorf("Content-Type %q", r.header.Get("Content-Type"))
	}
	// The body is double-encoded, as the host encodes a string input.
	if !bytes.Contains(r.body, []byte(`"msg":"\"{\\\"direction\\\":\\\"a-b\\\"`)) {
		t.Errorf("body not double-encoded: %s", r.body)
	}
	inv := decodeRecorded(t, r)
	m, err := inv.ServiceBus("msg")
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Body) != body || m.MessageID != "a-b:u1:3:upsert" || m.DeliveryCount != 1 || m.SequenceNumber != 1 ||
		m.ApplicationProperties[queue.PropDirection] != "a-b" || m.LockToken == "" {
		t.Errorf("decoded %+v", m)
	}
	sys, err := inv.Sys()
	if err != nil || sys.MethodName != "invite-worker" || !guidShape.MatchString(sys.RandGuid) {
		t.Errorf("sys = %+v, %v", sys, err)
	}
	if e := q.nextSettlement(t); e.kind != "complete" || e.d.ID != "a-b:u1:3:upsert" {
		t.Errorf("settlement = %s of %s, want complete", e.kind, e.d.ID)
	}
}

func TestFailedInvocationsAbandonWithTheError(t *testing.T) {
	long := strings.Repeat("é", 2000)
	tests := []struct {
		name    string
		respond http.HandlerFunc
		want    string // prefix of galsync-last-error
	}{
		{"500 with logs", answer(http.StatusInternalServerError, "permanent: work item: seq must be positive"), "HTTP 500: permanent: work item: seq must be positive"},
		{"503 with text body", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "busy", http.StatusServiceUnavailable) }, "HTTP 503: busy"},
		{"200 as text/plain", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }, `handler answered 200 with Content-Type "text/plain`},
		{"200 with empty body", func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Content-Type", "application/json") }, "handler answered 200 with an unreadable body"},
		{"200 with null", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte("null"))
		}, "handler answered 200 with an unreadable body"},
		{"connection dropped", func(w http.ResponseWriter, _ *http.Request) {
			conn, _, _ := w.(http.Hijacker).Hijack()
			_ = conn.Close()
		}, "Post "},
		{"long error", answer(http.StatusInternalServerError, long), "HTTP 500: éé"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := newStub(t, tt.respond)
			stub.Start()
			q := newFakeQueue()
			q.send("updates", queue.Message{ID: "m1", Body: []byte(`{"x":1}`)})
			var results []Result
			var mu sync.Mutex
			h := &Host{Functions: []Function{queueFunction("update-worker", "updates")}, HandlerURL: stub.URL, Receiver: q,
				OnInvocation: func(r Result) { mu.Lock(); results = append(results, r); mu.Unlock() }}
			stop := runHost(t, h)
			e := q.nextSettlement(t)
			if e.kind != "abandon" {
				t.Fatalf("settlement = %s, want abandon", e.kind)
			}
			text := e.props[queue.PropLastError]
			if !strings.HasPrefix(text, tt.want) {
				t.Errorf("last error %q, want it to start %q", text, tt.want)
			}
			if len(text) > 1024 || !utf8.ValidString(text) {
				t.Errorf("last error is %d bytes (valid UTF-8: %t), want at most 1 KB of text", len(text), utf8.ValidString(text))
			}
			if cut := strings.HasSuffix(text, "…"); cut != (tt.name == "long error") {
				t.Errorf("last error cut = %t", cut)
			}
			_ = stop()
			if got := h.Stats()["update-worker"]; got != (Count{Failed: 1}) {
				t.Errorf("Stats = %+v, want one failure", got)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(results) != 1 || results[0].Outcome != Failed || results[0].Error != text {
				t.Errorf("OnInvocation saw %+v", results)
			}
		})
	}
}

func TestLockRenewedWhileHandlerRuns(t *testing.T) {
	q := newFakeQueue()
	// The handler holds the message until the host has renewed its lock
	// twice, then answers.
	stub := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		deadline := time.After(10 * time.Second)
		for range 2 {
			select {
			case <-q.renewals:
			case <-deadline:
				answer(http.StatusInternalServerError, "lock not renewed")(w, r)
				return
			}
		}
		answer(http.StatusOK)(w, r)
	})
	stub.Start()
	q.send("pulls", queue.Message{ID: "p1", Body: []byte(`{"direction":"a-b"}`)})
	h := &Host{Functions: []Function{queueFunction("delta-pull", "pulls")}, HandlerURL: stub.URL, Receiver: q,
		QueueOptions: map[string]queue.Options{"pulls": {LockDuration: 200 * time.Millisecond}}}
	runHost(t, h)
	if e := q.nextSettlement(t); e.kind != "complete" {
		t.Fatalf("settlement = %s (%v), want complete after two renewals", e.kind, e.props)
	}
}

func TestTimerFires(t *testing.T) {
	stub := newStub(t, answer(http.StatusOK))
	stub.Start()
	h := &Host{Functions: []Function{timerFunction("delta-timer", "*/1 * * * * *", false)}, HandlerURL: stub.URL}
	runHost(t, h)
	for i := range 2 {
		r := stub.nextPost(t)
		if r.path != "/delta-timer" {
			t.Fatalf("tick %d posted to %s", i, r.path)
		}
		inv := decodeRecorded(t, r)
		info, err := inv.Timer("timer")
		if err != nil || info.IsPastDue || info.ScheduleStatus != nil {
			t.Errorf("tick %d: %+v, %v", i, info, err)
		}
		if len(inv.Metadata) != 1 {
			t.Errorf("timer Metadata has %d keys, want only sys", len(inv.Metadata))
		}
	}
}

func TestTimerRunOnStartup(t *testing.T) {
	stub := newStub(t, answer(http.StatusOK))
	stub.Start()
	// Next due on 1 January: only runOnStartup can fire it in this test.
	h := &Host{Functions: []Function{timerFunction("renew", "0 0 0 1 1 *", true)}, HandlerURL: stub.URL}
	stop := runHost(t, h)
	if r := stub.nextPost(t); r.path != "/renew" {
		t.Fatalf("posted to %s", r.path)
	}
	_ = stop()
	if got := h.Stats()["renew"]; got != (Count{Succeeded: 1}) {
		t.Errorf("Stats = %+v", got)
	}
}

func TestWaitsForHandlerBeforeInvoking(t *testing.T) {
	stub := newStub(t, answer(http.StatusOK)) // listening, not serving
	q := newFakeQueue()
	q.send("pulls", queue.Message{ID: "p1", Body: []byte("{}")})
	h := &Host{Functions: []Function{queueFunction("delta-pull", "pulls")}, HandlerURL: "http://" + stub.Listener.Addr().String(), Receiver: q}
	runHost(t, h)
	// Give a host that did not wait the time to start receiving.
	time.Sleep(300 * time.Millisecond)
	if n := q.receives.Load(); n != 0 {
		t.Fatalf("%d receive(s) before the handler answered GET /", n)
	}
	stub.Start()
	first := <-stub.reqs
	if first.method != http.MethodGet || first.path != "/" {
		t.Errorf("first request %s %s, want GET /", first.method, first.path)
	}
	if e := q.nextSettlement(t); e.kind != "complete" {
		t.Errorf("settlement = %s", e.kind)
	}
}

func TestShutdownLetsInFlightInvocationFinish(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	stub := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		answer(http.StatusOK)(w, r)
	})
	stub.Start()
	q := newFakeQueue()
	q.send("pulls", queue.Message{ID: "p1", Body: []byte("{}")})
	h := &Host{Functions: []Function{queueFunction("delta-pull", "pulls")}, HandlerURL: stub.URL, Receiver: q, Concurrency: 1}
	stop := runHost(t, h)
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	select {
	case <-stopped:
		t.Fatal("Run returned while an invocation was in flight")
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := <-stopped; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	if e := q.nextSettlement(t); e.kind != "complete" {
		t.Errorf("settlement = %s, want complete", e.kind)
	}
}

func TestShutdownGraceAbandonsStuckInvocation(t *testing.T) {
	entered := make(chan struct{})
	stub := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done() // stuck until the host gives up
	})
	stub.Start()
	q := newFakeQueue()
	q.send("pulls", queue.Message{ID: "p1", Body: []byte("{}")})
	h := &Host{Functions: []Function{queueFunction("delta-pull", "pulls")}, HandlerURL: stub.URL, Receiver: q,
		Concurrency: 1, ShutdownGrace: 100 * time.Millisecond}
	stop := runHost(t, h)
	<-entered
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v", err)
	}
	e := q.nextSettlement(t)
	if e.kind != "abandon" || !strings.Contains(e.props[queue.PropLastError], "context canceled") {
		t.Errorf("settlement = %s %v, want abandon after the grace", e.kind, e.props)
	}
}

func TestRunRefusesBadConfiguration(t *testing.T) {
	tests := []struct {
		name    string
		h       *Host
		mention string
	}{
		{"bad URL", &Host{HandlerURL: "127.0.0.1:80"}, "not an http(s) URL"},
		{"unresolved setting", &Host{HandlerURL: "http://127.0.0.1:1", Functions: []Function{timerFunction("t", "%SCHEDULE%", false)}}, "call ResolveSettings first"},
		{"queue without receiver", &Host{HandlerURL: "http://127.0.0.1:1", Functions: []Function{queueFunction("w", "q")}}, "needs a Receiver"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.h.Run(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("Run = %v, want an error saying %q", err, tt.mention)
			}
		})
	}
}
