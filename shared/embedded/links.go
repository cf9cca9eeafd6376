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
// concurrently, so it joins a batch commit.
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
	err = db.bolt.Batch(func(tx *bolt.Tx) error {
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
	from := prefix
	for {
		if err := db.usable(ctx); err != nil {
			return fmt.Errorf("embedded: list links %q: %w", direction, err)
		}
		links, last, err := db.readLinks(prefix, from)
		if err != nil {
			return fmt.Errorf("embedded: list links %q: %w", direction, err)
		}
		for _, l := range links {
			if err := fn(l); err != nil {
				return err
			}
		}
		if len(links) < listChunk {
			return nil
		}
		from = append(last, 0) // the smallest key after last
	}
}

// readLinks reads up to listChunk links with prefix, from key from on, and
// returns the last key read.
func (db *DB) readLinks(prefix, from []byte) ([]galsync.Link, []byte, error) {
	var links []galsync.Link
	var last []byte
	err := db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketLinks).Cursor()
		for k, v := c.Seek(from); k != nil && bytes.HasPrefix(k, prefix) && len(links) < listChunk; k, v = c.Next() {
			var l galsync.Link
			etag, err := decodeVersioned(k, v, &l)
			if err != nil {
				return err
			}
			l.ETag = etag
			links = append(links, l)
			last = bytes.Clone(k)
		}
		return nil
	})
	return links, last, err
}
