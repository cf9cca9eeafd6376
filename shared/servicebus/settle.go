package servicebus

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/galsync/galsync/shared/queue"
)

// Complete removes the message from its queue.
func (c *Client) Complete(ctx context.Context, d queue.Delivery) error {
	return c.settle("complete", d, func(h heldMessage) error {
		return h.receiver.CompleteMessage(ctx, h.msg, nil)
	})
}

// Abandon releases the lock for redelivery; properties are merged into the
// message's application properties.
func (c *Client) Abandon(ctx context.Context, d queue.Delivery, properties map[string]string) error {
	var opts *azservicebus.AbandonMessageOptions
	if len(properties) > 0 {
		modify := make(map[string]any, len(properties))
		for k, v := range properties {
			modify[k] = v
		}
		opts = &azservicebus.AbandonMessageOptions{PropertiesToModify: modify}
	}
	return c.settle("abandon", d, func(h heldMessage) error {
		return h.receiver.AbandonMessage(ctx, h.msg, opts)
	})
}

// DeadLetter moves the message to its queue's dead-letter subqueue. A
// message received from a dead-letter subqueue cannot be dead-lettered
// again; its lock is kept.
func (c *Client) DeadLetter(ctx context.Context, d queue.Delivery, reason, description string) error {
	if _, sub := entityOf(d.Queue); sub == azservicebus.SubQueueDeadLetter {
		return fmt.Errorf("servicebus: dead-letter %q on %q: it is a dead letter already", d.ID, d.Queue)
	}
	opts := &azservicebus.DeadLetterOptions{Reason: &reason, ErrorDescription: &description}
	return c.settle("dead-letter", d, func(h heldMessage) error {
		return h.receiver.DeadLetterMessage(ctx, h.msg, opts)
	})
}

// RenewLock extends the message's lock by the queue's lock duration and
// returns its new end.
func (c *Client) RenewLock(ctx context.Context, d queue.Delivery) (time.Time, error) {
	h, err := c.held("renew lock", d)
	if err != nil {
		return time.Time{}, err
	}
	if err := h.receiver.RenewMessageLock(ctx, h.msg, nil); err != nil {
		if isLockLost(err) {
			c.locks.forget(d.LockToken)
		}
		return time.Time{}, c.fail("renew lock", d.Queue, err)
	}
	until := *h.msg.LockedUntil
	c.locks.renewed(d.LockToken, until)
	return until, nil
}

// settle runs one settlement and forgets the message once it is settled
// or its lock is known lost.
func (c *Client) settle(op string, d queue.Delivery, fn func(heldMessage) error) error {
	h, err := c.held(op, d)
	if err != nil {
		return err
	}
	err = fn(h)
	if err == nil || isLockLost(err) {
		c.locks.forget(d.LockToken)
	}
	return c.fail(op, d.Queue, err)
}

// held finds the received message behind a delivery. One this client did
// not receive, already settled, or long expired has no lock to use.
func (c *Client) held(op string, d queue.Delivery) (heldMessage, error) {
	h, ok := c.locks.get(d.LockToken)
	if !ok {
		return heldMessage{}, fmt.Errorf("servicebus: %s %q on %q: %w", op, d.ID, d.Queue, queue.ErrLockLost)
	}
	return h, nil
}

// lockTable holds received messages by lock token until they are settled.
// Entries whose lock ended more than lockGrace ago are pruned: their locks
// are lost however the broker's clock differs from ours.
type lockTable struct {
	now       func() time.Time
	mu        sync.Mutex
	held      map[string]heldMessage
	lastPrune time.Time
}

type heldMessage struct {
	receiver    *azservicebus.Receiver
	msg         *azservicebus.ReceivedMessage
	lockedUntil time.Time
}

const (
	lockGrace  = 5 * time.Minute
	pruneEvery = time.Minute
)

func newLockTable(now func() time.Time) *lockTable {
	return &lockTable{now: now, held: map[string]heldMessage{}, lastPrune: now()}
}

func (t *lockTable) hold(token string, r *azservicebus.Receiver, m *azservicebus.ReceivedMessage, lockedUntil time.Time) {
	if token == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if now.Sub(t.lastPrune) >= pruneEvery {
		for k, h := range t.held {
			if now.Sub(h.lockedUntil) > lockGrace {
				delete(t.held, k)
			}
		}
		t.lastPrune = now
	}
	t.held[token] = heldMessage{receiver: r, msg: m, lockedUntil: lockedUntil}
}

func (t *lockTable) get(token string) (heldMessage, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h, ok := t.held[token]
	if ok && t.now().Sub(h.lockedUntil) > lockGrace {
		delete(t.held, token)
		return heldMessage{}, false
	}
	return h, ok
}

func (t *lockTable) renewed(token string, lockedUntil time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if h, ok := t.held[token]; ok {
		h.lockedUntil = lockedUntil
		t.held[token] = h
	}
}

func (t *lockTable) forget(token string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.held, token)
}

func (t *lockTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.held)
}
