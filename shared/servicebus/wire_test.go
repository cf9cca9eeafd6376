package servicebus_test

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/shared/servicebus"
	"github.com/galsync/galsync/shared/servicebus/sbtest"
)

// These tests prove, over AMQP with the real azservicebus client, what the
// conformance suite does not single out.

const patience = 5 * time.Second

func receiveOne(t *testing.T, c *servicebus.Client, name string) queue.Delivery {
	t.Helper()
	ds, err := c.Receive(t.Context(), name, 1, patience)
	if err != nil {
		t.Fatalf("receive from %s: %v", name, err)
	}
	if len(ds) != 1 {
		t.Fatalf("receive from %s: %d messages within %s, want 1", name, len(ds), patience)
	}
	return ds[0]
}

// receiveN receives until it holds n messages, in the order they came.
func receiveN(t *testing.T, c *servicebus.Client, name string, n int) []queue.Delivery {
	t.Helper()
	var got []queue.Delivery
	for len(got) < n {
		ds, err := c.Receive(t.Context(), name, n-len(got), patience)
		if err != nil {
			t.Fatalf("receive from %s: %v", name, err)
		}
		if len(ds) == 0 {
			t.Fatalf("receive from %s: got %d of %d messages within %s", name, len(got), n, patience)
		}
		got = append(got, ds...)
	}
	return got
}

