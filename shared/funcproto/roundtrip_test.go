package funcproto

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/queue"
)

var testSys = Sys{MethodName: "delta-pull", UtcNow: time.Date(2026, 11, 2, 10, 4, 5, 123456789, time.UTC), RandGuid: "5e1f7a3c-2b4d-4e6f-8a9b-0c1d2e3f4a5b"}

func testDelivery(body string) queue.Delivery {
	return queue.Delivery{
		Message: queue.Message{
			ID: "a-b:u1:7:upsert", Body: []byte(body), ContentType: "application/json",
			Subject: "upsert", CorrelationID: "corr-1",
			Properties: map[string]string{queue.PropDirection: "a-b", queue.PropSourceUser: "u1"},
		},
		Queue: "invites", LockToken: "7d2c4b1e-0000-4000-8000-000000000001", SequenceNumber: 1234,
		DeliveryCount: 2,
		EnqueuedAt:    time.Date(2026, 11, 2, 10, 4, 1, 987654321, time.UTC),
		LockedUntil:   time.Date(2026, 11, 2, 10, 4, 31, 0, time.UTC),
		ExpiresAt:     time.Date(2026, 11, 16, 10, 4, 1, 987654321, time.UTC),
	}
}

// decodePayload posts an encoded payload through the handler-side decoder.
func decodePayload(t *testing.T, payload []byte) *Invocation {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/f", bytes.NewReader(payload))
	inv, err := Decode(r, 1<<20)
	if err != nil {
		t.Fatalf("Decode: %v\npayload: %s", err, payload)
	}
	return inv
}

func TestServiceBusRoundTrip(t *testing.T) {
	bodies := []string{
		`{"direction":"a-b","sourceUserId":"u1","seq":7,"kind":"upsert"}`,
		`plain text with "quotes" and \backslashes\ and <html> & ünïcødé`,
		`"a JSON string literal"`,
		``,
		"line\nbreaks\tand\x01controls",
	}
	for _, body := range bodies {
		d := testDelivery(body)
		for _, session := range []string{"", "session-9"} {
			d.SessionID = session
			payload, err := EncodeServiceBus("msg", d, testSys)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodePayload(t, payload).ServiceBus("msg")
			if err != nil {
				t.Fatal(err)
			}
			want := ServiceBusMessage{
				Body: []byte(body), MessageID: d.ID, ContentType: d.ContentType, CorrelationID: d.CorrelationID,
				Subject: d.Subject, SessionID: session, DeliveryCount: d.DeliveryCount, SequenceNumber: d.SequenceNumber,
				// The host drops the fraction.
				EnqueuedTime: d.EnqueuedAt.Truncate(time.Second), ExpiresAt: d.ExpiresAt.Truncate(time.Second),
				LockToken:             d.LockToken,
				ApplicationProperties: map[string]any{queue.PropDirection: "a-b", queue.PropSourceUser: "u1"},
			}
			if len(want.Body) == 0 {
				want.Body = []byte{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("body %q session %q:\n got  %+v\n want %+v", body, session, got, want)
			}
		}
	}
}

func TestServiceBusRoundTripOfSparseMessage(t *testing.T) {
	d := queue.Delivery{Message: queue.Message{ID: "m", Body: []byte("x")}, DeliveryCount: 1, LockToken: "lt"}
	payload, err := EncodeServiceBus("msg", d, testSys)
	if err != nil {
		t.Fatal(err)
	}
	inv := decodePayload(t, payload)
	for _, absent := range []string{"ContentType", "Label", "Subject", "CorrelationId", "SessionId"} {
		if _, ok := inv.Metadata[absent]; ok {
			t.Errorf("Metadata has %s for an unset property; the host leaves nulls out", absent)
		}
	}
	got, err := inv.ServiceBus("msg")
	if err != nil {
		t.Fatal(err)
	}
	if !got.ExpiresAt.IsZero() || !got.EnqueuedTime.IsZero() || got.ApplicationProperties == nil {
		t.Errorf("got %+v: want zero times and empty (not nil) properties", got)
	}
}

// The host copies a JSON body's top-level scalars into Metadata, matching
// keys case-insensitively: a body property named like a system key wins.
func TestServiceBusBodyScalarsOverwriteMetadata(t *testing.T) {
	d := testDelivery(`{"messageId":"from-body","direction":"a-b","seq":7,"ok":true,"desired":{"x":1},"list":[1],"none":null}`)
	payload, err := EncodeServiceBus("msg", d, testSys)
	if err != nil {
		t.Fatal(err)
	}
	inv := decodePayload(t, payload)
	wantMeta := map[string]string{"MessageId": `"\"from-body\""`, "direction": `"\"a-b\""`, "seq": `"7"`, "ok": `"true"`}
	for k, want := range wantMeta {
		if got := string(inv.Metadata[k]); got != want {
			t.Errorf("Metadata[%s] = %s, want %s", k, got, want)
		}
	}
	for _, k := range []string{"messageId", "desired", "list", "none"} {
		if _, ok := inv.Metadata[k]; ok {
			t.Errorf("Metadata has %q", k)
		}
	}
	m, err := inv.ServiceBus("msg")
	if err != nil {
		t.Fatal(err)
	}
	if m.MessageID != "from-body" {
		t.Errorf("MessageID = %q, want the body's", m.MessageID)
	}
}

func TestTimerRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 2, 10, 5, 0, 0, time.UTC)
	for _, info := range []TimerInfo{
		{},
		{IsPastDue: true},
		{ScheduleStatus: &ScheduleStatus{Last: at.Add(-5 * time.Minute), Next: at, LastUpdated: at.Add(-5*time.Minute + 1234567*time.Nanosecond)}},
	} {
		payload, err := EncodeTimer("timer", info, testSys)
		if err != nil {
			t.Fatal(err)
		}
		inv := decodePayload(t, payload)
		got, err := inv.Timer("timer")
		if err != nil {
			t.Fatal(err)
		}
		want := info
		if s := info.ScheduleStatus; s != nil {
			want.ScheduleStatus = &ScheduleStatus{Last: s.Last, Next: s.Next, LastUpdated: s.LastUpdated.Truncate(100 * time.Nanosecond)}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
		if len(inv.Metadata) != 1 {
			t.Errorf("timer Metadata = %v, want only sys", inv.Metadata)
		}
	}
}

