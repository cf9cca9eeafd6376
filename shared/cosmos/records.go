package cosmos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/store"
)

// envelope is how a record is stored: the fields the container is
// partitioned and queried by at the top level, the record itself, as the
// domain encodes it, under "value". Nesting keeps record fields from
// colliding with Cosmos DB's "id" and system properties (a Subscription
// has an "id" of its own).
type envelope[T any] struct {
	ID        string `json:"id"`
	Direction string `json:"direction,omitempty"`
	Tenant    string `json:"tenant,omitempty"`
	Value     T      `json:"value"`
	// ETag is read back from queries; writes leave it empty.
	ETag string `json:"_etag,omitempty"`
}

// casRecords stores one ETag-guarded record type (cursor, link, direction
// state, subscription) with the store port's contract: an empty ETag
// creates, a current one replaces, anything else is ErrConflict.
type casRecords[T any] struct {
	container *azcosmos.ContainerClient
	what      string // "cursor", for errors
	// byTenant: partitioned by /tenant, not /direction.
	byTenant bool
	// key returns the partition key value and the record's key within it.
	key  func(T) (pk, key string)
	etag func(*T) *string
}

func (r casRecords[T]) name(pk, key string) string {
	if pk == key {
		return fmt.Sprintf("%s %q", r.what, pk)
	}
	return fmt.Sprintf("%s %q", r.what, pk+"/"+key)
}

func checkKey(pk, key string) error {
	if pk == "" || key == "" {
		return galsync.Permanent(errors.New("empty key"))
	}
	return nil
}

func (r casRecords[T]) get(ctx context.Context, pk, key string) (T, error) {
	var zero T
	if err := checkKey(pk, key); err != nil {
		return zero, fmt.Errorf("cosmos: get %s: %w", r.name(pk, key), err)
	}
	resp, err := r.container.ReadItem(ctx, azcosmos.NewPartitionKeyString(pk), store.ItemID(key), nil)
	if err != nil {
		return zero, mapError("get "+r.name(pk, key), err)
	}
	var env envelope[T]
	if err := json.Unmarshal(resp.Value, &env); err != nil {
		return zero, fmt.Errorf("cosmos: get %s: decode: %w", r.name(pk, key), err)
	}
	*r.etag(&env.Value) = string(resp.ETag)
	return env.Value, nil
}

func (r casRecords[T]) put(ctx context.Context, v T) (T, error) {
	pk, key := r.key(v)
	what := "put " + r.name(pk, key)
	if err := checkKey(pk, key); err != nil {
		return v, fmt.Errorf("cosmos: %s: %w", what, err)
	}
	etag := *r.etag(&v)
	env := envelope[T]{ID: store.ItemID(key), Value: v}
	if r.byTenant {
		env.Tenant = pk
	} else {
		env.Direction = pk
	}
	body, err := json.Marshal(env)
	if err != nil {
		return v, fmt.Errorf("cosmos: %s: encode: %w", what, err)
	}
	partition := azcosmos.NewPartitionKeyString(pk)
	var resp azcosmos.ItemResponse
	if etag == "" {
		resp, err = r.container.CreateItem(ctx, partition, body, nil)
	} else {
		resp, err = r.container.ReplaceItem(ctx, partition, env.ID, body, &azcosmos.ItemOptions{IfMatchEtag: ptrETag(etag)})
		if statusCode(err) == http.StatusNotFound {
			// The version the caller holds no longer exists: it lost.
			return v, fmt.Errorf("cosmos: %s: %w (record gone)", what, galsync.ErrConflict)
		}
	}
	if err != nil {
		return v, mapError(what, err)
	}
	if resp.ETag == "" {
		return v, fmt.Errorf("cosmos: %s: the response carries no ETag", what)
	}
	*r.etag(&v) = string(resp.ETag)
	return v, nil
}

func (s *Store) cursorRecords() casRecords[galsync.Cursor] {
	return casRecords[galsync.Cursor]{
		container: s.cursors, what: "cursor",
		key:  func(c galsync.Cursor) (string, string) { return c.Direction, c.Direction },
		etag: func(c *galsync.Cursor) *string { return &c.ETag },
	}
}

func (s *Store) linkRecords() casRecords[galsync.Link] {
	return casRecords[galsync.Link]{
		container: s.links, what: "link",
		key:  func(l galsync.Link) (string, string) { return l.Direction, l.SourceUserID },
		etag: func(l *galsync.Link) *string { return &l.ETag },
	}
}

func (s *Store) stateRecords() casRecords[galsync.DirectionState] {
	return casRecords[galsync.DirectionState]{
		container: s.states, what: "direction state",
		key:  func(d galsync.DirectionState) (string, string) { return d.Direction, d.Direction },
		etag: func(d *galsync.DirectionState) *string { return &d.ETag },
	}
}

func (s *Store) subscriptionRecords() casRecords[galsync.Subscription] {
	return casRecords[galsync.Subscription]{
		container: s.subscriptions, what: "subscription", byTenant: true,
		key:  func(sub galsync.Subscription) (string, string) { return sub.Tenant, sub.Tenant },
		etag: func(sub *galsync.Subscription) *string { return &sub.ETag },
	}
}

// GetCursor reads the cursor of a direction.
func (s *Store) GetCursor(ctx context.Context, direction string) (galsync.Cursor, error) {
	return s.cursorRecords().get(ctx, direction, direction)
}

// PutCursor creates (empty ETag) or replaces (current ETag) a cursor.
func (s *Store) PutCursor(ctx context.Context, c galsync.Cursor) (galsync.Cursor, error) {
	return s.cursorRecords().put(ctx, c)
}

// GetLink reads the link of a source user in a direction.
func (s *Store) GetLink(ctx context.Context, direction, sourceUserID string) (galsync.Link, error) {
	return s.linkRecords().get(ctx, direction, sourceUserID)
}

// PutLink creates (empty ETag) or replaces (current ETag) a link.
func (s *Store) PutLink(ctx context.Context, l galsync.Link) (galsync.Link, error) {
	return s.linkRecords().put(ctx, l)
}

// GetDirectionState reads the operational state of a direction.
func (s *Store) GetDirectionState(ctx context.Context, direction string) (galsync.DirectionState, error) {
	return s.stateRecords().get(ctx, direction, direction)
}

// PutDirectionState creates (empty ETag) or replaces (current ETag) a
// direction state.
func (s *Store) PutDirectionState(ctx context.Context, d galsync.DirectionState) (galsync.DirectionState, error) {
	return s.stateRecords().put(ctx, d)
}

// GetSubscription reads the subscription record of a source tenant.
func (s *Store) GetSubscription(ctx context.Context, tenant string) (galsync.Subscription, error) {
	return s.subscriptionRecords().get(ctx, tenant, tenant)
}

// PutSubscription creates (empty ETag) or replaces (current ETag) a
// subscription record.
func (s *Store) PutSubscription(ctx context.Context, sub galsync.Subscription) (galsync.Subscription, error) {
	return s.subscriptionRecords().put(ctx, sub)
}

func ptrETag(s string) *azcore.ETag {
	e := azcore.ETag(s)
	return &e
}
