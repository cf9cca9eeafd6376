package deadletter_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/clocktest"
	"github.com/galsync/galsync/shared/deadletter"
	"github.com/galsync/galsync/shared/embedded"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/shared/servicebus"
)

// Both backends satisfy the interfaces the package declares.
var (
	_ deadletter.ReplayQueue = (*embedded.DB)(nil)
	_ deadletter.ReplayQueue = (*servicebus.Client)(nil)
)

var allQueues = []string{galsync.QueuePulls, galsync.QueueInvites, galsync.QueueUpdates}

// backend is a queue under test: the port, plus DeadLetter to make dead
// letters with.
type backend interface {
	deadletter.ReplayQueue
	DeadLetter(ctx context.Context, d queue.Delivery, reason, description string) error
}

// openEmbedded opens an embedded queue whose clock, which stamps
// EnqueuedAt, is c.
func openEmbedded(t *testing.T, c *clocktest.Clock) *embedded.DB {
	t.Helper()
	o := queue.DefaultOptions()
	db, err := embedded.Open(filepath.Join(t.TempDir(), "galsync.db"), embedded.Options{
		Queues: map[string]queue.Options{galsync.QueuePulls: o, galsync.QueueInvites: o, galsync.QueueUpdates: o},
		Now:    c.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

func newClock() *clocktest.Clock { return clocktest.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) }

// workItem is a message as the pipeline makes it.
func workItem(dir, user string, seq int, props map[string]string) queue.Message {
	p := map[string]string{queue.PropDirection: dir, queue.PropSourceUser: user, queue.PropSeq: fmt.Sprint(seq)}
	maps.Copy(p, props)
	return queue.Message{
		ID:            fmt.Sprintf("%s:%s:%d:upsert", dir, user, seq),
		Body:          fmt.Appendf(nil, `{"direction":%q,"sourceUserId":%q,"seq":%d,"kind":"upsert","inviteAddress":"%s@source.example"}`, dir, user, seq, user),
		ContentType:   "application/json",
		Subject:       "upsert",
		CorrelationID: "corr-" + user,
		Properties:    p,
	}
}

// deadLetter sends msgs to q and dead-letters them with reason.
func deadLetter(t *testing.T, b backend, q, reason, description string, msgs ...queue.Message) {
	t.Helper()
	ctx := t.Context()
	if err := b.Send(ctx, q, msgs...); err != nil {
		t.Fatal(err)
	}
	for got := 0; got < len(msgs); {
		ds, err := b.Receive(ctx, q, len(msgs)-got, 5*time.Second)
		if err != nil || len(ds) == 0 {
			t.Fatalf("receive from %s: %d message(s), %v", q, len(ds), err)
		}
		for _, d := range ds {
			if err := b.DeadLetter(ctx, d, reason, description); err != nil {
				t.Fatal(err)
			}
		}
		got += len(ds)
	}
}

// drainQueue receives and completes everything in q and returns it.
func drainQueue(t *testing.T, b backend, q string) []queue.Delivery {
	t.Helper()
	var out []queue.Delivery
	for {
		ds, err := b.Receive(t.Context(), q, 100, 300*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			return out
		}
		for _, d := range ds {
			if err := b.Complete(t.Context(), d); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, ds...)
	}
}

func list(t *testing.T, b backend, o deadletter.Options) []deadletter.Letter {
	t.Helper()
	if o.Queues == nil {
		o.Queues = allQueues
	}
	ls, err := deadletter.List(t.Context(), b, o)
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

func ids(ls []deadletter.Letter) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.MessageID)
	}
	return out
}

