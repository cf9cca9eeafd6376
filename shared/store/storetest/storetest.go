// Package storetest is the conformance suite of the store port: every
// backend (the embedded store, Cosmos DB) runs Run, so ETags, not-found and
// conflict errors, listing and log queries behave alike everywhere.
package storetest

import (
	"testing"

	"github.com/galsync/galsync/shared/store"
)

// NewStore returns a fresh, empty backend. It should register its own
// cleanup.
type NewStore func(t *testing.T) store.Store

// Run runs every conformance subtest, in parallel, each on its own backend.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Cursor", testCursor},
		{"CursorRace", testCursorRace},
		{"Link", testLink},
		{"LinkRace", testLinkRace},
		{"ListLinks", testListLinks},
		{"ListLinksStops", testListLinksStops},
		{"RoundPages", testRoundPages},
		{"DirectionState", testDirectionState},
		{"DirectionStateRace", testDirectionStateRace},
		{"Subscription", testSubscription},
		{"SubscriptionRace", testSubscriptionRace},
		{"ListSubscriptions", testListSubscriptions},
		{"Log", testLog},
		{"CosmosLimits", testLimits},
		{"Held", testHeld},
		{"HeldWhileDeleting", testHeldWhileDeleting},
		{"HeldLimits", testHeldLimits},
		{"GroupPair", testGroupPair},
		{"GroupPairRace", testGroupPairRace},
		{"ListGroupPairs", testListGroupPairs},
		{"LargeGroupPair", testLargeGroupPair},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}
