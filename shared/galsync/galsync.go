// Package galsync holds the domain of galsync: tenants, directions, the records
// the sync keeps (cursors, links, provisioning log) and the messages the
// functions pass to each other. It has no dependencies beyond the standard
// library, so every other package can speak it.
package galsync

import (
	"errors"
	"time"
)

// Queue names. The Functions host binds them in functions/*/function.json.
const (
	QueuePulls   = "pulls"
	QueueInvites = "invites"
	QueueUpdates = "updates"
)

// QueueParked holds the work galsync set aside after a permanent failure,
// or after its retries outlasted the retry budget: a custom handler cannot
// dead-letter the message the Functions host gave it, so galsync completes
// that message and parks a copy here, with the reason, for an operator
// (galsync dlq list|show|replay|purge). Nothing consumes it.
const QueueParked = "parked"

// Queues are galsync's queues, in the order work flows through them, then
// the parking queue.
func Queues() []string { return []string{QueuePulls, QueueInvites, QueueUpdates, QueueParked} }

// WorkQueues are the queues a function consumes.
func WorkQueues() []string { return []string{QueuePulls, QueueInvites, QueueUpdates} }

// Error kinds shared by every port. Adapters wrap them so callers can test
// with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	// ErrConflict: an ETag-guarded write lost to another writer (HTTP 412 in
	// Cosmos DB), or a create found the record already there.
	ErrConflict = errors.New("conflict")
	// ErrDeltaExpired: Graph refused the delta token (410 Gone,
	// syncStateNotFound, resyncRequired); the direction must resync in full.
	ErrDeltaExpired = errors.New("delta token expired or invalid")
	// ErrInvalid: the target refused the request itself as invalid
	// (Graph's 400 Bad Request: a value, a read-only property, a rule of
	// the directory). Sending it again cannot help, though the same write
	// without the refused part may. It comes wrapped in a PermanentError;
	// every other permanent error (403 no permission, 409, 401) is about
	// the caller, not the request, and is parked for an operator.
	ErrInvalid = errors.New("refused as invalid")
)

// PermanentError marks a failure that retrying will not cure (bad input, a
// 400 from Graph). Handlers still answer non-2xx so the message ends in the
// dead-letter queue with its reason rather than vanishing.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a PermanentError.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err, or an error it wraps, is permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// RetryableError is a transient failure that should be tried again, not
// before After (Graph's Retry-After, a replication delay, a claim held by
// another worker). Zero After leaves the delay to the backoff.
type RetryableError struct {
	Err   error
	After time.Duration
	// Deferred: nothing failed; the work waits for a budget (Graph's
	// per-tenant limits) and is put off rather than hold a worker. It is
	// not counted as a failed attempt.
	Deferred bool
}

func (e *RetryableError) Error() string { return e.Err.Error() }
func (e *RetryableError) Unwrap() error { return e.Err }

// RetryAfter wraps err as a RetryableError.
func RetryAfter(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &RetryableError{Err: err, After: after}
}

// Defer wraps err as work put off for after (a budget to wait for).
func Defer(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &RetryableError{Err: err, After: after, Deferred: true}
}

// IsDeferred reports whether err puts work off rather than fails it.
func IsDeferred(err error) bool {
	var r *RetryableError
	return errors.As(err, &r) && r.Deferred
}

// RetryDelay reports the delay a RetryableError in err's chain asks for,
// and whether there is one.
func RetryDelay(err error) (time.Duration, bool) {
	var r *RetryableError
	if errors.As(err, &r) {
		return r.After, true
	}
	return 0, false
}

// RefusedError is a write the target refused because of one attribute
// (Graph's 400 naming it): the other attributes can still be written.
// It is permanent for that attribute.
type RefusedError struct {
	Attribute string
	Err       error
}

func (e *RefusedError) Error() string { return e.Err.Error() }
func (e *RefusedError) Unwrap() error { return e.Err }

// Refused wraps err as the target's refusal of attribute.
func Refused(attribute string, err error) error {
	return &RefusedError{Attribute: attribute, Err: err}
}

// Clock is injected wherever time matters so tests can move it.
type Clock func() time.Time
