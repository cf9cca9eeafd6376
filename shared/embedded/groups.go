package embedded

import (
	"bytes"
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/galsync/galsync/shared/galsync"
)

// bucketGroupPairs holds the group pairs (mirrored and scope groups):
//
//	grouppairs  direction \0 role:sourceGroup  → version + JSON GroupPair
//
// It is made on the first write, so files written before it existed open
// as they are.
var bucketGroupPairs = []byte("grouppairs")

// GetGroupPair reads the pair of a direction by its key (GroupPair.Key).
func (db *DB) GetGroupPair(ctx context.Context, direction, key string) (galsync.GroupPair, error) {
	if err := db.usable(ctx); err != nil {
		return galsync.GroupPair{}, fmt.Errorf("embedded: get group pair: %w", err)
	}
	k, err := compositeKey(direction, key)
	if err != nil {
		return galsync.GroupPair{}, fmt.Errorf("embedded: get group pair: %w", err)
	}
	var p galsync.GroupPair
	err = db.bolt.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketGroupPairs) == nil {
			return galsync.ErrNotFound
		}
		p.ETag, err = getVersioned(tx, bucketGroupPairs, k, &p)
		return err
	})
	if err != nil {
		return galsync.GroupPair{}, fmt.Errorf("embedded: get group pair %s/%s: %w", direction, key, err)
	}
	return p, nil
}

// PutGroupPair creates (empty ETag) or replaces (current ETag) a pair.
func (db *DB) PutGroupPair(ctx context.Context, p galsync.GroupPair) (galsync.GroupPair, error) {
	if err := db.usable(ctx); err != nil {
		return p, fmt.Errorf("embedded: put group pair: %w", err)
	}
	k, err := compositeKey(p.Direction, p.Key())
	if err != nil {
		return p, fmt.Errorf("embedded: put group pair: %w", err)
	}
	data, err := encodeRecord(p, "group:"+p.Key(), p.Direction)
	if err != nil {
		return p, fmt.Errorf("embedded: put group pair %s/%s: %w", p.Direction, p.Key(), err)
	}
	var etag string
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucketGroupPairs); err != nil {
			return err
		}
		etag, err = putVersioned(tx, bucketGroupPairs, k, p.ETag, data)
		return err
	})
	if err != nil {
		return p, fmt.Errorf("embedded: put group pair %s/%s: %w", p.Direction, p.Key(), err)
	}
	p.ETag = etag
	return p, nil
}

// ListGroupPairs returns every pair of a direction, ordered by key.
func (db *DB) ListGroupPairs(ctx context.Context, direction string) ([]galsync.GroupPair, error) {
	if err := db.usable(ctx); err != nil {
		return nil, fmt.Errorf("embedded: list group pairs: %w", err)
	}
	prefix, err := prefixKey(direction)
	if err != nil {
		return nil, fmt.Errorf("embedded: list group pairs: %w", err)
	}
	var out []galsync.GroupPair
	err = db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketGroupPairs)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var p galsync.GroupPair
			etag, err := decodeVersioned(k, v, &p)
			if err != nil {
				return err
			}
			p.ETag = etag
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: list group pairs of %q: %w", direction, err)
	}
	return out, nil
}
