package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/store"
)

func groupPairKind(s store.Store) casKind[galsync.GroupPair] {
	return casKind[galsync.GroupPair]{
		get: func(ctx context.Context, id string) (galsync.GroupPair, error) {
			return s.GetGroupPair(ctx, linkDirection, galsync.GroupPairKey(galsync.GroupMirror, id))
		},
		put: s.PutGroupPair,
		sample: func(id string, n int) galsync.GroupPair {
			return groupPairSample(linkDirection, galsync.GroupMirror, id, n)
		},
		etag: func(p galsync.GroupPair) string { return p.ETag },
		setETag: func(p galsync.GroupPair, e string) galsync.GroupPair {
			p.ETag = e
			return p
		},
	}
}

func groupPairSample(direction, role, id string, n int) galsync.GroupPair {
	return galsync.GroupPair{
		Direction: direction, Role: role, SourceGroupID: id, SourceName: fmt.Sprintf("Group %d", n),
		DeltaLink: fmt.Sprintf("https://graph.example/v1.0/groups/delta?$deltatoken=g%d", n),
		Members:   []string{"m1", fmt.Sprintf("m%d", n+1)}, Nested: []string{"g9"}, SourceDeletedAt: at(n),
		TargetGroupID: fmt.Sprintf("target-%d", n), TargetName: fmt.Sprintf("Group %d (source)", n), TargetMadeAt: at(n + 1),
		Applied: fmt.Sprintf("digest-%d", n), AppliedCount: n, Refused: fmt.Sprintf("refused %d", n),
		ClaimedAt: at(n + 2), LastRunAt: at(n + 3), CreatedAt: at(n + 4), UpdatedAt: at(n + 5),
	}
}

func testGroupPair(t *testing.T, s store.Store)     { testCAS(t, groupPairKind(s)) }
func testGroupPairRace(t *testing.T, s store.Store) { testRace(t, groupPairKind(s)) }

// testListGroupPairs: a direction's pairs of both roles come back ordered
// by key, with their ETags; another direction's pairs and the direction's
// own state do not.
func testListGroupPairs(t *testing.T, s store.Store) {
	ctx := t.Context()
	if got, err := s.ListGroupPairs(ctx, "empty"); err != nil || len(got) != 0 {
		t.Fatalf("ListGroupPairs of a direction without pairs: %v, %v", got, err)
	}
	want := map[string]string{}
	for i, p := range []galsync.GroupPair{
		groupPairSample("d1", galsync.GroupScope, "00000000-0000-0000-0000-0000000000b2", 1),
		groupPairSample("d1", galsync.GroupMirror, "00000000-0000-0000-0000-0000000000a1", 2),
		groupPairSample("d1", galsync.GroupMirror, "00000000-0000-0000-0000-0000000000b2", 3),
		groupPairSample("d2", galsync.GroupMirror, "00000000-0000-0000-0000-0000000000c3", 4),
	} {
		got, err := s.PutGroupPair(ctx, p)
		if err != nil {
			t.Fatalf("PutGroupPair %d: %v", i, err)
		}
		if p.Direction == "d1" {
			want[p.Key()] = got.ETag
		}
	}
	if _, err := s.PutDirectionState(ctx, galsync.DirectionState{Direction: "d1", PauseReason: "x"}); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListGroupPairs(ctx, "d1")
	if err != nil {
		t.Fatalf("ListGroupPairs: %v", err)
	}
	if len(list) != len(want) {
		t.Fatalf("ListGroupPairs returned %d pairs, want %d: %+v", len(list), len(want), list)
	}
	for i, p := range list {
		if want[p.Key()] == "" || p.ETag != want[p.Key()] {
			t.Errorf("listed %s etag %q, want %q", p.Key(), p.ETag, want[p.Key()])
		}
		if i > 0 && list[i-1].Key() >= p.Key() {
			t.Errorf("not ordered by key: %s before %s", list[i-1].Key(), p.Key())
		}
		if len(p.Members) != 2 || p.TargetGroupID == "" {
			t.Errorf("listed %s lost fields: %+v", p.Key(), p)
		}
	}
	if got, err := s.GetGroupPair(ctx, "d1", galsync.GroupPairKey(galsync.GroupScope, "00000000-0000-0000-0000-0000000000B2")); err != nil || got.Role != galsync.GroupScope {
		t.Errorf("GetGroupPair by an upper-case id: %+v, %v", got, err)
	}
}

// testLargeGroupPair: a pair holding galsync.MaxGroupMembers members (the
// most galsync keeps, sized to fit a Cosmos DB item) is stored whole.
func testLargeGroupPair(t *testing.T, s store.Store) {
	p := groupPairSample("big", galsync.GroupMirror, "00000000-0000-0000-0000-0000000000d4", 1)
	p.Members = make([]string, galsync.MaxGroupMembers)
	for i := range p.Members {
		p.Members[i] = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
	}
	if _, err := s.PutGroupPair(t.Context(), p); err != nil {
		t.Fatalf("PutGroupPair of %d members: %v", len(p.Members), err)
	}
	got, err := s.GetGroupPair(t.Context(), "big", p.Key())
	if err != nil || len(got.Members) != galsync.MaxGroupMembers || got.Members[galsync.MaxGroupMembers-1] != p.Members[galsync.MaxGroupMembers-1] {
		t.Fatalf("read back %d members, %v", len(got.Members), err)
	}
}
