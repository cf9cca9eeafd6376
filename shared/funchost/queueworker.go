package funchost

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/galsync/galsync/shared/funcproto"
	"github.com/galsync/galsync/shared/queue"
)

// Worker timings.
const (
	receiveWait   = 2 * time.Second
	settleTimeout = 30 * time.Second
	maxBackoff    = 30 * time.Second
)

// work receives one message at a time from the function's queue and
// invokes the handler with it, until ctx is cancelled.
func (h *Host) work(ctx context.Context, fn Function) {
	q := fn.Trigger.QueueName
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		ds, err := h.Receiver.Receive(ctx, q, 1, receiveWait)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			h.logger().Error("receive failed", "function", fn.Name, "queue", q, "err", err)
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		backoff = 100 * time.Millisecond
		for _, d := range ds {
			h.deliver(ctx, fn, d)
		}
	}
}

// deliver runs one invocation for a message and settles it: complete on
// success, abandon with the error text otherwise. The broker dead-letters
// after maxDeliveryCount.
func (h *Host) deliver(ctx context.Context, fn Function, d queue.Delivery) {
	started := h.now()
	inv, cancel := h.invocationContext(ctx)
	defer cancel()
	stopRenewing := h.keepLock(inv, fn, d)
	var o outcome
	payload, err := funcproto.EncodeServiceBus(fn.Trigger.Name, d, funcproto.NewSys(fn.Name, started))
	if err != nil {
		o = outcome{id: funcproto.NewGUID()}.failed(err)
	} else {
		o = h.invoke(inv, fn, payload)
	}
	stopRenewing()

	// Settle even when shutting down: the message must not wait for its
	// lock to expire.
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer scancel()
	log := h.logger().With("function", fn.Name, "invocation", o.id, "message", d.ID, "delivery", d.DeliveryCount)
	logHandler(log, o)
	if o.err == nil {
		err = h.Receiver.Complete(sctx, d)
	} else {
		log.Warn("invocation failed; abandoning the message", "status", o.status, "err", o.lastError)
		err = h.Receiver.Abandon(sctx, d, map[string]string{queue.PropLastError: o.lastError})
	}
	if err != nil {
		log.Error("settle message", "err", err)
	}
	h.record(fn, o, started)
}

// keepLock renews the message's lock at half the queue's lock duration
// until the returned stop is called.
func (h *Host) keepLock(ctx context.Context, fn Function, d queue.Delivery) (stop func()) {
	if d.LockToken == "" {
		return func() {}
	}
	every := max(h.queueOptions(fn.Trigger.QueueName).LockDuration/2, time.Millisecond)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := h.Receiver.RenewLock(ctx, d); err != nil {
				h.logger().Warn("renew lock", "function", fn.Name, "message", d.ID, "err", err)
				if errors.Is(err, queue.ErrLockLost) {
					return
				}
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// sleep waits for d or ctx; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
