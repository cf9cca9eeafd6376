package embedded

import (
	"bytes"
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/galsync/galsync/shared/galsync"
)

// listChunk is how many links ListLinks reads per read transaction. fn runs
// outside any transaction, so it may write to the store: bbolt can deadlock
// when one goroutine holds a read transaction and opens a write one.
const listChunk = 256

// GetLink reads the link of a source user in a direction.
func (db *DB) GetLink(ctx context.Context, direction, sourceUserID string) (galsync.Link, error) {
	if err := db.usable(ctx); err != nil {
		return galsync.Link{}, fmt.Errorf("embedded: get link: %w", err)
	}
	key, err := compositeKey(direction, sourceUserID)
	if err != nil {
		return galsync.Link{}, fmt.Errorf("embedded: get link: %w", err)
	}
	var l galsync.Link
	err = db.bolt.View(func(tx *bolt.Tx) error {
		l.ETag, err = getVersioned(tx, bucketLinks, key, &l)
		return err
	})
	if err != nil {
		return galsync.Link{}, fmt.Errorf("embedded: get link %s/%s: %w", direction, sourceUserID, err)
	}
	return l, nil
}

// PutLink creates or replaces a link, ETag-guarded. Workers call it
// concurrently, so it shares their commits.
func (db *DB) PutLink(ctx context.Context, l galsync.Link) (galsync.Link, error) {
	if err := db.usable(ctx); err != nil {
		return l, fmt.Errorf("embedded: put link: %w", err)
	}
	key, err := compositeKey(l.Direction, l.SourceUserID)
	if err != nil {
		return l, fmt.Errorf("embedded: put link: %w", err)
	}
	data, err := encodeRecord(l, l.SourceUserID, l.Direction)
	if err != nil {
		return l, fmt.Errorf("embedded: put link %s/%s: %w", l.Direction, l.SourceUserID, err)
	}
	var etag string
	err = db.commits.write(func(tx *bolt.Tx) error {
		etag, err = putVersioned(tx, bucketLinks, key, l.ETag, data)
		return err
	})
	if err != nil {
		return l, fmt.Errorf("embedded: put link %s/%s: %w", l.Direction, l.SourceUserID, err)
	}
	l.ETag = etag
	return l, nil
}

// ListLinks calls fn for every link of direction, in source user id order.
func (db *DB) ListLinks(ctx context.Context, direction string, fn func(galsync.Link) error) error {
	prefix, err := prefixKey(direction)
	if err != nil {
		return fmt.Errorf("embedded: list links: %w", err)
	}
	err = walkPrefix(ctx, db, bucketLinks, prefix, func(k, v []byte) (galsync.Link, error) {
		var l galsync.Link
		etag, err := decodeVersioned(k, v, &l)
		l.ETag = etag
		return l, err
	}, fn)
	if err != nil {
		return fmt.Errorf("embedded: list links %q: %w", direction, err)
	}
	return nil
}

// walkPrefix calls fn for every record of bucket whose key starts with
// prefix, in key order, decoded by decode. It reads listChunk records per
// read transaction and calls fn outside any, so fn may write to the store:
// bbolt can deadlock when one goroutine holds a read transaction and opens
// a write one. An error from fn is returned as it is.
func walkPrefix[T any](ctx context.Context, db *DB, bucket, prefix []byte, decode func(k, v []byte) (T, error), fn func(T) error) error {
	from := prefix
	for {
		if err := db.usable(ctx); err != nil {
			return err
		}
		chunk, last, err := readChunk(db, bucket, prefix, from, decode)
		if err != nil {
			return err
		}
		for _, r := range chunk {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(chunk) < listChunk {
			return nil
		}
		from = append(last, 0) // the smallest key after last
	}
}

// readChunk reads up to listChunk records with prefix, from key from on,
// and returns the last key read.
func readChunk[T any](db *DB, bucket, prefix, from []byte, decode func(k, v []byte) (T, error)) ([]T, []byte, error) {
	var out []T
	var last []byte
	err := db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucket).Cursor()
		for k, v := c.Seek(from); k != nil && bytes.HasPrefix(k, prefix) && len(out) < listChunk; k, v = c.Next() {
			r, err := decode(k, v)
			if err != nil {
				return err
			}
			out = append(out, r)
			last = bytes.Clone(k)
		}
		return nil
	})
	return out, last, err
}
