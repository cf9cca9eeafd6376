package embedded

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/store"
)

// A versioned record is stored as an 8-byte version followed by its JSON.
// Versions come from the bucket's sequence, so they only ever grow and an
// ETag is never reused, even across records; the ETag is the version as a
// decimal string.

const versionLen = 8

func renderETag(version uint64) string { return strconv.FormatUint(version, 10) }

// getVersioned decodes the record at key into v and returns its ETag.
func getVersioned(tx *bolt.Tx, bucket, key []byte, v any) (string, error) {
	raw := tx.Bucket(bucket).Get(key)
	if raw == nil {
		return "", galsync.ErrNotFound
	}
	return decodeVersioned(key, raw, v)
}

// decodeVersioned decodes the record raw stored at key into v and returns
// its ETag.
func decodeVersioned(key, raw []byte, v any) (string, error) {
	if len(raw) < versionLen {
		return "", fmt.Errorf("record %q is truncated", key)
	}
	if err := json.Unmarshal(raw[versionLen:], v); err != nil {
		return "", fmt.Errorf("decode record %q: %w", key, err)
	}
	return renderETag(binary.BigEndian.Uint64(raw)), nil
}

// encodeRecord encodes v, the record stored under id in partition pk as
// the Cosmos DB backend would store it, and refuses what Cosmos DB would.
func encodeRecord(v any, id, pk string) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode record: %w", err)
	}
	id = store.ItemID(id)
	if err := store.CheckItem(id, pk, store.ItemSize(id, pk, len(data))); err != nil {
		return nil, err
	}
	return data, nil
}

// putVersioned writes data (an encoded record) at key if etag matches the
// stored version (empty etag: only if there is no record) and returns the
// new ETag.
func putVersioned(tx *bolt.Tx, bucket, key []byte, etag string, data []byte) (string, error) {
	b := tx.Bucket(bucket)
	cur := b.Get(key)
	switch {
	case etag == "" && cur != nil:
		return "", fmt.Errorf("record exists: %w", galsync.ErrConflict)
	case etag != "" && cur == nil:
		return "", fmt.Errorf("record is gone: %w", galsync.ErrConflict)
	case etag != "" && (len(cur) < versionLen || renderETag(binary.BigEndian.Uint64(cur)) != etag):
		return "", fmt.Errorf("stale etag %s: %w", etag, galsync.ErrConflict)
	}
	version, err := b.NextSequence()
	if err != nil {
		return "", err
	}
	val := binary.BigEndian.AppendUint64(make([]byte, 0, versionLen+len(data)), version)
	if err := b.Put(key, append(val, data...)); err != nil {
		return "", err
	}
	return renderETag(version), nil
}
