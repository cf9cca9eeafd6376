package servicebus

import (
	"context"
	"fmt"
	"maps"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/galsync/galsync/shared/queue"
)

// minReceiveWait is the least a receive waits: a message needs a round
// trip to the broker, so a receive that waits for nothing receives nothing.
const minReceiveWait = 50 * time.Millisecond

// Receive waits up to wait for messages and returns at most max, each
// locked until its LockedUntil.
func (c *Client) Receive(ctx context.Context, name string, maxMessages int, wait time.Duration) ([]queue.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("servicebus: receive from %q: %w", name, err)
	}
	if maxMessages < 1 {
		return nil, fmt.Errorf("servicebus: receive from %q: max is %d, want at least 1", name, maxMessages)
	}
	r, err := c.receivers.take(ctx, name)
	if err != nil {
		return nil, c.fail("receive from", name, err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, max(wait, minReceiveWait))
	msgs, err := r.ReceiveMessages(waitCtx, maxMessages, nil)
	cancel()
	// The receiver goes back to the pool even after an error: the SDK
	// recovers its links on the next call, and messages it delivered
	// earlier still settle on it.
	c.receivers.put(name, r)
	if len(msgs) == 0 && err != nil {
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("servicebus: receive from %q: %w", name, ctx.Err())
		case waitCtx.Err() != nil:
			return nil, nil // waited in vain: not an error
		}
		return nil, c.fail("receive from", name, err)
	}
	out := make([]queue.Delivery, len(msgs))
	for i, m := range msgs {
		out[i] = toDelivery(name, m)
		c.locks.hold(out[i].LockToken, r, m, out[i].LockedUntil)
	}
	return out, nil
}

// toDelivery maps a received or peeked message onto the port's Delivery.
func toDelivery(name string, m *azservicebus.ReceivedMessage) queue.Delivery {
	d := queue.Delivery{
		Message: queue.Message{
			ID:            m.MessageID,
			Body:          m.Body,
			ContentType:   value(m.ContentType),
			Subject:       value(m.Subject),
			CorrelationID: value(m.CorrelationID),
			SessionID:     value(m.SessionID),
			Properties:    properties(m.ApplicationProperties),
		},
		Queue:                 name,
		DeliveryCount:         int(m.DeliveryCount),
		DeadLetterReason:      value(m.DeadLetterReason),
		DeadLetterDescription: value(m.DeadLetterErrorDescription),
	}
	if m.LockToken != ([16]byte{}) {
		d.LockToken = lockToken(m.LockToken)
	}
	if m.SequenceNumber != nil {
		d.SequenceNumber = *m.SequenceNumber
	}
	if m.EnqueuedTime != nil {
		d.EnqueuedAt = *m.EnqueuedTime
	}
	if m.LockedUntil != nil {
		d.LockedUntil = *m.LockedUntil
	}
	// An unscheduled message may carry the annotation with no time in it
	// (.NET's DateTime.MinValue); only a real time is a schedule.
	if t := m.ScheduledEnqueueTime; t != nil && t.Unix() > 0 {
		d.ScheduledAt = *t
	}
	if m.ExpiresAt != nil && m.TimeToLive != nil && *m.TimeToLive > 0 {
		d.ExpiresAt = *m.ExpiresAt
	}
	// Service Bus describes a MaxDeliveryCountExceeded dead letter by its
	// count alone; the last error the receivers recorded says why.
	if last := d.Properties[queue.PropLastError]; d.DeadLetterReason == queue.ReasonMaxDeliveryCount && last != "" && !strings.Contains(d.DeadLetterDescription, last) {
		d.DeadLetterDescription = strings.TrimSpace(d.DeadLetterDescription + " last error: " + last)
	}
	return d
}

// Service Bus keeps a dead letter's reason and description as application
// properties; the port has fields for them.
const (
	propDeadLetterReason      = "DeadLetterReason"
	propDeadLetterDescription = "DeadLetterErrorDescription"
)

// properties returns the application properties as strings (galsync sets
// only strings), without Service Bus's dead-letter properties; nil if none.
func properties(ap map[string]any) map[string]string {
	var out map[string]string
	for k, v := range ap {
		if k == propDeadLetterReason || k == propDeadLetterDescription {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(ap))
		}
		if s, ok := v.(string); ok {
			out[k] = s
		} else {
			out[k] = fmt.Sprint(v)
		}
	}
	return out
}

// lockToken formats a lock token as Service Bus shows it (a UUID).
func lockToken(b [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// receivers pools azservicebus receivers per port queue name: one
// ReceiveMessages call at a time may use a receiver. A receiver stays open
// while the client lives, because the messages it received settle on its
// link.
type receivers struct {
	sb   *azservicebus.Client
	mu   sync.Mutex
	idle map[string][]*azservicebus.Receiver
	all  map[*azservicebus.Receiver]string
}

// take returns an idle receiver for name, or opens a new one.
func (rs *receivers) take(ctx context.Context, name string) (*azservicebus.Receiver, error) {
	rs.mu.Lock()
	if idle := rs.idle[name]; len(idle) > 0 {
		r := idle[len(idle)-1]
		rs.idle[name] = idle[:len(idle)-1]
		rs.mu.Unlock()
		return r, nil
	}
	rs.mu.Unlock()
	return rs.open(ctx, name)
}

// open makes a receiver and attaches its links under ctx, so that the
// first receive's wait is spent waiting for messages and a missing queue
// is reported even by a receive that does not wait. Peeking past the last
// possible sequence number attaches without reading anything.
func (rs *receivers) open(ctx context.Context, name string) (*azservicebus.Receiver, error) {
	q, sub := entityOf(name)
	r, err := rs.sb.NewReceiverForQueue(q, &azservicebus.ReceiverOptions{ReceiveMode: azservicebus.ReceiveModePeekLock, SubQueue: sub})
	if err != nil {
		return nil, err
	}
	past := int64(math.MaxInt64)
	if _, err := r.PeekMessages(ctx, 1, &azservicebus.PeekMessagesOptions{FromSequenceNumber: &past}); err != nil {
		closeQuietly(r)
		return nil, err
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.all == nil {
		rs.all = map[*azservicebus.Receiver]string{}
	}
	rs.all[r] = name
	return r, nil
}

func (rs *receivers) put(name string, r *azservicebus.Receiver) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if _, open := rs.all[r]; !open {
		return // closed meanwhile
	}
	if rs.idle == nil {
		rs.idle = map[string][]*azservicebus.Receiver{}
	}
	rs.idle[name] = append(rs.idle[name], r)
}

func (rs *receivers) close(ctx context.Context) []error {
	rs.mu.Lock()
	all := maps.Clone(rs.all)
	rs.all, rs.idle = nil, nil
	rs.mu.Unlock()
	var errs []error
	for r, name := range all {
		if err := r.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("servicebus: close receiver %q: %w", name, err))
		}
	}
	return errs
}

func closeQuietly(r *azservicebus.Receiver) {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	_ = r.Close(ctx) // it failed to open; closing is cleanup
}
