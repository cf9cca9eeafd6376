package funcproto

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Response is a handler's answer: output binding values by binding name,
// log lines for the host to record, and the $return value.
type Response struct {
	Outputs     map[string]any `json:"Outputs"`
	Logs        []string       `json:"Logs"`
	ReturnValue any            `json:"ReturnValue"`
}

// HTTPOutput is the value of an http output binding. The host reads
// statusCode and body; a "status" field would be ignored.
type HTTPOutput struct {
	StatusCode int               `json:"statusCode"`
	Body       string            `json:"body"`
	Headers    map[string]string `json:"headers"`
}

// WriteResponse answers the host. It always writes application/json (the
// host refuses text/plain) and never an empty or null body (the host would
// never complete the invocation). A status of 0 means 200.
func WriteResponse(w http.ResponseWriter, status int, resp Response) {
	if status == 0 {
		status = http.StatusOK
	}
	if resp.Outputs == nil {
		resp.Outputs = map[string]any{}
	}
	if resp.Logs == nil {
		resp.Logs = []string{}
	}
	b, err := json.Marshal(resp)
	if err != nil {
		// An output the handler built cannot be encoded: fail the
		// invocation, saying why, rather than answer without it.
		status = http.StatusInternalServerError
		b, _ = json.Marshal(Response{Outputs: map[string]any{}, Logs: []string{"funcproto: encode response: " + err.Error()}})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// DecodeResponse reads a handler's answer. Outputs, Logs and ReturnValue
// match case-insensitively, as the host's deserialisation does; an empty or
// null body is an error, because the host would never complete it.
func DecodeResponse(b []byte) (Response, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return Response{}, fmt.Errorf("%w: empty response body", ErrMalformed)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return Response{}, fmt.Errorf("%w: response is not a JSON object: %v", ErrMalformed, err)
	}
	if top == nil {
		return Response{}, fmt.Errorf("%w: response body is null", ErrMalformed)
	}
	var resp Response
	if raw, ok := lookup(top, "Outputs"); ok {
		if err := json.Unmarshal(raw, &resp.Outputs); err != nil {
			return Response{}, fmt.Errorf("%w: Outputs is not an object", ErrMalformed)
		}
	}
	if raw, ok := lookup(top, "Logs"); ok {
		if err := json.Unmarshal(raw, &resp.Logs); err != nil {
			return Response{}, fmt.Errorf("%w: Logs is not an array of strings", ErrMalformed)
		}
	}
	if raw, ok := lookup(top, "ReturnValue"); ok {
		if err := json.Unmarshal(raw, &resp.ReturnValue); err != nil {
			return Response{}, fmt.Errorf("%w: ReturnValue: %v", ErrMalformed, err)
		}
	}
	return resp, nil
}

// HTTPOutput reads the http output binding named name (output binding names
// match exactly, as in the host). Its fields match case-insensitively;
// statusCode is required and may be a number or a numeric string.
func (r Response) HTTPOutput(name string) (HTTPOutput, error) {
	v, ok := r.Outputs[name]
	if !ok || v == nil {
		return HTTPOutput{}, fmt.Errorf("%w: no http output %q", ErrMalformed, name)
	}
	return toHTTPOutput(v)
}

// ReturnHTTPOutput reads ReturnValue as an http output ("name": "$return").
func (r Response) ReturnHTTPOutput() (HTTPOutput, error) {
	if r.ReturnValue == nil {
		return HTTPOutput{}, fmt.Errorf("%w: no http return value", ErrMalformed)
	}
	return toHTTPOutput(r.ReturnValue)
}

func toHTTPOutput(v any) (HTTPOutput, error) {
	// Some handlers send the output as the JSON text of the object.
	b, isText := []byte(nil), false
	if text, ok := v.(string); ok {
		b, isText = []byte(text), true
	}
	if !isText {
		var err error
		if b, err = json.Marshal(v); err != nil {
			return HTTPOutput{}, fmt.Errorf("%w: http output: %v", ErrMalformed, err)
		}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil || fields == nil {
		return HTTPOutput{}, fmt.Errorf("%w: http output is not an object", ErrMalformed)
	}
	var out HTTPOutput
	raw, ok := lookup(fields, "statusCode")
	if !ok {
		return HTTPOutput{}, fmt.Errorf("%w: http output has no statusCode", ErrMalformed)
	}
	code, err := unwrap(raw)
	if err == nil {
		out.StatusCode, err = strconv.Atoi(code)
	}
	if err != nil || out.StatusCode < 100 || out.StatusCode > 999 {
		return HTTPOutput{}, fmt.Errorf("%w: http output statusCode %s is not an HTTP status", ErrMalformed, raw)
	}
	if raw, ok := lookup(fields, "body"); ok {
		out.Body = bodyText(raw)
	}
	if raw, ok := lookup(fields, "headers"); ok {
		if out.Headers, err = headerValues(raw); err != nil {
			return HTTPOutput{}, err
		}
	}
	return out, nil
}

// bodyText is a string body as is, any other JSON value as its JSON text.
func bodyText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(bytes.TrimSpace(raw))
}

func headerValues(raw json.RawMessage) (map[string]string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%w: http output headers is not an object", ErrMalformed)
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = strings.TrimSpace(bodyText(v))
	}
	return out, nil
}
