package embedded

import (
	"container/heap"
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/galsync/galsync/shared/queue"
)

// A scheduled message (queue.Message.ScheduledAt in the future) waits in
// its queue's scheduled bucket under the sequence number it was given when
// sent. When its time comes it is moved into the queue with a new sequence
// number and enqueued time, as Service Bus appends a scheduled message
// when it becomes active
// (https://learn.microsoft.com/azure/service-bus-messaging/message-sequencing#scheduled-messages).
// A timer does that at the time; a receive does it too, so a receiver never
// waits for the timer's goroutine, and an injected clock works without it.

// scheduledMsg is a scheduled message in memory: when, and its key.
type scheduledMsg struct {
	at  time.Time
	seq int64
}

// schedHeap holds scheduled messages, soonest first, then by sequence
// number.
type schedHeap []scheduledMsg

func (h schedHeap) Len() int { return len(h) }
func (h schedHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h schedHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *schedHeap) Push(x any)   { *h = append(*h, x.(scheduledMsg)) }
func (h *schedHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// activateBatch bounds the messages one transaction makes active;
// activateRetry is how long a failed activation waits to be tried again.
const (
	activateBatch = 256
	activateRetry = time.Second
)

// schedule adds scheduled messages and arms the timer for the soonest.
func (q *queueState) schedule(ms ...scheduledMsg) {
	if len(ms) == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, m := range ms {
		heap.Push(&q.sched, m)
	}
	q.armSchedLocked(q.now())
}

// takeDue removes up to limit scheduled messages whose time has come.
func (q *queueState) takeDue(now time.Time, limit int) []scheduledMsg {
	q.mu.Lock()
	defer q.mu.Unlock()
	var due []scheduledMsg
	for len(due) < limit && q.sched.Len() > 0 && !now.Before(q.sched[0].at) {
		due = append(due, heap.Pop(&q.sched).(scheduledMsg))
	}
	return due
}

// putBack returns messages taken by takeDue whose activation failed,
// without arming the timer: the caller retries later.
func (q *queueState) putBack(ms []scheduledMsg) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, m := range ms {
		heap.Push(&q.sched, m)
	}
}

// hasDue reports whether a scheduled message's time has come.
func (q *queueState) hasDue(now time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.sched.Len() > 0 && !now.Before(q.sched[0].at)
}

func (q *queueState) scheduledLen() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.sched.Len()
}

// armSchedLocked sets the schedule timer to the soonest scheduled time.
func (q *queueState) armSchedLocked(now time.Time) {
	if q.stopped || q.onDue == nil {
		return
	}
	var at time.Time
	if q.sched.Len() > 0 {
		at = q.sched[0].at
	}
	q.schedDue.arm(now, at)
}

func (q *queueState) scheduleFired() {
	q.mu.Lock()
	q.schedDue.fired()
	q.mu.Unlock()
	q.onDue()
}

// rearmSchedule arms the schedule timer again after a firing that left
// messages waiting.
func (q *queueState) rearmSchedule() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.armSchedLocked(q.now())
}

// activateDue makes every scheduled message of q whose time has come
// active, in transactions of activateBatch, and wakes receivers.
func (db *DB) activateDue(q *queueState) error {
	for {
		now := db.now()
		due := q.takeDue(now, activateBatch)
		if len(due) == 0 {
			return nil
		}
		var seqs []int64
		err := db.commits.write(func(tx *bolt.Tx) error {
			var err error
			seqs, err = activateTx(tx, q, due, now)
			return err
		})
		if err != nil {
			q.putBack(due)
			if !db.isClosed() {
				time.AfterFunc(activateRetry, q.rearmSchedule)
			}
			return fmt.Errorf("embedded: activate %d scheduled message(s) of %s: %w", len(due), q.name, err)
		}
		q.add(seqs...)
	}
}

// dueFired is the schedule timer's work: make what is due active (a
// failure is retried after activateRetry) and arm the timer for the next.
func (db *DB) dueFired(q *queueState) {
	if err := db.activateDue(q); err != nil {
		if !db.isClosed() {
			db.log.Error("embedded: scheduled messages not made active; retrying", "queue", q.name, "err", err)
		}
		return
	}
	q.rearmSchedule()
}

// activateTx moves due messages from the scheduled bucket into the queue,
// each with a new sequence number and enqueued at now, and returns the new
// sequence numbers.
func activateTx(tx *bolt.Tx, q *queueState, due []scheduledMsg, now time.Time) ([]int64, error) {
	sb, b := tx.Bucket(q.schedBucket), appendBucket(tx, q.bucket)
	seqs := make([]int64, 0, len(due))
	for _, d := range due {
		m, ok, err := getMessage(sb, d.seq)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		seq, err := b.NextSequence()
		if err != nil {
			return nil, err
		}
		m.EnqueuedAt = now
		if err := putMessage(b, int64(seq), m); err != nil {
			return nil, err
		}
		if err := sb.Delete(seqKey(d.seq)); err != nil {
			return nil, err
		}
		seqs = append(seqs, int64(seq))
	}
	return seqs, nil
}

// loadScheduled reads q's scheduled messages back after a restart and
// returns how many there are.
func (q *queueState) loadScheduled(sb *bolt.Bucket) (int, error) {
	var ms []scheduledMsg
	err := sb.ForEach(func(k, v []byte) error {
		m, err := decodeMessage(keySeq(k), v)
		if err != nil {
			return err
		}
		ms = append(ms, scheduledMsg{at: m.ScheduledAt, seq: keySeq(k)})
		return nil
	})
	if err != nil {
		return 0, err
	}
	q.schedule(ms...)
	return len(ms), nil
}

// ScheduledDepth counts a queue's messages that wait for their scheduled
// time, as Service Bus's scheduled message count does. A dead-letter
// subqueue has none.
func (db *DB) ScheduledDepth(ctx context.Context, name string) (int, error) {
	q, err := db.queueNamed(name)
	if err != nil {
		return 0, err
	}
	if err := db.usable(ctx); err != nil {
		return 0, fmt.Errorf("embedded: scheduled depth %s: %w", name, err)
	}
	return q.scheduledLen(), nil
}

var _ queue.ScheduledDepther = (*DB)(nil)
