package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/syncplan"
)

// Inviter is the invite worker: it gives a source user a guest in the
// target. It never makes a second guest for one source user (invariant 2):
// an existing link wins; an invitation is claimed in the link store
// (ETag-guarded) before it is sent; and before inviting it looks the
// address up in every form an existing guest may hold it (mail, otherMails,
// proxyAddresses, the #EXT# user principal name), so a retry after a crash
// or a lost answer finds the guest it made. A target member holding the
// address is a conflict, recorded once on the link, not a retry. The guest
// is then handed to the update worker, which reconciles its attributes.
type Inviter struct {
	Directions Catalog
	Store      LinkStore
	Graph      GuestDirectory
	// Source reads the source user when no source state is known (a
	// reconcile item of a link from before source states were kept).
	Source UserReader
	Now    galsync.Clock
	// ClaimTTL: a claim older than this is taken over (its worker died).
	ClaimTTL time.Duration
	// ReplicationWait is how long after an invitation the update worker
	// first reads the new guest: Graph may not show a user that new yet
	// (DefaultReplicationWait when zero).
	ReplicationWait time.Duration
	// Metrics counts invitations and conflicts; nil: none.
	Metrics Metrics
	Logger  *slog.Logger
}

// Outcome says what a worker did with an item, for logs and tests.
type Outcome struct {
	Action string // a galsync.Action*, or "handoff"
	Reason string
	// Attributes written (names only).
	Attributes []string
	// HandOff is the item passed to the other worker, if any.
	HandOff *HandOffItem
}

// HandOffItem is a work item passed from one worker to the other.
type HandOffItem struct {
	Queue string
	Item  galsync.WorkItem
	// NotBefore, if set, is when the receiving worker should take it.
	NotBefore time.Time
	// Tag distinguishes the hop in the message id.
	Tag string
}

// HandOff is the outcome of passing an item to the other worker.
const HandOff = "handoff"

