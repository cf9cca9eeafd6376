package servicebus

import (
	"context"
	"errors"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/Azure/go-amqp"

	"github.com/galsync/galsync/shared/queue"
)

// Send sends msgs to the queue in order, in as few batches as the
// namespace's maximum message size allows, and returns once every batch is
// accepted. A dead-letter subqueue is not a queue to send to: Send reports
// it as queue.ErrUnknownQueue. A message Service Bus refuses, too large to
// send alone (queue.ErrMessageTooLarge) or with an id over 128 characters
// (queue.ErrMessageIDTooLong), fails the call before anything is sent; a
// refusal by the broker maps onto the same errors. If a later batch fails,
// the earlier ones stay sent;
// sending all of msgs again is safe, as duplicate detection drops the
// repeats by message id.
func (c *Client) Send(ctx context.Context, name string, msgs ...queue.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	if _, sub := entityOf(name); sub == azservicebus.SubQueueDeadLetter {
		return fmt.Errorf("servicebus: send to %q: a dead-letter subqueue takes no sends: %w", name, queue.ErrUnknownQueue)
	}
	snd, err := c.senders.get(name)
	if err != nil {
		return c.fail("send to", name, err)
	}
	batches := sendBatches{ctx: ctx, sender: snd}
	if err := batches.send(msgs); err != nil {
		return c.fail("send to", name, sendRefusal(err))
	}
	return nil
}

// sendRefusal marks Service Bus's refusal of a transfer for its size
// (amqp:link:message-size-exceeded, which the SDK also reports as
// ErrMessageTooLarge) with the port's error. Ids are checked before
// sending: Service Bus does not document its condition for a long one.
func sendRefusal(err error) error {
	var amqpErr *amqp.Error
	switch {
	case errors.Is(err, queue.ErrMessageTooLarge), errors.Is(err, queue.ErrMessageIDTooLong):
		return err
	case errors.Is(err, azservicebus.ErrMessageTooLarge):
		return fmt.Errorf("%w: %w", queue.ErrMessageTooLarge, err)
	case errors.As(err, &amqpErr) && amqpErr.Condition == amqp.ErrCondMessageSizeExceeded:
		return fmt.Errorf("%w: %w", queue.ErrMessageTooLarge, err)
	}
	return err
}

// maxBatchMessages: Service Bus refuses a transfer of more than 4,500
// messages whatever their size (reported by the SDK team in
// https://github.com/Azure/azure-service-bus/issues/708).
const maxBatchMessages = 4500

// batchSender is the part of *azservicebus.Sender that batching uses.
type batchSender interface {
	NewMessageBatch(ctx context.Context, options *azservicebus.MessageBatchOptions) (*azservicebus.MessageBatch, error)
	SendMessageBatch(ctx context.Context, batch *azservicebus.MessageBatch, options *azservicebus.SendMessageBatchOptions) error
}

var _ batchSender = (*azservicebus.Sender)(nil)

type sendBatches struct {
	ctx    context.Context
	sender batchSender
	sent   int // batches sent
}

// send packs every message first, so that one Service Bus would refuse
// fails the call before anything is sent, then sends the batches in order.
func (b *sendBatches) send(msgs []queue.Message) error {
	batches, err := b.pack(msgs)
	if err != nil {
		return err
	}
	for _, batch := range batches {
		if err := b.sender.SendMessageBatch(b.ctx, batch, nil); err != nil {
			return err
		}
		b.sent++
	}
	return nil
}

// pack fills a batch until the next message does not fit, then starts
// another.
func (b *sendBatches) pack(msgs []queue.Message) ([]*azservicebus.MessageBatch, error) {
	batch, err := b.sender.NewMessageBatch(b.ctx, nil)
	if err != nil {
		return nil, err
	}
	batches := []*azservicebus.MessageBatch{batch}
	for _, m := range msgs {
		if err := queue.CheckID(m.ID); err != nil {
			return nil, fmt.Errorf("message %q: nothing was sent: %w", queue.FitID(m.ID), err)
		}
		sbm := toServiceBus(m)
		err := errBatchFull
		if batch.NumMessages() < maxBatchMessages {
			err = batch.AddMessage(sbm, nil)
		}
		if (errors.Is(err, azservicebus.ErrMessageTooLarge) || err == errBatchFull) && batch.NumMessages() > 0 {
			if batch, err = b.sender.NewMessageBatch(b.ctx, nil); err != nil {
				return nil, err
			}
			batches = append(batches, batch)
			err = batch.AddMessage(sbm, nil)
		}
		if errors.Is(err, azservicebus.ErrMessageTooLarge) {
			return nil, fmt.Errorf("message %q (%d bytes of body, %d properties) is larger than the queue's maximum message size; nothing was sent: %w: %w",
				m.ID, len(m.Body), len(m.Properties), queue.ErrMessageTooLarge, err)
		}
		if err != nil {
			return nil, fmt.Errorf("message %q: %w", m.ID, err)
		}
	}
	return batches, nil
}

// toServiceBus maps a port message onto a Service Bus message; empty
// fields stay unset.
func toServiceBus(m queue.Message) *azservicebus.Message {
	sbm := &azservicebus.Message{
		Body:          m.Body,
		MessageID:     optional(m.ID),
		ContentType:   optional(m.ContentType),
		Subject:       optional(m.Subject),
		CorrelationID: optional(m.CorrelationID),
		SessionID:     optional(m.SessionID),
	}
	if !m.ScheduledAt.IsZero() {
		// Sent like any other message, in a batch too: the SDK carries
		// it as the annotation x-opt-scheduled-enqueue-time of each
		// message, and Service Bus hides the message until then.
		at := m.ScheduledAt
		sbm.ScheduledEnqueueTime = &at
	}
	if len(m.Properties) > 0 {
		sbm.ApplicationProperties = make(map[string]any, len(m.Properties))
		for k, v := range m.Properties {
			sbm.ApplicationProperties[k] = v
		}
	}
	return sbm
}

// errBatchFull: the batch holds maxBatchMessages.
var errBatchFull = errors.New("batch holds the most messages Service Bus takes")

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func value(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
