package cosmos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/galsync/galsync/shared/galsync"
)

// Held pages live in the state container beside their direction's state,
// in its partition, with id "held:<first sequence number>" (a direction
// state's id is the direction name, which holds no colon) and kind "held"
// for the queries. No container of their own, so the deployed containers
// stay as they are.
type heldDoc struct {
	ID        string           `json:"id"`
	Direction string           `json:"direction"`
	Kind      string           `json:"kind"`
	Value     galsync.HeldPage `json:"value"`
}

const heldKind = "held"

func heldID(firstSeq int64) string { return heldKind + ":" + strconv.FormatInt(firstSeq, 10) }

// SaveHeld creates or replaces a held page.
func (s *Store) SaveHeld(ctx context.Context, p galsync.HeldPage) error {
	what := fmt.Sprintf("save held page %q/%d", p.Direction, p.FirstSeq)
	if p.Direction == "" {
		return fmt.Errorf("cosmos: %s: %w", what, galsync.Permanent(errors.New("empty direction")))
	}
	body, err := json.Marshal(heldDoc{ID: heldID(p.FirstSeq), Direction: p.Direction, Kind: heldKind, Value: p})
	if err != nil {
		return fmt.Errorf("cosmos: %s: encode: %w", what, err)
	}
	if _, err := s.states.UpsertItem(ctx, azcosmos.NewPartitionKeyString(p.Direction), body, nil); err != nil {
		return mapError(what, err)
	}
	return nil
}

// heldQueryPage is how many held pages (up to a few hundred KB each) one
// query answer carries at most: a walk stopped early (approving takes one
// page at a time) reads little more than it uses.
const heldQueryPage = 4

// ListHeld calls fn for every held page of a direction: one partition,
// a few pages per query answer.
func (s *Store) ListHeld(ctx context.Context, direction string, fn func(galsync.HeldPage) error) error {
	if direction == "" {
		return fmt.Errorf("cosmos: list held: %w", galsync.Permanent(errors.New("empty direction")))
	}
	var fnErr error
	err := queryEach(ctx, s.states, azcosmos.NewPartitionKeyString(direction), min(s.pageSize, heldQueryPage),
		"SELECT * FROM c WHERE c.direction = @direction AND c.kind = @kind",
		[]azcosmos.QueryParameter{{Name: "@direction", Value: direction}, {Name: "@kind", Value: heldKind}},
		func(item []byte) error {
			var d heldDoc
			if err := json.Unmarshal(item, &d); err != nil {
				return fmt.Errorf("decode: %w", err)
			}
			if fnErr = fn(d.Value); fnErr != nil {
				return errStop
			}
			return nil
		})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return mapError(fmt.Sprintf("list held of %q", direction), err)
	}
	return nil
}

// DeleteHeld deletes a held page; one already gone is no error.
func (s *Store) DeleteHeld(ctx context.Context, direction string, firstSeq int64) error {
	if direction == "" {
		return fmt.Errorf("cosmos: delete held: %w", galsync.Permanent(errors.New("empty direction")))
	}
	_, err := s.states.DeleteItem(ctx, azcosmos.NewPartitionKeyString(direction), heldID(firstSeq), nil)
	if err != nil && statusCode(err) != http.StatusNotFound {
		return mapError(fmt.Sprintf("delete held page %q/%d", direction, firstSeq), err)
	}
	return nil
}
