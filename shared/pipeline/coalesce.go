package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

// Pull coalescing lives here, whole. A pull reads every change of its
// direction since the cursor, so requests made close together need one
// pull, not one each:
//
//   - the message id: requests of one direction within one window share
//     the id pull:<direction>:<window number>, and the queue's duplicate
//     detection (by message id, within the queue's duplicate window:
//     learn.microsoft.com/azure/service-bus-messaging/duplicate-detection)
//     keeps the first and drops the rest;
//   - the window: numbered from the Unix epoch, so every instance agrees
//     on it without talking to the others;
//   - the wait: a request dropped as a duplicate after a worker took the
//     window's message would be lost if that pull ran at once, so the
//     message carries the window's end (PullRequest.NotBefore) and the
//     pull waits for it (Hold): the one pull that runs covers every
//     request of its window;
//   - the cache: what this process has durably sent for a window is not
//     sent again, which keeps a burst of change notifications off the
//     queue and Graph's answer within its 3 seconds.
//
// Pulls that must not fold into anything earlier (at startup, after an
// approval, a round's continuation) get ids of their own and start at once.

// DefaultCoalesceWindow is Coalescer.Window's default
// (GALSYNC_NOTIFY_COALESCE_WINDOW's).
const DefaultCoalesceWindow = time.Second

// DefaultTickWindow is Coalescer.TickWindow's default
// (GALSYNC_PULL_COALESCE_WINDOW's).
const DefaultTickWindow = 30 * time.Second

// Coalescer asks for pulls, folded per direction and window, and holds a
// pull until its window has closed. One per process: its cache is what
// this process has sent.
type Coalescer struct {
	Queue queue.Sender
	Now   galsync.Clock
	// Window folds the pulls that events ask for (change notifications,
	// lifecycle events, a subscription made again): one message per
	// direction and window, which waits for the window's end. It also
	// bounds how long any pull waits. DefaultCoalesceWindow when 0.
	Window time.Duration
	// TickWindow folds the delta timer's pulls (overlapping or retried
	// ticks). Longer than Window, so folded best effort: a pull waits at
	// most Window, and the next tick makes up for what a window missed.
	// DefaultTickWindow when 0.
	TickWindow time.Duration
	// Tracer links a request folded into a pull this process already sent
	// to that pull's trace (nil: no traces).
	Tracer FoldTracer

	mu   sync.Mutex
	sent map[string]sentPull // message id → its window's end and trace
}

// sentPull is a pull this process sent in a window not yet over.
type sentPull struct {
	end   time.Time
	trace map[string]string // the trace context it was sent with
}

// FoldTracer links the traces of coalesced requests (telemetry.Telemetry
// provides it).
type FoldTracer interface {
	Inject(ctx context.Context, props map[string]string) map[string]string
	// Link records on ctx's span a link to the trace props carry.
	Link(ctx context.Context, props map[string]string)
}

// Request asks for a pull of each direction in pulls (direction →
// trigger), folded in the current window.
func (c *Coalescer) Request(ctx context.Context, pulls map[string]string) error {
	now, window := c.Now(), c.window()
	end := windowEnd(now, window)
	msgs := make([]queue.Message, 0, len(pulls))
	for _, dir := range slices.Sorted(maps.Keys(pulls)) {
		m, err := pullMessage(windowID(dir, now, window), dir, pulls[dir], now, end)
		if err != nil {
			return err
		}
		if sent, ok := c.sentBefore(m.ID, now); ok {
			if c.Tracer != nil {
				c.Tracer.Link(ctx, sent.trace)
			}
			continue
		}
		if c.Tracer != nil {
			m.Properties = c.Tracer.Inject(ctx, m.Properties)
		}
		msgs = append(msgs, m)
	}
	if len(msgs) == 0 {
		return nil
	}
	if err := c.Queue.Send(ctx, galsync.QueuePulls, msgs...); err != nil {
		return fmt.Errorf("enqueue pulls: %w", err)
	}
	c.remember(msgs, end, now)
	return nil
}

