package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/galsync/galsync/shared/galsync"
)

// QueryLog returns matching entries oldest first, at most q.Limit (all when
// 0). A query naming a source user walks that user's index, one naming only
// a direction walks the direction's; both seek to q.Since.
func (db *DB) QueryLog(ctx context.Context, q galsync.LogQuery) ([]galsync.LogEntry, error) {
	if err := db.usable(ctx); err != nil {
		return nil, fmt.Errorf("embedded: query log: %w", err)
	}
	scan, err := planLogScan(q)
	if err != nil {
		return nil, fmt.Errorf("embedded: query log: %w", err)
	}
	var out []galsync.LogEntry
	err = db.bolt.View(func(tx *bolt.Tx) error {
		return scan.walk(tx, func(e galsync.LogEntry) bool {
			if logMatches(q, e) {
				out = append(out, e)
			}
			return q.Limit <= 0 || len(out) < q.Limit
		})
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: query log: %w", err)
	}
	return out, nil
}

// logScan walks one bucket (the log or one of its indexes) over the keys
// with prefix, from start on.
type logScan struct {
	bucket []byte
	prefix []byte
	start  []byte
}

func planLogScan(q galsync.LogQuery) (logScan, error) {
	s := logScan{bucket: bucketLog}
	var err error
	switch {
	case q.SourceUserID != "":
		s.bucket = bucketLogUser
		s.prefix, err = prefixKey(q.SourceUserID)
	case q.Direction != "":
		s.bucket = bucketLogDir
		s.prefix, err = prefixKey(q.Direction)
	}
	if err != nil {
		return s, err
	}
	s.start = s.prefix
	if !q.Since.IsZero() {
		s.start = append(bytes.Clone(s.prefix), timeKey(q.Since)...)
	}
	return s, nil
}

// walk calls fn for each entry in key order until fn returns false.
func (s logScan) walk(tx *bolt.Tx, fn func(galsync.LogEntry) bool) error {
	entries := tx.Bucket(bucketLog)
	c := tx.Bucket(s.bucket).Cursor()
	k, v := c.First()
	if len(s.start) > 0 {
		k, v = c.Seek(s.start)
	}
	for ; k != nil && bytes.HasPrefix(k, s.prefix); k, v = c.Next() {
		if !bytes.Equal(s.bucket, bucketLog) {
			v = entries.Get(k[len(s.prefix):])
			if v == nil {
				return fmt.Errorf("log index %s: key %x has no entry", s.bucket, k)
			}
		}
		var e galsync.LogEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("decode log entry %x: %w", k, err)
		}
		if !fn(e) {
			return nil
		}
	}
	return nil
}

func logMatches(q galsync.LogQuery, e galsync.LogEntry) bool {
	return (q.Direction == "" || e.Direction == q.Direction) &&
		(q.SourceUserID == "" || e.SourceUserID == q.SourceUserID) &&
		(q.Action == "" || e.Action == q.Action) &&
		(q.Since.IsZero() || !e.Time.Before(q.Since))
}
