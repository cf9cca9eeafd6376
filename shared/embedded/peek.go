package embedded

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/galsync/galsync/shared/queue"
)

// Peek returns up to limit messages from sequence number from on, locked
// or not, without locking them.
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
		c := tx.Bucket(q.bucket).Cursor()
		for k, v := c.Seek(seqKey(max(from, 0))); k != nil && len(out) < limit; k, v = c.Next() {
			m, err := decodeMessage(keySeq(k), v)
			if err != nil {
				return err
			}
			out = append(out, m.delivery(q.name, keySeq(k)))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: peek %s: %w", name, err)
	}
	return out, nil
}

// Depth counts a queue's messages (locked ones included, as Service Bus's
// active message count does) and its dead letters.
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
	err = db.bolt.View(func(tx *bolt.Tx) error {
		active = tx.Bucket(q.bucket).Stats().KeyN
		deadLettered = tx.Bucket(q.dead.bucket).Stats().KeyN
		return nil
	})
	return active, deadLettered, err
}
