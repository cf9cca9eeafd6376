package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

// Inviter is the invite worker. It never makes a second guest for one
// source user (invariant 2): an existing link wins; an invitation is claimed
// in the link store (ETag-guarded) before it is sent; and before inviting it
// joins an external user that already has the address, so a retry after a
// crash between the invitation and the link write finds the guest it made.
type Inviter struct {
	Directions Catalog
	Store      LinkStore
	Graph      GuestDirectory
	Queue      queue.Sender
	Now        galsync.Clock
	// ClaimTTL: a claim older than this is taken over (its worker died).
	ClaimTTL time.Duration
	// ClaimWait: how long a copy of an item whose invitation is in
	// progress waits for it before taking over (5 s when zero).
	ClaimWait time.Duration
	Logger    *slog.Logger
}

// Outcome says what a worker did with an item, for logs and tests.
type Outcome struct {
	Action string // a galsync.Action*, or "handoff"
	Reason string
}

// HandOff is the outcome of passing an item to the other worker.
const HandOff = "handoff"

// Handle processes one invites-queue item.
func (w *Inviter) Handle(ctx context.Context, item galsync.WorkItem, invocationID string) (Outcome, error) {
	d, err := w.Directions.Get(item.Direction)
	if err != nil {
		return Outcome{}, err
	}
	if item.Kind != galsync.WorkUpsert {
		return Outcome{}, galsync.Permanent(fmt.Errorf("invite worker: %s item for %s belongs on the updates queue", item.Kind, item.SourceUserID))
	}
	link, err := w.Store.GetLink(ctx, d.Name, item.SourceUserID)
	exists := err == nil
	if err != nil && !errors.Is(err, galsync.ErrNotFound) {
		return Outcome{}, fmt.Errorf("invite worker: read link: %w", err)
	}
	if exists && w.sameClaim(link, item) {
		// Another copy of this very item is inviting (a duplicate
		// delivery) or its worker died (a redelivery after a crash): wait
		// for it; if it never finishes, take over, and the join by address
		// below finds any guest it made.
		if link, err = w.awaitClaim(ctx, link); err != nil {
			return Outcome{}, err
		}
	}
	if exists && w.handOffFirst(link, item) {
		return Outcome{Action: HandOff, Reason: "guest exists or is being invited"}, w.handOff(ctx, item, "exists:"+link.TargetUserID)
	}
	if !exists {
		link = galsync.Link{Direction: d.Name, SourceUserID: item.SourceUserID, CreatedAt: w.Now()}
	}
	link.State, link.ClaimedAt, link.ClaimSeq = galsync.LinkInviting, w.Now(), item.Seq
	link, err = w.Store.PutLink(ctx, link)
	if err != nil {
		// ErrConflict: another worker claimed it a moment ago; retrying
		// finds its link and hands on.
		return Outcome{}, fmt.Errorf("invite worker: claim link: %w", err)
	}
	target, action, applied, err := w.joinOrInvite(ctx, d, item)
	if err != nil {
		w.logFailure(ctx, item, invocationID, err)
		// Release the claim, so the retry (or a replay) goes ahead at once
		// instead of waiting for it to expire. If the invitation did reach
		// Graph, the retry's lookup by address joins the guest it made.
		link.ClearClaim()
		if _, rerr := w.Store.PutLink(ctx, link); rerr != nil {
			w.Logger.Warn("invite worker: could not release the claim after a failure; it expires on its own",
				"direction", d.Name, "sourceUser", item.SourceUserID, "err", rerr)
		}
		return Outcome{}, err
	}
	link.TargetUserID, link.State, link.Applied, link.AppliedSeq = target.ID, galsync.LinkActive, applied, item.Seq
	link.ClearClaim()
	link.UpdatedAt = w.Now()
	if _, err := w.Store.PutLink(ctx, link); err != nil {
		return Outcome{}, fmt.Errorf("invite worker: record link: %w", err)
	}
	if err := w.Store.AppendLog(ctx, galsync.LogEntry{Time: w.Now(), Direction: d.Name, SourceUserID: item.SourceUserID,
		TargetUserID: target.ID, Action: action, Outcome: galsync.OutcomeSuccess, Attributes: applied.Names(),
		Seq: item.Seq, InvocationID: invocationID}); err != nil {
		return Outcome{}, fmt.Errorf("invite worker: log: %w", err)
	}
	return Outcome{Action: action}, w.handOff(ctx, item, action+":"+target.ID)
}

