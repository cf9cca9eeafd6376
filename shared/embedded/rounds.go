package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/store"
)

// SaveRoundPage creates or replaces the page (direction, round, page).
func (db *DB) SaveRoundPage(ctx context.Context, p galsync.RoundPage) error {
	if err := db.usable(ctx); err != nil {
		return fmt.Errorf("embedded: save round page: %w", err)
	}
	prefix, err := prefixKey(p.Direction, p.Round)
	if err != nil {
		return fmt.Errorf("embedded: save round page: %w", err)
	}
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("embedded: save round page: encode: %w", err)
	}
	// Stored as the Cosmos DB backend stores it: id round:page.
	id := store.ItemID(p.Round) + ":" + strconv.Itoa(p.Page)
	if err := store.CheckItem(id, p.Direction, store.ItemSize(id, p.Direction, len(data))); err != nil {
		return fmt.Errorf("embedded: save round page %s/%s/%d: %w", p.Direction, p.Round, p.Page, err)
	}
	key := append(prefix, intKey(p.Page)...)
	err = db.bolt.Update(func(tx *bolt.Tx) error { return appendBucket(tx, bucketRounds).Put(key, data) })
	if err != nil {
		return fmt.Errorf("embedded: save round page %s/%s/%d: %w", p.Direction, p.Round, p.Page, err)
	}
	return nil
}

// RoundPages returns a round's pages ordered by page number; none is not an
// error.
func (db *DB) RoundPages(ctx context.Context, direction, round string) ([]galsync.RoundPage, error) {
	if err := db.usable(ctx); err != nil {
		return nil, fmt.Errorf("embedded: round pages: %w", err)
	}
	prefix, err := prefixKey(direction, round)
	if err != nil {
		return nil, fmt.Errorf("embedded: round pages: %w", err)
	}
	var pages []galsync.RoundPage
	err = db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRounds).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var p galsync.RoundPage
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("decode %q: %w", k, err)
			}
			pages = append(pages, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: round pages %s/%s: %w", direction, round, err)
	}
	return pages, nil
}

// DeleteRound removes every page of a round.
func (db *DB) DeleteRound(ctx context.Context, direction, round string) error {
	if err := db.usable(ctx); err != nil {
		return fmt.Errorf("embedded: delete round: %w", err)
	}
	prefix, err := prefixKey(direction, round)
	if err != nil {
		return fmt.Errorf("embedded: delete round: %w", err)
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRounds)
		var keys [][]byte
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("embedded: delete round %s/%s: %w", direction, round, err)
	}
	return nil
}
