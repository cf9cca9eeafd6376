package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"
)

// graphError is an error Graph answers with a status and its JSON error
// body: {"error":{"code":..,"message":..,"innerError":{..}}} (graph/errors).
type graphError struct {
	status     int
	code       string
	message    string
	retryAfter int // seconds; 0 means no Retry-After header
	headers    map[string]string
}

func newGraphError(status int, code, format string, args ...any) *graphError {
	return &graphError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func (e *graphError) Error() string { return e.code + ": " + e.message }

func badRequest(format string, args ...any) *graphError {
	return newGraphError(http.StatusBadRequest, "Request_BadRequest", format, args...)
}

func notFound(id string) *graphError {
	return newGraphError(http.StatusNotFound, "Request_ResourceNotFound",
		"Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)
}

type graphErrorBody struct {
	Error graphErrorDetail `json:"error"`
}

type graphErrorDetail struct {
	Code       string          `json:"code"`
	Message    string          `json:"message"`
	InnerError graphInnerError `json:"innerError"`
}

type graphInnerError struct {
	Code            string `json:"code,omitempty"`
	Date            string `json:"date"`
	RequestID       string `json:"request-id"`
	ClientRequestID string `json:"client-request-id"`
}

// writeNoContent answers a write: 204, or gerr when it failed.
func (s *Server) writeNoContent(w http.ResponseWriter, r *http.Request, gerr *graphError) {
	if gerr != nil {
		s.writeGraphError(w, r, gerr)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) writeGraphError(w http.ResponseWriter, r *http.Request, e *graphError) {
	h := w.Header()
	for k, v := range e.headers {
		h.Set(k, v)
	}
	if e.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	inner := graphInnerError{
		Date:            s.now().UTC().Format("2006-01-02T15:04:05"),
		RequestID:       h.Get("request-id"),
		ClientRequestID: h.Get("client-request-id"),
	}
	if e.status == http.StatusTooManyRequests {
		inner.Code = strconv.Itoa(e.status)
	}
	writeJSON(w, e.status, graphErrorBody{Error: graphErrorDetail{Code: e.code, Message: e.message, InnerError: inner}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // Graph writes & and < as they are
	if err := enc.Encode(v); err != nil {
		http.Error(w, `{"error":"encode response"}`, http.StatusInternalServerError)
		return
	}
	writeRawJSON(w, status, bytes.TrimRight(buf.Bytes(), "\n"))
}

func writeRawJSON(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// appendUser writes one user with the selected properties, null where a
// selected property is unset, as Graph does. It is hand-written because a
// full delta round of ten thousand users must take well under a second.
func appendUser(b []byte, rec *userRecord, sel selection) []byte {
	b = append(b, '{')
	first := true
	for i, p := range userProps {
		if sel.mask&(1<<i) == 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, p.name)
		b = append(b, ':')
		b = appendValue(b, p, &rec.user)
	}
	for _, name := range sel.extras {
		b = append(b, ',')
		b = appendString(b, name)
		b = append(b, ':')
		if raw, ok := rec.extra[name]; ok {
			b = append(b, raw...)
		} else {
			b = append(b, "null"...)
		}
	}
	return append(b, '}')
}

func appendValue(b []byte, p property, u *User) []byte {
	switch p.kind {
	case kindString:
		if v := *p.str(u); v != "" {
			return appendString(b, v)
		}
		return append(b, "null"...)
	case kindBool:
		return strconv.AppendBool(b, *p.flag(u))
	case kindNullableBool:
		if v := *p.nflag(u); v != nil {
			return strconv.AppendBool(b, *v)
		}
		return append(b, "null"...)
	default:
		b = append(b, '[')
		for j, v := range *p.strs(u) {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendString(b, v)
		}
		return append(b, ']')
	}
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			b = append(b, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// graphTime formats a time as Graph's DateTimeOffset values.
func graphTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