// Handle processes one invites-queue item.
func (w *Inviter) Handle(ctx context.Context, item galsync.WorkItem, invocationID string) (Outcome, error) {
	d, err := w.Directions.Get(item.Direction)
	if err != nil {
		return Outcome{}, err
	}
	if item.Kind == galsync.WorkDeprovision {
		return Outcome{}, galsync.Permanent(fmt.Errorf("invite worker: deprovision item for %s belongs on the updates queue", item.SourceUserID))
	}
	link, err := w.Store.GetLink(ctx, d.Name, item.SourceUserID)
	exists := err == nil
	if err != nil && !errors.Is(err, galsync.ErrNotFound) {
		return Outcome{}, fmt.Errorf("invite worker: read link: %w", err)
	}
	if !exists {
		link = galsync.Link{Direction: d.Name, SourceUserID: item.SourceUserID, CreatedAt: w.Now()}
	}
	if why, stale := retiredSince(link, item); stale {
		return w.journal().done(ctx, item, link.TargetUserID, galsync.ActionSkip, galsync.OutcomeNoChange, why, nil)
	}
	newer := item.Seq > link.SourceSeq
	link.Observe(item.Seq, item.Source)
	if link.HasGuest() {
		return w.handOn(ctx, item, link, time.Time{}, "exists:"+link.TargetUserID), nil
	}
	if link.State == galsync.LinkConflict && !newer && item.Kind == galsync.WorkUpsert {
		// Nothing changed since the conflict was recorded: looking again
		// would find the same member.
		return Outcome{Action: galsync.ActionSkip, Reason: "conflict unchanged: " + link.Conflict}, nil
	}
	if link.State == galsync.LinkInviting && w.Now().Sub(link.ClaimedAt) < w.claimTTL() {
		return Outcome{}, galsync.RetryAfter(errors.New("invite worker: another worker is inviting this user"), 5*time.Second)
	}
	source, err := sourceState(ctx, w.Source, d, link)
	if err != nil {
		return Outcome{}, err
	}
	if source == nil {
		return w.journal().done(ctx, item, link.TargetUserID, galsync.ActionSkip, galsync.OutcomeSkipped, "the source user no longer exists", nil)
	}
	if in, why := d.Rules.InScope(galsync.SourceUser{ID: item.SourceUserID, Attributes: source}); !in {
		// Scope changed since the pull decided: the next pull retires or
		// skips the user, under the accidental-deletion threshold.
		return w.journal().done(ctx, item, link.TargetUserID, galsync.ActionSkip, galsync.OutcomeSkipped, "out of scope now: "+why, nil)
	}
	addr := d.Rules.InviteAddress(source)
	prev := link
	link.State, link.ClaimedAt, link.ClaimSeq = galsync.LinkInviting, w.Now(), item.Seq
	if link, err = w.Store.PutLink(ctx, link); err != nil {
		if errors.Is(err, galsync.ErrConflict) {
			// Another worker claimed it a moment ago: its link decides.
			return Outcome{}, galsync.RetryAfter(fmt.Errorf("invite worker: claim link: %w", err), time.Second)
		}
		return Outcome{}, fmt.Errorf("invite worker: claim link: %w", err)
	}
	gctx, cancel := underClaim(ctx, link.ClaimedAt, w.Now(), w.claimTTL())
	target, action, err := w.joinOrInvite(gctx, d, addr, source)
	err = outOfClaim(gctx, err)
	cancel()
	var refused *conversionRefused
	if errors.As(err, &refused) {
		metricsOr(w.Metrics).Conflict(ctx, d.Name, "member cannot be converted")
		return w.journal().conflict(ctx, item, link, prev, refused.member.ID, refused.reason)
	}
	if err != nil {
		w.release(ctx, d, link, prev)
		return Outcome{}, err
	}
	if action == galsync.ActionConflict {
		metricsOr(w.Metrics).Conflict(ctx, d.Name, "member holds the address")
		return w.journal().conflict(ctx, item, link, prev, target.ID, memberConflictReason(d, addr))
	}
	if action == galsync.ActionInvite || action == galsync.ActionConvert {
		metricsOr(w.Metrics).Invitation(ctx, d.Name)
	}
	now := w.Now()
	if target.ID != link.TargetUserID {
		// Another guest: what was known of the old one's accountEnabled
		// does not hold for it.
		link.DisabledByGalsync, link.DisabledInTargetAt = false, time.Time{}
	}
	link.TargetUserID, link.State, link.Conflict, link.UpdatedAt = target.ID, galsync.LinkActive, "", now
	link.ClearClaim()
	notBefore := time.Time{}
	if action == galsync.ActionInvite || action == galsync.ActionConvert {
		// A converted member is re-read like a new guest: Graph's
		// replicas may still show it as it was.
		link.InvitedAt = now
		notBefore = now.Add(w.replicationWait())
	}
	if action == galsync.ActionConvert {
		link.ConvertedAt = now
	}
	if link, err = w.Store.PutLink(ctx, link); err != nil {
		return Outcome{}, fmt.Errorf("invite worker: record link: %w", err)
	}
	if _, err := w.journal().done(ctx, item, link.TargetUserID, action, galsync.OutcomeSuccess, "", nil); err != nil {
		return Outcome{}, err
	}
	out := w.handOn(ctx, item, link, notBefore, action+":"+target.ID)
	out.Action = action
	return out, nil
}

// handOn passes the user to the update worker, which reconciles the guest.
func (w *Inviter) handOn(_ context.Context, item galsync.WorkItem, link galsync.Link, notBefore time.Time, tag string) Outcome {
	next := item
	next.Source = link.Source
	next.Seq = max(item.Seq, link.SourceSeq)
	if next.Kind == galsync.WorkUpsert && len(next.Source) == 0 {
		next.Kind = galsync.WorkReconcile
	}
	return Outcome{Action: HandOff, Reason: "guest exists; reconciling",
		HandOff: &HandOffItem{Queue: galsync.QueueUpdates, Item: next, NotBefore: notBefore, Tag: tag}}
}

