package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/store"
)

// The provisioning log is keyed by time then append sequence, so a walk is
// oldest first; two indexes (by direction, by source user) let a query for
// one user or one direction seek straight to its entries instead of scanning
// the whole log.

const pruneChunk = 1000

// AppendLog appends entries; an entry without a time gets the clock's.
// Workers call it concurrently, so it shares their commits.
func (db *DB) AppendLog(ctx context.Context, entries ...galsync.LogEntry) error {
	if err := db.usable(ctx); err != nil {
		return fmt.Errorf("embedded: append log: %w", err)
	}
	if len(entries) == 0 {
		return nil
	}
	now := db.now()
	stamped := make([]galsync.LogEntry, len(entries)) // the caller's slice stays as it was
	vals := make([][]byte, len(entries))
	for i, e := range entries {
		if e.Time.IsZero() {
			e.Time = now
		}
		if err := checkLogEntry(e); err != nil {
			return fmt.Errorf("embedded: append log: %w", err)
		}
		data, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("embedded: append log: encode: %w", err)
		}
		if err := store.CheckGenerated(e.Direction, store.ItemSize("", e.Direction, len(data))); err != nil {
			return fmt.Errorf("embedded: append log: %w", err)
		}
		stamped[i], vals[i] = e, data
	}
	err := db.commits.write(func(tx *bolt.Tx) error {
		for i, e := range stamped {
			if err := putLogEntry(tx, e, vals[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("embedded: append log: %w", err)
	}
	return nil
}

// checkLogEntry refuses ids that would corrupt the index keys.
func checkLogEntry(e galsync.LogEntry) error {
	for _, id := range []string{e.Direction, e.SourceUserID} {
		if id != "" {
			if _, err := compositeKey(id); err != nil {
				return err
			}
		}
	}
	return nil
}

func putLogEntry(tx *bolt.Tx, e galsync.LogEntry, data []byte) error {
	entries := appendBucket(tx, bucketLog)
	seq, err := entries.NextSequence()
	if err != nil {
		return err
	}
	key := append(timeKey(e.Time), u64Key(seq)...)
	if err := entries.Put(key, data); err != nil {
		return err
	}
	for _, ix := range logIndexes(e) {
		b := tx.Bucket(ix.bucket)
		if ix.inOrder {
			b.FillPercent = appendFill
		}
		if err := b.Put(indexKey(ix.id, key), []byte{}); err != nil {
			return err
		}
	}
	return nil
}

// logIndex is one index entry of a log entry: the id it is filed under.
type logIndex struct {
	bucket []byte
	id     string
	// inOrder: the index grows in key order (by direction, then time).
	inOrder bool
}

func logIndexes(e galsync.LogEntry) []logIndex {
	var ixs []logIndex
	if e.Direction != "" {
		ixs = append(ixs, logIndex{bucket: bucketLogDir, id: e.Direction, inOrder: true})
	}
	if e.SourceUserID != "" {
		ixs = append(ixs, logIndex{bucket: bucketLogUser, id: e.SourceUserID})
	}
	return ixs
}

func indexKey(id string, logKey []byte) []byte {
	return append(append([]byte(id), sep...), logKey...)
}

// PruneLog deletes entries older than olderThan, in transactions of
// pruneChunk entries, and returns how many it deleted.
func (db *DB) PruneLog(ctx context.Context, olderThan time.Time) (int, error) {
	total := 0
	for {
		if err := db.usable(ctx); err != nil {
			return total, fmt.Errorf("embedded: prune log: %w", err)
		}
		var n int
		err := db.bolt.Update(func(tx *bolt.Tx) error {
			var err error
			n, err = pruneLogChunk(tx, timeKey(olderThan))
			return err
		})
		if err != nil {
			return total, fmt.Errorf("embedded: prune log: %w", err)
		}
		total += n
		if n < pruneChunk {
			return total, nil
		}
	}
}

func pruneLogChunk(tx *bolt.Tx, before []byte) (int, error) {
	type doomed struct {
		key   []byte
		entry galsync.LogEntry
	}
	var batch []doomed
	c := tx.Bucket(bucketLog).Cursor()
	for k, v := c.First(); k != nil && bytes.Compare(k[:timeKeyLen], before) < 0 && len(batch) < pruneChunk; k, v = c.Next() {
		d := doomed{key: bytes.Clone(k)}
		if err := json.Unmarshal(v, &d.entry); err != nil {
			return 0, fmt.Errorf("decode log entry: %w", err)
		}
		batch = append(batch, d)
	}
	for _, d := range batch {
		if err := tx.Bucket(bucketLog).Delete(d.key); err != nil {
			return 0, err
		}
		for _, ix := range logIndexes(d.entry) {
			if err := tx.Bucket(ix.bucket).Delete(indexKey(ix.id, d.key)); err != nil {
				return 0, err
			}
		}
	}
	return len(batch), nil
}
