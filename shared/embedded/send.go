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
// senders share a commit. A message Service Bus would refuse (queue.CheckMessage:
// an id over 128 characters, over 256 KB) fails the call before anything is
// sent, as the Service Bus backend does.
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
	for _, m := range msgs {
		if err := queue.CheckMessage(m); err != nil {
			return fmt.Errorf("embedded: send to %s: nothing was sent: %w", name, err)
		}
	}
	now := db.now()
	out := make([]storedMessage, len(msgs))
	for i, m := range msgs {
		out[i] = newStoredMessage(m, now)
		if out[i].ID == "" {
			out[i].ID = rand.Text() // as Service Bus does; such a message cannot have a duplicate
		}
	}
	var sent sendResult
	err = db.commits.write(func(tx *bolt.Tx) error {
		var err error
		sent, err = sendTx(tx, q, now, out, msgs)
		return err
	})
	if err != nil {
		return fmt.Errorf("embedded: send %d message(s) to %s: %w", len(msgs), name, err)
	}
	if dropped := len(msgs) - len(sent.active) - len(sent.scheduled); dropped > 0 {
		db.log.Debug("embedded: duplicate messages dropped", "queue", name, "count", dropped)
	}
	q.add(sent.active...)
	q.schedule(sent.scheduled...)
	return nil
}

// sendResult is what a send stored: active messages by sequence number,
// and scheduled ones.
type sendResult struct {
	active    []int64
	scheduled []scheduledMsg
}

// sendTx stores the messages that are not duplicates, a message scheduled
// for later in the scheduled bucket. sent are the caller's messages, to
// tell which had ids.
func sendTx(tx *bolt.Tx, q *queueState, now time.Time, out []storedMessage, sent []queue.Message) (sendResult, error) {
	var res sendResult
	dd := dedupOf(tx, q)
	if err := dd.prune(now, 256); err != nil {
		return res, err
	}
	// Both buckets take their sequence numbers from the queue's, so a
	// scheduled message's number is unique in the queue, as in Service Bus.
	b, sb := appendBucket(tx, q.bucket), appendBucket(tx, q.schedBucket)
	for i, m := range out {
		detect := dd.window > 0 && sent[i].ID != ""
		if detect && dd.seen(m.ID, now) {
			continue
		}
		seq, err := b.NextSequence()
		if err != nil {
			return res, err
		}
		into := b
		if m.ScheduledAt.After(now) {
			into = sb
			res.scheduled = append(res.scheduled, scheduledMsg{at: m.ScheduledAt, seq: int64(seq)})
		} else {
			res.active = append(res.active, int64(seq))
		}
		if err := putMessage(into, int64(seq), m); err != nil {
			return res, err
		}
		if detect {
			if err := dd.record(m.ID, now.Add(dd.window)); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}
