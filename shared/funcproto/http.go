package funcproto

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"strings"
)

// HTTPRequest is an HTTP trigger input in envelope mode.
type HTTPRequest struct {
	URL     string
	Method  string
	Query   map[string]string
	Headers map[string][]string
	Params  map[string]string
	Body    []byte
}

// Header returns the first value of the named header, matched
// case-insensitively ("" when absent).
func (r HTTPRequest) Header(name string) string {
	if v := r.Headers[name]; len(v) > 0 {
		return v[0]
	}
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// wireHTTP is the request object of GetRequestAsJObject. Values are kept raw
// because Query and Params values need not be strings, and Headers values
// are arrays from the host but plain strings from hand-written tests.
//
// Query, Headers and Params are objects from the host's
// GetRequestAsJObject, but the custom-handler reference shows them as JSON
// text in a string ("Query": "{}", learn.microsoft.com/azure/azure-functions/
// functions-custom-handlers, "Request payload"): both are read.
type wireHTTP struct {
	URL     string          `json:"Url"`
	Method  string          `json:"Method"`
	Query   json.RawMessage `json:"Query"`
	Headers json.RawMessage `json:"Headers"`
	Params  json.RawMessage `json:"Params"`
	Body    json.RawMessage `json:"Body"`
}

// looseObject reads an object that may arrive as an object, as JSON text in
// a string, or as null / "" (empty).
func looseObject(raw json.RawMessage) (map[string]json.RawMessage, error) {
	raw = json.RawMessage(strings.TrimSpace(string(raw)))
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		var text string
		if err := json.Unmarshal(raw, &text); err != nil {
			return nil, err
		}
		if strings.TrimSpace(text) == "" {
			return nil, nil
		}
		raw = json.RawMessage(text)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("not an object")
	}
	return m, nil
}

// QueryValue returns a query parameter by name, matched without regard to
// case as ASP.NET Core matches them ("" when absent), and whether it was
// there.
func (r HTTPRequest) QueryValue(name string) (string, bool) {
	if v, ok := r.Query[name]; ok {
		return v, true
	}
	for k, v := range r.Query {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// HTTP reads the HTTP trigger input named binding.
func (inv *Invocation) HTTP(binding string) (HTTPRequest, error) {
	raw, err := inv.input(binding)
	if err != nil {
		return HTTPRequest{}, err
	}
	var w wireHTTP
	if raw == nil || json.Unmarshal(raw, &w) != nil {
		return HTTPRequest{}, fmt.Errorf("%w: Data.%s is not an HTTP request object", ErrMalformed, binding)
	}
	req := HTTPRequest{URL: w.URL, Method: w.Method}
	fields := map[string]map[string]json.RawMessage{}
	for name, raw := range map[string]json.RawMessage{"Query": w.Query, "Params": w.Params, "Headers": w.Headers} {
		if fields[name], err = looseObject(raw); err != nil {
			return HTTPRequest{}, fmt.Errorf("%w: Data.%s.%s: %v", ErrMalformed, binding, name, err)
		}
	}
	if req.Query, err = stringMap(fields["Query"]); err != nil {
		return HTTPRequest{}, fmt.Errorf("%w: Data.%s.Query: %v", ErrMalformed, binding, err)
	}
	if req.Params, err = stringMap(fields["Params"]); err != nil {
		return HTTPRequest{}, fmt.Errorf("%w: Data.%s.Params: %v", ErrMalformed, binding, err)
	}
	if req.Headers, err = headerMap(fields["Headers"]); err != nil {
		return HTTPRequest{}, fmt.Errorf("%w: Data.%s.Headers: %v", ErrMalformed, binding, err)
	}
	if req.Body, err = requestBody(w.Body, req.Header("Content-Type")); err != nil {
		return HTTPRequest{}, fmt.Errorf("%w: Data.%s.Body: %v", ErrMalformed, binding, err)
	}
	return req, nil
}

func stringMap(in map[string]json.RawMessage) (map[string]string, error) {
	out := make(map[string]string, len(in))
	for k, raw := range in {
		s, err := unwrap(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", k, err)
		}
		out[k] = s
	}
	return out, nil
}

func headerMap(in map[string]json.RawMessage) (map[string][]string, error) {
	out := make(map[string][]string, len(in))
	for k, raw := range in {
		var values []string
		if err := json.Unmarshal(raw, &values); err == nil {
			out[k] = values
			continue
		}
		s, err := unwrap(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", k, err)
		}
		out[k] = []string{s}
	}
	return out, nil
}

// requestBody reads Body: a string holding the body text, or base64 of the
// bytes for octet-stream and multipart bodies (the host reads those as a
// byte array, which Newtonsoft writes as base64). Absent means empty.
func requestBody(raw json.RawMessage, contentType string) ([]byte, error) {
	if isNull(raw) {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return raw, nil // an object body from an older host: keep its JSON
	}
	if !isBinaryMediaType(contentType) {
		return []byte(s), nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("binary body is not base64: %v", err)
	}
	return b, nil
}

// isBinaryMediaType mirrors the host's IsMediaTypeOctetOrMultipart.
func isBinaryMediaType(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/octet-stream" || strings.HasPrefix(mt, "multipart/")
}
