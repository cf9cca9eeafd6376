package embedded

import (
	"fmt"
	"maps"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/galsync/galsync/shared/queue"
)

// storedMessage is a message as its queue bucket holds it (encoded by
// encodeMessage; the JSON names are those of files that stored JSON).
type storedMessage struct {
	ID                    string            `json:"id"`
	Body                  []byte            `json:"body,omitempty"`
	ContentType           string            `json:"contentType,omitempty"`
	Subject               string            `json:"subject,omitempty"`
	CorrelationID         string            `json:"correlationId,omitempty"`
	SessionID             string            `json:"sessionId,omitempty"`
	Properties            map[string]string `json:"properties,omitempty"`
	ScheduledAt           time.Time         `json:"scheduledAt,omitzero"`
	EnqueuedAt            time.Time         `json:"enqueuedAt"`
	DeliveryCount         int               `json:"deliveryCount,omitempty"`
	DeadLetterReason      string            `json:"deadLetterReason,omitempty"`
	DeadLetterDescription string            `json:"deadLetterDescription,omitempty"`
}

func newStoredMessage(m queue.Message, now time.Time) storedMessage {
	return storedMessage{ID: m.ID, Body: m.Body, ContentType: m.ContentType, Subject: m.Subject,
		CorrelationID: m.CorrelationID, SessionID: m.SessionID, Properties: maps.Clone(m.Properties),
		ScheduledAt: m.ScheduledAt, EnqueuedAt: now}
}

func (m storedMessage) delivery(queueName string, seq int64) queue.Delivery {
	return queue.Delivery{
		Message: queue.Message{ID: m.ID, Body: m.Body, ContentType: m.ContentType, Subject: m.Subject,
			CorrelationID: m.CorrelationID, SessionID: m.SessionID, Properties: m.Properties, ScheduledAt: m.ScheduledAt},
		Queue: queueName, SequenceNumber: seq, DeliveryCount: m.DeliveryCount, EnqueuedAt: m.EnqueuedAt,
		DeadLetterReason: m.DeadLetterReason, DeadLetterDescription: m.DeadLetterDescription,
	}
}

func getMessage(b *bolt.Bucket, seq int64) (storedMessage, bool, error) {
	raw := b.Get(seqKey(seq))
	if raw == nil {
		return storedMessage{}, false, nil
	}
	m, err := decodeMessage(seq, raw)
	return m, err == nil, err
}

func decodeMessage(seq int64, raw []byte) (storedMessage, error) {
	m, err := decodeMessageBytes(raw)
	if err != nil {
		return m, fmt.Errorf("decode message %d: %w", seq, err)
	}
	return m, nil
}

func putMessage(b *bolt.Bucket, seq int64, m storedMessage) error {
	return b.Put(seqKey(seq), encodeMessage(nil, m))
}

// deadLetterTx moves message seq of q into q's dead-letter subqueue with a
// reason and returns its sequence number there.
func deadLetterTx(tx *bolt.Tx, q *queueState, seq int64, m storedMessage, reason, description string) (int64, error) {
	if err := tx.Bucket(q.bucket).Delete(seqKey(seq)); err != nil {
		return 0, err
	}
	dlq := appendBucket(tx, q.dead.bucket)
	dseq, err := dlq.NextSequence()
	if err != nil {
		return 0, err
	}
	m.DeadLetterReason, m.DeadLetterDescription = reason, description
	return int64(dseq), putMessage(dlq, int64(dseq), m)
}

// maxDeliveryDescription explains a dead letter for too many deliveries,
// with the last error a receiver recorded when it abandoned the message.
func maxDeliveryDescription(m storedMessage, maxCount int) string {
	d := fmt.Sprintf("message was delivered %d times (max delivery count %d)", m.DeliveryCount, maxCount)
	if last := m.Properties[queue.PropLastError]; last != "" {
		d += "; last error: " + last
	}
	return d
}
