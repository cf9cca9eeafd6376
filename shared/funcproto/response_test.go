package funcproto

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func TestWriteResponseNeverEmpty(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteResponse(rec, 0, Response{})
	if rec.Code != http.StatusOK {
		t.Errorf("status = %d, want 200", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
	if got := rec.Body.String(); got != `{"Outputs":{},"Logs":[],"ReturnValue":null}` {
		t.Errorf("body = %s", got)
	}
}

func TestWriteResponseUnencodableOutputFails(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteResponse(rec, http.StatusOK, Response{Outputs: map[string]any{"bad": make(chan int)}})
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", rec.Code)
	}
	resp, err := DecodeResponse(rec.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Logs) != 1 || !strings.Contains(resp.Logs[0], "encode response") {
		t.Errorf("Logs = %q", resp.Logs)
	}
}

func TestWriteThenDecodeResponse(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteResponse(rec, http.StatusAccepted, Response{
		Outputs:     map[string]any{"res": HTTPOutput{StatusCode: 202, Body: "queued", Headers: map[string]string{"X-Id": "1"}}},
		Logs:        []string{"one", "two"},
		ReturnValue: "done",
	})
	if rec.Code != http.StatusAccepted {
		t.Errorf("status = %d", rec.Code)
	}
	resp, err := DecodeResponse(rec.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(resp.Logs, []string{"one", "two"}) || resp.ReturnValue != "done" {
		t.Errorf("resp = %+v", resp)
	}
	out, err := resp.HTTPOutput("res")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, HTTPOutput{StatusCode: 202, Body: "queued", Headers: map[string]string{"X-Id": "1"}}) {
		t.Errorf("HTTPOutput = %+v", out)
	}
}

func TestDecodeResponse(t *testing.T) {
	tests := []struct {
		name, body string
		want       Response
		wantErr    bool
	}{
		{"host casing", `{"Outputs":{"a":1},"Logs":["x"],"ReturnValue":true}`, Response{Outputs: map[string]any{"a": 1.0}, Logs: []string{"x"}, ReturnValue: true}, false},
		{"lower casing", `{"outputs":{"a":1},"logs":["x"],"returnValue":"r"}`, Response{Outputs: map[string]any{"a": 1.0}, Logs: []string{"x"}, ReturnValue: "r"}, false},
		{"empty object", `{}`, Response{}, false},
		{"empty body", ``, Response{}, true},
		{"null body", `null`, Response{}, true},
		{"text", `ok`, Response{}, true},
		{"logs not strings", `{"Logs":[1]}`, Response{}, true},
		{"outputs not an object", `{"Outputs":[]}`, Response{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeResponse([]byte(tt.body))
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestHTTPOutputForms(t *testing.T) {
	tests := []struct {
		name, output string
		want         HTTPOutput
		wantErr      bool
	}{
		{"canonical", `{"statusCode":201,"body":"made","headers":{"Location":"/x"}}`, HTTPOutput{StatusCode: 201, Body: "made", Headers: map[string]string{"Location": "/x"}}, false},
		{"pascal case, string code", `{"StatusCode":"404","Body":"no"}`, HTTPOutput{StatusCode: 404, Body: "no"}, false},
		{"object body", `{"statusCode":200,"body":{"ok":true}}`, HTTPOutput{StatusCode: 200, Body: `{"ok":true}`}, false},
		{"as JSON text", `"{\"statusCode\":204}"`, HTTPOutput{StatusCode: 204}, false},
		{"status is ignored", `{"status":200,"body":"x"}`, HTTPOutput{}, true},
		{"bad code", `{"statusCode":"teapot"}`, HTTPOutput{}, true},
		{"code out of range", `{"statusCode":42}`, HTTPOutput{}, true},
		{"not an object", `[1]`, HTTPOutput{}, true},
		{"headers not an object", `{"statusCode":200,"headers":[]}`, HTTPOutput{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := DecodeResponse([]byte(`{"Outputs":{"res":` + tt.output + `}}`))
			if err != nil {
				t.Fatal(err)
			}
			got, err := resp.HTTPOutput("res")
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestHTTPOutputNamesMatchExactly(t *testing.T) {
	resp, err := DecodeResponse([]byte(`{"Outputs":{"Res":{"statusCode":200}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := resp.HTTPOutput("res"); !errors.Is(err, ErrMalformed) {
		t.Errorf("HTTPOutput(res) with only Res present: error = %v", err)
	}
	if _, err := resp.HTTPOutput("Res"); err != nil {
		t.Errorf("HTTPOutput(Res): %v", err)
	}
}
