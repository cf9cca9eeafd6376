package embedded

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"

	"github.com/galsync/galsync/shared/galsync"
)

// heldKey is a held page's key: direction, then its first sequence number.
func heldKey(direction string, firstSeq int64) ([]byte, error) {
	prefix, err := prefixKey(direction)
	if err != nil {
		return nil, err
	}
	return append(prefix, intKey(int(firstSeq))...), nil
}

// heldItemID is the id the Cosmos DB backend stores a held page under.
func heldItemID(firstSeq int64) string { return "held:" + strconv.FormatInt(firstSeq, 10) }

// SaveHeld creates or replaces a held page, checked as the Cosmos DB
// backend stores it (heldItemID in the direction's partition).
func (db *DB) SaveHeld(ctx context.Context, p galsync.HeldPage) error {
	if err := db.usable(ctx); err != nil {
		return fmt.Errorf("embedded: save held: %w", err)
	}
	key, err := heldKey(p.Direction, p.FirstSeq)
	if err != nil {
		return fmt.Errorf("embedded: save held: %w", err)
	}
	data, err := encodeRecord(p, heldItemID(p.FirstSeq), p.Direction)
	if err != nil {
		return fmt.Errorf("embedded: save held page %s/%d: %w", p.Direction, p.FirstSeq, err)
	}
	if err := db.bolt.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketHeld).Put(key, data) }); err != nil {
		return fmt.Errorf("embedded: save held page %s/%d: %w", p.Direction, p.FirstSeq, err)
	}
	return nil
}

// ListHeld calls fn for every held page of direction, in sequence order.
func (db *DB) ListHeld(ctx context.Context, direction string, fn func(galsync.HeldPage) error) error {
	prefix, err := prefixKey(direction)
	if err != nil {
		return fmt.Errorf("embedded: list held: %w", err)
	}
	err = walkPrefix(ctx, db, bucketHeld, prefix, func(k, v []byte) (galsync.HeldPage, error) {
		var p galsync.HeldPage
		if err := json.Unmarshal(v, &p); err != nil {
			return p, fmt.Errorf("decode %q: %w", k, err)
		}
		return p, nil
	}, fn)
	if err != nil {
		return fmt.Errorf("embedded: list held %q: %w", direction, err)
	}
	return nil
}

// DeleteHeld deletes a held page.
func (db *DB) DeleteHeld(ctx context.Context, direction string, firstSeq int64) error {
	if err := db.usable(ctx); err != nil {
		return fmt.Errorf("embedded: delete held: %w", err)
	}
	key, err := heldKey(direction, firstSeq)
	if err != nil {
		return fmt.Errorf("embedded: delete held: %w", err)
	}
	if err := db.bolt.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketHeld).Delete(key) }); err != nil {
		return fmt.Errorf("embedded: delete held page %s/%d: %w", direction, firstSeq, err)
	}
	return nil
}