func TestListFilters(t *testing.T) {
	c := newClock()
	b := openEmbedded(t, c)
	deadLetter(t, b, galsync.QueueInvites, queue.ReasonMaxDeliveryCount, "delivered 5 times; last error: graph: 503 serviceNotAvailable",
		workItem("a-to-b", "u1", 1, nil), workItem("a-to-b", "u2", 1, nil))
	c.Advance(2 * time.Hour)
	noProp := workItem("c-to-d", "u3", 1, nil)
	delete(noProp.Properties, queue.PropDirection) // found from the body
	deadLetter(t, b, galsync.QueueUpdates, "BadInput", "sourceUserId is missing", noProp)
	replayed := workItem("a-to-b", "u4", 2, map[string]string{queue.PropReplayCount: "1", queue.PropLastError: "invite worker: Conflict"})
	replayed.ID = deadletter.ReplayID(replayed.ID, 1)
	deadLetter(t, b, galsync.QueueUpdates, queue.ReasonMaxDeliveryCount, "delivered 5 times", replayed)
	c.Advance(time.Hour)

	for _, tc := range []struct {
		name string
		o    deadletter.Options
		want []string
	}{
		{"everything", deadletter.Options{}, []string{"a-to-b:u1:1:upsert", "a-to-b:u2:1:upsert", "c-to-d:u3:1:upsert", "a-to-b:u4:2:upsert/replay-1"}},
		{"queue", deadletter.Options{Filter: deadletter.Filter{Queues: []string{galsync.QueueUpdates}}}, []string{"c-to-d:u3:1:upsert", "a-to-b:u4:2:upsert/replay-1"}},
		{"direction by property", deadletter.Options{Filter: deadletter.Filter{Direction: "a-to-b"}}, []string{"a-to-b:u1:1:upsert", "a-to-b:u2:1:upsert", "a-to-b:u4:2:upsert/replay-1"}},
		{"direction by body", deadletter.Options{Filter: deadletter.Filter{Direction: "c-to-d"}}, []string{"c-to-d:u3:1:upsert"}},
		{"reason", deadletter.Options{Filter: deadletter.Filter{Reason: "badinput"}}, []string{"c-to-d:u3:1:upsert"}},
		{"reason in description", deadletter.Options{Filter: deadletter.Filter{Reason: "serviceNotAvailable"}}, []string{"a-to-b:u1:1:upsert", "a-to-b:u2:1:upsert"}},
		{"reason in last error", deadletter.Options{Filter: deadletter.Filter{Reason: "conflict"}}, []string{"a-to-b:u4:2:upsert/replay-1"}},
		{"older than", deadletter.Options{Filter: deadletter.Filter{OlderThan: 2 * time.Hour}}, []string{"a-to-b:u1:1:upsert", "a-to-b:u2:1:upsert"}},
		{"newer than", deadletter.Options{Filter: deadletter.Filter{NewerThan: 2 * time.Hour}}, []string{"c-to-d:u3:1:upsert", "a-to-b:u4:2:upsert/replay-1"}},
		{"message id", deadletter.Options{Filter: deadletter.Filter{MessageID: "a-to-b:u2:1:upsert"}}, []string{"a-to-b:u2:1:upsert"}},
		{"original id of a copy", deadletter.Options{Filter: deadletter.Filter{MessageID: "a-to-b:u4:2:upsert"}}, []string{"a-to-b:u4:2:upsert/replay-1"}},
		{"all at once", deadletter.Options{Filter: deadletter.Filter{Direction: "a-to-b", Reason: "maxdelivery", NewerThan: 2 * time.Hour}}, []string{"a-to-b:u4:2:upsert/replay-1"}},
		{"limit", deadletter.Options{Limit: 3}, []string{"a-to-b:u1:1:upsert", "a-to-b:u2:1:upsert", "c-to-d:u3:1:upsert"}},
		{"nothing", deadletter.Options{Filter: deadletter.Filter{Direction: "x-to-y"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Now = c.Now
			if got := ids(list(t, b, tc.o)); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}

	l := list(t, b, deadletter.Options{Filter: deadletter.Filter{MessageID: "a-to-b:u4:2:upsert"}})[0]
	if l.Queue != galsync.QueueUpdates || l.Direction != "a-to-b" || l.SourceUser != "u4" || l.ReplayCount != 1 ||
		l.Reason != queue.ReasonMaxDeliveryCount || l.LastError != "invite worker: Conflict" || l.Subject != "upsert" ||
		l.CorrelationID != "corr-u4" || l.DeliveryCount != 1 || !l.EnqueuedAt.Equal(c.Now().Add(-time.Hour)) {
		t.Errorf("letter: %+v", l)
	}
}

func TestFilterValidate(t *testing.T) {
	for _, f := range []deadletter.Filter{
		{},
		{Queues: allQueues, OlderThan: -time.Second},
		{Queues: allQueues, OlderThan: time.Hour, NewerThan: time.Minute},
	} {
		if err := f.Validate(); err == nil {
			t.Errorf("%+v: no error", f)
		}
	}
}

// recorder counts the calls that change a queue.
type recorder struct {
	backend
	changes atomic.Int64
}

func (r *recorder) Send(ctx context.Context, q string, msgs ...queue.Message) error {
	r.changes.Add(1)
	return r.backend.Send(ctx, q, msgs...)
}

func (r *recorder) Receive(ctx context.Context, q string, n int, wait time.Duration) ([]queue.Delivery, error) {
	r.changes.Add(1) // a receive counts a delivery
	return r.backend.Receive(ctx, q, n, wait)
}

func (r *recorder) Complete(ctx context.Context, d queue.Delivery) error {
	r.changes.Add(1)
	return r.backend.Complete(ctx, d)
}

func (r *recorder) Abandon(ctx context.Context, d queue.Delivery, p map[string]string) error {
	r.changes.Add(1)
	return r.backend.Abandon(ctx, d, p)
}

func TestDryRunChangesNothing(t *testing.T) {
	c := newClock()
	b := openEmbedded(t, c)
	deadLetter(t, b, galsync.QueueInvites, "BadInput", "bad", workItem("a-to-b", "u1", 1, nil), workItem("a-to-b", "u2", 1, nil))
	before := list(t, b, deadletter.Options{})
	r := &recorder{backend: b}
	o := deadletter.Options{Filter: deadletter.Filter{Queues: allQueues}, Now: c.Now}
	rep, err := deadletter.Replay(t.Context(), r, deadletter.ReplayOptions{Options: o, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.DryRun || rep.Count(deadletter.WouldReplay) != 2 || rep.Items[0].ReplayID != "a-to-b:u1:1:upsert/replay-1" {
		t.Errorf("dry-run replay report: %+v", rep)
	}
	prep, err := deadletter.Purge(t.Context(), r, deadletter.PurgeOptions{Options: o, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if prep.Count(deadletter.WouldPurge) != 2 {
		t.Errorf("dry-run purge report: %+v", prep)
	}
	if n := r.changes.Load(); n != 0 {
		t.Errorf("dry runs made %d receive/send/settle call(s), want none", n)
	}
	if after := list(t, b, deadletter.Options{}); !slices.EqualFunc(before, after, sameLetter) {
		t.Errorf("dead letters changed:\nbefore %+v\nafter  %+v", before, after)
	}
	if got := drainQueue(t, b, galsync.QueueInvites); len(got) != 0 {
		t.Errorf("dry run sent %d message(s)", len(got))
	}
}

func sameLetter(a, b deadletter.Letter) bool {
	return a.MessageID == b.MessageID && a.SequenceNumber == b.SequenceNumber && a.DeliveryCount == b.DeliveryCount &&
		a.ReplayCount == b.ReplayCount && maps.Equal(a.Properties, b.Properties) && bytes.Equal(a.Body, b.Body)
}

// The replay scenarios run on both backends.
func TestReplay(t *testing.T) {
	t.Run("embedded", func(t *testing.T) { testReplay(t, openEmbedded(t, newClock())) })
	t.Run("servicebus", func(t *testing.T) { testReplay(t, openServiceBus(t)) })
}

func testReplay(t *testing.T, b backend) {
	ctx := t.Context()
	keep := workItem("a-to-b", "u1", 1, map[string]string{queue.PropLastError: "graph: 503"})
	other := workItem("c-to-d", "u2", 1, nil)
	deadLetter(t, b, galsync.QueueInvites, queue.ReasonMaxDeliveryCount, "delivered 5 times", keep, other)

	var progress []deadletter.Progress
	o := deadletter.ReplayOptions{Options: deadletter.Options{Filter: deadletter.Filter{Queues: allQueues, Direction: "a-to-b"},
		Progress: func(p deadletter.Progress) { progress = append(progress, p) }}}
	rep, err := deadletter.Replay(ctx, b, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Items) != 1 || rep.Items[0].Outcome != deadletter.Replayed || rep.Items[0].ReplayID != keep.ID+"/replay-1" {
		t.Fatalf("report: %+v", rep)
	}
	if last := progress[len(progress)-1]; last.Op != deadletter.OpReplay || last.Done != 1 || last.Total != 1 {
		t.Errorf("last progress %+v, want replay 1 of 1", last)
	}
	got, err := b.Receive(ctx, galsync.QueueInvites, 10, 5*time.Second)
	if err != nil || len(got) != 1 {
		t.Fatalf("main queue gave %d message(s) (%v), want the one copy", len(got), err)
	}
	copy1 := got[0]
	wantProps := maps.Clone(keep.Properties)
	wantProps[queue.PropReplayCount] = "1"
	wantProps[queue.PropOriginalID] = keep.ID
	if copy1.ID != keep.ID+"/replay-1" || !bytes.Equal(copy1.Body, keep.Body) || copy1.ContentType != keep.ContentType ||
		copy1.Subject != keep.Subject || copy1.CorrelationID != keep.CorrelationID || !maps.Equal(copy1.Properties, wantProps) {
		t.Errorf("copy %+v\nwant the original %+v with replay count 1 and id %s/replay-1", copy1.Message, keep, keep.ID)
	}
	// The letter not selected is still there, and not left locked.
	if left := list(t, b, deadletter.Options{}); len(left) != 1 || left[0].MessageID != other.ID {
		t.Fatalf("left in the dead-letter queue: %q, want %q", ids(left), other.ID)
	}
	ds, err := b.Receive(ctx, queue.DeadLetterQueue(galsync.QueueInvites), 1, 5*time.Second)
	if err != nil || len(ds) != 1 {
		t.Fatalf("the letter left behind is not receivable: %d, %v", len(ds), err)
	}
	if err := b.Abandon(ctx, ds[0], nil); err != nil {
		t.Fatal(err)
	}

	// The copy fails too, and is replayed again: count 2, id from the original.
	if err := b.DeadLetter(ctx, copy1, queue.ReasonMaxDeliveryCount, "again"); err != nil {
		t.Fatal(err)
	}
	if _, err := deadletter.Replay(ctx, b, o); err != nil {
		t.Fatal(err)
	}
	got = drainQueue(t, b, galsync.QueueInvites)
	if len(got) != 1 || got[0].ID != keep.ID+"/replay-2" || got[0].Properties[queue.PropReplayCount] != "2" {
		t.Fatalf("second replay sent %+v, want %s/replay-2 with replay count 2", got, keep.ID)
	}

	// Replaying again finds nothing more.
	rep, err = deadletter.Replay(ctx, b, o)
	if err != nil || len(rep.Items) != 0 {
		t.Fatalf("replay of nothing: %+v, %v", rep, err)
	}
}

func TestReplayMaximum(t *testing.T) {
	b := openEmbedded(t, newClock())
	ctx := t.Context()
	tired := workItem("a-to-b", "u1", 1, map[string]string{queue.PropReplayCount: "5"})
	tired.ID = deadletter.ReplayID(tired.ID, 5)
	fresh := workItem("a-to-b", "u2", 1, nil)
	deadLetter(t, b, galsync.QueueUpdates, queue.ReasonMaxDeliveryCount, "", tired, fresh)
	o := deadletter.ReplayOptions{Options: deadletter.Options{Filter: deadletter.Filter{Queues: allQueues}}}

	rep, err := deadletter.Replay(ctx, b, o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Count(deadletter.Refused) != 1 || rep.Count(deadletter.Replayed) != 1 || rep.Items[0].Outcome != deadletter.Refused {
		t.Fatalf("report %+v: want the five-times-replayed message refused, the other replayed", rep)
	}
	if got := drainQueue(t, b, galsync.QueueUpdates); len(got) != 1 || got[0].ID != fresh.ID+"/replay-1" {
		t.Fatalf("sent %d message(s), want the fresh one only", len(got))
	}
	if left := list(t, b, deadletter.Options{}); len(left) != 1 || left[0].MessageID != tired.ID {
		t.Fatalf("left %q, want the refused one", ids(left))
	}

	o.MaxReplays = 6 // a higher maximum lets it through
	o.DryRun = true
	if rep, err := deadletter.Replay(ctx, b, o); err != nil || rep.Count(deadletter.WouldReplay) != 1 {
		t.Fatalf("with max 6: %+v, %v", rep, err)
	}
	o.MaxReplays, o.DryRun, o.Force = 0, false, true
	if rep, err = deadletter.Replay(ctx, b, o); err != nil || rep.Count(deadletter.Replayed) != 1 {
		t.Fatalf("forced: %+v, %v", rep, err)
	}
	got := drainQueue(t, b, galsync.QueueUpdates)
	if len(got) != 1 || got[0].ID != "a-to-b:u1:1:upsert/replay-6" || got[0].Properties[queue.PropReplayCount] != "6" {
		t.Fatalf("forced replay sent %+v", got)
	}
}

// failingComplete fails every Complete: a crash between sending the copy
// and removing the dead letter.
type failingComplete struct{ backend }

func (failingComplete) Complete(context.Context, queue.Delivery) error {
	return errors.New("connection lost")
}

func TestReplayInterruptedBeforeComplete(t *testing.T) {
	t.Run("embedded", func(t *testing.T) { testReplayInterrupted(t, openEmbedded(t, newClock())) })
	t.Run("servicebus", func(t *testing.T) { testReplayInterrupted(t, openServiceBus(t)) })
}

func testReplayInterrupted(t *testing.T, b backend) {
	ctx := t.Context()
	deadLetter(t, b, galsync.QueueInvites, queue.ReasonMaxDeliveryCount, "", workItem("a-to-b", "u1", 1, nil))
	o := deadletter.ReplayOptions{Options: deadletter.Options{Filter: deadletter.Filter{Queues: allQueues}}}
	rep, err := deadletter.Replay(ctx, failingComplete{b}, o)
	if err == nil || rep.Items[0].Outcome != deadletter.Pending {
		t.Fatalf("replay with a failing complete: %+v, %v; want an error and the item pending", rep, err)
	}
	if left := list(t, b, deadletter.Options{}); len(left) != 1 {
		t.Fatalf("the dead letter is gone although it was not completed: %q", ids(left))
	}
	// The rerun sends the copy under the same id: duplicate detection
	// drops it, and the queue holds one copy.
	if rep, err = deadletter.Replay(ctx, b, o); err != nil || rep.Count(deadletter.Replayed) != 1 {
		t.Fatalf("rerun: %+v, %v", rep, err)
	}
	if got := drainQueue(t, b, galsync.QueueInvites); len(got) != 1 || got[0].ID != "a-to-b:u1:1:upsert/replay-1" {
		t.Fatalf("main queue after the rerun holds %d message(s), want one copy", len(got))
	}
	if left := list(t, b, deadletter.Options{}); len(left) != 0 {
		t.Fatalf("left %q", ids(left))
	}
}

func TestPurge(t *testing.T) {
	c := newClock()
	b := openEmbedded(t, c)
	deadLetter(t, b, galsync.QueueInvites, "BadInput", "", workItem("a-to-b", "u1", 1, nil), workItem("a-to-b", "u2", 1, nil))
	deadLetter(t, b, galsync.QueuePulls, "BadInput", "", workItem("c-to-d", "u3", 1, nil))
	o := deadletter.PurgeOptions{Options: deadletter.Options{Filter: deadletter.Filter{Queues: allQueues, Direction: "a-to-b"}, Limit: 1}}
	rep, err := deadletter.Purge(t.Context(), b, o)
	if err != nil || len(rep.Items) != 1 || rep.Items[0].Outcome != deadletter.Purged || rep.Items[0].MessageID != "a-to-b:u1:1:upsert" {
		t.Fatalf("purge with limit 1: %+v, %v", rep, err)
	}
	o.Limit = 0
	if rep, err = deadletter.Purge(t.Context(), b, o); err != nil || rep.Count(deadletter.Purged) != 1 {
		t.Fatalf("purge: %+v, %v", rep, err)
	}
	if left := list(t, b, deadletter.Options{}); len(left) != 1 || left[0].MessageID != "c-to-d:u3:1:upsert" {
		t.Fatalf("left %q, want the other direction's letter", ids(left))
	}
	for _, q := range allQueues {
		if got := drainQueue(t, b, q); len(got) != 0 {
			t.Errorf("purge sent %d message(s) to %s", len(got), q)
		}
	}
}

// lockedElsewhere: a selected dead letter that another operator holds is
// reported missing, not waited for.
func TestReplayReportsLockedLettersMissing(t *testing.T) {
	b := openEmbedded(t, newClock())
	ctx := t.Context()
	deadLetter(t, b, galsync.QueueInvites, "BadInput", "", workItem("a-to-b", "u1", 1, nil), workItem("a-to-b", "u2", 1, nil))
	ds, err := b.Receive(ctx, queue.DeadLetterQueue(galsync.QueueInvites), 1, time.Second)
	if err != nil || len(ds) != 1 {
		t.Fatal(len(ds), err)
	}
	rep, err := deadletter.Replay(ctx, b, deadletter.ReplayOptions{Options: deadletter.Options{Filter: deadletter.Filter{Queues: allQueues}}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Count(deadletter.Missing) != 1 || rep.Count(deadletter.Replayed) != 1 || rep.Items[0].Outcome != deadletter.Missing {
		t.Fatalf("report %+v: want the locked letter missing, the other replayed", rep)
	}
}

func TestManyLettersWithHeldOnes(t *testing.T) {
	b := openEmbedded(t, newClock())
	var msgs []queue.Message
	for i := range 450 {
		dir := "a-to-b"
		if i%3 == 0 {
			dir = "c-to-d"
		}
		msgs = append(msgs, workItem(dir, fmt.Sprintf("u%03d", i), 1, nil))
	}
	deadLetter(t, b, galsync.QueueUpdates, queue.ReasonMaxDeliveryCount, "", msgs...)
	rep, err := deadletter.Replay(t.Context(), b, deadletter.ReplayOptions{Options: deadletter.Options{
		Filter: deadletter.Filter{Queues: allQueues, Direction: "a-to-b"}}})
	if err != nil || rep.Count(deadletter.Replayed) != 300 {
		t.Fatalf("replayed %d, want 300 (%v)", rep.Count(deadletter.Replayed), err)
	}
	if got := drainQueue(t, b, galsync.QueueUpdates); len(got) != 300 {
		t.Fatalf("sent %d, want 300", len(got))
	}
	// The others were released: all 150 receivable at once.
	if got := drainQueue(t, b, queue.DeadLetterQueue(galsync.QueueUpdates)); len(got) != 150 {
		t.Fatalf("%d dead letters receivable after the replay, want 150", len(got))
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"invite alice.smith@contoso.com failed":                   "invite <address> failed",
		"user bob_contoso.com#EXT#@fabrikam.onmicrosoft.com gone": "user <address> gone",
		"graph: 503 serviceNotAvailable":                          "graph: 503 serviceNotAvailable",
	} {
		if got := deadletter.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	b := openEmbedded(t, newClock())
	deadLetter(t, b, galsync.QueueInvites, "Conflict", "member carol@contoso.com exists",
		workItem("a-to-b", "u1", 1, map[string]string{queue.PropLastError: "conflict on carol@contoso.com"}))
	l := list(t, b, deadletter.Options{})[0]
	if strings.Contains(l.Description+l.LastError+fmt.Sprint(l.Properties), "@") {
		t.Errorf("an address shows: %+v", l)
	}
}

func TestReplayID(t *testing.T) {
	for _, tc := range []struct {
		id   string
		n    int
		want string
	}{
		{"a:b:1:upsert", 1, "a:b:1:upsert/replay-1"},
		{"a:b:1:upsert/replay-1", 2, "a:b:1:upsert/replay-2"},
		{"odd/replay-x", 1, "odd/replay-x/replay-1"},
	} {
		if got := deadletter.ReplayID(tc.id, tc.n); got != tc.want {
			t.Errorf("ReplayID(%q, %d) = %q, want %q", tc.id, tc.n, got, tc.want)
		}
	}
}

// A replayed copy of a message whose id is already as long as Service Bus
// allows keeps within 128 characters, and still names its original.
func TestReplayIDFitsServiceBus(t *testing.T) {
	long := strings.Repeat("d", 63) + ":" + strings.Repeat("u", 36) + ":123456789:upsert/updates:invite:" + strings.Repeat("t", 36)
	id := queue.FitID(long)
	for n := 1; n <= 12; n++ {
		got := deadletter.ReplayID(id, n)
		if queue.IDLength(got) > queue.MaxMessageIDLength {
			t.Fatalf("ReplayID(%d) has %d characters", n, queue.IDLength(got))
		}
		if got == deadletter.ReplayID(id, n+1) || got != deadletter.ReplayID(id, n) {
			t.Fatalf("replay ids of %d are not distinct and stable", n)
		}
	}
}
