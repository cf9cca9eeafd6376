package graph

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/galsync/galsync/shared/galsync"
)

// Error is a failure Graph answered. Its text is
// "graph: <op> in tenant <name>: <status> <code>: <message>", with anything
// that looks like a mail address in the message redacted; request bodies
// and tokens never appear in it. It wraps galsync.ErrNotFound or
// galsync.ErrDeltaExpired where those apply.
type Error struct {
	Op      string
	Tenant  string
	Status  int
	Code    string
	Message string
	// RequestID is Graph's request-id, for Microsoft support.
	RequestID string
	// RetryAfter is the wait Graph asked for (429, 503), zero if none.
	RetryAfter time.Duration
	kind       error
}

func (e *Error) Error() string {
	return fmt.Sprintf("graph: %s in tenant %s: %d %s: %s", e.Op, e.Tenant, e.Status, e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.kind }

// GraphCode and GraphMessage are Graph's error code and (redacted)
// message, for callers that keep what Graph said without importing this
// package (the pipeline's record of a refused attribute).
func (e *Error) GraphCode() string    { return e.Code }
func (e *Error) GraphMessage() string { return e.Message }

// graphErrorBody is Graph's error envelope. innerError may nest further
// innerErrors, and "apps should loop through all the error codes"
// (learn.microsoft.com/graph/errors); Graph spells the key innerError or
// innererror.
type graphErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		innerChain
	} `json:"error"`
}

type innerError struct {
	Code      string `json:"code"`
	RequestID string `json:"request-id"`
	innerChain
}

type innerChain struct {
	Inner      *innerError `json:"innerError"`
	InnerLower *innerError `json:"innererror"`
}

func (c innerChain) next() *innerError {
	if c.Inner != nil {
		return c.Inner
	}
	return c.InnerLower
}

func newError(op, tenant string, rep reply) *Error {
	e := &Error{Op: op, Tenant: tenant, Status: rep.status}
	e.RetryAfter, _ = retryAfter(rep.header.Get("Retry-After"), time.Now())
	var b graphErrorBody
	if json.Unmarshal(rep.body, &b) == nil && b.Error.Code != "" {
		e.Code, e.Message = b.Error.Code, redact(b.Error.Message)
		for in, depth := b.Error.next(), 0; in != nil && depth < 16; in, depth = in.next(), depth+1 {
			if e.RequestID == "" {
				e.RequestID = in.RequestID
			}
			if isResync(in.Code) && !isResync(e.Code) {
				e.Code = in.Code
			}
		}
	} else {
		// Not a Graph answer (a gateway's HTML, an empty body): the status says it all.
		e.Code = strings.ReplaceAll(http.StatusText(rep.status), " ", "")
		e.Message = "no Graph error in the answer"
	}
	return e
}

// classify decides what the caller may do about e: resync, treat as gone,
// give up (permanent), or retry later, not before Graph's Retry-After.
func classify(e *Error) error {
	switch {
	case e.Status == http.StatusGone || isResync(e.Code):
		e.kind = galsync.ErrDeltaExpired
		return e
	case e.Status == http.StatusNotFound:
		e.kind = galsync.ErrNotFound
		return e
	case e.Status == http.StatusBadRequest:
		e.kind = galsync.ErrInvalid
		return galsync.Permanent(e)
	case e.Status >= 400 && e.Status < 500 && e.Status != http.StatusRequestTimeout && e.Status != http.StatusTooManyRequests:
		return galsync.Permanent(e)
	default:
		return galsync.RetryAfter(e, e.RetryAfter)
	}
}

// isResync reports a code by which Graph refuses a delta token; the
// documentation spells them in more than one case.
func isResync(code string) bool {
	return strings.EqualFold(code, "syncStateNotFound") || strings.EqualFold(code, "resyncRequired")
}

// redact replaces each word holding an '@' (a mail address or a user
// principal name) with [redacted]: Graph messages sometimes quote them.
func redact(msg string) string {
	if !strings.Contains(msg, "@") {
		return msg
	}
	words := strings.Split(msg, " ")
	for i, w := range words {
		if strings.Contains(w, "@") {
			words[i] = "[redacted]"
		}
	}
	return strings.Join(words, " ")
}
