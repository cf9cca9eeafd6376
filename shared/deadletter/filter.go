package deadletter

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Filter selects dead letters. Zero fields select everything.
type Filter struct {
	// Queues are the main queues whose dead letters are read, in order.
	Queues []string
	// Origin, if set, selects letters from that queue only: its dead
	// letters, and the messages galsync parked from it.
	Origin string
	// Direction matches the galsync-direction property, or the body's
	// direction when the property is missing.
	Direction string
	// Reason is a case-insensitive substring of the dead-letter reason, its
	// description or the last error a worker recorded.
	Reason string
	// OlderThan and NewerThan bound the age of the message: the time since
	// it was enqueued (a replayed copy is enqueued when it is replayed).
	OlderThan, NewerThan time.Duration
	// MessageID matches the message id, or the id of the original of a
	// replayed copy (so one id finds every copy of a message).
	MessageID string
}

// Validate checks the filter.
func (f Filter) Validate() error {
	var errs []error
	if len(f.Queues) == 0 {
		errs = append(errs, errors.New("no queue to read"))
	}
	if f.OlderThan < 0 || f.NewerThan < 0 {
		errs = append(errs, errors.New("ages must not be negative"))
	}
	if f.OlderThan > 0 && f.NewerThan > 0 && f.OlderThan >= f.NewerThan {
		errs = append(errs, fmt.Errorf("older than %s and newer than %s selects nothing", f.OlderThan, f.NewerThan))
	}
	return errors.Join(errs...)
}

// Match reports whether the filter selects a letter, at time now.
func (f Filter) Match(l Letter, now time.Time) bool {
	if f.Origin != "" && l.Origin != f.Origin {
		return false
	}
	if f.Direction != "" && l.Direction != f.Direction {
		return false
	}
	if f.MessageID != "" && l.MessageID != f.MessageID && l.OriginalID != f.MessageID && OriginalID(l.MessageID) != f.MessageID {
		return false
	}
	if f.Reason != "" {
		want := strings.ToLower(f.Reason)
		if !strings.Contains(strings.ToLower(l.Reason), want) && !strings.Contains(strings.ToLower(l.Description), want) &&
			!strings.Contains(strings.ToLower(l.LastError), want) {
			return false
		}
	}
	age := now.Sub(l.EnqueuedAt)
	if f.OlderThan > 0 && age < f.OlderThan {
		return false
	}
	if f.NewerThan > 0 && age >= f.NewerThan {
		return false
	}
	return true
}
