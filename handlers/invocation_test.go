package handlers

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/funcproto"
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
	}{
		{"not json", `{"Data": `, ""},
		{"no trigger input", `{"Data": {}, "Metadata": {}}`, ""},
		// The pull request has no direction in its body, so delta-pull
		// refuses it after the message (and its properties) were read.
		{"bad body", string(valid), "a-to-b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := New(Deps{Now: time.Now, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
			r := httptest.NewRequest(http.MethodPost, "/"+FuncDeltaPull, strings.NewReader(tc.body))
			r.Header.Set(funcproto.HeaderInvocationID, "7f9c2b1e-0000-4000-8000-000000000001")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusInternalServerError {
				t.Fatalf("answered %d, want 500", w.Code)
			}
			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			if len(lines) != 1 {
				t.Fatalf("logged %d lines, want the failure once:\n%s", len(lines), logs.String())
			}
			var line map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"msg": "invocation failed", "function": FuncDeltaPull,
				"invocation": "7f9c2b1e-0000-4000-8000-000000000001", "kind": "permanent"}
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
