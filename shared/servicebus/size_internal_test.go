package servicebus

import (
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/shared/servicebus/sbtest"
)

// TestEncodedSizeMatchesTheSDK holds queue.EncodedSize, by which the
// embedded queue refuses large messages, to the size azservicebus counts
// for the same message alone in a batch: never less, and at most a few
// bytes more.
func TestEncodedSizeMatchesTheSDK(t *testing.T) {
	ctx := t.Context()
	cs := sbtest.Start(t, []string{"q"}, queue.Options{})
	client, err := azservicebus.NewClientFromConnectionString(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close(ctx) })
	snd, err := client.NewSender("q", nil)
	if err != nil {
		t.Fatal(err)
	}
	full := queue.Message{ID: "a-to-b:u1:7:upsert", Body: []byte(`{"direction":"a-to-b"}`), ContentType: "application/json",
		Subject: "upsert", CorrelationID: "corr", SessionID: "session",
		Properties: map[string]string{queue.PropDirection: "a-to-b", queue.PropSourceUser: "u1", queue.PropSeq: "7"}}
	scheduled := full
	scheduled.ScheduledAt = time.Now().Add(time.Minute)
	for name, m := range map[string]queue.Message{
		"empty":        {},
		"id only":      {ID: "x"},
		"typical":      full,
		"scheduled":    scheduled,
		"long strings": {ID: strings.Repeat("i", 128), Subject: strings.Repeat("s", 300), Properties: map[string]string{"k": strings.Repeat("v", 1000)}},
		"large body":   {ID: "big", Body: make([]byte, 200_000)},
	} {
		batch, err := snd.NewMessageBatch(ctx, &azservicebus.MessageBatchOptions{MaxBytes: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		if err := batch.AddMessage(toServiceBus(m), nil); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sdk, est := int(batch.NumBytes()), queue.EncodedSize(m)
		if est < sdk || est > sdk+32 {
			t.Errorf("%s: EncodedSize %d, the SDK counts %d: want at least that, and at most 32 bytes more", name, est, sdk)
		}
	}
}
