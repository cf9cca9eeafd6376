package handlers

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/galsync/galsync/shared/funcproto"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/pipeline"
	"github.com/galsync/galsync/shared/queue"
)

// deltaTimer is the safety net behind change notifications: on every tick
// it asks for a pull of every direction. Pulls of one direction within the
// coalescing window share a message id, so overlapping ticks and
// notifications fold into one.
func deltaTimer(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inv, err := funcproto.Decode(r, maxInvocationBytes)
		if err != nil {
			fail(w, d.Logger, FuncDeltaTimer, "", galsync.Permanent(err))
			return
		}
		info, err := inv.Timer("timer")
		if err != nil {
			fail(w, d.Logger, FuncDeltaTimer, inv.InvocationID, galsync.Permanent(err))
			return
		}
		names := make([]string, 0, len(d.Directions))
		for name := range d.Directions {
			names = append(names, name)
		}
		slices.Sort(names)
		msgs := make([]queue.Message, 0, len(names))
		for _, name := range names {
			m, err := pipeline.PullMessage(name, "timer", d.Now(), d.PullCoalesceWindow)
			if err != nil {
				fail(w, d.Logger, FuncDeltaTimer, inv.InvocationID, err)
				return
			}
			msgs = append(msgs, m)
		}
		if err := d.Queue.Send(r.Context(), galsync.QueuePulls, msgs...); err != nil {
			fail(w, d.Logger, FuncDeltaTimer, inv.InvocationID, fmt.Errorf("enqueue pulls: %w", err))
			return
		}
		funcproto.WriteResponse(w, http.StatusOK, funcproto.Response{Logs: []string{
			fmt.Sprintf("requested a pull of %d direction(s) (past due: %t)", len(msgs), info.IsPastDue)}})
	})
}
