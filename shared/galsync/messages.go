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

// Pull modes.
const (
	// PullDelta reads the direction's changes from its cursor (the default).
	PullDelta = ""
	// PullFull starts a fresh full round of the source (users/delta
	// without a token) unless one is already in progress: it catches what
	// incremental rounds miss.
	PullFull = "full"
	// PullSweep compares every linked guest in the target with its desired
	// state and sends work for those that differ.
	PullSweep = "sweep"
	// PullLifecycle acts on a Graph lifecycle event of a source tenant's
	// subscription (Lifecycle names it): graph-lifecycle answers Graph at
	// once and leaves the work to delta-pull, which reauthorizes the
	// subscription or creates it again, then pulls the tenant's directions
	// when changes may have gone unnotified. Direction is empty.
	PullLifecycle = "lifecycle"
	// PullGroups brings the direction's mirrored groups up to date:
	// their source membership from groups/delta, their target groups'
	// members from the guests of the members in scope.
	PullGroups = "groups"
)

// PullRequest asks delta-pull to pull one direction or to sweep it, or to
// act on a subscription's lifecycle event.
type PullRequest struct {
	Direction   string    `json:"direction"`
	Trigger     string    `json:"trigger"`
	Mode        string    `json:"mode,omitempty"`
	RequestedAt time.Time `json:"requestedAt,omitzero"`
	// NotBefore is the end of the coalescing window the request was folded
	// into: later requests of the window are dropped as duplicates, so the
	// pull waits until then to cover them too. Zero means "at once".
	NotBefore time.Time `json:"notBefore,omitzero"`
	// Sweep continues a sweep: the round it belongs to and the target page
	// to read next.
	Sweep *SweepCursor `json:"sweep,omitempty"`
	// Verify (groups) reads every target group's members even where the
	// digest of the last membership written says nothing changed: the
	// sweep's check for edits made in the target.
	Verify bool `json:"verify,omitempty"`
	// Lifecycle is the event to act on (mode lifecycle only).
	Lifecycle *LifecycleWork `json:"lifecycle,omitempty"`
}

// LifecycleWork is a lifecycle event Graph sent about a source tenant's
// subscription, as graph-lifecycle accepted it.
type LifecycleWork struct {
	// Tenant is the source tenant's name in the topology.
	Tenant string `json:"tenant"`
	// Event is the lifecycleEvent: reauthorizationRequired,
	// subscriptionRemoved, or one Graph may add (which is answered with a
	// pull).
	Event string `json:"event"`
	// Subscription is the id of the subscription the event named.
	Subscription string `json:"subscription,omitempty"`
}

// SweepCursor is where a sweep stands when its invocation's budget ran
// out, or when it failed after reading some of the target.
type SweepCursor struct {
	Round string `json:"round"`
	// Link is the @odata.nextLink of the next page of target users; empty
	// once every page is read (Page > 0), when only the round's end is
	// left to do.
	Link string `json:"link"`
	// Page is the number of the next page (0 for the first).
	Page int `json:"page"`
}

// Read reports whether every page of the target is read.
func (c SweepCursor) Read() bool { return c.Page > 0 && c.Link == "" }

// Work item kinds.
const (
	// WorkUpsert: the source user was observed in scope (Source holds what
	// was read); its guest should exist and match the mapping.
	WorkUpsert = "upsert"
	// WorkReconcile: compare the guest with its desired state from the
	// newest source state galsync knows (the sweep, and operators).
	WorkReconcile = "reconcile"
	// WorkDeprovision: retire the guest per the direction's policy.
	WorkDeprovision = "deprovision"
)

