package embedded

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestMessageCodec(t *testing.T) {
	at := time.Date(2026, 11, 3, 9, 0, 0, 123456789, time.UTC)
	for name, m := range map[string]storedMessage{
		"empty": {EnqueuedAt: at},
		"full": {ID: "a-to-b:u1:7:upsert", Body: []byte(`{"direction":"a-to-b"}`), ContentType: "application/json",
			Subject: "upsert", CorrelationID: "c", SessionID: "s", Properties: map[string]string{"k": "v", "galsync-last-error": "é 429"},
			ScheduledAt: at.Add(time.Minute), EnqueuedAt: at, DeliveryCount: 3, DeadLetterReason: "r", DeadLetterDescription: "d"},
		"binary body": {ID: "b", Body: []byte{0, 1, 2, 255, '{'}, EnqueuedAt: at},
	} {
		raw := encodeMessage(nil, m)
		got, err := decodeMessageBytes(raw)
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Errorf("%s: round trip gave %+v, %v; want %+v", name, got, err, m)
		}
		for i := range raw {
			if _, err := decodeMessageBytes(raw[:i]); err == nil {
				t.Errorf("%s: %d of %d bytes decoded without an error", name, i, len(raw))
			}
		}
	}
	// A message a file stored as JSON before still reads.
	old := storedMessage{ID: "old", Body: []byte("body"), EnqueuedAt: at, DeliveryCount: 2, Properties: map[string]string{"k": "v"}}
	raw, _ := json.Marshal(old)
	if got, err := decodeMessageBytes(raw); err != nil || !reflect.DeepEqual(got, old) {
		t.Errorf("JSON message: %+v, %v; want %+v", got, err, old)
	}
}