// TickMessage is the delta timer's pull of direction at now, folded in
// TickWindow.
func (c *Coalescer) TickMessage(direction string, now time.Time) (queue.Message, error) {
	window := c.tickWindow()
	return pullMessage(windowID(direction, now, window), direction, "timer", now, windowEnd(now, window))
}

// RequestNow asks for a pull of each direction that folds into no earlier
// request and starts at once: after a start or an approval, changes may
// be waiting that no pending pull will read.
func (c *Coalescer) RequestNow(ctx context.Context, trigger string, directions ...string) error {
	if len(directions) == 0 {
		return nil
	}
	now := c.Now()
	msgs := make([]queue.Message, 0, len(directions))
	for _, dir := range directions {
		m, err := pullMessage(fmt.Sprintf("pull:%s:%d", dir, now.UnixNano()), dir, trigger, now, time.Time{})
		if err != nil {
			return err
		}
		msgs = append(msgs, m)
	}
	if err := c.Queue.Send(ctx, galsync.QueuePulls, msgs...); err != nil {
		return fmt.Errorf("enqueue pulls: %w", err)
	}
	return nil
}

// Hold waits until the window req stands for has closed (its NotBefore),
// at most Window, or until ctx ends.
func (c *Coalescer) Hold(ctx context.Context, req galsync.PullRequest) error {
	wait := min(req.NotBefore.Sub(c.Now()), c.window())
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// continuationMessage continues a round that ran out of its budget. Its id
// names the round and the page, so a pull re-run after a crash between its
// send and its cursor save sends the same continuation, which folds.
func continuationMessage(direction string, cur galsync.Cursor, now time.Time) (queue.Message, error) {
	return pullMessage(fmt.Sprintf("pull:%s:continue:%s:%d", direction, cur.Round, cur.Page), direction, "continue", now, time.Time{})
}

func pullMessage(id, direction, trigger string, now, notBefore time.Time) (queue.Message, error) {
	body, err := json.Marshal(galsync.PullRequest{Direction: direction, Trigger: trigger, RequestedAt: now.UTC(), NotBefore: notBefore})
	if err != nil {
		return queue.Message{}, fmt.Errorf("pipeline: encode pull request: %w", err)
	}
	return queue.Message{
		ID:          queue.FitID(id),
		Body:        body,
		ContentType: "application/json",
		Subject:     "pull",
		Properties:  map[string]string{queue.PropDirection: direction},
	}, nil
}

// windowID is the message id of direction's pulls in now's window.
func windowID(direction string, now time.Time, window time.Duration) string {
	return fmt.Sprintf("pull:%s:%d", direction, now.UnixNano()/int64(window))
}

// windowEnd is when now's window ends.
func windowEnd(now time.Time, window time.Duration) time.Time {
	slot := now.UnixNano() / int64(window)
	return time.Unix(0, (slot+1)*int64(window)).UTC()
}

func (c *Coalescer) window() time.Duration {
	if c.Window > 0 {
		return c.Window
	}
	return DefaultCoalesceWindow
}

func (c *Coalescer) tickWindow() time.Duration {
	if c.TickWindow > 0 {
		return c.TickWindow
	}
	return DefaultTickWindow
}

// sentBefore reports a message this process sent in a window not yet
// over.
func (c *Coalescer) sentBefore(id string, now time.Time) (sentPull, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.sent[id]
	return p, ok && now.Before(p.end)
}

// remember records sent messages until end, forgetting those whose window
// is over.
func (c *Coalescer) remember(msgs []queue.Message, end, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sent == nil {
		c.sent = map[string]sentPull{}
	}
	for id, p := range c.sent {
		if !now.Before(p.end) {
			delete(c.sent, id)
		}
	}
	for _, m := range msgs {
		c.sent[m.ID] = sentPull{end: end, trace: maps.Clone(m.Properties)}
	}
}
