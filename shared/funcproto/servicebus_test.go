package funcproto

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func decodeString(t *testing.T, body string) *Invocation {
	t.Helper()
	inv, err := Decode(invocationRequest(body), 1<<20)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return inv
}

func TestServiceBusBodyForms(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"raw object", `{"direction":"a-b","seq":1}`, `{"direction":"a-b","seq":1}`},
		{"raw array", `[1,2]`, `[1,2]`},
		{"string holding text", `"plain text"`, `plain text`},
		{"string holding JSON", `"{\"a\":1}"`, `{"a":1}`},
		{"double-encoded JSON (the host)", `"\"{\\\"a\\\":1}\""`, `{"a":1}`},
		{"double-encoded text", `"\"plain text\""`, `plain text`},
		// A body that is itself a JSON string literal: the host encodes it
		// twice, and only two layers come off.
		{"double-encoded string literal", `"\"\\\"quoted\\\"\""`, `"quoted"`},
		{"number", `42`, `42`},
		{"null", `null`, ``},
		{"empty string", `""`, ``},
		{"double-encoded empty", `"\"\""`, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := decodeString(t, `{"Data":{"msg":`+tt.data+`}}`)
			m, err := inv.ServiceBus("msg")
			if err != nil {
				t.Fatal(err)
			}
			if string(m.Body) != tt.want {
				t.Errorf("Body = %q, want %q", m.Body, tt.want)
			}
		})
	}
}

func TestServiceBusMetadataEncodedAndPlain(t *testing.T) {
	want := ServiceBusMessage{
		Body: []byte("x"), MessageID: "m-1", ContentType: "application/json", CorrelationID: "c-1",
		Subject: "pull", SessionID: "s-1", DeliveryCount: 3, SequenceNumber: 42,
		EnqueuedTime:          time.Date(2026, 11, 2, 10, 4, 5, 0, time.UTC),
		ExpiresAt:             time.Date(2026, 11, 16, 10, 4, 5, 0, time.UTC),
		LockToken:             "lt-1",
		ApplicationProperties: map[string]any{"galsync-direction": "a-b"},
	}
	encoded := `{"Data":{"msg":"\"x\""},"Metadata":{
		"MessageId":"\"m-1\"","ContentType":"\"application/json\"","CorrelationId":"\"c-1\"",
		"Subject":"\"pull\"","SessionId":"\"s-1\"","DeliveryCount":"3","SequenceNumber":"42",
		"EnqueuedTimeUtc":"2026-11-02T10:04:05","ExpiresAtUtc":"2026-11-16T10:04:05",
		"LockToken":"\"lt-1\"","ApplicationProperties":{"galsync-direction":"a-b"}}}`
	plain := `{"Data":{"msg":"x"},"metadata":{
		"messageId":"m-1","contentType":"application/json","correlationId":"c-1",
		"Label":"pull","sessionId":"s-1","deliveryCount":3,"sequenceNumber":42,
		"enqueuedTimeUtc":"2026-11-02T10:04:05.25Z","expiresAtUtc":"2026-11-16T12:04:05+02:00",
		"lockToken":"lt-1","UserProperties":"{\"galsync-direction\":\"a-b\"}"}}`
	for name, body := range map[string]string{"host encoding": encoded, "plain": plain} {
		t.Run(name, func(t *testing.T) {
			got, err := decodeString(t, body).ServiceBus("msg")
			if err != nil {
				t.Fatal(err)
			}
			got.EnqueuedTime = got.EnqueuedTime.Truncate(time.Second)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestServiceBusNeverExpiring(t *testing.T) {
	m, err := decodeString(t, `{"Data":{"msg":"\"x\""},"Metadata":{"ExpiresAtUtc":"9999-12-31T23:59:59"}}`).ServiceBus("msg")
	if err != nil {
		t.Fatal(err)
	}
	if !m.ExpiresAt.IsZero() {
		t.Errorf("ExpiresAt = %v, want zero (never expires)", m.ExpiresAt)
	}
}

func TestServiceBusBadMetadata(t *testing.T) {
	tests := []struct{ name, meta, mention string }{
		{"count not a number", `"DeliveryCount":"\"three\""`, "DeliveryCount is not an integer"},
		{"sequence not a number", `"SequenceNumber":true`, "SequenceNumber is not an integer"},
		{"bad time", `"EnqueuedTimeUtc":"yesterday"`, "EnqueuedTimeUtc"},
		{"properties not an object", `"ApplicationProperties":[1]`, "ApplicationProperties is not an object"},
		{"broken string", `"MessageId":"\"unterminated"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := decodeString(t, `{"Data":{"msg":"\"x\""},"Metadata":{`+tt.meta+`}}`)
			m, err := inv.ServiceBus("msg")
			if tt.mention == "" {
				// An unterminated inner string is not double-encoded: it is
				// the text itself.
				if err != nil || m.MessageID != `"unterminated` {
					t.Fatalf("MessageID = %q, err %v", m.MessageID, err)
				}
				return
			}
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("error = %v, want one mentioning %q", err, tt.mention)
			}
		})
	}
}
