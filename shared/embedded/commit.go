package embedded

import (
	"errors"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Group commit. Workers' writes share transactions: a write joins the
// queue of the committer, which runs everything queued in one transaction
// (one commit, two fsyncs) and then, at once, everything queued while that
// commit ran. A lone write commits without waiting, and under load the
// transactions grow with the load, where bbolt's Batch holds each write for
// a fixed delay and, once its timer fires, closes the batch, so that under
// load several small batches queue for the writer lock one after another.

// maxGroup bounds the writes one transaction takes.
const maxGroup = 1000

// errTrySolo tells a caller whose write failed inside a group to run it in
// a transaction of its own; its error then is its own, and the rest of the
// group commits without it.
var errTrySolo = errors.New("embedded: run the write in a transaction of its own")

type groupCall struct {
	fn   func(*bolt.Tx) error
	done chan error
}

// committer runs queued writes in shared transactions on its own goroutine.
type committer struct {
	bolt *bolt.DB

	mu      sync.Mutex
	pending []groupCall
	closed  bool
	wake    chan struct{} // holds a token while writes are pending
	stopped chan struct{} // closed when the goroutine has returned
}

func startCommitter(bdb *bolt.DB) *committer {
	c := &committer{bolt: bdb, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	go c.run()
	return c
}

// write runs fn in a transaction that commits before write returns,
// possibly with other writes. Like bbolt's Batch, fn may be called more
// than once (when another write of its group fails), so it must set its
// results afresh each time.
func (c *committer) write(fn func(*bolt.Tx) error) error {
	done := make(chan error, 1)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.pending = append(c.pending, groupCall{fn: fn, done: done})
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default: // a token is there already
	}
	err := <-done
	if err == errTrySolo {
		err = c.bolt.Update(fn)
		if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
			err = ErrClosed // the database closed while the write waited
		}
	}
	return err
}

// close commits what is queued and stops the goroutine; later writes fail
// with ErrClosed.
func (c *committer) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	<-c.stopped
}

func (c *committer) run() {
	defer close(c.stopped)
	for range c.wake {
		for {
			c.mu.Lock()
			group := c.pending[:min(len(c.pending), maxGroup)]
			c.pending = c.pending[len(group):]
			if len(c.pending) == 0 {
				c.pending = nil // let the backing array go
			}
			closed := c.closed && len(group) == 0
			c.mu.Unlock()
			if closed {
				return
			}
			if len(group) == 0 {
				break
			}
			commitGroup(c.bolt, group)
		}
	}
}

// commitGroup runs the group's writes in one transaction. When one fails,
// the transaction is rolled back, that write is told to run on its own and
// the others are tried again without it, as bbolt's Batch does.
func commitGroup(bdb *bolt.DB, group []groupCall) {
	for len(group) > 0 {
		failed := -1
		err := bdb.Update(func(tx *bolt.Tx) error {
			for i, c := range group {
				if err := safely(c.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed >= 0 {
			group[failed].done <- errTrySolo
			group = append(group[:failed:failed], group[failed+1:]...)
			continue
		}
		for _, c := range group {
			c.done <- err
		}
		return
	}
}

// safely calls fn, turning a panic into an error so that one write cannot
// take down the others of its group.
func safely(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("embedded: write panicked: %v", p)
		}
	}()
	return fn(tx)
}
