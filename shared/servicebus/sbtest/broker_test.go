package sbtest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/shared/servicebus/sbtest"
)

// TestSettleByLockTokenOnTheManagementLink drives the broker with the SDK
// alone: a message known only by its lock token settles through
// com.microsoft:update-disposition, which the SDK falls back to when the
// link a message came on is gone.
func TestSettleByLockTokenOnTheManagementLink(t *testing.T) {
	ctx := t.Context()
	client, snd := sdkClient(t, "q")
	for _, id := range []string{"complete", "abandon", "dead-letter"} {
		if err := snd.SendMessage(ctx, &azservicebus.Message{MessageID: &id, Body: []byte(id)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	rcv, err := client.NewReceiverForQueue("q", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := receive(t, rcv, 3)
	byToken := func(m *azservicebus.ReceivedMessage) *azservicebus.ReceivedMessage {
		return &azservicebus.ReceivedMessage{LockToken: m.LockToken}
	}
	if err := rcv.CompleteMessage(ctx, byToken(got[0]), nil); err != nil {
		t.Fatalf("complete by lock token: %v", err)
	}
	if err := rcv.AbandonMessage(ctx, byToken(got[1]), &azservicebus.AbandonMessageOptions{PropertiesToModify: map[string]any{"why": "retry"}}); err != nil {
		t.Fatalf("abandon by lock token: %v", err)
	}
	reason, desc := "BadInput", "no mail"
	if err := rcv.DeadLetterMessage(ctx, byToken(got[2]), &azservicebus.DeadLetterOptions{Reason: &reason, ErrorDescription: &desc}); err != nil {
		t.Fatalf("dead-letter by lock token: %v", err)
	}
	var sbErr *azservicebus.Error
	if err := rcv.CompleteMessage(ctx, byToken(got[0]), nil); !errors.As(err, &sbErr) || sbErr.Code != azservicebus.CodeLockLost {
		t.Errorf("complete a settled message by lock token: %v, want lock lost", err)
	}

	again := receive(t, rcv, 1)[0]
	if again.MessageID != "abandon" || again.DeliveryCount != 2 || again.ApplicationProperties["why"] != "retry" {
		t.Errorf("after abandon: %q delivery %d properties %v", again.MessageID, again.DeliveryCount, again.ApplicationProperties)
	}
	dlq, err := client.NewReceiverForQueue("q", &azservicebus.ReceiverOptions{SubQueue: azservicebus.SubQueueDeadLetter})
	if err != nil {
		t.Fatal(err)
	}
	dl := receive(t, dlq, 1)[0]
	if dl.MessageID != "dead-letter" || dl.DeadLetterReason == nil || *dl.DeadLetterReason != reason || dl.DeadLetterErrorDescription == nil || *dl.DeadLetterErrorDescription != desc {
		t.Errorf("dead letter %q reason %v description %v", dl.MessageID, dl.DeadLetterReason, dl.DeadLetterErrorDescription)
	}
}

// sdkClient starts a broker serving queue q with a one-minute lock and
// returns an SDK client on it and a sender to q, closed at cleanup.
func sdkClient(t *testing.T, q string) (*azservicebus.Client, *azservicebus.Sender) {
	t.Helper()
	cs := sbtest.Start(t, []string{q}, queue.Options{LockDuration: time.Minute})
	client, err := azservicebus.NewClientFromConnectionString(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close(context.Background()) })
	snd, err := client.NewSender(q, nil)
	if err != nil {
		t.Fatal(err)
	}
	return client, snd
}

func receive(t *testing.T, r *azservicebus.Receiver, n int) []*azservicebus.ReceivedMessage {
	t.Helper()
	var got []*azservicebus.ReceivedMessage
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		ctx, cancel := context.WithDeadline(t.Context(), deadline)
		ms, err := r.ReceiveMessages(ctx, n-len(got), nil)
		cancel()
		if err != nil && len(ms) == 0 {
			break
		}
		got = append(got, ms...)
	}
	if len(got) != n {
		t.Fatalf("received %d messages, want %d", len(got), n)
	}
	return got
}
