package cosmos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/galsync/galsync/shared/galsync"
)

// crossPartition scopes a query to every partition. Only filters and
// projections: the gateway azcosmos talks to cannot order, limit or
// aggregate across partitions.
var crossPartition = azcosmos.NewPartitionKey()

// queryEach runs a query and calls fn with every item, page by page, until
// fn fails. Single-partition queries also filter on the partition key in
// their WHERE clause: the local stand-in ignores the partition key of a
// query, and Cosmos DB is right either way.
func queryEach(ctx context.Context, c *azcosmos.ContainerClient, pk azcosmos.PartitionKey, pageSize int32,
	sql string, params []azcosmos.QueryParameter, fn func(item []byte) error) error {
	pager := c.NewQueryItemsPager(sql, pk, &azcosmos.QueryOptions{QueryParameters: params, PageSizeHint: pageSize})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, item := range page.Items {
			if err := fn(item); err != nil {
				return err
			}
		}
	}
	return nil
}

// errStop ends a walk early; it never leaves this package.
var errStop = errors.New("stop")

// ListLinks calls fn for every link of a direction: one partition, paged.
// fn may write links meanwhile: a replace keeps an item's place in the
// partition's order, so the walk neither repeats nor skips it.
func (s *Store) ListLinks(ctx context.Context, direction string, fn func(galsync.Link) error) error {
	if direction == "" {
		return fmt.Errorf("cosmos: list links: %w", galsync.Permanent(errors.New("empty direction")))
	}
	var fnErr error
	err := queryEach(ctx, s.links, azcosmos.NewPartitionKeyString(direction), s.pageSize,
		"SELECT * FROM c WHERE c.direction = @direction",
		[]azcosmos.QueryParameter{{Name: "@direction", Value: direction}},
		func(item []byte) error {
			var env envelope[galsync.Link]
			if err := json.Unmarshal(item, &env); err != nil {
				return fmt.Errorf("decode: %w", err)
			}
			l := env.Value
			l.ETag = env.ETag
			if fnErr = fn(l); fnErr != nil {
				return errStop
			}
			return nil
		})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return mapError(fmt.Sprintf("list links of %q", direction), err)
	}
	return nil
}

// ListSubscriptions returns every subscription record: a query across
// partitions (one per source tenant, a handful).
func (s *Store) ListSubscriptions(ctx context.Context) ([]galsync.Subscription, error) {
	var out []galsync.Subscription
	err := queryEach(ctx, s.subscriptions, crossPartition, s.pageSize, "SELECT * FROM c", nil,
		func(item []byte) error {
			var env envelope[galsync.Subscription]
			if err := json.Unmarshal(item, &env); err != nil {
				return fmt.Errorf("decode: %w", err)
			}
			sub := env.Value
			sub.ETag = env.ETag
			out = append(out, sub)
			return nil
		})
	if err != nil {
		return nil, mapError("list subscriptions", err)
	}
	return out, nil
}
