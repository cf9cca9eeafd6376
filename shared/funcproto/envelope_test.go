package funcproto

import (
	"reflect"
	"testing"
)

// checkEnvelope: decodeEnvelope's one-pass reading comes to what reading
// the envelope member by member does.
func checkEnvelope(t *testing.T, b []byte) {
	t.Helper()
	got, err := decodeEnvelope(b)
	want, wantErr := decodeMembers(b)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("decodeEnvelope(%s): error %v, member by member %v", b, err, wantErr)
	}
	if err == nil && (!reflect.DeepEqual(got.Data, want.Data) || !reflect.DeepEqual(got.Metadata, want.Metadata)) {
		t.Errorf("decodeEnvelope(%s) = %v %v, member by member %v %v", b, got.Data, got.Metadata, want.Data, want.Metadata)
	}
}

var envelopeCases = []string{
	`{"Data":{"msg":"\"x\""},"Metadata":{"a":"1"}}`, `{"data":{"m":1},"DATA":{"n":2}}`, `{"Data":null,"data":{"m":1}}`,
	`{"Data":{"m":1},"Metadata":null}`, `{"Data":{"m":1},"Other":5}`, `{"Data":{"m":1},"data":5}`, `{"Metadata":{}}`,
	`{"Data":{},"":{"x":1}}`, `{"Data":"text"}`, `null`, `[]`, `{"Data":{"a":1},"Data":null}`,
}

func TestDecodeEnvelopeOnePass(t *testing.T) {
	for _, c := range envelopeCases {
		checkEnvelope(t, []byte(c))
	}
}

func FuzzDecodeEnvelope(f *testing.F) {
	for _, c := range envelopeCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 0 {
			checkEnvelope(t, b)
		}
	})
}
