package funcproto

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"unicode/utf8"
)

// FuzzServiceBusBody feeds arbitrary bytes both as a whole invocation body
// and as a message body. Decoding must never panic, and a valid UTF-8
// message body must survive the host's double encoding unchanged (unless
// it is a JSON object whose properties clobber the metadata). The seed
// corpus is in testdata/fuzz/FuzzServiceBusBody.
func FuzzServiceBusBody(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		// As an invocation body: any error is fine, a panic is not.
		r := httptest.NewRequest(http.MethodPost, "/f", bytes.NewReader(data))
		if inv, err := Decode(r, 1<<20); err == nil {
			_, _ = inv.ServiceBus("msg")
			_, _ = inv.Timer("msg")
			_, _ = inv.HTTP("msg")
			_, _ = inv.Sys()
		}
		_, _ = DecodeResponse(data)

		// As a message body.
		payload, err := EncodeServiceBus("msg", testDelivery(string(data)), testSys)
		if err != nil {
			t.Fatal(err)
		}
		r = httptest.NewRequest(http.MethodPost, "/f", bytes.NewReader(payload))
		inv, err := Decode(r, int64(len(payload)))
		if err != nil {
			t.Fatalf("Decode of an encoded payload: %v\n%s", err, payload)
		}
		m, err := inv.ServiceBus("msg")
		if err != nil {
			// Only a JSON object body can break the metadata, by naming a
			// system key (the host's quirk), and then the error says so.
			if !isObject(data) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("ServiceBus of an encoded payload: %v\n%s", err, payload)
			}
			return
		}
		if utf8.Valid(data) && !bytes.Equal(m.Body, data) {
			t.Fatalf("body %q came back as %q", data, m.Body)
		}
	})
}
