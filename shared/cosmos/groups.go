package cosmos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/store"
)

// Group pairs live in the state container beside their direction's state
// (partition /direction), under ids "group:<role>:<source group id>": a
// direction's state item has the direction's name as its id, which never
// starts so. No new container is needed, so deployed accounts (Terraform)
// take them as they are.
const groupPairPrefix = "group:"

func (s *Store) groupPairRecords() casRecords[galsync.GroupPair] {
	return casRecords[galsync.GroupPair]{
		container: s.states, what: "group pair",
		key:  func(p galsync.GroupPair) (string, string) { return p.Direction, groupPairPrefix + p.Key() },
		etag: func(p *galsync.GroupPair) *string { return &p.ETag },
	}
}

// GetGroupPair reads a direction's pair by its key (GroupPair.Key).
func (s *Store) GetGroupPair(ctx context.Context, direction, key string) (galsync.GroupPair, error) {
	return s.groupPairRecords().get(ctx, direction, groupPairPrefix+key)
}

// PutGroupPair creates (empty ETag) or replaces (current ETag) a pair.
func (s *Store) PutGroupPair(ctx context.Context, p galsync.GroupPair) (galsync.GroupPair, error) {
	return s.groupPairRecords().put(ctx, p)
}

// ListGroupPairs returns every pair of a direction, ordered by key: one
// partition.
func (s *Store) ListGroupPairs(ctx context.Context, direction string) ([]galsync.GroupPair, error) {
	if direction == "" {
		return nil, fmt.Errorf("cosmos: list group pairs: %w", galsync.Permanent(errors.New("empty direction")))
	}
	var out []galsync.GroupPair
	err := queryEach(ctx, s.states, azcosmos.NewPartitionKeyString(direction), s.pageSize,
		"SELECT * FROM c WHERE c.direction = @direction AND STARTSWITH(c.id, @prefix)",
		[]azcosmos.QueryParameter{{Name: "@direction", Value: direction}, {Name: "@prefix", Value: store.ItemID(groupPairPrefix)}},
		func(item []byte) error {
			var env envelope[galsync.GroupPair]
			if err := json.Unmarshal(item, &env); err != nil {
				return fmt.Errorf("decode: %w", err)
			}
			p := env.Value
			p.ETag = env.ETag
			out = append(out, p)
			return nil
		})
	if err != nil {
		return nil, mapError(fmt.Sprintf("list group pairs of %q", direction), err)
	}
	slices.SortFunc(out, func(a, b galsync.GroupPair) int { return strings.Compare(a.Key(), b.Key()) })
	return out, nil
}
