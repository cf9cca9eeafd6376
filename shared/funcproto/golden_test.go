package funcproto

import (
	"bytes"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it under -update.
// The files are the wire payloads a reviewer checks against the host's
// source; a change to them is a change to the protocol.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, append(bytes.Clone(got), '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, bytes.TrimSuffix(want, []byte("\n"))) {
		t.Errorf("%s differs from the golden file:\n got  %s\n want %s", name, got, want)
	}
}

func TestGoldenPayloads(t *testing.T) {
	at := time.Date(2026, 11, 2, 10, 5, 0, 0, time.UTC)
	cases := []struct {
		name   string
		encode func() ([]byte, error)
	}{
		{"servicebus_workitem.golden.json", func() ([]byte, error) {
			return EncodeServiceBus("msg", testDelivery(`{"direction":"a-b","sourceUserId":"u1","seq":7,"kind":"upsert","desired":{"displayName":"Ada <Lovelace>"},"inviteAddress":"ada@example.test"}`), testSys)
		}},
		{"servicebus_text.golden.json", func() ([]byte, error) {
			d := testDelivery("hello \"world\"")
			d.ContentType, d.CorrelationID, d.Properties, d.ExpiresAt, d.SessionID = "", "", nil, time.Time{}, "s-1"
			return EncodeServiceBus("msg", d, testSys)
		}},
		{"timer.golden.json", func() ([]byte, error) {
			return EncodeTimer("timer", TimerInfo{}, Sys{MethodName: "delta-timer", UtcNow: at, RandGuid: testSys.RandGuid})
		}},
		{"timer_monitored.golden.json", func() ([]byte, error) {
			info := TimerInfo{IsPastDue: true, ScheduleStatus: &ScheduleStatus{Last: at.Add(-5 * time.Minute), Next: at, LastUpdated: at.Add(-5*time.Minute + 2*time.Millisecond)}}
			return EncodeTimer("timer", info, Sys{MethodName: "delta-timer", UtcNow: at, RandGuid: testSys.RandGuid})
		}},
		{"http.golden.json", func() ([]byte, error) {
			body := `{"direction":"a-b"}`
			r := httptest.NewRequest(http.MethodPost, "http://localhost:7071/api/provision/u1?dryRun=true", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Accept", "application/json")
			return EncodeHTTP("req", r, []byte(body), map[string]string{"user": "u1"}, Sys{MethodName: "provision", UtcNow: at, RandGuid: testSys.RandGuid})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.encode()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, c.name, got)
			decodePayload(t, got) // every golden payload is a valid invocation
		})
	}
}

func TestGoldenResponse(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteResponse(rec, http.StatusOK, Response{
		Outputs: map[string]any{"res": HTTPOutput{StatusCode: 202, Body: "accepted", Headers: map[string]string{"Content-Type": "text/plain"}}},
		Logs:    []string{"a-b user u1 seq 7: invite created"},
	})
	golden(t, "response.golden.json", rec.Body.Bytes())
}
