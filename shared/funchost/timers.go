package funchost

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/galsync/galsync/shared/funcproto"
	"github.com/robfig/cron/v3"
)

// startTimers schedules every timer-triggered function, fires those with
// runOnStartup once now, and returns a stop that waits for running
// invocations.
func (h *Host) startTimers(ctx context.Context, wg *sync.WaitGroup) (stop func(), err error) {
	logger := cronLogger{h.logger()}
	// Like the host, a timer does not overlap itself: a tick that comes
	// while the previous invocation runs is skipped.
	c := cron.New(cron.WithSeconds(), cron.WithLogger(logger), cron.WithChain(cron.SkipIfStillRunning(logger)))
	for _, fn := range h.Functions {
		if fn.Disabled || !strings.EqualFold(fn.Trigger.Type, TypeTimerTrigger) {
			continue
		}
		if err := checkSchedule(fn.Trigger); err != nil {
			return nil, fmt.Errorf("funchost: %s: %w", fn.Path, err)
		}
		if _, err := c.AddFunc(fn.Trigger.Schedule, func() { h.fire(ctx, fn) }); err != nil {
			return nil, fmt.Errorf("funchost: %s: schedule: %w", fn.Path, err)
		}
		if fn.Trigger.RunOnStartup {
			wg.Go(func() { h.fire(ctx, fn) })
		}
	}
	c.Start()
	return func() { <-c.Stop().Done() }, nil
}

// fire runs one timer invocation. The local host keeps no schedule
// monitor, so ScheduleStatus is null and IsPastDue false.
func (h *Host) fire(ctx context.Context, fn Function) {
	if ctx.Err() != nil {
		return
	}
	started := h.now()
	inv, cancel := h.invocationContext(ctx)
	defer cancel()
	var o outcome
	payload, err := funcproto.EncodeTimer(fn.Trigger.Name, funcproto.TimerInfo{}, funcproto.NewSys(fn.Name, started))
	if err != nil {
		o = outcome{id: funcproto.NewGUID()}.failed(err)
	} else {
		o = h.invoke(inv, fn, payload)
	}
	log := h.logger().With("function", fn.Name, "invocation", o.id)
	logHandler(log, o)
	if o.err != nil {
		log.Warn("timer invocation failed", "status", o.status, "err", o.lastError)
	}
	h.record(fn, o, started)
}

// logHandler records the handler's own log lines, as the host does.
func logHandler(log *slog.Logger, o outcome) {
	for _, line := range o.resp.Logs {
		log.Debug("handler", "log", line)
	}
}

// cronLogger sends robfig/cron's logging to slog.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug("cron: "+msg, kv...) }
func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, append(kv, "err", err)...)
}
