package embedded

import (
	"container/heap"
	"crypto/rand"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/galsync/galsync/shared/queue"
)

// queueState is the in-memory side of one queue or dead-letter subqueue:
// which messages are available, which are locked and until when, and the
// channel receivers wait on. The messages themselves live in bbolt. A
// message is in exactly one of ready, locked, or held by the one call that
// is committing a change to it (a receive or a settlement).
type queueState struct {
	name   string
	opts   queue.Options
	dead   *queueState // the dead-letter subqueue; nil on a subqueue
	now    func() time.Time
	bucket []byte
	// Duplicate detection and scheduled messages; nil on a dead-letter
	// subqueue, which takes no sends.
	dedupBucket, dedupExpiryBucket []byte
	schedBucket                    []byte
	// onDue is called, on a timer's goroutine, when a scheduled message's
	// time has come; the DB sets it to make such messages active.
	onDue func()

	mu sync.Mutex
	// stored counts the messages in the bucket, locked or not, so Depth
	// answers without walking it.
	stored  int
	ready   seqHeap
	locks   lockHeap // by expiry, soonest first
	locked  map[int64]*msgLock
	notify  chan struct{} // closed and replaced when messages become available
	expiry  deadline      // fires at the soonest lock expiry
	stopped bool
	// Scheduled messages waiting for their time, soonest first, and the
	// timer that fires at the soonest.
	sched    schedHeap
	schedDue deadline
}

type msgLock struct {
	seq   int64
	token string
	until time.Time
	index int // in lockHeap
}

func newQueueState(name string, opts queue.Options, now func() time.Time) *queueState {
	q := &queueState{name: name, opts: opts, now: now, bucket: []byte("q:" + name),
		locked: map[int64]*msgLock{}, notify: make(chan struct{})}
	q.expiry.fn = q.expire
	q.schedDue.fn = q.scheduleFired
	return q
}

// withDeadLetter gives a main queue its subqueue and duplicate detection.
func (q *queueState) withDeadLetter() *queueState {
	q.dead = newQueueState(queue.DeadLetterQueue(q.name), q.opts, q.now)
	q.dedupBucket, q.dedupExpiryBucket = []byte("dedup:"+q.name), []byte("dedupx:"+q.name)
	q.schedBucket = []byte("s:" + q.name)
	return q
}

// load marks every stored message available (after a restart no lock
// survives) and returns how many there are.
func (q *queueState) load(b *bolt.Bucket) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		q.ready = append(q.ready, keySeq(k)) // ascending keys form a valid heap
	}
	q.stored = len(q.ready)
	return len(q.ready)
}

// add counts newly stored messages and makes them available.
func (q *queueState) add(seqs ...int64) {
	q.mu.Lock()
	q.stored += len(seqs)
	q.mu.Unlock()
	q.release(seqs...)
}

// removed counts n messages gone from the bucket (completed or moved to
// the dead-letter subqueue).
func (q *queueState) removed(n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.stored -= n
}

// depth is the number of stored messages.
func (q *queueState) depth() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.stored
}

// claim takes up to limit available messages for the caller to deliver;
// with none, it returns the channel that will be closed when some arrive.
func (q *queueState) claim(limit int) ([]int64, <-chan struct{}) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.reapLocked(q.now())
	n := min(limit, q.ready.Len())
	if n == 0 {
		return nil, q.notify
	}
	seqs := make([]int64, n)
	for i := range seqs {
		seqs[i] = heap.Pop(&q.ready).(int64)
	}
	return seqs, nil
}

// release makes messages available again and wakes receivers.
func (q *queueState) release(seqs ...int64) {
	if len(seqs) == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, s := range seqs {
		heap.Push(&q.ready, s)
	}
	q.signalLocked()
}

// lock gives each delivery a fresh lock token and lock expiry.
func (q *queueState) lock(ds []queue.Delivery) {
	if len(ds) == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	for i := range ds {
		l := &msgLock{seq: ds[i].SequenceNumber, token: rand.Text(), until: now.Add(q.opts.LockDuration)}
		heap.Push(&q.locks, l)
		q.locked[l.seq] = l
		ds[i].LockToken, ds[i].LockedUntil = l.token, l.until
	}
	q.armTimerLocked(now)
}

// take removes a valid lock so the caller can settle its message; a
// mismatched token, an expired lock or a settled message is ErrLockLost.
func (q *queueState) take(seq int64, token string) (*msgLock, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	l, err := q.validLocked(seq, token)
	if err != nil {
		return nil, err
	}
	heap.Remove(&q.locks, l.index)
	delete(q.locked, seq)
	return l, nil
}

// restore puts back a lock taken for a settlement that failed to commit.
func (q *queueState) restore(l *msgLock) {
	q.mu.Lock()
	defer q.mu.Unlock()
	heap.Push(&q.locks, l)
	q.locked[l.seq] = l
	q.armTimerLocked(q.now())
}

// renew extends a valid lock by the lock duration from now.
func (q *queueState) renew(seq int64, token string) (time.Time, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	l, err := q.validLocked(seq, token)
	if err != nil {
		return time.Time{}, err
	}
	now := q.now()
	l.until = now.Add(q.opts.LockDuration)
	heap.Fix(&q.locks, l.index)
	q.armTimerLocked(now)
	return l.until, nil
}

func (q *queueState) validLocked(seq int64, token string) (*msgLock, error) {
	l := q.locked[seq]
	if l == nil || token == "" || l.token != token || !q.now().Before(l.until) {
		return nil, queue.ErrLockLost
	}
	return l, nil
}

// reapLocked makes messages whose lock expired available again.
func (q *queueState) reapLocked(now time.Time) int {
	n := 0
	for q.locks.Len() > 0 && !now.Before(q.locks[0].until) {
		l := heap.Pop(&q.locks).(*msgLock)
		delete(q.locked, l.seq)
		heap.Push(&q.ready, l.seq)
		n++
	}
	return n
}

func (q *queueState) signalLocked() {
	close(q.notify)
	q.notify = make(chan struct{})
}

// armTimerLocked sets the timer to the soonest lock expiry, so waiting
// receivers wake when a lock lapses instead of polling for it.
func (q *queueState) armTimerLocked(now time.Time) {
	if q.stopped {
		return
	}
	var at time.Time
	if q.locks.Len() > 0 {
		at = q.locks[0].until
	}
	q.expiry.arm(now, at)
}

func (q *queueState) expire() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	q.expiry.fired()
	if q.reapLocked(now) > 0 {
		q.signalLocked()
	}
	q.armTimerLocked(now)
}

func (q *queueState) stop() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.stopped = true
	q.expiry.stop()
	q.schedDue.stop()
}
