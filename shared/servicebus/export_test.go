package servicebus

import (
	"context"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/galsync/galsync/shared/queue"
)

// SendCountingBatches sends as Send does and reports how many batches the
// messages took.
func SendCountingBatches(ctx context.Context, c *Client, name string, msgs ...queue.Message) (int, error) {
	snd, err := c.senders.get(name)
	if err != nil {
		return 0, err
	}
	b := sendBatches{ctx: ctx, sender: snd}
	err = b.send(msgs)
	return b.sent, c.fail("send to", name, err)
}

// SDKSender is the client's azservicebus sender for a queue.
func SDKSender(c *Client, name string) (*azservicebus.Sender, error) { return c.senders.get(name) }

// HeldLocks counts the received messages the client keeps for settlement.
func HeldLocks(c *Client) int { return c.locks.len() }

// Exported for unit tests of the lock table.
type LockTable = lockTable

func NewLockTable(now func() time.Time) *LockTable { return newLockTable(now) }

func (t *lockTable) Hold(token string, lockedUntil time.Time) { t.hold(token, nil, nil, lockedUntil) }
func (t *lockTable) Has(token string) bool                    { _, ok := t.get(token); return ok }
func (t *lockTable) Len() int                                 { return t.len() }

const (
	LockGrace  = lockGrace
	PruneEvery = pruneEvery
)

var (
	ToDelivery = toDelivery
	Scrub      = scrub
)
