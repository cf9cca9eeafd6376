package galsync_test

import (
	"testing"

	"github.com/galsync/galsync/shared/galsync"
)

func TestDecodePullRequest(t *testing.T) {
	for _, tc := range []struct {
		body string
		ok   bool
	}{
		{`{"direction":"a-to-b","trigger":"timer"}`, true},
		{`{"direction":"a-to-b","mode":"full"}`, true},
		{`{"direction":"a-to-b","mode":"sweep","sweep":{"round":"r","link":"l","page":2}}`, true},
		{`{"direction":"a-to-b","mode":"sweep","sweep":{"round":"r","page":5}}`, true}, // every page read
		{`{"direction":"a-to-b","mode":"sweep","sweep":{"link":"l","page":2}}`, false},
		{`{"mode":"lifecycle","lifecycle":{"tenant":"contoso","event":"reauthorizationRequired","subscription":"s1"}}`, true},
		{`{"trigger":"timer"}`, false},
		{`{"direction":"a-to-b","mode":"sideways"}`, false},
		{`{"direction":"a-to-b","sweep":{"round":"r","link":"l"}}`, false},
		{`{"direction":"a-to-b","mode":"sweep","sweep":{"round":"r"}}`, false},
		{`{"mode":"lifecycle"}`, false},
		{`{"mode":"lifecycle","lifecycle":{"tenant":"contoso"}}`, false},
		{`{"direction":"a-to-b","lifecycle":{"tenant":"contoso","event":"missed"}}`, false},
		{``, false},
		{`{`, false},
	} {
		_, err := galsync.DecodePullRequest([]byte(tc.body))
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok=%t", tc.body, err, tc.ok)
		}
		if err != nil && !galsync.IsPermanent(err) {
			t.Errorf("%s: %v is not permanent", tc.body, err)
		}
	}
}

// A sweep's item names its round in its message id: the next round's
// repair of the same guest at the same sequence number is a message of its
// own, a copy within one round is not.
func TestWorkItemMessageIDNamesTheSweepRound(t *testing.T) {
	item := galsync.WorkItem{Direction: "a-to-b", SourceUserID: "u1", Seq: 7, Kind: galsync.WorkReconcile}
	if got := item.MessageID(); got != "a-to-b:u1:7:reconcile" {
		t.Errorf("item of no round: %q", got)
	}
	first, second := item, item
	first.Round, second.Round = "sweep-20261203T090000-0a1b2c3d", "sweep-20261204T090000-4e5f6a7b"
	if got := first.MessageID(); got != "a-to-b:u1:7:reconcile/sweep-20261203T090000-0a1b2c3d" {
		t.Errorf("item of a round: %q", got)
	}
	again := first
	if first.MessageID() == second.MessageID() || first.MessageID() != again.MessageID() {
		t.Errorf("ids %q, %q, %q: want one per round", first.MessageID(), second.MessageID(), again.MessageID())
	}
}
