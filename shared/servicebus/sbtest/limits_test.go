package sbtest_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/Azure/go-amqp"

	"github.com/galsync/galsync/shared/queue"
)

// TestBrokerRefusesWhatServiceBusRefuses drives the broker with the SDK
// alone, past the checks galsync's adapter makes first: a message id over
// 128 characters, a message over 256 KB and a batch over 256 KB are
// refused, and nothing of them is queued.
// https://learn.microsoft.com/azure/service-bus-messaging/service-bus-quotas
func TestBrokerRefusesWhatServiceBusRefuses(t *testing.T) {
	ctx := t.Context()
	client, snd := sdkClient(t, "q")
	msg := func(id string, size int) *azservicebus.Message {
		return &azservicebus.Message{MessageID: &id, Body: make([]byte, size)}
	}

	longID := strings.Repeat("i", queue.MaxMessageIDLength+1)
	err := snd.SendMessage(ctx, msg(longID, 10), nil)
	if condition(err) != amqp.ErrCondNotAllowed || !strings.Contains(err.Error(), "129 characters exceeds the limit of 128") {
		t.Errorf("send with a 129-character id: %v, want amqp:not-allowed naming the limit", err)
	}
	if err := snd.SendMessage(ctx, msg(strings.Repeat("i", queue.MaxMessageIDLength), 10), nil); err != nil {
		t.Errorf("send with a 128-character id: %v", err)
	}

	if err := snd.SendMessage(ctx, msg("big", queue.MaxMessageSize), nil); !errors.Is(err, azservicebus.ErrMessageTooLarge) {
		t.Errorf("send of a 256 KB body: %v, want ErrMessageTooLarge", err)
	}
	// A batch the client believes may reach 1 MB is held to the 256 KB the
	// broker announces on the link (go-amqp refuses it before the broker
	// sees it, as it would with Service Bus).
	batch, err := snd.NewMessageBatch(ctx, &azservicebus.MessageBatchOptions{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"half-1", "half-2"} {
		if err := batch.AddMessage(msg(id, queue.MaxMessageSize/2), nil); err != nil {
			t.Fatal(err)
		}
	}
	err = snd.SendMessageBatch(ctx, batch, nil)
	if condition(err) != amqp.ErrCondMessageSizeExceeded {
		t.Errorf("send of a batch over 256 KB: %v, want amqp:link:message-size-exceeded", err)
	}

	rcv, err := client.NewReceiverForQueue("q", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := receive(t, rcv, 1)
	if got[0].MessageID != strings.Repeat("i", queue.MaxMessageIDLength) {
		t.Errorf("received %q, want the 128-character id alone", got[0].MessageID)
	}
	peeked, err := rcv.PeekMessages(ctx, 10, nil)
	if err != nil || len(peeked) != 1 {
		t.Errorf("peek: %d message(s), %v; want only the one received", len(peeked), err)
	}
}

// condition is the AMQP error condition err carries, if any.
func condition(err error) amqp.ErrCond {
	var amqpErr *amqp.Error
	if errors.As(err, &amqpErr) {
		return amqpErr.Condition
	}
	return ""
}
