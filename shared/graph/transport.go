package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	khttp "github.com/microsoft/kiota-http-go"
	core "github.com/microsoftgraph/msgraph-sdk-go-core"
)

// maxRetries is kiota's ceiling; its retry handler also stops once the
// Retry-After waits add up to 180 s. A call still throttled after that
// fails as transient, and the queue delivers its message again later.
const maxRetries = 10

// newHTTPClient is the SDK's middleware pipeline over the caller's
// transport, in an order fixed here (kiota's default list comes out of a
// map, in random order), with paced, if not nil, inside the retry handler
// so that every attempt goes through it. Request bodies are not compressed: Graph's REST
// reference documents no Content-Encoding on requests, the SDK design marks
// request compression optional (github.com/microsoftgraph/msgraph-sdk-design),
// and galsync's bodies are a few hundred bytes; a gzip body that a service
// does not expect would turn every write into a 400.
func newHTTPClient(opts Options, tenant string, paced khttp.Middleware) *http.Client {
	var parent http.RoundTripper = http.DefaultTransport
	var perAttempt time.Duration
	if opts.HTTPClient != nil {
		if opts.HTTPClient.Transport != nil {
			parent = opts.HTTPClient.Transport
		}
		perAttempt = opts.HTTPClient.Timeout
	}
	if perAttempt > 0 {
		parent = attemptTimeout{next: parent, limit: perAttempt}
	}
	retries := opts.retries()
	middleware := []khttp.Middleware{
		core.NewGraphTelemetryHandler(&core.GraphClientOptions{}), // client-request-id for Microsoft support
		khttp.NewRetryHandlerWithOptions(khttp.RetryHandlerOptions{
			MaxRetries:  retries,
			ShouldRetry: shouldRetry,
		}),
	}
	if paced != nil {
		middleware = append(middleware, paced)
	}
	middleware = append(middleware,
		throttleLog{logger: opts.Logger, tenant: tenant, throttled: opts.Throttled},
		khttp.NewRedirectHandler(),
		khttp.NewParametersNameDecodingHandler(),
		khttp.NewUserAgentHandler(),
		khttp.NewHeadersInspectionHandler(),
	)
	return &http.Client{
		Transport: khttp.NewCustomTransportWithParentTransport(parent, middleware...),
		// The redirect handler follows redirects (and drops the token
		// across hosts); net/http must not follow them a second time.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// retries is MaxRetries within kiota's bounds.
func (o Options) retries() int {
	if o.MaxRetries <= 0 || o.MaxRetries > maxRetries {
		return maxRetries
	}
	return o.MaxRetries
}

// throttleLog notes each answer the retry handler may wait on and retry. It
// logs the method and host only: paths can hold a user principal name. It
// also reads such an answer's (small) body into memory and closes it, which
// the retry handler does not do before retrying, so the connection goes
// back to the pool.
type throttleLog struct {
	logger    *slog.Logger
	tenant    string
	throttled func(ctx context.Context, tenant string)
}

func (t throttleLog) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	resp, err := p.Next(req, i)
	if err != nil || !retriable(resp.StatusCode) {
		return resp, err
	}
	if resp.StatusCode == http.StatusTooManyRequests && t.throttled != nil {
		t.throttled(req.Context(), t.tenant)
	}
	// Throttling is Graph working as documented and is waited out: info.
	// An unavailable service is worth a warning.
	level, msg := slog.LevelWarn, "graph: service unavailable, retrying"
	if resp.StatusCode == http.StatusTooManyRequests {
		level, msg = slog.LevelInfo, "graph: throttled, retrying after the wait Graph asked for"
	}
	attrs := []slog.Attr{slog.String("method", req.Method), slog.String("host", req.URL.Host),
		slog.Int("status", resp.StatusCode), slog.String("retryAfter", resp.Header.Get("Retry-After"))}
	if a := req.Header.Get("Retry-Attempt"); a != "" {
		attrs = append(attrs, slog.String("attempt", a))
	}
	t.logger.LogAttrs(req.Context(), level, msg, attrs...)
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read %d answer: %w", resp.StatusCode, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// shouldRetry lets kiota's retry handler resend a request it may retry,
// except an invitation answered 503 or 504: those say nothing about whether
// Graph created the guest (a gateway timeout is typically a lost answer),
// and a second POST /invitations would race the first. The Inviter looks
// the address up before inviting again, once the queue redelivers. A 429
// is safe to resend: Graph did not process the request ("the request was
// throttled", learn.microsoft.com/graph/throttling).
func shouldRetry(_ time.Duration, _ int, req *http.Request, resp *http.Response) bool {
	if resp.StatusCode == http.StatusTooManyRequests {
		return true
	}
	return !(req.Method == http.MethodPost && isInvitationPath(req.URL.Path))
}

// isInvitationPath reports whether path is Graph's invitations collection
// (/v1.0/invitations, or /invitations behind a simulator's base path).
func isInvitationPath(path string) bool {
	return strings.HasSuffix(strings.TrimSuffix(path, "/"), "/invitations")
}

// retriable lists the statuses kiota's retry handler retries.
func retriable(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// attemptTimeout bounds one attempt, body included, rather than the whole
// call: an http.Client Timeout would also count the Retry-After waits.
type attemptTimeout struct {
	next  http.RoundTripper
	limit time.Duration
}

func (a attemptTimeout) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), a.limit)
	resp, err := a.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		// A connection torn down as the limit passed can surface as a
		// network error rather than the deadline; it is the timeout.
		if ctx.Err() != nil && req.Context().Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w after %s: %w", context.DeadlineExceeded, a.limit, err)
		}
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
