package galsync

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Message bodies. The Functions host copies a JSON body's top-level scalar
// properties into the invocation Metadata, matched case-insensitively, so a
// body property named like a system key (messageId, deliveryCount, sys, ...)
// would overwrite it. Keep these field names clear of those.

// PullRequest asks delta-pull to pull one direction.
type PullRequest struct {
	Direction   string    `json:"direction"`
	Trigger     string    `json:"trigger"`
	RequestedAt time.Time `json:"requestedAt,omitzero"`
	// NotBefore is the end of the coalescing window the request was folded
	// into: later requests of the window are dropped as duplicates, so the
	// pull waits until then to cover them too. Zero means "at once".
	NotBefore time.Time `json:"notBefore,omitzero"`
}

// Work item kinds.
const (
	WorkUpsert      = "upsert"
	WorkDeprovision = "deprovision"
)

// WorkItem is a change for one source user in one direction, carried on the
// invites and updates queues. Desired is the full desired guest snapshot.
type WorkItem struct {
	Direction    string   `json:"direction"`
	SourceUserID string   `json:"sourceUserId"`
	Seq          int64    `json:"seq"`
	Kind         string   `json:"kind"`
	Desired      Snapshot `json:"desired,omitempty"`
	// InviteAddress is the address the invitation goes to (the source mail,
	// or the UPN across clouds). It is also the join key.
	InviteAddress string `json:"inviteAddress,omitempty"`
	Reason        string `json:"reason,omitempty"`
}

// MessageID is the queue message id of a work item: the same change re-read
// after a crash gets the same id, so duplicate detection drops it.
func (w WorkItem) MessageID() string {
	return fmt.Sprintf("%s:%s:%d:%s", w.Direction, w.SourceUserID, w.Seq, w.Kind)
}

// Validate checks a decoded work item.
func (w WorkItem) Validate() error {
	var errs []error
	if w.Direction == "" {
		errs = append(errs, errors.New("direction is missing"))
	}
	if w.SourceUserID == "" {
		errs = append(errs, errors.New("sourceUserId is missing"))
	}
	if w.Seq <= 0 {
		errs = append(errs, errors.New("seq must be positive"))
	}
	switch w.Kind {
	case WorkUpsert:
		if w.InviteAddress == "" {
			errs = append(errs, errors.New("upsert without inviteAddress"))
		}
	case WorkDeprovision:
	default:
		errs = append(errs, fmt.Errorf("kind %q is neither %q nor %q", w.Kind, WorkUpsert, WorkDeprovision))
	}
	return errors.Join(errs...)
}

// DecodeWorkItem parses and validates a work item body; failures are permanent.
func DecodeWorkItem(body []byte) (WorkItem, error) {
	var w WorkItem
	if err := strictUnmarshal(body, &w); err != nil {
		return w, Permanent(fmt.Errorf("work item: %w", err))
	}
	if err := w.Validate(); err != nil {
		return w, Permanent(fmt.Errorf("work item: %w", err))
	}
	return w, nil
}

// DecodePullRequest parses and validates a pull request body.
func DecodePullRequest(body []byte) (PullRequest, error) {
	var p PullRequest
	if err := strictUnmarshal(body, &p); err != nil {
		return p, Permanent(fmt.Errorf("pull request: %w", err))
	}
	if p.Direction == "" {
		return p, Permanent(errors.New("pull request: direction is missing"))
	}
	return p, nil
}

func strictUnmarshal(body []byte, v any) error {
	if len(body) == 0 {
		return errors.New("empty body")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("not valid JSON: %w", err)
	}
	return nil
}
