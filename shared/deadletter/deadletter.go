// Package deadletter is what operators do with dead-lettered messages:
// list and show them, replay them to their queue once the cause is fixed,
// and purge the ones that should not run. It works on any queue backend
// through the small interfaces declared here (the embedded queue and Service
// Bus both satisfy them), and holds no state of its own.
package deadletter

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

// Peeker reads dead letters without locking them: List and Show need
// nothing else, and every operation plans with it.
type Peeker interface {
	Peek(ctx context.Context, queue string, from int64, max int) ([]queue.Delivery, error)
}

// Settler receives dead letters with peek-lock and settles them.
type Settler interface {
	Receive(ctx context.Context, queue string, max int, wait time.Duration) ([]queue.Delivery, error)
	Complete(ctx context.Context, d queue.Delivery) error
	Abandon(ctx context.Context, d queue.Delivery, properties map[string]string) error
	RenewLock(ctx context.Context, d queue.Delivery) (time.Time, error)
}

// PurgeQueue is what Purge needs.
type PurgeQueue interface {
	Peeker
	Settler
}

// ReplayQueue is what Replay needs: Purge's methods, and Send for the copies.
type ReplayQueue interface {
	PurgeQueue
	Send(ctx context.Context, queue string, msgs ...queue.Message) error
}

// ReasonParked is the reason of a letter galsync parked itself: a custom
// handler cannot dead-letter the message the Functions host gave it, so
// galsync completes it and keeps a copy in galsync.QueueParked (the
// description says why: Graph's code and message, or the retry budget).
const ReasonParked = "Parked"

// Source is the queue a main queue's letters are read from: its
// dead-letter subqueue, or galsync.QueueParked itself.
func Source(mainQueue string) string {
	if mainQueue == galsync.QueueParked {
		return mainQueue
	}
	return queue.DeadLetterQueue(mainQueue)
}

// DefaultMaxReplays is how many times a message is replayed before Replay
// refuses it without Force: a message that failed that often needs a person.
const DefaultMaxReplays = 5

// replaySuffix separates a replayed copy's message id from the original's.
const replaySuffix = "/replay-"

// Letter is a dead-lettered message, as operators see it.
type Letter struct {
	// Queue is the main queue the message was dead-lettered from, or
	// galsync.QueueParked for a message galsync parked.
	Queue string `json:"queue"`
	// Origin is the queue a replay sends the message to: Queue, or the
	// queue a parked message was parked from.
	Origin         string `json:"origin,omitempty"`
	SequenceNumber int64  `json:"sequenceNumber"`
	MessageID      string `json:"messageId"`
	// OriginalID is the id of the message a replayed copy was made from.
	OriginalID    string    `json:"originalId,omitempty"`
	Direction     string    `json:"direction,omitempty"`
	SourceUser    string    `json:"sourceUser,omitempty"`
	Reason        string    `json:"reason"`
	Description   string    `json:"description,omitempty"`
	LastError     string    `json:"lastError,omitempty"`
	ReplayCount   int       `json:"replayCount"`
	DeliveryCount int       `json:"deliveryCount"`
	EnqueuedAt    time.Time `json:"enqueuedAt,omitzero"`
	Subject       string    `json:"subject,omitempty"`
	ContentType   string    `json:"contentType,omitempty"`
	CorrelationID string    `json:"correlationId,omitempty"`
	// Properties are the application properties, as stored.
	Properties map[string]string `json:"properties,omitempty"`
	// Body holds invite addresses: callers print it only when asked to.
	Body []byte `json:"-"`
}

// newLetter describes a dead letter peeked or received from queue's
// dead-letter subqueue. Text that may quote an address is redacted.
func newLetter(mainQueue string, d queue.Delivery) Letter {
	reason, description := d.DeadLetterReason, d.DeadLetterDescription
	origin := mainQueue
	if mainQueue == galsync.QueueParked {
		reason, description, origin = ReasonParked, d.Properties[queue.PropParkedReason], d.Properties[queue.PropParkedFrom]
	}
	return Letter{
		Queue: mainQueue, Origin: origin, SequenceNumber: d.SequenceNumber, MessageID: d.ID, OriginalID: originalOf(d),
		Direction: direction(d), SourceUser: d.Properties[queue.PropSourceUser],
		Reason: Redact(reason), Description: Redact(description),
		LastError: Redact(d.Properties[queue.PropLastError]), ReplayCount: replayCount(d),
		DeliveryCount: d.DeliveryCount, EnqueuedAt: d.EnqueuedAt, Subject: d.Subject,
		ContentType: d.ContentType, CorrelationID: d.CorrelationID, Properties: redactedProperties(d.Properties),
		Body: d.Body,
	}
}

// direction is the galsync-direction property or, failing that, the
// "direction" field every galsync message body has.
func direction(d queue.Delivery) string {
	if dir := d.Properties[queue.PropDirection]; dir != "" {
		return dir
	}
	var body struct {
		Direction string `json:"direction"`
	}
	if json.Unmarshal(d.Body, &body) == nil {
		return body.Direction
	}
	return ""
}

// replayCount reads the galsync-replay-count property; absent or unreadable
// counts as never replayed.
func replayCount(d queue.Delivery) int {
	n, err := strconv.Atoi(d.Properties[queue.PropReplayCount])
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// OriginalID is the message id a replayed copy was made from: the copies of
// "x" are "x/replay-1", "x/replay-2", ... whatever was replayed before.
func OriginalID(id string) string {
	i := strings.LastIndex(id, replaySuffix)
	if i < 0 {
		return id
	}
	if _, err := strconv.Atoi(id[i+len(replaySuffix):]); err != nil {
		return id
	}
	return id[:i]
}

// ReplayID is the message id of the replay-th copy of a message whose
// original id is original. It must differ from the original's: the queue's
// duplicate detection remembers that id and would drop the copy. It is the
// same for every attempt at one replay, so a copy sent twice (a rerun after
// a crash) is dropped as a duplicate within the window. A long id is fitted
// into Service Bus's 128 characters (queue.FitID); the copy keeps the
// original id in PropOriginalID.
func ReplayID(original string, replay int) string {
	return queue.FitID(OriginalID(original) + replaySuffix + strconv.Itoa(replay))
}

// originalOf is the id of the message d is a copy of (d's own id if it is
// no copy).
func originalOf(d queue.Delivery) string {
	if o := d.Properties[queue.PropOriginalID]; o != "" {
		return o
	}
	return OriginalID(d.ID)
}
