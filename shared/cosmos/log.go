package cosmos

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/galsync/galsync/shared/galsync"
)

// logDoc stores one provisioning log entry, partitioned by direction (see
// the package documentation), with the fields QueryLog filters on at the
// top level.
//
// ts is the entry's time in UTC at fixed width, so string order is time
// order whatever zone the entry was written in. The id is ts, the entry's
// index in its AppendLog call and a digest of the entry: ordering by id is
// ordering by time, then by append order within a call; and a retried
// AppendLog writes the same ids, so its entries are not logged twice.
type logDoc struct {
	ID           string           `json:"id"`
	Direction    string           `json:"direction"`
	SourceUserID string           `json:"sourceUserId"`
	Action       string           `json:"action"`
	TS           string           `json:"ts"`
	Value        galsync.LogEntry `json:"value"`
}

// logTS renders t for logDoc.ts: UTC, nanoseconds, fixed width.
func logTS(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000000") + "Z"
}

// appendConcurrency bounds the creates one AppendLog has in flight (no
// batches: they are not atomic on every backend and galsync needs none).
const appendConcurrency = 8

// AppendLog appends entries; an entry without a time gets the clock's.
func (s *Store) AppendLog(ctx context.Context, entries ...galsync.LogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	now := s.now()
	docs := make([][]byte, len(entries))
	pks := make([]string, len(entries))
	for i, e := range entries {
		if e.Time.IsZero() {
			e.Time = now
		}
		value, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("cosmos: append log: encode: %w", err)
		}
		sum := sha256.Sum256(value)
		d := logDoc{
			ID:        fmt.Sprintf("%s.%06d.%s", logTS(e.Time), i, hex.EncodeToString(sum[:8])),
			Direction: e.Direction, SourceUserID: e.SourceUserID, Action: e.Action, TS: logTS(e.Time), Value: e,
		}
		if docs[i], err = json.Marshal(d); err != nil {
			return fmt.Errorf("cosmos: append log: encode: %w", err)
		}
		pks[i] = e.Direction
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		sem      = make(chan struct{}, appendConcurrency)
	)
	for i := range docs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			_, err := s.log.CreateItem(ctx, azcosmos.NewPartitionKeyString(pks[i]), docs[i], nil)
			if err == nil || statusCode(err) == http.StatusConflict { // 409: written by an earlier try
				return
			}
			mu.Lock()
			if firstErr == nil {
				firstErr = mapError("append log", err)
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	return firstErr
}

// QueryLog returns matching entries oldest first, at most q.Limit (all
// when 0).
//
// With a direction the query stays in one partition, and Cosmos DB orders
// and limits it (ORDER BY, TOP). Without one it crosses partitions, where
// the gateway can only filter: every matching entry is read and sorted
// here. That is cheap for one source user (their entries are few) and reads
// the whole retained log for a query with no filter at all.
func (s *Store) QueryLog(ctx context.Context, q galsync.LogQuery) ([]galsync.LogEntry, error) {
	var (
		conds  []string
		params []azcosmos.QueryParameter
	)
	where := func(cond, name string, value any) {
		conds = append(conds, cond)
		params = append(params, azcosmos.QueryParameter{Name: name, Value: value})
	}
	if q.Direction != "" {
		where("c.direction = @direction", "@direction", q.Direction)
	}
	if q.SourceUserID != "" {
		where("c.sourceUserId = @user", "@user", q.SourceUserID)
	}
	if q.Action != "" {
		where("c.action = @action", "@action", q.Action)
	}
	if !q.Since.IsZero() {
		where("c.ts >= @since", "@since", logTS(q.Since))
	}
	sql := "SELECT * FROM c"
	if len(conds) > 0 {
		sql += " WHERE " + strings.Join(conds, " AND ")
	}
	pk := crossPartition
	if q.Direction != "" {
		pk = azcosmos.NewPartitionKeyString(q.Direction)
		sql += " ORDER BY c.id"
		if q.Limit > 0 {
			sql = "SELECT TOP " + strconv.Itoa(q.Limit) + sql[len("SELECT"):]
		}
	}
	var docs []logDoc
	err := queryEach(ctx, s.log, pk, s.pageSize, sql, params, func(item []byte) error {
		var d logDoc
		if err := json.Unmarshal(item, &d); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		docs = append(docs, d)
		return nil
	})
	if err != nil {
		return nil, mapError("query log", err)
	}
	// Sorting again costs nothing when Cosmos DB has sorted, and orders
	// what a cross-partition query returns in no set order.
	slices.SortFunc(docs, func(a, b logDoc) int { return cmp.Compare(a.ID, b.ID) })
	if q.Limit > 0 && len(docs) > q.Limit {
		docs = docs[:q.Limit]
	}
	out := make([]galsync.LogEntry, len(docs))
	for i, d := range docs {
		out[i] = d.Value
	}
	return out, nil
}
