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

// Queues are galsync's queues, in the order work flows through them.
func Queues() []string { return []string{QueuePulls, QueueInvites, QueueUpdates} }

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

// Clock is injected wherever time matters so tests can move it.
type Clock func() time.Time
