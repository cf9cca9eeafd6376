// Package store defines the storage port galsync's backends implement: the
// embedded store (shared/embedded) and Azure Cosmos DB. Every record carries
// an ETag; a write with a stale ETag fails with galsync.ErrConflict, and a
// write with an empty ETag creates the record or fails with ErrConflict if it
// exists. Reads of missing records fail with galsync.ErrNotFound. The
// conformance suite in store/storetest holds every backend to this contract.
package store

import (
	"context"

	"github.com/galsync/galsync/shared/galsync"
)

// Store is the whole port. Consumers declare the subset they call.
type Store interface {
	GetCursor(ctx context.Context, direction string) (galsync.Cursor, error)
	PutCursor(ctx context.Context, c galsync.Cursor) (galsync.Cursor, error)

	GetLink(ctx context.Context, direction, sourceUserID string) (galsync.Link, error)
	PutLink(ctx context.Context, l galsync.Link) (galsync.Link, error)
	// ListLinks calls fn for every link of a direction, in no set order; an
	// error from fn stops the walk and is returned.
	ListLinks(ctx context.Context, direction string, fn func(galsync.Link) error) error

	// SaveRoundPage creates or replaces the page (direction, round, page).
	SaveRoundPage(ctx context.Context, p galsync.RoundPage) error
	// RoundPages returns a round's pages ordered by page number.
	RoundPages(ctx context.Context, direction, round string) ([]galsync.RoundPage, error)
	DeleteRound(ctx context.Context, direction, round string) error

	GetDirectionState(ctx context.Context, direction string) (galsync.DirectionState, error)
	PutDirectionState(ctx context.Context, s galsync.DirectionState) (galsync.DirectionState, error)

	// Held deprovisions are the work items a direction paused by its
	// accidental-deletion threshold holds for approval, in pages of their
	// own, so a pause of any size fits the store.
	//
	// SaveHeld creates or replaces the page (direction, first sequence
	// number).
	SaveHeld(ctx context.Context, p galsync.HeldPage) error
	// ListHeld calls fn for every held page of a direction, in no set
	// order; an error from fn stops the walk and is returned. fn may
	// delete pages meanwhile (a walk may then miss others: walk again to
	// see what is left).
	ListHeld(ctx context.Context, direction string, fn func(galsync.HeldPage) error) error
	// DeleteHeld deletes a held page; one that is gone is no error.
	DeleteHeld(ctx context.Context, direction string, firstSeq int64) error

	// GetSubscription reads the subscription record of a source tenant
	// (by topology name); ListSubscriptions returns every one.
	GetSubscription(ctx context.Context, tenant string) (galsync.Subscription, error)
	PutSubscription(ctx context.Context, s galsync.Subscription) (galsync.Subscription, error)
	ListSubscriptions(ctx context.Context) ([]galsync.Subscription, error)

	// GetGroupPair reads a direction's pair by its key (GroupPair.Key);
	// ListGroupPairs returns every pair of a direction.
	GetGroupPair(ctx context.Context, direction, key string) (galsync.GroupPair, error)
	PutGroupPair(ctx context.Context, p galsync.GroupPair) (galsync.GroupPair, error)
	ListGroupPairs(ctx context.Context, direction string) ([]galsync.GroupPair, error)

	AppendLog(ctx context.Context, entries ...galsync.LogEntry) error
	// QueryLog returns matching entries oldest first, at most q.Limit (all
	// when 0).
	QueryLog(ctx context.Context, q galsync.LogQuery) ([]galsync.LogEntry, error)
}
