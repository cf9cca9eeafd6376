package embedded

import (
	"context"
	"fmt"
	"maps"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/galsync/galsync/shared/queue"
)

// Settling takes the delivery's lock out of memory first, so the lock cannot
// lapse and hand the message to another receiver while the change commits;
// if the commit fails the lock is put back.

// Complete deletes a delivered message.
func (db *DB) Complete(ctx context.Context, d queue.Delivery) error {
	return db.settle(ctx, "complete", d, func(tx *bolt.Tx, q *queueState) (func(), error) {
		return func() { q.removed(1) }, tx.Bucket(q.bucket).Delete(seqKey(d.SequenceNumber))
	})
}

// Abandon releases a delivered message for redelivery at once, merging
// properties into its application properties. A message that has had its
// max delivery count is dead-lettered instead, as Service Bus does.
func (db *DB) Abandon(ctx context.Context, d queue.Delivery, properties map[string]string) error {
	return db.settle(ctx, "abandon", d, func(tx *bolt.Tx, q *queueState) (func(), error) {
		b := appendBucket(tx, q.bucket)
		m, err := mustGetMessage(b, d.SequenceNumber)
		if err != nil {
			return nil, err
		}
		if len(properties) > 0 {
			if m.Properties == nil {
				m.Properties = map[string]string{}
			}
			maps.Copy(m.Properties, properties)
		}
		if q.dead != nil && m.DeliveryCount >= q.opts.MaxDeliveryCount {
			dseq, err := deadLetterTx(tx, q, d.SequenceNumber, m, queue.ReasonMaxDeliveryCount, maxDeliveryDescription(m, q.opts.MaxDeliveryCount))
			return func() {
				db.log.Warn("embedded: dead-lettered after max delivery count", "queue", q.name, "messageId", d.ID)
				q.removed(1)
				q.dead.add(dseq)
			}, err
		}
		return func() { q.release(d.SequenceNumber) }, putMessage(b, d.SequenceNumber, m)
	})
}

// DeadLetter moves a delivered message to its queue's dead-letter subqueue.
func (db *DB) DeadLetter(ctx context.Context, d queue.Delivery, reason, description string) error {
	q, err := db.queueNamed(d.Queue)
	if err != nil {
		return err
	}
	if q.dead == nil {
		return fmt.Errorf("embedded: dead-letter: %s is a dead-letter queue already", d.Queue)
	}
	return db.settle(ctx, "dead-letter", d, func(tx *bolt.Tx, q *queueState) (func(), error) {
		m, err := mustGetMessage(tx.Bucket(q.bucket), d.SequenceNumber)
		if err != nil {
			return nil, err
		}
		dseq, err := deadLetterTx(tx, q, d.SequenceNumber, m, reason, description)
		return func() { q.removed(1); q.dead.add(dseq) }, err
	})
}

// RenewLock extends a delivery's lock by the queue's lock duration.
func (db *DB) RenewLock(ctx context.Context, d queue.Delivery) (time.Time, error) {
	q, err := db.queueNamed(d.Queue)
	if err != nil {
		return time.Time{}, err
	}
	if err := db.usable(ctx); err != nil {
		return time.Time{}, fmt.Errorf("embedded: renew lock: %w", err)
	}
	until, err := q.renew(d.SequenceNumber, d.LockToken)
	if err != nil {
		return time.Time{}, fmt.Errorf("embedded: renew lock on %s #%d: %w", d.Queue, d.SequenceNumber, err)
	}
	return until, nil
}

// settleTx changes the message in one transaction and returns what to do
// in memory once that transaction has committed.
type settleTx func(tx *bolt.Tx, q *queueState) (after func(), err error)

func (db *DB) settle(ctx context.Context, op string, d queue.Delivery, change settleTx) error {
	q, err := db.queueNamed(d.Queue)
	if err != nil {
		return err
	}
	if err := db.usable(ctx); err != nil {
		return fmt.Errorf("embedded: %s: %w", op, err)
	}
	l, err := q.take(d.SequenceNumber, d.LockToken)
	if err != nil {
		return fmt.Errorf("embedded: %s %s #%d: %w", op, d.Queue, d.SequenceNumber, err)
	}
	var after func()
	err = db.commits.write(func(tx *bolt.Tx) error {
		var err error
		after, err = change(tx, q)
		return err
	})
	if err != nil {
		q.restore(l)
		return fmt.Errorf("embedded: %s %s #%d: %w", op, d.Queue, d.SequenceNumber, err)
	}
	if after != nil {
		after()
	}
	return nil
}

// mustGetMessage reads a locked message; one that is gone counts as a lost
// lock.
func mustGetMessage(b *bolt.Bucket, seq int64) (storedMessage, error) {
	m, ok, err := getMessage(b, seq)
	if err == nil && !ok {
		err = queue.ErrLockLost
	}
	return m, err
}
