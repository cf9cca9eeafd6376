package handlers

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/galsync/galsync/shared/funcproto"
	"github.com/galsync/galsync/shared/galsync"
)

// queueHandler adapts a function of one Service Bus message body to the
// protocol: decode the invocation, run, answer. A 2xx answer completes the
// message; any failure answers 500, which abandons it, so the broker
// retries and finally dead-letters it with its reason. Errors are logged
// once, here, with the invocation id.
func queueHandler(logger *slog.Logger, function string, run func(r *http.Request, body []byte, invocationID string) (string, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inv, err := funcproto.Decode(r, maxInvocationBytes)
		if err != nil {
			fail(w, logger, function, "", galsync.Permanent(err))
			return
		}
		msg, err := inv.ServiceBus("msg")
		if err != nil {
			fail(w, logger, function, inv.InvocationID, galsync.Permanent(err))
			return
		}
		summary, err := run(r, msg.Body, inv.InvocationID)
		if err != nil {
			fail(w, logger, function, inv.InvocationID, fmt.Errorf("message %s (delivery %d): %w", msg.MessageID, msg.DeliveryCount, err))
			return
		}
		funcproto.WriteResponse(w, http.StatusOK, funcproto.Response{Logs: []string{summary}})
	})
}

func fail(w http.ResponseWriter, logger *slog.Logger, function, invocationID string, err error) {
	kind := "transient"
	if galsync.IsPermanent(err) {
		kind = "permanent"
	}
	logger.Error("invocation failed", "function", function, "invocation", invocationID, "kind", kind, "err", err)
	funcproto.WriteResponse(w, http.StatusInternalServerError, funcproto.Response{Logs: []string{kind + ": " + err.Error()}})
}
