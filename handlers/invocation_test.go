package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/funcproto"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/pipeline"
	"github.com/galsync/galsync/shared/queue"
)

// A queue invocation's failure is logged once, with the function, the
// invocation id from the host's header (also when the body cannot be
// decoded at all) and, once the message is read, its direction.
func TestQueueInvocationLogsItsIdentity(t *testing.T) {
	valid, err := funcproto.EncodeServiceBus("msg", queue.Delivery{
		Message: queue.Message{ID: "m1", Body: []byte(`{"direction":""}`),
			Properties: map[string]string{queue.PropDirection: "a-to-b"}},
		DeliveryCount: 1, EnqueuedAt: time.Now(),
	}, funcproto.NewSys(FuncDeltaPull, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, body    string
		wantDirection string
		// A message that was read but fails for good is parked (and
		// completed: 200); an invocation that cannot be read answers 500.
		wantCode int
		wantMsg  string
	}{
		{"not json", `{"Data": `, "", http.StatusInternalServerError, "invocation failed"},
		{"no trigger input", `{"Data": {}, "Metadata": {}}`, "", http.StatusInternalServerError, "invocation failed"},
		// The pull request has no direction in its body, so delta-pull
		// refuses it after the message (and its properties) were read.
		{"bad body", string(valid), "a-to-b", http.StatusOK, "invocation failed; parked for an operator"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			logger := slog.New(slog.NewJSONHandler(&logs, nil))
			sent := &sentMessages{}
			h := New(Deps{Now: time.Now, Logger: logger,
				Retrier: &pipeline.Retrier{Queue: sent, Now: time.Now, Logger: logger}})
			r := httptest.NewRequest(http.MethodPost, "/"+FuncDeltaPull, strings.NewReader(tc.body))
			r.Header.Set(funcproto.HeaderInvocationID, "7f9c2b1e-0000-4000-8000-000000000001")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.wantCode {
				t.Fatalf("answered %d, want %d", w.Code, tc.wantCode)
			}
			if parked := sent.count(galsync.QueueParked); parked != map[bool]int{true: 1}[tc.wantCode == http.StatusOK] {
				t.Errorf("%d message(s) parked", parked)
			}
			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			if len(lines) != 1 {
				t.Fatalf("logged %d lines, want the failure once:\n%s", len(lines), logs.String())
			}
			var line map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"msg": tc.wantMsg, "function": FuncDeltaPull, "level": "ERROR",
				"invocation": "7f9c2b1e-0000-4000-8000-000000000001"}
			for k, v := range want {
				if line[k] != v {
					t.Errorf("%s = %v, want %v (line %s)", k, line[k], v, lines[0])
				}
			}
			if got, _ := line["direction"].(string); got != tc.wantDirection {
				t.Errorf("direction = %q, want %q", got, tc.wantDirection)
			}
		})
	}
}

// sentMessages records what a handler sends, by queue.
type sentMessages struct {
	mu   sync.Mutex
	msgs map[string][]queue.Message
}

func (s *sentMessages) Send(_ context.Context, q string, msgs ...queue.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.msgs == nil {
		s.msgs = map[string][]queue.Message{}
	}
	s.msgs[q] = append(s.msgs[q], msgs...)
	return nil
}

func (s *sentMessages) count(q string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs[q])
}

// Every function reads its invocation the same way: one that cannot be
// read fails (500) and is logged once, naming the function and the
// invocation id of the host's header.
func TestEveryFunctionRefusesAMalformedInvocationAlike(t *testing.T) {
	for function := range Routes(Deps{}) {
		t.Run(function, func(t *testing.T) {
			var logs bytes.Buffer
			h := New(Deps{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
			r := httptest.NewRequest(http.MethodPost, "/"+function, strings.NewReader(`{"Data": {}, "Metadata": {}}`))
			r.Header.Set(funcproto.HeaderInvocationID, "7f9c2b1e-0000-4000-8000-000000000002")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusInternalServerError || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
				t.Fatalf("answered %d %q, want 500 as JSON", w.Code, w.Header().Get("Content-Type"))
			}
			resp, err := funcproto.DecodeResponse(w.Body.Bytes())
			if err != nil || len(resp.Logs) != 1 || !strings.HasPrefix(resp.Logs[0], "permanent: ") {
				t.Errorf("answer %+v, %v", resp, err)
			}
			var line map[string]any
			if err := json.Unmarshal(bytes.TrimSpace(logs.Bytes()), &line); err != nil {
				t.Fatalf("want one JSON log line: %v\n%s", err, logs.String())
			}
			if line["function"] != function || line["invocation"] != "7f9c2b1e-0000-4000-8000-000000000002" || line["msg"] != "invocation failed" {
				t.Errorf("logged %v", line)
			}
		})
	}
}
