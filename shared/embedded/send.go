package embedded

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/galsync/galsync/shared/queue"
)

// Send commits msgs to the queue before returning; a message whose id was
// sent within the queue's duplicate detection window is dropped. Concurrent
// senders share a commit.
func (db *DB) Send(ctx context.Context, name string, msgs ...queue.Message) error {
	q, err := db.queueNamed(name)
	if err != nil {
		return fmt.Errorf("embedded: send: %w", err)
	}
	if q.dead == nil {
		return fmt.Errorf("embedded: send: %s is a dead-letter queue: %w", name, queue.ErrUnknownQueue)
	}
	if err := db.usable(ctx); err != nil {
		return fmt.Errorf("embedded: send to %s: %w", name, err)
	}
	if len(msgs) == 0 {
		return nil
	}
	now := db.now()
	out := make([]storedMessage, len(msgs))
	for i, m := range msgs {
		out[i] = newStoredMessage(m, now)
		if out[i].ID == "" {
			out[i].ID = rand.Text() // as Service Bus does; such a message cannot have a duplicate
		}
	}
	var accepted []int64
	err = db.bolt.Batch(func(tx *bolt.Tx) error {
		var err error
		accepted, err = sendTx(tx, q, now, out, msgs)
		return err
	})
	if err != nil {
		return fmt.Errorf("embedded: send %d message(s) to %s: %w", len(msgs), name, err)
	}
	if dropped := len(msgs) - len(accepted); dropped > 0 {
		db.log.Debug("embedded: duplicate messages dropped", "queue", name, "count", dropped)
	}
	q.release(accepted...)
	return nil
}

// sendTx stores the messages that are not duplicates and returns their
// sequence numbers. sent are the caller's messages, to tell which had ids.
func sendTx(tx *bolt.Tx, q *queueState, now time.Time, out []storedMessage, sent []queue.Message) ([]int64, error) {
	dd := dedupOf(tx, q)
	if err := dd.prune(now, 256); err != nil {
		return nil, err
	}
	b := tx.Bucket(q.bucket)
	var accepted []int64
	for i, m := range out {
		detect := dd.window > 0 && sent[i].ID != ""
		if detect && dd.seen(m.ID, now) {
			continue
		}
		seq, err := b.NextSequence()
		if err != nil {
			return nil, err
		}
		if err := putMessage(b, int64(seq), m); err != nil {
			return nil, err
		}
		if detect {
			if err := dd.record(m.ID, now.Add(dd.window)); err != nil {
				return nil, err
			}
		}
		accepted = append(accepted, int64(seq))
	}
	return accepted, nil
}
