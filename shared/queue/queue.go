// Package queue defines the message queue port that galsync's backends
// implement: the embedded queue (shared/embedded) and Azure Service Bus. The
// semantics are Service Bus's: peek-lock delivery, a lock that expires,
// a delivery count, a dead-letter subqueue with a reason, and duplicate
// detection by message id. Consumers declare the subset they call; the
// conformance suite in queue/queuetest holds every backend to the contract.
package queue

import (
	"context"
	"errors"
	"time"
)

// DeadLetterSuffix addresses a queue's dead-letter subqueue, as in Service
// Bus: "invites/$deadletterqueue".
const DeadLetterSuffix = "/$deadletterqueue"

// DeadLetterQueue names the dead-letter subqueue of queue.
func DeadLetterQueue(queue string) string { return queue + DeadLetterSuffix }

// ReasonMaxDeliveryCount is the dead-letter reason Service Bus gives a
// message whose delivery count passed the queue's maxDeliveryCount.
const ReasonMaxDeliveryCount = "MaxDeliveryCountExceeded"

// Application property names galsync sets.
const (
	PropLastError   = "galsync-last-error"
	PropReplayCount = "galsync-replay-count"
	// PropOriginalID is the id of the message a replayed copy was made
	// from: a copy's own id may be fitted (hashed) into Service Bus's 128
	// characters.
	PropOriginalID = "galsync-original-id"
	PropDirection  = "galsync-direction"
	PropSourceUser = "galsync-source-user"
	PropSeq        = "galsync-seq"
	// PropAttempt counts the attempts a rescheduled message has had, and
	// PropRetrySince is when the first of them failed (RFC 3339): galsync
	// retries a transient failure with a new scheduled message rather than
	// an abandon, which Service Bus redelivers at once.
	PropAttempt    = "galsync-attempt"
	PropRetrySince = "galsync-retry-since"
	// PropDeferrals counts how often a message was put off for a budget
	// (not a failure).
	PropDeferrals = "galsync-deferrals"
	// PropParkedFrom names the queue a parked message came from, and
	// PropParkedReason why it was parked.
	PropParkedFrom   = "galsync-parked-from"
	PropParkedReason = "galsync-parked-reason"
)

// Errors.
var (
	// ErrLockLost: the delivery's lock expired or was already settled.
	ErrLockLost = errors.New("queue: message lock lost or already settled")
	// ErrUnknownQueue: the queue does not exist.
	ErrUnknownQueue = errors.New("queue: unknown queue")
)

// Message is what a sender sends.
type Message struct {
	// ID is the message id; a second message with the same id inside the
	// duplicate detection window is dropped.
	ID            string
	Body          []byte
	ContentType   string
	Subject       string
	CorrelationID string
	SessionID     string
	// Properties are application properties (Service Bus
	// ApplicationProperties). galsync only uses string values.
	Properties map[string]string
	// ScheduledAt, if set and later than now, makes the message invisible
	// to receivers until then (Service Bus ScheduledEnqueueTime). Until
	// then it is a scheduled message: peeked, but counted apart from the
	// active ones; when it becomes active it is appended to the queue with
	// a new sequence number and enqueued time, as Service Bus does
	// (https://learn.microsoft.com/azure/service-bus-messaging/message-sequencing#scheduled-messages).
	// Duplicate detection applies to it by ID from the moment it is sent.
	// A delivery keeps the time it was scheduled for.
	ScheduledAt time.Time
}

// Scheduled reports whether m is still waiting for its scheduled time at
// now.
func (m Message) Scheduled(now time.Time) bool { return m.ScheduledAt.After(now) }

// Delivery is a received message, locked for its receiver until
// LockedUntil, or a peeked one (no lock token).
type Delivery struct {
	Message
	Queue          string
	LockToken      string
	SequenceNumber int64
	// DeliveryCount is 1 on the first delivery and grows with each abandon
	// or lock expiry.
	DeliveryCount int
	EnqueuedAt    time.Time
	LockedUntil   time.Time
	ExpiresAt     time.Time
	// Set on deliveries read from a dead-letter subqueue.
	DeadLetterReason      string
	DeadLetterDescription string
}

// Sender sends messages to a queue. Send returns only once the messages are
// durably accepted: delta-pull advances its cursor after Send returns.
type Sender interface {
	Send(ctx context.Context, queue string, msgs ...Message) error
}

// Receiver receives and settles messages with peek-lock. A queue name with
// DeadLetterSuffix receives from the dead-letter subqueue.
type Receiver interface {
	// Receive waits up to wait for at least one message and returns at most
	// max; it returns an empty slice, not an error, when none came.
	Receive(ctx context.Context, queue string, max int, wait time.Duration) ([]Delivery, error)
	Complete(ctx context.Context, d Delivery) error
	// Abandon releases the lock for redelivery (delivery count + 1);
	// properties, if any, are merged into the message's application
	// properties (Service Bus propertiesToModify).
	Abandon(ctx context.Context, d Delivery, properties map[string]string) error
	DeadLetter(ctx context.Context, d Delivery, reason, description string) error
	RenewLock(ctx context.Context, d Delivery) (time.Time, error)
}

// Peeker reads messages without locking them, from sequence number from on.
type Peeker interface {
	Peek(ctx context.Context, queue string, from int64, max int) ([]Delivery, error)
}

// Options are a queue's settings, named as in Service Bus.
type Options struct {
	LockDuration             time.Duration
	MaxDeliveryCount         int
	DuplicateDetectionWindow time.Duration
}

// DefaultOptions are Service Bus's defaults except the shorter lock, which
// suits handlers that finish in seconds.
func DefaultOptions() Options {
	return Options{LockDuration: 30 * time.Second, MaxDeliveryCount: 10, DuplicateDetectionWindow: 10 * time.Minute}
}
