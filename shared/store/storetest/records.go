package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/store"
)

// base is the time samples start from: a zone other than UTC and Local and
// nanoseconds, which a store must keep (Equal, not ==).
var base = time.Date(2026, 11, 3, 10, 4, 5, 123456789, time.FixedZone("UTC+5", 5*3600))

func at(n int) time.Time { return base.Add(time.Duration(n) * time.Hour) }

// snapshot holds every value type a Snapshot may hold.
func snapshot(n int) galsync.Snapshot {
	return galsync.Snapshot{
		"displayName":    fmt.Sprintf("User %d", n),
		"accountEnabled": n%2 == 0,
		"otherMails":     []string{fmt.Sprintf("u%d@a.example", n), "x@b.example"},
		"jobTitle":       nil,
	}
}

const linkDirection = "a-to-b"

func cursorKind(s store.Store) casKind[galsync.Cursor] {
	return casKind[galsync.Cursor]{
		get: s.GetCursor,
		put: s.PutCursor,
		sample: func(id string, n int) galsync.Cursor {
			return galsync.Cursor{
				Direction: id, Link: fmt.Sprintf("https://graph.example/v1.0/users/delta?$deltatoken=t%d", n),
				Full: n%2 == 1, Round: fmt.Sprintf("round-%d", n), Page: n, NextSeq: int64(1000 + n),
				DeltaObtainedAt: at(n), RoundStartedAt: at(n + 1), LastResyncAt: at(n + 2),
				ResyncReason: fmt.Sprintf("reason %d", n), UpdatedAt: at(n + 3),
			}
		},
		etag:    func(c galsync.Cursor) string { return c.ETag },
		setETag: func(c galsync.Cursor, e string) galsync.Cursor { c.ETag = e; return c },
	}
}

func linkKind(s store.Store) casKind[galsync.Link] {
	return casKind[galsync.Link]{
		get: func(ctx context.Context, id string) (galsync.Link, error) { return s.GetLink(ctx, linkDirection, id) },
		put: s.PutLink,
		sample: func(id string, n int) galsync.Link {
			return galsync.Link{
				Direction: linkDirection, SourceUserID: id, TargetUserID: fmt.Sprintf("target-%d", n),
				State: galsync.LinkActive, SourceSeq: int64(n), Source: snapshot(n), ReconciledSeq: int64(n), RetiredSeq: int64(n - 1),
				ReconciledConfig: fmt.Sprintf("config-%d", n), ReconciledAt: at(n + 3), InvitedAt: at(n + 4),
				Refused:   map[string]galsync.Refusal{"jobTitle": {Fingerprint: "fp", Message: "refused", At: at(n + 5).UTC()}}, // a time in a map comes back in UTC
				ClaimedAt: at(n), ClaimSeq: int64(n + 1), CreatedAt: at(n + 1), UpdatedAt: at(n + 2),
			}
		},
		etag:    func(l galsync.Link) string { return l.ETag },
		setETag: func(l galsync.Link, e string) galsync.Link { l.ETag = e; return l },
	}
}

func stateKind(s store.Store) casKind[galsync.DirectionState] {
	return casKind[galsync.DirectionState]{
		get: s.GetDirectionState,
		put: s.PutDirectionState,
		sample: func(id string, n int) galsync.DirectionState {
			return galsync.DirectionState{
				Direction: id, Paused: n%2 == 1, PausedAt: at(n), PauseReason: fmt.Sprintf("%d deprovisions", n),
				HeldCount: n,
				// A pause saved before held items had records of their
				// own: still read back whole.
				LegacyHeld: []galsync.WorkItem{
					{Direction: id, SourceUserID: "s1", Seq: int64(n), Kind: galsync.WorkDeprovision, Reason: "deleted"},
					{Direction: id, SourceUserID: "s2", Seq: int64(n + 1), Kind: galsync.WorkUpsert,
						Source: snapshot(n)},
				},
				UpdatedAt: at(n + 1),
			}
		},
		etag:    func(s galsync.DirectionState) string { return s.ETag },
		setETag: func(s galsync.DirectionState, e string) galsync.DirectionState { s.ETag = e; return s },
	}
}

func subscriptionKind(s store.Store) casKind[galsync.Subscription] {
	return casKind[galsync.Subscription]{
		get: s.GetSubscription,
		put: s.PutSubscription,
		sample: func(id string, n int) galsync.Subscription {
			return galsync.Subscription{
				Tenant: id, TenantID: "00000000-0000-0000-0000-00000000000" + fmt.Sprint(n%10), ID: fmt.Sprintf("sub-%d", n),
				Resource: "/users", ChangeType: "updated,deleted",
				NotificationURL: "https://galsync.example/api/graph-notify", LifecycleURL: "https://galsync.example/api/graph-lifecycle",
				ClientState: fmt.Sprintf("state-%d", n), ExpiresAt: at(n + 2), CreatedAt: at(n), RenewedAt: at(n + 1), UpdatedAt: at(n + 1),
			}
		},
		etag:    func(s galsync.Subscription) string { return s.ETag },
		setETag: func(s galsync.Subscription, e string) galsync.Subscription { s.ETag = e; return s },
	}
}

func testSubscription(t *testing.T, s store.Store)     { testCAS(t, subscriptionKind(s)) }
func testSubscriptionRace(t *testing.T, s store.Store) { testRace(t, subscriptionKind(s)) }

// testListSubscriptions: every record written comes back, with its ETag.
func testListSubscriptions(t *testing.T, s store.Store) {
	ctx := context.Background()
	k := subscriptionKind(s)
	want := map[string]string{}
	for i, name := range []string{"contoso", "fabrikam", "gcch"} {
		got, err := s.PutSubscription(ctx, k.sample(name, i))
		if err != nil {
			t.Fatalf("PutSubscription(%s): %v", name, err)
		}
		want[name] = got.ETag
	}
	list, err := s.ListSubscriptions(ctx)
	if err != nil {
		t.Fatalf("ListSubscriptions: %v", err)
	}
	if len(list) != len(want) {
		t.Fatalf("ListSubscriptions returned %d records, want %d", len(list), len(want))
	}
	for _, sub := range list {
		if want[sub.Tenant] == "" || sub.ETag != want[sub.Tenant] {
			t.Errorf("listed %q etag %q, want etag %q", sub.Tenant, sub.ETag, want[sub.Tenant])
		}
		if sub.ClientState == "" || sub.Resource != "/users" {
			t.Errorf("listed %q lost fields: %+v", sub.Tenant, sub)
		}
	}
}

func testCursor(t *testing.T, s store.Store)             { testCAS(t, cursorKind(s)) }
func testCursorRace(t *testing.T, s store.Store)         { testRace(t, cursorKind(s)) }
func testLink(t *testing.T, s store.Store)               { testCAS(t, linkKind(s)) }
func testLinkRace(t *testing.T, s store.Store)           { testRace(t, linkKind(s)) }
func testDirectionState(t *testing.T, s store.Store)     { testCAS(t, stateKind(s)) }
func testDirectionStateRace(t *testing.T, s store.Store) { testRace(t, stateKind(s)) }