// handOffFirst: the item goes straight to the update worker when the guest
// exists, or when another item's invitation is in progress (the update
// worker waits for it).
func (w *Inviter) handOffFirst(l galsync.Link, item galsync.WorkItem) bool {
	switch l.State {
	case galsync.LinkActive, galsync.LinkDisabled:
		return true
	case galsync.LinkInviting:
		fresh := w.Now().Sub(l.ClaimedAt) < w.ClaimTTL
		return fresh && l.ClaimSeq != item.Seq
	}
	return false
}

func (w *Inviter) sameClaim(l galsync.Link, item galsync.WorkItem) bool {
	return l.State == galsync.LinkInviting && l.ClaimSeq == item.Seq && w.Now().Sub(l.ClaimedAt) < w.ClaimTTL
}

// awaitClaim polls the link until its invitation finishes or ClaimWait
// passes, and returns the link as last read.
func (w *Inviter) awaitClaim(ctx context.Context, l galsync.Link) (galsync.Link, error) {
	wait := w.ClaimWait
	if wait <= 0 {
		wait = 5 * time.Second
	}
	deadline := w.Now().Add(wait)
	for l.State == galsync.LinkInviting && w.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return l, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		next, err := w.Store.GetLink(ctx, l.Direction, l.SourceUserID)
		if err != nil {
			return l, fmt.Errorf("invite worker: read link: %w", err)
		}
		l = next
	}
	return l, nil
}

func (w *Inviter) handOff(ctx context.Context, item galsync.WorkItem, tag string) error {
	return handOff(ctx, w.Queue, galsync.QueueUpdates, item, tag)
}

// joinOrInvite finds the user's guest by address or invites one. applied is
// what the target now holds of the desired attributes.
func (w *Inviter) joinOrInvite(ctx context.Context, d *Direction, item galsync.WorkItem) (galsync.TargetUser, string, galsync.Snapshot, error) {
	tenant := d.Target.Name
	found, err := w.Graph.FindUserByMail(ctx, tenant, item.InviteAddress, item.Desired.Names())
	switch {
	case err == nil && !isExternal(found):
		return found, "", nil, galsync.Permanent(errors.New("the target tenant has an internal (member) user with this address; galsync will not take it over: resolve the conflict, then replay"))
	case err == nil:
		applied := galsync.Snapshot{}
		for name := range item.Desired {
			applied[name] = galsync.Normalize(found.Attributes[name])
		}
		return found, galsync.ActionJoin, applied, nil
	case !errors.Is(err, galsync.ErrNotFound):
		return found, "", nil, fmt.Errorf("invite worker: look up guest: %w", err)
	}
	displayName, _ := item.Desired["displayName"].(string)
	if displayName == "" {
		displayName = item.InviteAddress
	}
	guest, err := w.Graph.Invite(ctx, tenant, galsync.Invitation{
		EmailAddress: item.InviteAddress, DisplayName: displayName, RedirectURL: d.InviteRedirectURL,
		UserType: d.UserType, SendInvitationMessage: d.SendInvitationMessage,
	})
	if err != nil {
		return guest, "", nil, fmt.Errorf("invite worker: invite: %w", err)
	}
	// The invitation sets the display name and the mail; the update worker
	// patches the rest.
	applied := galsync.Snapshot{}
	if _, ok := item.Desired["displayName"]; ok {
		applied["displayName"] = displayName
	}
	if _, ok := item.Desired["mail"]; ok {
		applied["mail"] = item.InviteAddress
	}
	return guest, galsync.ActionInvite, applied, nil
}

// isExternal: B2B users carry creationType Invitation, userType Guest, or
// an #EXT# user principal name.
func isExternal(u galsync.TargetUser) bool {
	return strings.EqualFold(u.CreationType, "Invitation") || strings.EqualFold(u.UserType, "Guest") ||
		strings.Contains(strings.ToUpper(u.UserPrincipalName), "#EXT#")
}

func (w *Inviter) logFailure(ctx context.Context, item galsync.WorkItem, invocationID string, cause error) {
	logFailure(ctx, w.Store, w.Logger, w.Now(), item, galsync.ActionInvite, invocationID, cause)
}

// logFailure records a failed attempt in the provisioning log; the message
// itself goes back to the queue (and, past maxDeliveryCount, to its
// dead-letter queue).
func logFailure(ctx context.Context, s LinkStore, logger *slog.Logger, now time.Time, item galsync.WorkItem, action, invocationID string, cause error) {
	err := s.AppendLog(ctx, galsync.LogEntry{Time: now, Direction: item.Direction, SourceUserID: item.SourceUserID,
		Action: action, Outcome: galsync.OutcomeFailed, Reason: cause.Error(), Seq: item.Seq, InvocationID: invocationID})
	if err != nil {
		logger.Error("could not write the provisioning log", "direction", item.Direction, "sourceUser", item.SourceUserID, "err", err)
	}
}
