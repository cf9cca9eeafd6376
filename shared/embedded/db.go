// Package embedded is galsync's default backend: a durable queue with Service
// Bus semantics and the store, both in one bbolt file. Every write is a
// committed, fsynced transaction before the call returns; writes from
// concurrent goroutines share commits (commit.go). Message locks
// live in memory, so after a restart every message is available again, as if
// its lock had expired; delivery counts are durable.
package embedded

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/shared/store"
)

var (
	_ store.Store    = (*DB)(nil)
	_ queue.Sender   = (*DB)(nil)
	_ queue.Receiver = (*DB)(nil)
	_ queue.Peeker   = (*DB)(nil)
)

// ErrClosed is returned by every call made after Close.
var ErrClosed = errors.New("embedded: database is closed")

// Options configure Open.
type Options struct {
	// Queues are the queues and their settings; nil means pulls, invites and
	// updates with queue.DefaultOptions(). A zero LockDuration or
	// MaxDeliveryCount takes the default; a zero DuplicateDetectionWindow
	// turns duplicate detection off.
	Queues map[string]queue.Options
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger (default: discard).
	Logger *slog.Logger
	// MappedRelease overrides DefaultMappedRelease; negative never
	// releases.
	MappedRelease time.Duration

	// noSync skips fsync; only tests set it (see export_test.go).
	noSync bool
}

// DB is the embedded queue and store.
type DB struct {
	bolt *bolt.DB
	// commits runs the concurrent writes, in shared transactions.
	commits *committer
	now     func() time.Time
	log     *slog.Logger
	queues  map[string]*queueState // by name, dead-letter subqueues included
	names   []string               // the main queues, sorted

	closeOnce sync.Once
	closed    chan struct{}
}

// Open opens or creates the database file at path.
func Open(path string, opts Options) (*DB, error) {
	opts, err := withDefaults(opts)
	if err != nil {
		return nil, err
	}
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        5 * time.Second, // another process holding the file
		NoSync:         opts.noSync,
		NoFreelistSync: true, // rebuilt at open; saves a write per commit
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	db := &DB{bolt: bdb, commits: startCommitter(bdb), now: opts.Now, log: opts.Logger, queues: map[string]*queueState{}, closed: make(chan struct{})}
	for name, qo := range opts.Queues {
		main := newQueueState(name, qo, db.now).withDeadLetter()
		main.onDue = func() { db.dueFired(main) }
		db.queues[main.name], db.queues[main.dead.name] = main, main.dead
		db.names = append(db.names, name)
	}
	slices.Sort(db.names)
	if err := db.init(); err != nil {
		db.commits.close()
		_ = bdb.Close()
		return nil, err
	}
	if opts.MappedRelease > 0 && canReleaseMapped {
		go db.releaseMappedEvery(opts.MappedRelease)
	}
	return db, nil
}

func withDefaults(o Options) (Options, error) {
	if o.Queues == nil {
		d := queue.DefaultOptions()
		o.Queues = map[string]queue.Options{}
		for _, q := range galsync.Queues() {
			o.Queues[q] = d
		}
	}
	queues := make(map[string]queue.Options, len(o.Queues))
	for name, qo := range o.Queues {
		if name == "" || strings.Contains(name, "/") {
			return o, fmt.Errorf("embedded: invalid queue name %q", name)
		}
		def := queue.DefaultOptions()
		if qo.LockDuration <= 0 {
			qo.LockDuration = def.LockDuration
		}
		if qo.MaxDeliveryCount <= 0 {
			qo.MaxDeliveryCount = def.MaxDeliveryCount
		}
		qo.DuplicateDetectionWindow = max(qo.DuplicateDetectionWindow, 0)
		queues[name] = qo
	}
	o.Queues = queues
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MappedRelease == 0 {
		o.MappedRelease = DefaultMappedRelease
	}
	return o, nil
}

// init creates the buckets and loads every queue's messages as available,
// and its scheduled messages as scheduled.
func (db *DB) init() error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		for _, b := range storeBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		for _, q := range db.queues {
			for _, b := range [][]byte{q.bucket, q.dedupBucket, q.dedupExpiryBucket, q.schedBucket} {
				if b == nil {
					continue
				}
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("embedded: create buckets: %w", err)
	}
	return db.bolt.View(func(tx *bolt.Tx) error {
		for _, q := range db.queues {
			n := q.load(tx.Bucket(q.bucket))
			scheduled := 0
			if q.schedBucket != nil {
				var err error
				if scheduled, err = q.loadScheduled(tx.Bucket(q.schedBucket)); err != nil {
					return fmt.Errorf("embedded: load scheduled messages of %s: %w", q.name, err)
				}
			}
			if n > 0 || scheduled > 0 {
				db.log.Info("embedded: queue recovered", "queue", q.name, "messages", n, "scheduled", scheduled)
			}
		}
		return nil
	})
}

// Close stops waiting receivers and closes the file.
func (db *DB) Close() error {
	var err error
	db.closeOnce.Do(func() {
		close(db.closed)
		for _, q := range db.queues {
			q.stop()
		}
		db.commits.close()
		if cerr := db.bolt.Close(); cerr != nil {
			err = fmt.Errorf("embedded: close: %w", cerr)
		}
	})
	return err
}

func (db *DB) isClosed() bool {
	select {
	case <-db.closed:
		return true
	default:
		return false
	}
}

// Queues lists the main queues, sorted.
func (db *DB) Queues() []string { return slices.Clone(db.names) }
