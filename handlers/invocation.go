package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/galsync/galsync/shared/funcproto"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/logctx"
	"github.com/galsync/galsync/shared/queue"
)

// queueHandler adapts a function of one Service Bus message body to the
// protocol: decode the invocation, run, answer. A 2xx answer completes the
// message; any failure answers 500, which abandons it, so the broker
// retries and finally dead-letters it with its reason. Errors are logged
// once, here. run gets r with a context logger (logctx) naming the
// function, the invocation and the message's direction.
func queueHandler(logger *slog.Logger, function string, run func(r *http.Request, body []byte, invocationID string) (string, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := invocationContext(r, logger, function)
		inv, err := funcproto.Decode(r, maxInvocationBytes)
		if err != nil {
			failed(ctx, w, galsync.Permanent(err))
			return
		}
		msg, err := inv.ServiceBus("msg")
		if err != nil {
			failed(ctx, w, galsync.Permanent(err))
			return
		}
		// Every galsync message names its direction in its properties
		// (pipeline's messages), so the lines logged before the body is
		// decoded, the failure included, carry it too.
		if dir, _ := msg.ApplicationProperties[queue.PropDirection].(string); dir != "" {
			ctx = logctx.With(ctx, logctx.From(ctx).With("direction", dir))
		}
		summary, err := run(r.WithContext(ctx), msg.Body, inv.InvocationID)
		if err != nil {
			failed(ctx, w, fmt.Errorf("message %s (delivery %d): %w", msg.MessageID, msg.DeliveryCount, err))
			return
		}
		funcproto.WriteResponse(w, http.StatusOK, funcproto.Response{Logs: []string{summary}})
	})
}

// invocationContext returns r's context with a logger naming the function
// and the invocation. The id is the X-Azure-Functions-InvocationId header
// the host sets on every invocation, read before the body is decoded, so a
// malformed invocation is logged with its id too.
func invocationContext(r *http.Request, logger *slog.Logger, function string) context.Context {
	return logctx.With(r.Context(), logger.With("function", function, "invocation", r.Header.Get(funcproto.HeaderInvocationID)))
}

// failed answers a failed invocation and logs it once with ctx's logger.
func failed(ctx context.Context, w http.ResponseWriter, err error) {
	kind := "transient"
	if galsync.IsPermanent(err) {
		kind = "permanent"
	}
	logctx.From(ctx).ErrorContext(ctx, "invocation failed", "kind", kind, "err", err)
	funcproto.WriteResponse(w, http.StatusInternalServerError, funcproto.Response{Logs: []string{kind + ": " + err.Error()}})
}

// fail is failed for the handlers that name the function and invocation
// themselves.
func fail(w http.ResponseWriter, logger *slog.Logger, function, invocationID string, err error) {
	failed(logctx.With(context.Background(), logger.With("function", function, "invocation", invocationID)), w, err)
}