// WorkItem names one source user to reconcile in one direction, carried on
// the invites and updates queues. It is level-based: the worker computes
// the desired guest with the mapping in force when it runs, from the
// newest source state known (Source here, or the link's, whichever is
// newer), reads the guest in the target and writes only the difference.
// So a replay after a fix converges and a stale or duplicated item writes
// nothing.
type WorkItem struct {
	Direction    string `json:"direction"`
	SourceUserID string `json:"sourceUserId"`
	// Seq orders the observations of one direction: the pull numbers them
	// as it reads them.
	Seq  int64  `json:"seq"`
	Kind string `json:"kind"`
	// Source holds the source user's selected attributes as observed
	// (upsert); empty for reconcile and deprovision.
	Source Snapshot `json:"source,omitempty"`
	Reason string   `json:"reason,omitempty"`
	// Round is the sweep round that sent the item (sweep items only).
	Round string `json:"round,omitempty"`
}

// MessageID is the queue message id of a work item: the same change re-read
// after a crash gets the same id, so duplicate detection drops it. A sweep's
// item carries its round too: the next sweep finds the same guest drifted
// again at the same sequence number (nothing changed in the source), and
// without the round its repair would be dropped as a duplicate of the last
// round's for as long as the queue's duplicate-detection window (an hour),
// while a page read again within one round still sends nothing twice.
func (w WorkItem) MessageID() string {
	id := fmt.Sprintf("%s:%s:%d:%s", w.Direction, w.SourceUserID, w.Seq, w.Kind)
	if w.Round != "" {
		id += "/" + w.Round
	}
	return id
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
	if w.Seq < 0 {
		errs = append(errs, errors.New("seq must not be negative"))
	}
	switch w.Kind {
	case WorkUpsert:
		if len(w.Source) == 0 {
			errs = append(errs, errors.New("upsert without source attributes"))
		}
		if w.Seq == 0 {
			errs = append(errs, errors.New("upsert without seq"))
		}
	case WorkReconcile, WorkDeprovision:
	default:
		errs = append(errs, fmt.Errorf("kind %q is none of %q, %q, %q", w.Kind, WorkUpsert, WorkReconcile, WorkDeprovision))
	}
	return errors.Join(errs...)
}

// DecodeWorkItem parses and validates a work item body; failures are
// permanent. An upsert that carries no source attributes (the
// desired-state items of galsync before 2026-12, left in a queue or
// dead-letter queue across an upgrade) is decoded as a reconcile: the
// worker takes the newest source state it knows, or reads the source user.
func DecodeWorkItem(body []byte) (WorkItem, error) {
	var w WorkItem
	if err := strictUnmarshal(body, &w); err != nil {
		return w, Permanent(fmt.Errorf("work item: %w", err))
	}
	if w.Kind == WorkUpsert && len(w.Source) == 0 {
		w.Kind = WorkReconcile
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
	var errs []error
	if p.Direction == "" && p.Mode != PullLifecycle {
		errs = append(errs, errors.New("direction is missing"))
	}
	if p.Sweep != nil && p.Mode != PullSweep {
		errs = append(errs, errors.New("a sweep cursor on a pull that is not a sweep"))
	}
	if p.Lifecycle != nil && p.Mode != PullLifecycle {
		errs = append(errs, errors.New("a lifecycle event on a pull that is not mode lifecycle"))
	}
	switch p.Mode {
	case PullDelta, PullFull, PullGroups:
	case PullSweep:
		if p.Sweep != nil && (p.Sweep.Round == "" || p.Sweep.Link == "" && p.Sweep.Page <= 0) {
			errs = append(errs, errors.New("sweep cursor without round or link"))
		}
	case PullLifecycle:
		if p.Lifecycle == nil || p.Lifecycle.Tenant == "" || p.Lifecycle.Event == "" {
			errs = append(errs, errors.New("lifecycle work without tenant or event"))
		}
	default:
		errs = append(errs, fmt.Errorf("mode %q is none of %q, %q, %q, %q, %q", p.Mode, PullDelta, PullFull, PullSweep, PullLifecycle, PullGroups))
	}
	if err := errors.Join(errs...); err != nil {
		return p, Permanent(fmt.Errorf("pull request: %w", err))
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
