package embedded_test

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/embedded"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

// TestReopenKeepsEverything closes the file with a message locked, one
// abandoned, one dead-lettered and a record of every kind, then reopens it:
// all of it is there, the locked message is available again with its
// delivery count, and ETags, sequence numbers and duplicate detection carry
// on.
func TestReopenKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "galsync.db")
	opts := embedded.Options{Queues: allQueues(queue.Options{LockDuration: time.Minute, MaxDeliveryCount: 5, DuplicateDetectionWindow: time.Hour})}
	db, err := embedded.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	inv := galsync.QueueInvites
	must(t, db.Send(ctx, inv, msg("a"), msg("b"), msg("c")))
	a1 := receiveOne(t, db, inv)
	must(t, db.Abandon(ctx, a1, map[string]string{queue.PropLastError: "throttled"}))
	a2 := receiveOne(t, db, inv) // delivery 2, still locked at close
	b := receiveOne(t, db, inv)
	must(t, db.DeadLetter(ctx, b, "BadInput", "no mail"))

	cursor, err := db.PutCursor(ctx, galsync.Cursor{Direction: "a-to-b", Link: "delta-1", NextSeq: 42})
	must(t, err)
	link, err := db.PutLink(ctx, galsync.Link{Direction: "a-to-b", SourceUserID: "u1", TargetUserID: "t1", State: galsync.LinkActive})
	must(t, err)
	state, err := db.PutDirectionState(ctx, galsync.DirectionState{Direction: "a-to-b", Paused: true})
	must(t, err)
	must(t, db.SaveRoundPage(ctx, galsync.RoundPage{Direction: "a-to-b", Round: "r1", Page: 3, Seen: []string{"u1"}}))
	must(t, db.AppendLog(ctx, galsync.LogEntry{Time: time.Now(), Direction: "a-to-b", SourceUserID: "u1", Action: galsync.ActionInvite}))
	must(t, db.Close())

	db = open(t, embedded.Options{Queues: opts.Queues}, path)
	got, err := db.Receive(ctx, inv, 10, 0)
	must(t, err)
	if ids := deliveryIDs(got); !slices.Equal(ids, []string{"a", "c"}) {
		t.Fatalf("after reopen received %v, want [a c]", ids)
	}
	if got[0].DeliveryCount != a2.DeliveryCount+1 || got[0].Properties[queue.PropLastError] != "throttled" {
		t.Errorf("a after reopen: delivery %d, last error %q; want %d, throttled", got[0].DeliveryCount, got[0].Properties[queue.PropLastError], a2.DeliveryCount+1)
	}
	if got[1].DeliveryCount != 1 {
		t.Errorf("c after reopen: delivery %d, want 1", got[1].DeliveryCount)
	}
	dl := receiveOne(t, db, queue.DeadLetterQueue(inv))
	if dl.ID != "b" || dl.DeadLetterReason != "BadInput" || dl.DeadLetterDescription != "no mail" {
		t.Errorf("dead letter after reopen: %q %q %q", dl.ID, dl.DeadLetterReason, dl.DeadLetterDescription)
	}

	must(t, db.Send(ctx, inv, msg("a"), msg("d"))) // a is still inside its window
	d := receiveOne(t, db, inv)
	if d.ID != "d" || d.SequenceNumber <= got[1].SequenceNumber {
		t.Errorf("send after reopen: got %q seq %d, want d with seq above %d", d.ID, d.SequenceNumber, got[1].SequenceNumber)
	}

	if c, err := db.GetCursor(ctx, "a-to-b"); err != nil || c.ETag != cursor.ETag || c.NextSeq != 42 {
		t.Errorf("cursor after reopen: %+v, %v", c, err)
	}
	if _, err := db.PutCursor(ctx, cursor); err != nil {
		t.Errorf("update cursor with the ETag from before the reopen: %v", err)
	}
	if l, err := db.GetLink(ctx, "a-to-b", "u1"); err != nil || l.ETag != link.ETag || l.TargetUserID != "t1" {
		t.Errorf("link after reopen: %+v, %v", l, err)
	}
	if s, err := db.GetDirectionState(ctx, "a-to-b"); err != nil || s.ETag != state.ETag || !s.Paused {
		t.Errorf("direction state after reopen: %+v, %v", s, err)
	}
	if ps, err := db.RoundPages(ctx, "a-to-b", "r1"); err != nil || len(ps) != 1 || ps[0].Page != 3 {
		t.Errorf("round pages after reopen: %+v, %v", ps, err)
	}
	if es, err := db.QueryLog(ctx, galsync.LogQuery{SourceUserID: "u1"}); err != nil || len(es) != 1 {
		t.Errorf("log after reopen: %d entries, %v", len(es), err)
	}
}
