package embedded

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func openBolt(t *testing.T) *bolt.DB {
	t.Helper()
	bdb, err := bolt.Open(filepath.Join(t.TempDir(), "c.db"), 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bdb.Close() })
	if err := bdb.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("b")); return err }); err != nil {
		t.Fatal(err)
	}
	return bdb
}

// TestCommitterGroupsWrites: concurrent writes share transactions, each
// commits before write returns, and a failing or panicking write fails
// alone (its error returned, its panic raised in its caller, as if it had
// run on its own) while the rest of its group commits.
func TestCommitterGroupsWrites(t *testing.T) {
	bdb := openBolt(t)
	c := startCommitter(bdb)
	defer c.close()
	before := txID(t, bdb)
	const writers = 64
	boom := errors.New("boom")
	errs := make([]error, writers)
	// A first write holds the committer inside its transaction until
	// every other write is queued, so that they must share.
	started, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		err := c.write(func(*bolt.Tx) error {
			close(started)
			<-release
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	})
	<-started
	for i := range writers {
		wg.Go(func() {
			defer func() {
				if p := recover(); p != nil {
					errs[i] = fmt.Errorf("panicked: %v", p)
				}
			}()
			errs[i] = c.write(func(tx *bolt.Tx) error {
				switch i {
				case 7:
					return boom
				case 9:
					panic("nine")
				}
				return tx.Bucket([]byte("b")).Put(fmt.Appendf(nil, "k%02d", i), []byte("v"))
			})
			if errs[i] != nil {
				return
			}
			// Committed: a read transaction sees it.
			if err := bdb.View(func(tx *bolt.Tx) error {
				if tx.Bucket([]byte("b")).Get(fmt.Appendf(nil, "k%02d", i)) == nil {
					return fmt.Errorf("write %d not visible after write returned", i)
				}
				return nil
			}); err != nil {
				errs[i] = err
			}
		})
	}
	waitPending(c, writers)
	close(release)
	wg.Wait()
	for i, err := range errs {
		switch {
		case i == 7 && !errors.Is(err, boom):
			t.Errorf("write 7: %v, want boom", err)
		case i == 9 && (err == nil || err.Error() != "panicked: nine"):
			t.Errorf("write 9: %v, want its panic in its caller", err)
		case i != 7 && i != 9 && err != nil:
			t.Errorf("write %d: %v", i, err)
		}
	}
	// The first write, the rest in one group (tried again after each
	// failure) and the two solo runs.
	if n := txID(t, bdb) - before; n > 4 {
		t.Errorf("%d commits for %d concurrent writes, want at most 4", n, writers)
	}
}

// TestCommitterClose: close commits what is queued; a later write fails
// with ErrClosed.
func TestCommitterClose(t *testing.T) {
	bdb := openBolt(t)
	c := startCommitter(bdb)
	if err := c.write(func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Put([]byte("k"), []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	c.close()
	if err := c.write(func(*bolt.Tx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v, want ErrClosed", err)
	}
}

// waitPending waits until n writes are queued.
func waitPending(c *committer, n int) {
	for {
		c.mu.Lock()
		queued := len(c.pending)
		c.mu.Unlock()
		if queued == n {
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func txID(t *testing.T, bdb *bolt.DB) int {
	t.Helper()
	var id int
	if err := bdb.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil }); err != nil {
		t.Fatal(err)
	}
	return id
}
