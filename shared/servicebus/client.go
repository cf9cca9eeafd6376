// Package servicebus is the Azure Service Bus backend of galsync's queue
// port (shared/queue), on the azservicebus SDK. It sends in size-limited
// batches with message ids for duplicate detection, receives with
// peek-lock from queues and their dead-letter subqueues, settles, renews
// locks and peeks.
//
// A Delivery carries only its lock token, so the client keeps each received
// *azservicebus.ReceivedMessage, and the receiver it came on, keyed by lock
// token until it is settled or its lock has long expired. Receivers are
// pooled per queue: the SDK allows one ReceiveMessages call per receiver at
// a time, and a message settles over the link it arrived on.
package servicebus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/galsync/galsync/shared/queue"
)

// Client is a connection to one Service Bus namespace. It implements
// queue.Sender, queue.Receiver and queue.Peeker and is safe for concurrent
// use.
type Client struct {
	sb        *azservicebus.Client
	secrets   []string
	senders   senders
	receivers receivers
	locks     *lockTable
}

var (
	_ queue.Sender   = (*Client)(nil)
	_ queue.Receiver = (*Client)(nil)
	_ queue.Peeker   = (*Client)(nil)
)

// Open makes a client for cfg. It does not dial: the first operation on a
// queue connects and attaches, and reports a missing queue as
// queue.ErrUnknownQueue.
func Open(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var (
		sb      *azservicebus.Client
		secrets []string
		err     error
	)
	if cfg.ConnectionString != "" {
		cs, _ := parseConnectionString(cfg.ConnectionString) // validated above
		secrets = cs.secrets
		sb, err = azservicebus.NewClientFromConnectionString(cfg.ConnectionString, nil)
	} else {
		sb, err = azservicebus.NewClient(cfg.Namespace, cfg.Credential, nil)
	}
	if err != nil {
		return nil, scrub(fmt.Errorf("servicebus: open %s: %w", cfg.endpoint(), err), secrets)
	}
	c := &Client{sb: sb, secrets: secrets, locks: newLockTable(time.Now)}
	c.senders.sb = sb
	c.receivers.sb = sb
	return c, nil
}

// Close closes every sender and receiver and the connection. Messages
// still locked by this client become available again when their locks
// expire.
func (c *Client) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	errs := append(c.senders.close(ctx), c.receivers.close(ctx)...)
	errs = append(errs, c.sb.Close(ctx))
	return scrub(errors.Join(errs...), c.secrets)
}

const closeTimeout = 10 * time.Second

// fail classifies an SDK error for the queue port: a lost lock wraps
// queue.ErrLockLost, a missing entity queue.ErrUnknownQueue.
func (c *Client) fail(op, name string, err error) error {
	if err == nil {
		return nil
	}
	switch {
	case isLockLost(err):
		err = fmt.Errorf("servicebus: %s on %q: %w (%w)", op, name, queue.ErrLockLost, err)
	case isNotFound(err):
		err = fmt.Errorf("servicebus: %s %q: %w (%w)", op, name, queue.ErrUnknownQueue, err)
	default:
		err = fmt.Errorf("servicebus: %s %q: %w", op, name, err)
	}
	return scrub(err, c.secrets)
}

// entityOf splits a port queue name into the Service Bus queue and
// subqueue: "invites/$deadletterqueue" is the dead-letter subqueue of
// invites.
func entityOf(name string) (string, azservicebus.SubQueue) {
	if n := len(name) - len(queue.DeadLetterSuffix); n > 0 && strings.EqualFold(name[n:], queue.DeadLetterSuffix) {
		return name[:n], azservicebus.SubQueueDeadLetter
	}
	return name, 0
}

// senders caches one sender per queue.
type senders struct {
	sb *azservicebus.Client
	mu sync.Mutex
	by map[string]*azservicebus.Sender
}

func (s *senders) get(name string) (*azservicebus.Sender, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if snd, ok := s.by[name]; ok {
		return snd, nil
	}
	snd, err := s.sb.NewSender(name, nil)
	if err != nil {
		return nil, err
	}
	if s.by == nil {
		s.by = map[string]*azservicebus.Sender{}
	}
	s.by[name] = snd
	return snd, nil
}

func (s *senders) close(ctx context.Context) []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for name, snd := range s.by {
		if err := snd.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("servicebus: close sender %q: %w", name, err))
		}
	}
	s.by = nil
	return errs
}
