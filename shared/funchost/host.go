package funchost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/galsync/galsync/shared/queue"
)

// HostVersion is the version the local host reports in
// X-Azure-Functions-HostVersion and User-Agent, shaped like the real
// host's (runtime 4).
const HostVersion = "4.0.0.0"

// Defaults.
const (
	DefaultConcurrency     = 4
	DefaultFunctionTimeout = 10 * time.Minute // host.json functionTimeout
	DefaultShutdownGrace   = 30 * time.Second
	// readyTimeout bounds the wait for the handler's first answer to GET /.
	readyTimeout = time.Minute
)

// Host plays the Azure Functions host for one custom handler.
type Host struct {
	Functions []Function
	// HandlerURL is the handler's base URL, such as http://127.0.0.1:PORT.
	HandlerURL string
	Receiver   queue.Receiver
	// QueueOptions by queue name; a queue without an entry has
	// queue.DefaultOptions. The lock duration sets how often locks are
	// renewed.
	QueueOptions map[string]queue.Options
	// Concurrency is the number of workers per queue-triggered function
	// (DefaultConcurrency when 0).
	Concurrency int
	Client      *http.Client
	Logger      *slog.Logger
	Now         func() time.Time
	// DisableTimers keeps timer triggers from firing.
	DisableTimers bool
	// FunctionTimeout bounds one invocation (DefaultFunctionTimeout when 0).
	FunctionTimeout time.Duration
	// ShutdownGrace is how long in-flight invocations may run on once Run's
	// context is cancelled; then they are cut off and their messages
	// abandoned (DefaultShutdownGrace when 0).
	ShutdownGrace time.Duration
	// OnInvocation, when set, is called after every invocation, from
	// several goroutines at once.
	OnInvocation func(Result)

	mu     sync.Mutex
	counts map[string]Count
}

// Run waits until the handler answers GET /, then fires timers and runs
// the queue workers until ctx is cancelled. It returns ctx's error once
// every in-flight invocation has finished or been abandoned.
func (h *Host) Run(ctx context.Context) error {
	if err := h.check(); err != nil {
		return err
	}
	if err := h.waitReady(ctx); err != nil {
		return err
	}
	h.logger().Info("handler ready; starting triggers", "functions", len(h.Functions))
	var wg sync.WaitGroup
	stopTimers := func() {}
	if !h.DisableTimers {
		var err error
		if stopTimers, err = h.startTimers(ctx, &wg); err != nil {
			return err
		}
	}
	for _, fn := range h.Functions {
		if fn.Disabled || !isQueueTrigger(fn) {
			continue
		}
		for range h.concurrency() {
			wg.Go(func() { h.work(ctx, fn) })
		}
	}
	<-ctx.Done()
	stopTimers()
	wg.Wait()
	return ctx.Err()
}

// check refuses a configuration Run cannot honour.
func (h *Host) check() error {
	u, err := url.Parse(h.HandlerURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("funchost: handler URL %q is not an http(s) URL", h.HandlerURL)
	}
	var errs []error
	for _, fn := range h.Functions {
		t := fn.Trigger
		for _, v := range []string{t.QueueName, t.Schedule, t.Route} {
			if hasSettingRef(v) {
				errs = append(errs, fmt.Errorf("funchost: %s: %q names an app setting; call ResolveSettings first", fn.Path, v))
			}
		}
		if isQueueTrigger(fn) && !fn.Disabled && h.Receiver == nil {
			errs = append(errs, fmt.Errorf("funchost: %s: a queue trigger needs a Receiver", fn.Path))
		}
	}
	return errors.Join(errs...)
}

func isQueueTrigger(fn Function) bool {
	return strings.EqualFold(fn.Trigger.Type, TypeServiceBusTrigger)
}

func (h *Host) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}

func (h *Host) now() time.Time {
	if h.Now == nil {
		return time.Now()
	}
	return h.Now()
}

func (h *Host) client() *http.Client {
	if h.Client == nil {
		return http.DefaultClient
	}
	return h.Client
}

func (h *Host) concurrency() int {
	if h.Concurrency <= 0 {
		return DefaultConcurrency
	}
	return h.Concurrency
}

func (h *Host) queueOptions(name string) queue.Options {
	o, ok := h.QueueOptions[name]
	d := queue.DefaultOptions()
	if !ok || o.LockDuration <= 0 {
		o.LockDuration = d.LockDuration
	}
	return o
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
