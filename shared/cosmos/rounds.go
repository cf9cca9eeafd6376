package cosmos

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/store"
)

// roundDoc stores one round page in the rounds container, partitioned by
// direction; the id is round:page, unambiguous because the page is digits.
type roundDoc struct {
	ID        string            `json:"id"`
	Direction string            `json:"direction"`
	Round     string            `json:"round"`
	Page      int               `json:"page"`
	Value     galsync.RoundPage `json:"value"`
}

func roundPageID(round string, page int) string {
	return store.ItemID(round) + ":" + strconv.Itoa(page)
}

// SaveRoundPage creates or replaces the page (direction, round, page).
func (s *Store) SaveRoundPage(ctx context.Context, p galsync.RoundPage) error {
	what := fmt.Sprintf("save page %d of round %q/%q", p.Page, p.Direction, p.Round)
	if err := checkKey(p.Direction, p.Round); err != nil {
		return fmt.Errorf("cosmos: %s: %w", what, err)
	}
	body, err := json.Marshal(roundDoc{ID: roundPageID(p.Round, p.Page), Direction: p.Direction, Round: p.Round, Page: p.Page, Value: p})
	if err != nil {
		return fmt.Errorf("cosmos: %s: encode: %w", what, err)
	}
	if _, err := s.rounds.UpsertItem(ctx, azcosmos.NewPartitionKeyString(p.Direction), body, nil); err != nil {
		return mapError(what, err)
	}
	return nil
}

// roundQuery selects the pages of one round; the direction is in the WHERE
// clause as well as the partition key (see queryEach).
const roundQuery = "FROM c WHERE c.direction = @direction AND c.round = @round"

func roundParams(direction, round string) []azcosmos.QueryParameter {
	return []azcosmos.QueryParameter{{Name: "@direction", Value: direction}, {Name: "@round", Value: round}}
}

// RoundPages returns a round's pages ordered by page number. They are
// sorted here rather than by ORDER BY, so the container needs no index for
// it; a round has a bounded number of pages.
func (s *Store) RoundPages(ctx context.Context, direction, round string) ([]galsync.RoundPage, error) {
	what := fmt.Sprintf("pages of round %q/%q", direction, round)
	if err := checkKey(direction, round); err != nil {
		return nil, fmt.Errorf("cosmos: %s: %w", what, err)
	}
	var pages []galsync.RoundPage
	err := queryEach(ctx, s.rounds, azcosmos.NewPartitionKeyString(direction), s.pageSize,
		"SELECT * "+roundQuery, roundParams(direction, round),
		func(item []byte) error {
			var d roundDoc
			if err := json.Unmarshal(item, &d); err != nil {
				return fmt.Errorf("decode: %w", err)
			}
			pages = append(pages, d.Value)
			return nil
		})
	if err != nil {
		return nil, mapError(what, err)
	}
	slices.SortFunc(pages, func(a, b galsync.RoundPage) int { return a.Page - b.Page })
	return pages, nil
}

// DeleteRound deletes every page of a round, one item at a time (no
// transactional batch: a round interrupted half-deleted is deleted again by
// the next call, and a missing round deletes nothing).
func (s *Store) DeleteRound(ctx context.Context, direction, round string) error {
	what := fmt.Sprintf("delete round %q/%q", direction, round)
	if err := checkKey(direction, round); err != nil {
		return fmt.Errorf("cosmos: %s: %w", what, err)
	}
	pk := azcosmos.NewPartitionKeyString(direction)
	var ids []string
	err := queryEach(ctx, s.rounds, pk, s.pageSize, "SELECT c.id "+roundQuery, roundParams(direction, round),
		func(item []byte) error {
			var d struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(item, &d); err != nil {
				return fmt.Errorf("decode: %w", err)
			}
			ids = append(ids, d.ID)
			return nil
		})
	if err != nil {
		return mapError(what, err)
	}
	for _, id := range ids {
		if _, err := s.rounds.DeleteItem(ctx, pk, id, nil); err != nil && statusCode(err) != http.StatusNotFound {
			return mapError(what, err)
		}
	}
	return nil
}
