package funchost

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/galsync/galsync/shared/funcproto"
)

// maxResponseBytes bounds what is read of a handler's answer.
const maxResponseBytes = 16 << 20

// maxLastError bounds the error text kept on an abandoned message.
const maxLastError = 1024

// outcome is what one POST to the handler came to.
type outcome struct {
	id     string
	status int
	resp   funcproto.Response
	// err is nil only for a 2xx JSON answer the host would accept.
	err error
	// lastError is the short text kept on an abandoned message.
	lastError string
}

// invoke POSTs an invocation to the handler as the host does: to
// /<FunctionName>, chunked, with the host's headers.
func (h *Host) invoke(ctx context.Context, fn Function, payload []byte) outcome {
	out := outcome{id: funcproto.NewGUID()}
	// A reader of unknown length makes the client send it chunked, as the
	// host's ObjectContent is.
	body := io.NopCloser(bytes.NewReader(payload))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(h.HandlerURL, "/")+"/"+fn.Name, body)
	if err != nil {
		return out.failed(fmt.Errorf("build request: %w", err))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set(funcproto.HeaderInvocationID, out.id)
	req.Header.Set(funcproto.HeaderHostVersion, HostVersion)
	req.Header.Set("User-Agent", funcproto.UserAgentPrefix+"/"+HostVersion)
	resp, err := h.client().Do(req)
	if err != nil {
		return out.failed(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return out.failed(fmt.Errorf("read answer: %w", err))
	}
	out.status = resp.StatusCode
	return out.judge(resp.Header.Get("Content-Type"), b)
}

// judge applies the host's rules: a non-2xx answer fails the invocation
// (EnsureSuccessStatusCode); a 2xx answer must be JSON the host can read.
func (o outcome) judge(contentType string, body []byte) outcome {
	resp, decodeErr := funcproto.DecodeResponse(body)
	if decodeErr == nil {
		o.resp = resp
	}
	if o.status < 200 || o.status > 299 {
		o.err = fmt.Errorf("handler answered %d", o.status)
		o.lastError = shorten(fmt.Sprintf("HTTP %d: %s", o.status, errorText(resp, decodeErr, body)))
		return o
	}
	if mt, _, _ := mime.ParseMediaType(contentType); mt != "application/json" {
		return o.failed(fmt.Errorf("handler answered %d with Content-Type %q; the host reads only application/json", o.status, contentType))
	}
	if decodeErr != nil {
		// The real host never completes an empty or null answer; it waits
		// for functionTimeout. Failing now says the same sooner.
		return o.failed(fmt.Errorf("handler answered %d with an unreadable body: %w", o.status, decodeErr))
	}
	return o
}

func (o outcome) failed(err error) outcome {
	o.err = err
	o.lastError = shorten(err.Error())
	return o
}

// errorText is the handler's account of a failure: its Logs, else its body.
func errorText(resp funcproto.Response, decodeErr error, body []byte) string {
	if decodeErr == nil && len(resp.Logs) > 0 {
		return strings.Join(resp.Logs, "; ")
	}
	if t := strings.TrimSpace(string(body)); t != "" {
		return t
	}
	return "(empty body)"
}

// shorten cuts s to maxLastError bytes on a rune boundary.
func shorten(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= maxLastError {
		return s
	}
	cut := maxLastError - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// invocationContext detaches an invocation from Run's context, so that a
// shutdown lets it finish, but cuts it off ShutdownGrace after the
// shutdown began, and in any case after FunctionTimeout.
func (h *Host) invocationContext(ctx context.Context) (context.Context, context.CancelFunc) {
	inv, cancel := context.WithTimeout(context.WithoutCancel(ctx), orDefault(h.FunctionTimeout, DefaultFunctionTimeout))
	grace := orDefault(h.ShutdownGrace, DefaultShutdownGrace)
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(grace, cancel)
		context.AfterFunc(inv, func() { t.Stop() })
	})
	return inv, func() { stop(); cancel() }
}