func TestSysRoundTrip(t *testing.T) {
	payload, err := EncodeTimer("timer", TimerInfo{}, testSys)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodePayload(t, payload).Sys()
	if err != nil {
		t.Fatal(err)
	}
	want := testSys
	want.UtcNow = want.UtcNow.Truncate(100 * time.Nanosecond) // .NET ticks
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestHTTPRoundTrip(t *testing.T) {
	body := `{"note":"hi"}`
	r := httptest.NewRequest(http.MethodPost, "http://localhost:7071/api/users/u1?x=1&x=2&y=", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Add("X-Multi", "a")
	r.Header.Add("X-Multi", "b")
	payload, err := EncodeHTTP("req", r, []byte(body), map[string]string{"id": "u1"}, testSys)
	if err != nil {
		t.Fatal(err)
	}
	inv := decodePayload(t, payload)
	got, err := inv.HTTP("req")
	if err != nil {
		t.Fatal(err)
	}
	want := HTTPRequest{
		URL: "http://localhost:7071/api/users/u1?x=1&x=2&y=", Method: "POST",
		Query:   map[string]string{"x": "1,2", "y": ""},
		Headers: map[string][]string{"Content-Type": {"application/json"}, "X-Multi": {"a", "b"}, "Host": {"localhost:7071"}},
		Params:  map[string]string{"id": "u1"}, Body: []byte(body),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if id, _ := unwrap(inv.Metadata["id"]); id != "u1" {
		t.Errorf("Metadata id = %s", inv.Metadata["id"])
	}
	if note, _ := unwrap(inv.Metadata["note"]); note != "hi" {
		t.Errorf("Metadata note = %s (JSON body scalars are copied)", inv.Metadata["note"])
	}
}

// The host reads the body only when Content-Length is positive: a chunked
// request reaches the handler without one.
func TestHTTPChunkedRequestLosesBody(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "http://localhost/api/x", strings.NewReader("data"))
	r.ContentLength = -1
	payload, err := EncodeHTTP("req", r, []byte("data"), nil, testSys)
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Data map[string]map[string]json.RawMessage
	}
	if err := json.Unmarshal(payload, &env); err != nil {
		t.Fatal(err)
	}
	if _, ok := env.Data["req"]["Body"]; ok {
		t.Errorf("Body present for a chunked request: %s", payload)
	}
	if string(env.Data["req"]["Params"]) != "{}" {
		t.Errorf("Params = %s, want {}", env.Data["req"]["Params"])
	}
}

func TestHTTPBinaryRoundTrip(t *testing.T) {
	body := []byte{0, 1, 2, 0xff, 0xfe}
	r := httptest.NewRequest(http.MethodPut, "https://example.test/api/blob", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/octet-stream")
	payload, err := EncodeHTTP("req", r, body, nil, testSys)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodePayload(t, payload).HTTP("req")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Body, body) || got.URL != "https://example.test/api/blob" {
		t.Errorf("got body %v url %q", got.Body, got.URL)
	}
}

func TestEncodersRefuseMissingNames(t *testing.T) {
	if _, err := EncodeServiceBus("", testDelivery("x"), testSys); err == nil {
		t.Error("EncodeServiceBus accepted an empty binding name")
	}
	if _, err := EncodeTimer("", TimerInfo{}, testSys); err == nil {
		t.Error("EncodeTimer accepted an empty binding name")
	}
	if _, err := EncodeHTTP("req", nil, nil, nil, testSys); err == nil {
		t.Error("EncodeHTTP accepted a nil request")
	}
}

func TestNewGUIDShape(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		g := NewGUID()
		if len(g) != 36 || g[14] != '4' || !strings.ContainsRune("89ab", rune(g[19])) || strings.ToLower(g) != g {
			t.Fatalf("NewGUID() = %q is not a lower-case version 4 GUID", g)
		}
		if seen[g] {
			t.Fatalf("NewGUID repeated %q", g)
		}
		seen[g] = true
	}
}
