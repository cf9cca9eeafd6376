// Package handlers serves galsync's Azure Functions over the custom-handler
// protocol: the Functions host (or galsync's local host) POSTs each
// invocation to /<FunctionName>, the function folder's name. Every route is
// listed here; every function folder under functions/ has one (a test holds
// the two lists together).
package handlers

import (
	"log/slog"
	"net/http"

	"go.opentelemetry.io/otel/trace"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/pipeline"
	"github.com/galsync/galsync/shared/queue"
)

// Deps are what the functions need.
type Deps struct {
	Directions pipeline.Catalog
	Puller     *pipeline.Puller
	Inviter    *pipeline.Inviter
	Updater    *pipeline.Updater
	Sweeper    *pipeline.Sweeper
	// Groups runs the mirrored groups (pull requests of mode groups).
	Groups *pipeline.GroupSyncer
	// Retrier settles failed queue messages: rescheduled or parked.
	Retrier *pipeline.Retrier
	// Tracer continues the traces queue messages carry (nil: none).
	Tracer trace.Tracer
	Queue  queue.Sender
	Now    galsync.Clock
	// Pulls asks for pulls, folded per direction and window, and holds
	// a pull until its window has closed (one per process).
	Pulls *pipeline.Coalescer
	// Subscriptions keeps the Graph change-notification subscriptions
	// (*subscription.Manager, set even when notifications are off: it then
	// removes them). Nil: this deployment leaves subscriptions alone.
	Subscriptions SubscriptionManager
	// SubscriptionRecords are the kept subscriptions that notifications
	// are checked against (the store).
	SubscriptionRecords SubscriptionRecords
	// Provisioner and Log serve the provision and log endpoints.
	Provisioner *pipeline.Provisioner
	Log         LogReader
	Logger      *slog.Logger

	// Status builds the status function's report (*status.Reporter).
	// Nil: the status function answers 503.
	Status StatusReporter
}

// maxInvocationBytes bounds an invocation body; galsync's own messages are
// a few kilobytes.
const maxInvocationBytes = 1 << 20

// Function names: the folders under functions/.
const (
	FuncDeltaTimer = "delta-timer"
	// FuncSweepTimer asks for the reconciliation sweep; FuncFullSyncTimer
	// for a fresh full round of each source.
	FuncSweepTimer    = "sweep-timer"
	FuncFullSyncTimer = "full-sync-timer"
	FuncDeltaPull     = "delta-pull"
	FuncInviteWorker  = "invite-worker"
	FuncUpdateWorker  = "update-worker"
	// FuncGraphNotify and FuncGraphLifecycle are the subscriptions'
	// notificationUrl and lifecycleNotificationUrl (routes notify and
	// lifecycle); FuncSubscriptionTimer keeps the subscriptions.
	FuncGraphNotify       = "graph-notify"
	FuncGraphLifecycle    = "graph-lifecycle"
	FuncSubscriptionTimer = "subscription-timer"
	// FuncProvision and FuncLog are the operations endpoints.
	FuncProvision = "provision"
	FuncLog       = "log"

	// FuncStatus serves the status report and page (route status).
	FuncStatus = "status"
)

// Routes maps each function name to its handler.
func Routes(d Deps) map[string]http.Handler {
	return map[string]http.Handler{
		FuncDeltaTimer:    deltaTimer(d),
		FuncSweepTimer:    sweepTimer(d),
		FuncFullSyncTimer: fullSyncTimer(d),
		FuncDeltaPull:     deltaPull(d),
		FuncInviteWorker:  inviteWorker(d),
		FuncUpdateWorker:  updateWorker(d),

		FuncGraphNotify:       graphNotify(d),
		FuncGraphLifecycle:    graphLifecycle(d),
		FuncSubscriptionTimer: subscriptionTimer(d),

		FuncProvision: provision(d),
		FuncLog:       provisioningLog(d),

		FuncStatus: statusPage(d),
	}
}

// New returns the custom handler's HTTP server.
func New(d Deps) http.Handler {
	mux := http.NewServeMux()
	// The host polls GET / until the handler answers, then starts invoking.
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ready"}`))
	})
	for name, h := range Routes(d) {
		mux.Handle("POST /"+name, h)
	}
	return mux
}
