package embedded

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/galsync/galsync/shared/galsync"
)

// Cursors and direction states are written by one delta-pull at a time, so
// they commit on their own (Update) rather than through the shared commits.

// GetCursor reads a direction's cursor.
func (db *DB) GetCursor(ctx context.Context, direction string) (galsync.Cursor, error) {
	var c galsync.Cursor
	etag, err := db.getRecord(ctx, bucketCursors, direction, &c)
	if err != nil {
		return galsync.Cursor{}, fmt.Errorf("embedded: get cursor %q: %w", direction, err)
	}
	c.ETag = etag
	return c, nil
}

// PutCursor creates (empty ETag) or replaces (current ETag) a cursor.
func (db *DB) PutCursor(ctx context.Context, c galsync.Cursor) (galsync.Cursor, error) {
	etag, err := db.putRecord(ctx, bucketCursors, c.Direction, c.ETag, c)
	if err != nil {
		return c, fmt.Errorf("embedded: put cursor %q: %w", c.Direction, err)
	}
	c.ETag = etag
	return c, nil
}

// GetDirectionState reads a direction's operational state.
func (db *DB) GetDirectionState(ctx context.Context, direction string) (galsync.DirectionState, error) {
	var s galsync.DirectionState
	etag, err := db.getRecord(ctx, bucketDirState, direction, &s)
	if err != nil {
		return galsync.DirectionState{}, fmt.Errorf("embedded: get direction state %q: %w", direction, err)
	}
	s.ETag = etag
	return s, nil
}

// PutDirectionState creates or replaces a direction state, ETag-guarded.
func (db *DB) PutDirectionState(ctx context.Context, s galsync.DirectionState) (galsync.DirectionState, error) {
	etag, err := db.putRecord(ctx, bucketDirState, s.Direction, s.ETag, s)
	if err != nil {
		return s, fmt.Errorf("embedded: put direction state %q: %w", s.Direction, err)
	}
	s.ETag = etag
	return s, nil
}

// GetSubscription reads a source tenant's subscription record.
func (db *DB) GetSubscription(ctx context.Context, tenant string) (galsync.Subscription, error) {
	var s galsync.Subscription
	etag, err := db.getRecord(ctx, bucketSubs, tenant, &s)
	if err != nil {
		return galsync.Subscription{}, fmt.Errorf("embedded: get subscription %q: %w", tenant, err)
	}
	s.ETag = etag
	return s, nil
}

// PutSubscription creates or replaces a subscription record, ETag-guarded.
func (db *DB) PutSubscription(ctx context.Context, s galsync.Subscription) (galsync.Subscription, error) {
	etag, err := db.putRecord(ctx, bucketSubs, s.Tenant, s.ETag, s)
	if err != nil {
		return s, fmt.Errorf("embedded: put subscription %q: %w", s.Tenant, err)
	}
	s.ETag = etag
	return s, nil
}

// ListSubscriptions returns every subscription record, ordered by tenant.
func (db *DB) ListSubscriptions(ctx context.Context) ([]galsync.Subscription, error) {
	if err := db.usable(ctx); err != nil {
		return nil, err
	}
	var out []galsync.Subscription
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSubs).ForEach(func(k, v []byte) error {
			var s galsync.Subscription
			etag, err := decodeVersioned(k, v, &s)
			if err != nil {
				return err
			}
			s.ETag = etag
			out = append(out, s)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: list subscriptions: %w", err)
	}
	return out, nil
}

func (db *DB) getRecord(ctx context.Context, bucket []byte, direction string, v any) (string, error) {
	if err := db.usable(ctx); err != nil {
		return "", err
	}
	key, err := compositeKey(direction)
	if err != nil {
		return "", err
	}
	var etag string
	err = db.bolt.View(func(tx *bolt.Tx) error {
		etag, err = getVersioned(tx, bucket, key, v)
		return err
	})
	return etag, err
}

func (db *DB) putRecord(ctx context.Context, bucket []byte, direction, etag string, v any) (string, error) {
	if err := db.usable(ctx); err != nil {
		return "", err
	}
	key, err := compositeKey(direction)
	if err != nil {
		return "", err
	}
	data, err := encodeRecord(v, direction, direction)
	if err != nil {
		return "", err
	}
	var next string
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		next, err = putVersioned(tx, bucket, key, etag, data)
		return err
	})
	return next, err
}

// usable reports why a call cannot proceed: a closed database or a done
// context.
func (db *DB) usable(ctx context.Context) error {
	if db.isClosed() {
		return ErrClosed
	}
	return ctx.Err()
}
