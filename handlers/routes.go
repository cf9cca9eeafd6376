// Package handlers serves galsync's Azure Functions over the custom-handler
// protocol: the Functions host (or galsync's local host) POSTs each
// invocation to /<FunctionName>, the function folder's name. Every route is
// listed here; every function folder under functions/ has one (a test holds
// the two lists together).
package handlers

import (
	"log/slog"
	"net/http"
	"time"

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
	Queue      queue.Sender
	Now        galsync.Clock
	// PullCoalesceWindow folds pull requests of one direction within the
	// window into one message.
	PullCoalesceWindow time.Duration
	Logger             *slog.Logger
}

// maxInvocationBytes bounds an invocation body; galsync's own messages are
// a few kilobytes.
const maxInvocationBytes = 1 << 20

// Function names: the folders under functions/.
const (
	FuncDeltaTimer   = "delta-timer"
	FuncDeltaPull    = "delta-pull"
	FuncInviteWorker = "invite-worker"
	FuncUpdateWorker = "update-worker"
)

// Routes maps each function name to its handler.
func Routes(d Deps) map[string]http.Handler {
	return map[string]http.Handler{
		FuncDeltaTimer:   deltaTimer(d),
		FuncDeltaPull:    deltaPull(d),
		FuncInviteWorker: inviteWorker(d),
		FuncUpdateWorker: updateWorker(d),
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
