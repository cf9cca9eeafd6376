package embedded

import bolt "go.etcd.io/bbolt"

// WithoutSync turns fsync off, for tests that measure logic rather than
// the disk.
func WithoutSync(o Options) Options {
	o.noSync = true
	return o
}

// Commits is the id of the last committed write transaction: the
// difference between two readings counts commits (and so fsyncs).
func Commits(db *DB) uint64 {
	var id int
	_ = db.bolt.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil })
	return uint64(id)
}

// DedupIDs counts the message ids a queue's duplicate detection remembers,
// and the entries of their expiry index (the two must agree).
func DedupIDs(db *DB, name string) (ids, expiries int) {
	_ = db.bolt.View(func(tx *bolt.Tx) error {
		ids = tx.Bucket(db.queues[name].dedupBucket).Stats().KeyN
		expiries = tx.Bucket(db.queues[name].dedupExpiryBucket).Stats().KeyN
		return nil
	})
	return ids, expiries
}

// WalkedDepth counts a queue's and its dead-letter subqueue's messages by
// walking their buckets, to check the counts Depth keeps.
func WalkedDepth(db *DB, name string) (active, dead int) {
	_ = db.bolt.View(func(tx *bolt.Tx) error {
		active = tx.Bucket(db.queues[name].bucket).Stats().KeyN
		dead = tx.Bucket(db.queues[name].dead.bucket).Stats().KeyN
		return nil
	})
	return active, dead
}

// ReleaseMapped releases the data file's mapped pages now.
func ReleaseMapped(db *DB) error {
	return db.bolt.View(func(tx *bolt.Tx) error { return releaseMapped(db.bolt.Info().Data, int(tx.Size())) })
}
