package embedded

import (
	"bytes"
	"time"

	bolt "go.etcd.io/bbolt"
)

// dedup is a queue's duplicate detection inside one write transaction: the
// ids sent within the window, each with its expiry, and the same entries
// ordered by expiry so pruning reads only what has expired.
type dedup struct {
	window time.Duration
	ids    *bolt.Bucket // id → expiry
	expiry *bolt.Bucket // expiry id → nothing
}

func dedupOf(tx *bolt.Tx, q *queueState) dedup {
	return dedup{window: q.opts.DuplicateDetectionWindow, ids: tx.Bucket(q.dedupBucket), expiry: appendBucket(tx, q.dedupExpiryBucket)}
}

// seen reports whether id was sent and its window has not passed.
func (d dedup) seen(id string, now time.Time) bool {
	v := d.ids.Get([]byte(id))
	return v != nil && now.Before(keyTime(v))
}

// record remembers id until expires.
func (d dedup) record(id string, expires time.Time) error {
	if old := d.ids.Get([]byte(id)); old != nil {
		if err := d.expiry.Delete(append(bytes.Clone(old), id...)); err != nil {
			return err
		}
	}
	exp := timeKey(expires)
	if err := d.ids.Put([]byte(id), exp); err != nil {
		return err
	}
	return d.expiry.Put(append(exp, id...), []byte{})
}

// prune forgets up to limit ids whose window has passed; each send prunes a
// little, so the buckets stay the size of one window.
func (d dedup) prune(now time.Time, limit int) error {
	var expired [][]byte
	c := d.expiry.Cursor()
	for k, _ := c.First(); k != nil && len(expired) < limit && !now.Before(keyTime(k)); k, _ = c.Next() {
		expired = append(expired, bytes.Clone(k))
	}
	for _, k := range expired {
		if err := d.expiry.Delete(k); err != nil {
			return err
		}
		if err := d.ids.Delete(k[timeKeyLen:]); err != nil {
			return err
		}
	}
	return nil
}
