package embedded

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Bucket layout. Composite keys join their parts with a NUL byte, so a
// prefix scan for direction "a" never strays into direction "ab".
//
//	cursors   direction                        → version + JSON Cursor
//	dirstate  direction                        → version + JSON DirectionState
//	subs      tenant                           → version + JSON Subscription
//	links     direction \0 sourceUser          → version + JSON Link
//	rounds    direction \0 round \0 page(8)    → JSON RoundPage
//	held      direction \0 firstSeq(8)         → JSON HeldPage (held for approval)
//	log       time(12) seq(8)                  → JSON LogEntry
//	log.dir   direction \0 time(12) seq(8)     → (index into log)
//	log.user  sourceUser \0 time(12) seq(8)    → (index into log)
//	q:<name>        seq(8)                     → JSON storedMessage (main queue or "<name>/$deadletterqueue")
//	s:<name>        seq(8)                     → JSON storedMessage scheduled for later (main queues only)
//	dedup:<name>    message id                 → expiry(12)
//	dedupx:<name>   expiry(12) message id      → (expiry order, for pruning)
var (
	bucketCursors  = []byte("cursors")
	bucketDirState = []byte("dirstate")
	bucketSubs     = []byte("subs")
	bucketLinks    = []byte("links")
	bucketRounds   = []byte("rounds")
	bucketHeld     = []byte("held")
	bucketLog      = []byte("log")
	bucketLogDir   = []byte("log.dir")
	bucketLogUser  = []byte("log.user")

	storeBuckets = [][]byte{bucketCursors, bucketDirState, bucketSubs, bucketLinks, bucketRounds, bucketHeld, bucketLog, bucketLogDir, bucketLogUser}
)

const sep = "\x00"

// appendFill is how full bbolt fills a page before it splits it, for the
// buckets written in key order (queues, scheduled messages, the log and
// its index by direction, duplicate detection's expiry index, round
// pages): bbolt's default (half) leaves such buckets half empty forever,
// as a new key never lands in an old page.
const appendFill = 0.9

// appendBucket is tx's bucket name, filled to appendFill.
func appendBucket(tx *bolt.Tx, name []byte) *bolt.Bucket {
	b := tx.Bucket(name)
	b.FillPercent = appendFill
	return b
}

// compositeKey joins parts with sep; a part that contains sep, or is empty,
// would make prefixes ambiguous and is refused.
func compositeKey(parts ...string) ([]byte, error) {
	for _, p := range parts {
		if p == "" || strings.Contains(p, sep) {
			return nil, fmt.Errorf("key part %q is empty or holds a NUL byte", p)
		}
	}
	return []byte(strings.Join(parts, sep)), nil
}

// prefixKey is compositeKey with a trailing separator, for prefix scans.
func prefixKey(parts ...string) ([]byte, error) {
	k, err := compositeKey(parts...)
	if err != nil {
		return nil, err
	}
	return append(k, sep...), nil
}

// u64Key encodes n big-endian so keys sort numerically.
func u64Key(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// seqKey is a message's key in its queue bucket.
func seqKey(seq int64) []byte { return u64Key(uint64(seq)) }

func keySeq(k []byte) int64 { return int64(binary.BigEndian.Uint64(k)) }

// intKey encodes a signed int so that keys sort in numeric order.
func intKey(n int) []byte { return u64Key(uint64(int64(n)) ^ 1<<63) }

const timeKeyLen = 12

// timeKey encodes t (any year, zero time included) so keys sort by time.
func timeKey(t time.Time) []byte {
	k := binary.BigEndian.AppendUint64(nil, uint64(t.Unix())^1<<63)
	return binary.BigEndian.AppendUint32(k, uint32(t.Nanosecond()))
}

func keyTime(k []byte) time.Time {
	sec := int64(binary.BigEndian.Uint64(k) ^ 1<<63)
	return time.Unix(sec, int64(binary.BigEndian.Uint32(k[8:timeKeyLen])))
}
