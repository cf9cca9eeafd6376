package servicebus

import (
	"context"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/galsync/galsync/shared/queue"
)

// Peek reads up to maxMessages messages, locked or not, from sequence
// number from on, without locking them. Service Bus may answer a peek with
// fewer messages than asked while more remain, so Peek asks again from
// after the last one until it has enough or an answer is empty.
func (c *Client) Peek(ctx context.Context, name string, from int64, maxMessages int) ([]queue.Delivery, error) {
	if maxMessages < 1 {
		return nil, nil
	}
	r, err := c.receivers.take(ctx, name)
	if err != nil {
		return nil, c.fail("peek", name, err)
	}
	defer c.receivers.put(name, r)
	var out []queue.Delivery
	next := from
	for len(out) < maxMessages {
		msgs, err := r.PeekMessages(ctx, maxMessages-len(out), &azservicebus.PeekMessagesOptions{FromSequenceNumber: &next})
		if err != nil {
			return nil, c.fail("peek", name, err)
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			d := toDelivery(name, m)
			d.LockToken, d.LockedUntil = "", time.Time{}
			out = append(out, d)
			next = d.SequenceNumber + 1
		}
	}
	return out, nil
}