func expectNone(t *testing.T, c *servicebus.Client, name string) {
	t.Helper()
	ds, err := c.Receive(t.Context(), name, 10, 300*time.Millisecond)
	if err != nil {
		t.Fatalf("receive from %s: %v", name, err)
	}
	if len(ds) > 0 {
		t.Fatalf("receive from %s: got %q (delivery %d), want nothing", name, ds[0].ID, ds[0].DeliveryCount)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestDuplicateMessageIDIsDropped(t *testing.T) {
	t.Parallel()
	c := open(t, sbtest.Broker{})
	ctx := t.Context()
	q := galsync.QueueInvites
	must(t, c.Send(ctx, q, queue.Message{ID: "invite-u1-3", Body: []byte("first")}))
	must(t, c.Send(ctx, q, queue.Message{ID: "invite-u1-3", Body: []byte("second")}))
	must(t, c.Send(ctx, q,
		queue.Message{ID: "invite-u1-3", Body: []byte("third")},
		queue.Message{ID: "invite-u2-1", Body: []byte("other")}))
	// Duplicate detection is per queue.
	must(t, c.Send(ctx, galsync.QueueUpdates, queue.Message{ID: "invite-u1-3", Body: []byte("elsewhere")}))

	var bodies []string
	for _, d := range receiveN(t, c, q, 2) {
		bodies = append(bodies, string(d.Body))
		must(t, c.Complete(ctx, d))
	}
	if want := []string{"first", "other"}; !slices.Equal(bodies, want) {
		t.Fatalf("received %v, want %v: repeats of a message id must be dropped", bodies, want)
	}
	expectNone(t, c, q)
	if d := receiveOne(t, c, galsync.QueueUpdates); string(d.Body) != "elsewhere" {
		t.Errorf("the same id on another queue: got %q, want elsewhere", d.Body)
	}
}

func TestAbandonRedeliversWithDeliveryCountPlusOne(t *testing.T) {
	t.Parallel()
	c := open(t, sbtest.Broker{})
	ctx := t.Context()
	q := galsync.QueueUpdates
	sent := queue.Message{ID: "update-u1-4", Body: []byte(`{"seq":4}`), Properties: map[string]string{queue.PropSeq: "4"}}
	must(t, c.Send(ctx, q, sent))

	d1 := receiveOne(t, c, q)
	if d1.DeliveryCount != 1 {
		t.Fatalf("first delivery count %d, want 1", d1.DeliveryCount)
	}
	must(t, c.Abandon(ctx, d1, map[string]string{queue.PropLastError: "graph: 429"}))
	// The lock is 30 s: only the abandon can bring it back this soon.
	d2 := receiveOne(t, c, q)
	if d2.ID != sent.ID || d2.DeliveryCount != 2 {
		t.Fatalf("after abandon: %q delivery %d, want %q delivery 2", d2.ID, d2.DeliveryCount, sent.ID)
	}
	want := map[string]string{queue.PropSeq: "4", queue.PropLastError: "graph: 429"}
	if !maps.Equal(d2.Properties, want) {
		t.Errorf("properties after abandon %v, want %v", d2.Properties, want)
	}
	if d2.LockToken == d1.LockToken {
		t.Errorf("redelivery kept lock token %s", d1.LockToken)
	}
	must(t, c.Abandon(ctx, d2, nil))
	d3 := receiveOne(t, c, q)
	if d3.DeliveryCount != 3 {
		t.Errorf("after a second abandon: delivery %d, want 3", d3.DeliveryCount)
	}
	must(t, c.Complete(ctx, d3))
	if err := c.Complete(ctx, d1); !errors.Is(err, queue.ErrLockLost) {
		t.Errorf("complete an abandoned delivery: %v, want ErrLockLost", err)
	}
}

func TestDeadLetterCarriesReasonAndDescription(t *testing.T) {
	t.Parallel()
	c := open(t, sbtest.Broker{})
	ctx := t.Context()
	q := galsync.QueueInvites
	props := map[string]string{queue.PropDirection: "a-to-b", queue.PropSourceUser: "u1"}
	must(t, c.Send(ctx, q, queue.Message{ID: "invite-u1-1", Body: []byte("{}"), Properties: props}))
	d := receiveOne(t, c, q)
	must(t, c.DeadLetter(ctx, d, "BadInput", "sourceUserId is missing"))
	expectNone(t, c, q)

	dlq := queue.DeadLetterQueue(q)
	peeked, err := c.Peek(ctx, dlq, 0, 10)
	must(t, err)
	if len(peeked) != 1 || peeked[0].DeadLetterReason != "BadInput" || peeked[0].LockToken != "" {
		t.Fatalf("peek dead-letter queue: %+v, want one message with reason BadInput and no lock", peeked)
	}
	dl := receiveOne(t, c, dlq)
	if dl.Queue != dlq || dl.ID != d.ID {
		t.Errorf("dead letter %q from %q, want %q from %q", dl.ID, dl.Queue, d.ID, dlq)
	}
	if dl.DeadLetterReason != "BadInput" || dl.DeadLetterDescription != "sourceUserId is missing" {
		t.Errorf("reason %q description %q, want BadInput, sourceUserId is missing", dl.DeadLetterReason, dl.DeadLetterDescription)
	}
	if !maps.Equal(dl.Properties, props) {
		t.Errorf("dead letter properties %v, want %v (reason and description belong in their fields)", dl.Properties, props)
	}
	if err := c.DeadLetter(ctx, dl, "again", ""); err == nil || errors.Is(err, queue.ErrLockLost) {
		t.Errorf("dead-letter a dead letter: %v, want a refusal that keeps the lock", err)
	}
	if err := c.Send(ctx, dlq, queue.Message{ID: "x"}); !errors.Is(err, queue.ErrUnknownQueue) {
		t.Errorf("send to a dead-letter queue: %v, want ErrUnknownQueue", err)
	}
	must(t, c.Complete(ctx, dl))
	expectNone(t, c, dlq)
}

// TestResubmitFromDeadLetterQueue replays a dead letter the way the ops
// tooling does: receive it from the dead-letter queue, send a copy to its
// queue with the replay count raised, complete the dead letter.
func TestResubmitFromDeadLetterQueue(t *testing.T) {
	t.Parallel()
	c := open(t, sbtest.Broker{})
	ctx := t.Context()
	q := galsync.QueueInvites
	dlq := queue.DeadLetterQueue(q)
	orig := queue.Message{
		ID: "invite-u1-7", Body: []byte(`{"direction":"a-to-b","sourceUserId":"u1","seq":7}`),
		ContentType: "application/json", Subject: "invite", CorrelationID: "pull-42",
		Properties: map[string]string{queue.PropDirection: "a-to-b", queue.PropSourceUser: "u1", queue.PropSeq: "7"},
	}
	must(t, c.Send(ctx, q, orig))
	must(t, c.DeadLetter(ctx, receiveOne(t, c, q), "GraphRejected", "400: invalid invitedUserEmailAddress"))

	dl := receiveOne(t, c, dlq)
	replay := dl.Message
	replay.Properties = maps.Clone(dl.Properties)
	n, _ := strconv.Atoi(replay.Properties[queue.PropReplayCount])
	replay.Properties[queue.PropReplayCount] = strconv.Itoa(n + 1)

	t.Run("SameIDInsideTheWindowIsDropped", func(t *testing.T) {
		// Duplicate detection remembers the original's id for the whole
		// window: a replay under that id vanishes without an error.
		must(t, c.Send(ctx, q, replay))
		expectNone(t, c, q)
	})

	replay.ID = fmt.Sprintf("%s/replay-%d", dl.ID, n+1)
	must(t, c.Send(ctx, q, replay))
	must(t, c.Complete(ctx, dl))

	got := receiveOne(t, c, q)
	wantProps := maps.Clone(orig.Properties)
	wantProps[queue.PropReplayCount] = "1"
	if !bytes.Equal(got.Body, orig.Body) || got.ContentType != orig.ContentType || got.Subject != orig.Subject || got.CorrelationID != orig.CorrelationID {
		t.Errorf("replayed message: body %s content type %q subject %q correlation %q; want %s %q %q %q",
			got.Body, got.ContentType, got.Subject, got.CorrelationID, orig.Body, orig.ContentType, orig.Subject, orig.CorrelationID)
	}
	if !maps.Equal(got.Properties, wantProps) {
		t.Errorf("replayed properties %v, want %v", got.Properties, wantProps)
	}
	if got.DeliveryCount != 1 || got.DeadLetterReason != "" {
		t.Errorf("replayed message: delivery %d, reason %q; want a fresh message", got.DeliveryCount, got.DeadLetterReason)
	}
	must(t, c.Complete(ctx, got))
	if left, err := c.Peek(ctx, dlq, 0, 10); err != nil || len(left) != 0 {
		t.Errorf("dead-letter queue after the replay: %d message(s), %v; want empty", len(left), err)
	}
}

func TestBatchLargerThanTheLimitIsSplit(t *testing.T) {
	t.Parallel()
	const maxSize = 64 << 10
	c := open(t, sbtest.Broker{MaxMessageSize: maxSize})
	ctx := t.Context()
	q := galsync.QueuePulls
	var msgs []queue.Message
	total := 0
	for i := range 12 {
		body := bytes.Repeat([]byte{byte('a' + i)}, 16<<10)
		total += len(body)
		msgs = append(msgs, queue.Message{ID: fmt.Sprintf("pull-%02d", i), Body: body, Properties: map[string]string{queue.PropSeq: strconv.Itoa(i)}})
	}

	// The broker refuses a batch over its limit, so the split is needed.
	snd, err := servicebus.SDKSender(c, q)
	must(t, err)
	big, err := snd.NewMessageBatch(ctx, &azservicebus.MessageBatchOptions{MaxBytes: 1 << 20})
	must(t, err)
	for _, m := range msgs {
		must(t, big.AddMessage(&azservicebus.Message{Body: m.Body}, nil))
	}
	if err := snd.SendMessageBatch(ctx, big, nil); err == nil {
		t.Fatalf("the broker accepted a %d-byte batch over its %d-byte limit; the test proves nothing", big.NumBytes(), maxSize)
	}

	batches, err := servicebus.SendCountingBatches(ctx, c, q, msgs...)
	must(t, err)
	if least := (total + maxSize - 1) / maxSize; batches < least {
		t.Errorf("%d bytes went in %d batches; a %d-byte limit needs at least %d", total, batches, maxSize, least)
	}
	for i, d := range receiveN(t, c, q, len(msgs)) {
		if d.ID != msgs[i].ID || !bytes.Equal(d.Body, msgs[i].Body) || d.Properties[queue.PropSeq] != strconv.Itoa(i) {
			t.Errorf("message %d: got %q (%d bytes, seq %q), want %q", i, d.ID, len(d.Body), d.Properties[queue.PropSeq], msgs[i].ID)
		}
		must(t, c.Complete(ctx, d))
	}
}

func TestMessageTooLargeFailsBeforeSending(t *testing.T) {
	t.Parallel()
	const maxSize = 64 << 10
	c := open(t, sbtest.Broker{MaxMessageSize: maxSize})
	ctx := t.Context()
	q := galsync.QueuePulls
	err := c.Send(ctx, q,
		queue.Message{ID: "small", Body: []byte("x")},
		queue.Message{ID: "huge", Body: bytes.Repeat([]byte("x"), maxSize+1)})
	if err == nil || !errors.Is(err, azservicebus.ErrMessageTooLarge) || !strings.Contains(err.Error(), `"huge"`) {
		t.Fatalf("send of an oversized message: %v; want an error naming it", err)
	}
	expectNone(t, c, q)
}

// TestSettledMessagesAreForgotten: the client holds a received message
// only until it is settled or its lock is lost.
func TestSettledMessagesAreForgotten(t *testing.T) {
	t.Parallel()
	c := open(t, sbtest.Broker{})
	ctx := t.Context()
	q := galsync.QueueUpdates
	for i := range 6 {
		must(t, c.Send(ctx, q, queue.Message{ID: fmt.Sprintf("m%d", i), Body: []byte("x")}))
	}
	ds := receiveN(t, c, q, 6)
	if n := servicebus.HeldLocks(c); n != 6 {
		t.Fatalf("holding %d messages after receiving 6", n)
	}
	must(t, c.Complete(ctx, ds[0]))
	must(t, c.Abandon(ctx, ds[1], nil))
	must(t, c.DeadLetter(ctx, ds[2], "r", "d"))
	for _, d := range ds[3:] {
		_, err := c.RenewLock(ctx, d)
		must(t, err)
		must(t, c.Complete(ctx, d))
	}
	if n := servicebus.HeldLocks(c); n != 0 {
		t.Errorf("holding %d messages after settling all", n)
	}
	again := receiveOne(t, c, q) // the abandoned one
	must(t, c.Complete(ctx, again))
	if n := servicebus.HeldLocks(c); n != 0 {
		t.Errorf("holding %d messages after settling all", n)
	}
}
