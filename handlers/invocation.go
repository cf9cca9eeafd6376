package handlers

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/galsync/galsync/shared/funcproto"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

// queueHandler adapts a function of one Service Bus message to the
// protocol: decode the invocation, run, answer. A failure is settled here
// rather than handed back to the broker, which would redeliver at once
// (Service Bus does not delay an abandoned message): the Retrier
// reschedules a transient failure for later, or parks a permanent one (or
// one retried past the budget) with its reason for an operator, and the
// answer is 2xx so the host completes the message. Only when even that
// fails does the answer say 500, and the broker keeps the message.
// Errors are logged once, here, with the invocation id.
func queueHandler(d Deps, function, queueName string, run func(r *http.Request, msg funcproto.ServiceBusMessage, invocationID string) (string, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inv, err := funcproto.Decode(r, maxInvocationBytes)
		if err != nil {
			fail(w, d.Logger, function, r.Header.Get(funcproto.HeaderInvocationID), galsync.Permanent(err))
			return
		}
		msg, err := inv.ServiceBus("msg")
		if err != nil {
			fail(w, d.Logger, function, inv.InvocationID, galsync.Permanent(err))
			return
		}
		summary, err := run(r, msg, inv.InvocationID)
		if err == nil {
			funcproto.WriteResponse(w, http.StatusOK, funcproto.Response{Logs: []string{summary}})
			return
		}
		cause := fmt.Errorf("message %s (delivery %d): %w", msg.MessageID, msg.DeliveryCount, err)
		s, serr := d.Retrier.Fail(r.Context(), queueName, queueMessage(msg), cause, inv.InvocationID)
		if serr != nil {
			fail(w, d.Logger, function, inv.InvocationID, fmt.Errorf("%w; and it could not be set aside: %v", cause, serr))
			return
		}
		level := slog.LevelInfo
		if s.Parked {
			level = slog.LevelError
		}
		d.Logger.Log(r.Context(), level, "invocation failed; "+map[bool]string{true: "parked", false: "rescheduled"}[s.Parked],
			"function", function, "invocation", inv.InvocationID, "attempt", s.Attempt, "delay", s.Delay, "err", cause)
		funcproto.WriteResponse(w, http.StatusOK, funcproto.Response{Logs: []string{s.String()}})
	})
}

// queueMessage is the delivered message as the queue port sends it again.
func queueMessage(m funcproto.ServiceBusMessage) queue.Message {
	props := make(map[string]string, len(m.ApplicationProperties))
	for k, v := range m.ApplicationProperties {
		if s, ok := v.(string); ok {
			props[k] = s
		} else {
			props[k] = fmt.Sprint(v)
		}
	}
	return queue.Message{ID: m.MessageID, Body: m.Body, ContentType: m.ContentType, Subject: m.Subject,
		CorrelationID: m.CorrelationID, SessionID: m.SessionID, Properties: props}
}

func fail(w http.ResponseWriter, logger *slog.Logger, function, invocationID string, err error) {
	kind := "transient"
	if galsync.IsPermanent(err) {
		kind = "permanent"
	}
	logger.Error("invocation failed", "function", function, "invocation", invocationID, "kind", kind, "err", err)
	funcproto.WriteResponse(w, http.StatusInternalServerError, funcproto.Response{Logs: []string{kind + ": " + err.Error()}})
}
