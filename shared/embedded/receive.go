package embedded

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/galsync/galsync/shared/queue"
)

// queueNamed finds a queue or dead-letter subqueue by name.
func (db *DB) queueNamed(name string) (*queueState, error) {
	q, ok := db.queues[name]
	if !ok {
		return nil, fmt.Errorf("embedded: queue %q: %w", name, queue.ErrUnknownQueue)
	}
	return q, nil
}

// Receive locks and returns up to limit available messages, lowest sequence
// number first, waiting up to wait for one to arrive. Each delivery's
// incremented delivery count is committed before Receive returns; a message
// already delivered MaxDeliveryCount times is dead-lettered instead.
func (db *DB) Receive(ctx context.Context, name string, limit int, wait time.Duration) ([]queue.Delivery, error) {
	q, err := db.queueNamed(name)
	if err != nil {
		return nil, err
	}
	if err := db.usable(ctx); err != nil {
		return nil, fmt.Errorf("embedded: receive %s: %w", name, err)
	}
	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	for {
		ds, wake, err := db.receiveOnce(q, max(limit, 1))
		if err != nil || len(ds) > 0 {
			return ds, err
		}
		if wake == nil {
			continue // what was claimed went to the dead-letter queue; look again
		}
		if timeout == nil {
			return nil, nil
		}
		select {
		case <-wake:
		case <-timeout:
			return nil, nil
		case <-ctx.Done():
			return nil, fmt.Errorf("embedded: receive %s: %w", name, ctx.Err())
		case <-db.closed:
			return nil, ErrClosed
		}
	}
}

// receiveOnce delivers what is available now; with nothing available it
// returns the channel to wait on.
func (db *DB) receiveOnce(q *queueState, limit int) ([]queue.Delivery, <-chan struct{}, error) {
	if q.hasDue(db.now()) {
		if err := db.activateDue(q); err != nil {
			return nil, nil, fmt.Errorf("embedded: receive %s: %w", q.name, err)
		}
	}
	seqs, wake := q.claim(limit)
	if len(seqs) == 0 {
		return nil, wake, nil
	}
	var delivered []queue.Delivery
	var dead []int64
	err := db.commits.write(func(tx *bolt.Tx) error {
		var err error
		delivered, dead, err = deliverTx(tx, q, seqs)
		return err
	})
	if err != nil {
		q.release(seqs...)
		return nil, nil, fmt.Errorf("embedded: receive %s: %w", q.name, err)
	}
	q.lock(delivered)
	if len(dead) > 0 {
		db.log.Warn("embedded: dead-lettered after max delivery count", "queue", q.name, "count", len(dead))
		q.removed(len(dead))
		q.dead.add(dead...)
	}
	return delivered, nil, nil
}

// deliverTx counts a delivery of each claimed message, or dead-letters the
// ones past the queue's max delivery count. It returns the deliveries and
// the sequence numbers of the new dead letters.
func deliverTx(tx *bolt.Tx, q *queueState, seqs []int64) ([]queue.Delivery, []int64, error) {
	b := appendBucket(tx, q.bucket)
	var delivered []queue.Delivery
	var dead []int64
	for _, seq := range seqs {
		m, ok, err := getMessage(b, seq)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			continue // claims are exclusive, so only a bug gets here; drop it from memory
		}
		if q.dead != nil && m.DeliveryCount >= q.opts.MaxDeliveryCount {
			dseq, err := deadLetterTx(tx, q, seq, m, queue.ReasonMaxDeliveryCount, maxDeliveryDescription(m, q.opts.MaxDeliveryCount))
			if err != nil {
				return nil, nil, err
			}
			dead = append(dead, dseq)
			continue
		}
		m.DeliveryCount++
		if err := putMessage(b, seq, m); err != nil {
			return nil, nil, err
		}
		delivered = append(delivered, m.delivery(q.name, seq))
	}
	return delivered, dead, nil
}
