package funcproto

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func TestHTTPEnvelope(t *testing.T) {
	inv := decodeString(t, `{"Data":{"req":{
		"Url":"http://localhost:7071/api/users/u1?x=1","Method":"POST",
		"Query":{"x":"1","n":2},"Headers":{"Content-Type":["application/json"],"X-Single":"one"},
		"Params":{"id":"u1"},"Identities":[],"Body":"{\"a\":1}"}}}`)
	got, err := inv.HTTP("req")
	if err != nil {
		t.Fatal(err)
	}
	want := HTTPRequest{
		URL: "http://localhost:7071/api/users/u1?x=1", Method: "POST",
		Query:   map[string]string{"x": "1", "n": "2"},
		Headers: map[string][]string{"Content-Type": {"application/json"}, "X-Single": {"one"}},
		Params:  map[string]string{"id": "u1"}, Body: []byte(`{"a":1}`),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	for name, want := range map[string]string{"content-type": "application/json", "CONTENT-TYPE": "application/json", "x-single": "one", "missing": ""} {
		if v := got.Header(name); v != want {
			t.Errorf("Header(%q) = %q, want %q", name, v, want)
		}
	}
}

func TestHTTPBinaryBodyIsBase64(t *testing.T) {
	inv := decodeString(t, `{"Data":{"req":{"Method":"PUT","Headers":{"content-type":["application/octet-stream"]},"Body":"AAEC/w=="}}}`)
	got, err := inv.HTTP("req")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Body, []byte{0, 1, 2, 255}) {
		t.Errorf("Body = %v", got.Body)
	}
}

func TestHTTPBadInput(t *testing.T) {
	for name, data := range map[string]string{
		"not an object":   `"GET /"`,
		"null":            `null`,
		"bad base64":      `{"Headers":{"Content-Type":["application/octet-stream"]},"Body":"%%%"}`,
		"query not a map": `{"Query":[1]}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := decodeString(t, `{"Data":{"req":`+data+`}}`).HTTP("req")
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error = %v, want ErrMalformed", err)
			}
		})
	}
}

// TestHTTPQueryAsJSONText: the custom-handler reference shows Query as JSON
// text in a string ("Query": "{}"); such a request reads like the object
// form, and query names match without regard to case.
func TestHTTPQueryAsJSONText(t *testing.T) {
	for _, tc := range []struct {
		name, query string
		want        map[string]string
	}{
		{"empty text", `"{}"`, map[string]string{}},
		{"empty string", `""`, map[string]string{}},
		{"null", `null`, map[string]string{}},
		{"text", `"{\"validationToken\":\"abc def\"}"`, map[string]string{"validationToken": "abc def"}},
		{"object", `{"validationToken":"abc def"}`, map[string]string{"validationToken": "abc def"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"Data":{"req":{"Url":"http://localhost:7071/api/notify","Method":"POST","Query":` + tc.query +
				`,"Headers":{"Content-Type":["text/plain"]},"Params":"{}"}},"Metadata":{}}`
			inv, err := Decode(httptest.NewRequest(http.MethodPost, "/graph-notify", strings.NewReader(body)), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			req, err := inv.HTTP("req")
			if err != nil {
				t.Fatal(err)
			}
			if len(req.Query) != len(tc.want) {
				t.Fatalf("Query = %v, want %v", req.Query, tc.want)
			}
			if want, ok := tc.want["validationToken"]; ok {
				if got, ok := req.QueryValue("VALIDATIONTOKEN"); !ok || got != want {
					t.Errorf("QueryValue = %q, %v", got, ok)
				}
			}
		})
	}
	body := `{"Data":{"req":{"Url":"u","Method":"GET","Query":"[1,2]"}},"Metadata":{}}`
	inv, err := Decode(httptest.NewRequest(http.MethodPost, "/f", strings.NewReader(body)), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inv.HTTP("req"); err == nil {
		t.Error("a Query that is no object was accepted")
	}
}