// release ends a claim after a failure, so a retry (or a replay) goes ahead
// at once instead of waiting for the claim to expire. If the invitation did
// reach Graph, the retry's lookup by address joins the guest it made.
func (w *Inviter) release(ctx context.Context, d *Direction, claimed, prev galsync.Link) {
	prev.ETag = claimed.ETag
	prev.ClearClaim()
	if prev.State == galsync.LinkInviting || prev.State == "" {
		prev.State = galsync.LinkDeleted
	}
	if _, err := w.Store.PutLink(ctx, prev); err != nil {
		w.Logger.Warn("invite worker: could not release the claim after a failure; it expires on its own",
			"direction", d.Name, "sourceUser", claimed.SourceUserID, "err", err)
	}
}

// conflictReason says what a conflict with a target member is and what to
// do about it.
const conflictReason = "the target tenant has an internal (member) user with this address; galsync will not take it over. " +
	"Convert that user to an external user (or set the direction's existingMembers to convert), or remove it; " +
	"galsync looks again when the source user changes or at the next sweep"

// joinOrInvite finds the user's guest by address or invites one. A member
// holding the address comes back with action conflict.
func (w *Inviter) joinOrInvite(ctx context.Context, d *Direction, addr string, source galsync.Snapshot) (galsync.TargetUser, string, error) {
	tenant := d.Target.Name
	found, err := w.Graph.FindUserByAddress(ctx, tenant, addr, d.Target.Domain, conversionSelect(d))
	switch {
	case err == nil && !isExternal(found):
		if converts, _ := d.Rules.Converts(addr); converts {
			return w.convert(ctx, d, addr, found)
		}
		return found, galsync.ActionConflict, nil
	case err == nil:
		return found, galsync.ActionJoin, nil
	case !errors.Is(err, galsync.ErrNotFound):
		return found, "", fmt.Errorf("invite worker: look up guest: %w", err)
	}
	displayName, _ := d.Rules.Map(source)["displayName"].(string)
	if displayName == "" {
		displayName = addr
	}
	// An invitation to an address an existing user holds in a form the
	// lookup could not see answers with that user: the update worker reads
	// and reconciles whatever user the answer names.
	guest, err := w.Graph.Invite(ctx, tenant, galsync.Invitation{
		EmailAddress: addr, DisplayName: displayName, RedirectURL: d.InviteRedirectURL,
		UserType: d.UserType, SendInvitationMessage: d.SendInvitationMessage,
	})
	if err != nil {
		return guest, "", fmt.Errorf("invite worker: invite: %w", err)
	}
	return guest, galsync.ActionInvite, nil
}

func (w *Inviter) journal() journal {
	return journal{worker: "invite worker", store: w.Store, now: w.Now}
}

func (w *Inviter) claimTTL() time.Duration { return orDefault(w.ClaimTTL, DefaultClaimTTL) }

func (w *Inviter) replicationWait() time.Duration {
	return orDefault(w.ReplicationWait, DefaultReplicationWait)
}

// isExternal: B2B users carry creationType Invitation, userType Guest, an
// externalUserState (converted members too), or an #EXT# user principal
// name.
func isExternal(u galsync.TargetUser) bool {
	return strings.EqualFold(u.CreationType, "Invitation") || strings.EqualFold(u.UserType, "Guest") ||
		u.ExternalUserState != "" || syncplan.IsExternalUPN(u.UserPrincipalName)
}

// sourceState is the newest source state known for a link, read from the
// source tenant when none is kept. nil: the source user is gone.
func sourceState(ctx context.Context, src UserReader, d *Direction, link galsync.Link) (galsync.Snapshot, error) {
	if len(link.Source) > 0 {
		return link.Source, nil
	}
	if src == nil {
		return nil, galsync.Permanent(errors.New("no source state is known for this user and no source reader is configured"))
	}
	u, err := src.GetUser(ctx, d.Source.Name, link.SourceUserID, d.Rules.Select())
	if errors.Is(err, galsync.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read source user: %w", err)
	}
	return galsync.Snapshot(u.Attributes), nil
}
