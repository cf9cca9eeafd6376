package embedded

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/galsync/galsync/shared/queue"
)

// Peek returns up to limit messages from sequence number from on, locked,
// scheduled or neither, without locking them: Service Bus's peek returns a
// queue's scheduled messages too
// (https://learn.microsoft.com/azure/service-bus-messaging/message-browsing).
func (db *DB) Peek(ctx context.Context, name string, from int64, limit int) ([]queue.Delivery, error) {
	q, err := db.queueNamed(name)
	if err != nil {
		return nil, err
	}
	if err := db.usable(ctx); err != nil {
		return nil, fmt.Errorf("embedded: peek %s: %w", name, err)
	}
	limit = max(limit, 1)
	var out []queue.Delivery
	err = db.bolt.View(func(tx *bolt.Tx) error {
		active := newPeekCursor(tx.Bucket(q.bucket), from)
		var sb *bolt.Bucket
		if q.schedBucket != nil {
			sb = tx.Bucket(q.schedBucket)
		}
		scheduled := newPeekCursor(sb, from)
		for len(out) < limit {
			c := active.before(scheduled)
			if c == nil {
				return nil
			}
			m, err := decodeMessage(keySeq(c.k), c.v)
			if err != nil {
				return err
			}
			out = append(out, m.delivery(q.name, keySeq(c.k)))
			c.next()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: peek %s: %w", name, err)
	}
	return out, nil
}

// peekCursor walks one bucket of messages in sequence-number order; a nil
// bucket (a dead-letter subqueue has no scheduled messages) is empty.
type peekCursor struct {
	c    *bolt.Cursor
	k, v []byte
}

func newPeekCursor(b *bolt.Bucket, from int64) *peekCursor {
	p := &peekCursor{}
	if b != nil {
		p.c = b.Cursor()
		p.k, p.v = p.c.Seek(seqKey(max(from, 0)))
	}
	return p
}

func (p *peekCursor) next() { p.k, p.v = p.c.Next() }

// before returns whichever of p and o holds the lower sequence number, or
// nil when both are done.
func (p *peekCursor) before(o *peekCursor) *peekCursor {
	switch {
	case p.k == nil && o.k == nil:
		return nil
	case o.k == nil:
		return p
	case p.k == nil:
		return o
	case keySeq(p.k) < keySeq(o.k):
		return p
	default:
		return o
	}
}

// Depth counts a queue's active messages (locked ones included, scheduled
// ones left out, as Service Bus's active message count does) and its dead
// letters.
func (db *DB) Depth(ctx context.Context, name string) (active, deadLettered int, err error) {
	q, err := db.queueNamed(name)
	if err != nil {
		return 0, 0, err
	}
	if q.dead == nil {
		return 0, 0, fmt.Errorf("embedded: depth: %s is a dead-letter queue; ask for %s: %w", name, name[:len(name)-len(queue.DeadLetterSuffix)], queue.ErrUnknownQueue)
	}
	if err := db.usable(ctx); err != nil {
		return 0, 0, fmt.Errorf("embedded: depth %s: %w", name, err)
	}
	// Counted in memory as messages come and go: walking the bucket
	// (bbolt's Stats) costs as much as the queue is long, and the local
	// host asks many times a second.
	return q.depth(), q.dead.depth(), nil
}
