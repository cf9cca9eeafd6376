package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/shared/syncplan"
)

// Updater is the update worker, a level-based reconciler (controller-
// runtime's reconcile is the model): it computes the guest's desired state
// with the mapping in force now, from the newest source state known, reads
// the guest as it is in the target, and writes only the difference, in one
// PATCH (invariant 4). A stale or duplicated item writes nothing, a replay
// after a mapping fix converges, and a target-side edit is reverted. It
// also retires guests per the direction's policy.
type Updater struct {
	Directions Catalog
	Store      LinkStore
	Graph      GuestDirectory
	// Source reads the source user when no source state is known.
	Source UserReader
	Now    galsync.Clock
	// ClaimTTL: a claim older than this is ignored (its worker died).
	ClaimTTL time.Duration
	// ReplicationGrace: a guest invited this recently that Graph answers
	// 404 for is taken as not yet replicated, not as deleted
	// (DefaultReplicationGrace when zero).
	ReplicationGrace time.Duration
	// ReplicationWait: how long to wait before reading such a guest again
	// (DefaultReplicationWait when zero).
	ReplicationWait time.Duration
	// Managers reads and writes the guests' manager references, Reports
	// lists a source user's direct reports; both are needed when a mapping
	// carries the manager (nil: managers are left alone).
	Managers ManagerDirectory
	Reports  ReportsReader
	// Queue sends what a guest's arrival or retirement changes for others:
	// its reports' manager references, its mirrored groups (nil: the
	// sweep finds them).
	Queue queue.Sender
	// Metrics counts PATCHes and conflicts; nil: none.
	Metrics Metrics
	Logger  *slog.Logger
}

// DefaultReplicationGrace bounds how long a new guest's 404 is taken for
// replication delay. Graph documents that a new object may take a while to
// show on every replica (learn.microsoft.com/graph/best-practices-concept,
// "Handling expected errors"; learn.microsoft.com/entra/external-id/
// troubleshoot, "invited user ... processing delays").
const DefaultReplicationGrace = 15 * time.Minute

// Handle processes one updates-queue item.
func (w *Updater) Handle(ctx context.Context, item galsync.WorkItem, invocationID string) (Outcome, error) {
	d, err := w.Directions.Get(item.Direction)
	if err != nil {
		return Outcome{}, err
	}
	for attempt := 0; ; attempt++ {
		out, err := w.try(ctx, d, item)
		if errors.Is(err, galsync.ErrConflict) && attempt < 4 {
			continue // the link moved under us: read it again
		}
		return out, err
	}
}

func (w *Updater) try(ctx context.Context, d *Direction, item galsync.WorkItem) (Outcome, error) {
	link, err := w.Store.GetLink(ctx, d.Name, item.SourceUserID)
	if errors.Is(err, galsync.ErrNotFound) {
		if item.Kind == galsync.WorkDeprovision {
			return w.journal().done(ctx, item, "", galsync.ActionSkip, galsync.OutcomeSkipped, syncplan.ReasonRemovedOnly, nil)
		}
		return w.toInviter(item, galsync.Link{}, "no guest yet", "nolink"), nil
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("update worker: read link: %w", err)
	}
	if w.claimedByOther(link) {
		return Outcome{}, galsync.RetryAfter(fmt.Errorf("update worker: %w", errClaimHeld), 2*time.Second)
	}
	if why, stale := retiredSince(link, item); stale {
		return w.journal().done(ctx, item, link.TargetUserID, galsync.ActionSkip, galsync.OutcomeNoChange, why, nil)
	}
	if item.Kind == galsync.WorkDeprovision {
		if item.Seq < link.SourceSeq {
			return w.journal().done(ctx, item, link.TargetUserID, galsync.ActionSkip, galsync.OutcomeNoChange,
				fmt.Sprintf("stale: the user was seen again (seq %d) after this deprovision (seq %d)", link.SourceSeq, item.Seq), nil)
		}
		return w.deprovision(ctx, d, link, item)
	}
	link.Observe(item.Seq, item.Source)
	if !link.HasGuest() {
		return w.toInviter(item, link, "no guest yet", string(link.State)+":"+link.TargetUserID), nil
	}
	fp := d.Rules.Fingerprint()
	if item.Kind == galsync.WorkUpsert && item.Seq < link.ReconciledSeq && link.ReconciledConfig == fp {
		return w.journal().done(ctx, item, link.TargetUserID, galsync.ActionSkip, galsync.OutcomeNoChange,
			fmt.Sprintf("stale: seq %d is older than the reconciled seq %d", item.Seq, link.ReconciledSeq), nil)
	}
	return w.reconcile(ctx, d, link, item)
}

// reconcile converges one guest on its desired state.
func (w *Updater) reconcile(ctx context.Context, d *Direction, link galsync.Link, item galsync.WorkItem) (Outcome, error) {
	source, err := sourceState(ctx, w.Source, d, link)
	if err != nil {
		return Outcome{}, err
	}
	if source == nil {
		return w.journal().done(ctx, item, link.TargetUserID, galsync.ActionSkip, galsync.OutcomeSkipped,
			"the source user no longer exists; the next pull retires the guest", nil)
	}
	link.Source = source
	if in, why := d.Rules.InScope(galsync.SourceUser{ID: link.SourceUserID, Attributes: source}); !in {
		return w.journal().done(ctx, item, link.TargetUserID, galsync.ActionSkip, galsync.OutcomeSkipped,
			"out of scope now ("+why+"); the next pull retires the guest", nil)
	}
	target, err := w.Graph.GetGuest(ctx, d.Target.Name, link.TargetUserID, d.Rules.TargetSelect())
	if errors.Is(err, galsync.ErrNotFound) {
		return w.missing(ctx, link, item, err)
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("update worker: read guest: %w", err)
	}
	if !isExternal(target) {
		// The user the link names is an internal member (an invitation
		// answered with a member holding the address, or a guest turned
		// member in the target): galsync does not take members over.
		metricsOr(w.Metrics).Conflict(ctx, d.Name, "member holds the address")
		return w.journal().conflict(ctx, item, link, link, target.ID, conflictReason)
	}
	plan := planReconcile(d, link, target, source)
	mgr, err := w.planManager(ctx, d, link, source)
	if err != nil {
		return Outcome{}, err
	}
	if mgr != nil && mgr.refused != nil {
		plan.stillRefused[syncplan.ManagerAttribute] = *mgr.refused
	}
	written, refused := []string{}, map[string]galsync.Refusal{}
	if len(plan.changes) > 0 || plan.addressList || mgr != nil && mgr.write {
		if link, err = w.claim(ctx, link, item); err != nil {
			return Outcome{}, err
		}
		gctx, cancel := underClaim(ctx, link.ClaimedAt, w.Now(), w.claimTTL())
		written, refused, err = w.write(gctx, d, link, plan, mgr)
		err = outOfClaim(gctx, err)
		cancel()
		if errors.Is(err, errGuestGone) {
			return w.missing(ctx, w.releaseClaim(ctx, d, link), item, err)
		}
		if err != nil {
			w.releaseClaim(ctx, d, link)
			return Outcome{}, err
		}
	}
	var extra []galsync.LogEntry
	if mgr != nil {
		if e, ok := managerLog(link, mgr, slices.Contains(written, syncplan.ManagerAttribute)); ok {
			extra = append(extra, e)
		}
		link.ManagerPending = mgr.want.pending
	}
	if link.Announced != link.TargetUserID {
		if err := w.announce(ctx, d, link, true); err != nil {
			w.releaseClaim(ctx, d, link)
			return Outcome{}, err
		}
		link.Announced = link.TargetUserID
	}
	return w.record(ctx, d, link, item, plan, written, refused, extra...)
}

// errGuestGone: Graph does not know the guest a PATCH was sent to.
var errGuestGone = errors.New("the guest is not in the target")

// write makes the writes plan and mgr call for, under the link's claim:
// the PATCH of the attributes, the address-list write and the manager
// reference. It returns what was written and what Graph refused.
func (w *Updater) write(ctx context.Context, d *Direction, link galsync.Link, plan reconcilePlan, mgr *managerStep) ([]string, map[string]galsync.Refusal, error) {
	written, refused := []string{}, map[string]galsync.Refusal{}
	if len(plan.changes) > 0 {
		var err error
		written, refused, err = w.patch(ctx, d, link, plan.changes)
		if errors.Is(err, galsync.ErrNotFound) {
			return nil, nil, fmt.Errorf("update worker: %w: %w", errGuestGone, err)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("update worker: %w", err)
		}
	}
	if plan.addressList {
		err := w.Graph.UpdateUser(ctx, d.Target.Name, link.TargetUserID, map[string]any{"showInAddressList": true})
		switch {
		case err == nil:
			written = append(written, "showInAddressList")
		case isRefusal(err):
			refused["showInAddressList"] = refusal(d, "showInAddressList", true, err, w.Now())
		default:
			return nil, nil, fmt.Errorf("update worker: show in address list: %w", err)
		}
	}
	if mgr != nil && mgr.write {
		r, err := w.writeManager(ctx, d, link, mgr)
		switch {
		case err != nil:
			return nil, nil, err
		case r != nil:
			refused[syncplan.ManagerAttribute] = *r
		default:
			written = append(written, syncplan.ManagerAttribute)
		}
	}
	return written, refused, nil
}

// reconcilePlan is what converging a guest writes.
type reconcilePlan struct {
	changes map[string]any
	// addressList: the separate showInAddressList write is due.
	addressList bool
	action      string // update or reenable
	// stillRefused keeps refusals whose mapping and value are unchanged.
	stillRefused map[string]galsync.Refusal
	// blocked: the target disabled the guest, not galsync; it is left
	// disabled and reported.
	blocked bool
}

// planReconcile compares the guest as read with its desired state: the
// mapping applied to the source, the guest enabled as its source account
// is (an out-of-scope disabled user never gets here unless the scope
// includes disabled users) and of the direction's userType, less what
// Graph refused for the same mapping and value. A guest is enabled only
// if galsync disabled it: one the target tenant disabled stays so.
func planReconcile(d *Direction, link galsync.Link, target galsync.TargetUser, source galsync.Snapshot) reconcilePlan {
	desired := d.Rules.Map(source)
	blocked := false
	if current, ok := target.Attributes["accountEnabled"].(bool); ok {
		// An in-scope user's guest is enabled, or mirrors a disabled
		// source account where the scope includes disabled users.
		enabled, known := source["accountEnabled"].(bool)
		want := enabled || !known
		blocked = want && !current && !disabledByGalsync(link)
		if !blocked {
			desired["accountEnabled"] = want
		}
	}
	if d.UserType != "" && target.UserType != "" && !strings.EqualFold(target.UserType, d.UserType) {
		desired["userType"] = d.UserType
	}
	addressList := d.Rules.AddressList() == syncplan.AddressListGraph
	p := reconcilePlan{action: galsync.ActionUpdate, stillRefused: map[string]galsync.Refusal{}, blocked: blocked}
	for attr, r := range link.Refused {
		want, mapped := desired[attr]
		if attr == "showInAddressList" && addressList {
			want, mapped = true, true
		}
		if mapped && r.Fingerprint == d.Rules.AttributeFingerprint(attr, want) {
			p.stillRefused[attr] = r
			delete(desired, attr)
		}
	}
	p.changes = syncplan.Diff(galsync.Snapshot(target.Attributes), desired)
	if enabled, _ := p.changes["accountEnabled"].(bool); enabled {
		p.action = galsync.ActionReenable
	}
	if addressList {
		_, refused := p.stillRefused["showInAddressList"]
		shown, _ := target.Attributes["showInAddressList"].(bool)
		p.addressList = !refused && !shown
	}
	return p
}

// patch writes changes in one PATCH. Graph applies a PATCH whole or not at
// all, so when it refuses one attribute (a 400 naming it) the others are
// written without it, and the refused one is returned to be recorded.
// When a refusal names no attribute, each is written on its own to find
// the refused ones. Any other failure, permanent ones included (a 403
// for a permission the app lacks), is returned: it says nothing about the
// attributes, and recording them as refused would stop them for good.
func (w *Updater) patch(ctx context.Context, d *Direction, link galsync.Link, changes map[string]any) ([]string, map[string]galsync.Refusal, error) {
	changes = maps.Clone(changes)
	refused := map[string]galsync.Refusal{}
	refuse := func(attr string, err error) {
		refused[attr] = refusal(d, attr, changes[attr], err, w.Now())
		delete(changes, attr)
	}
	for len(changes) > 0 {
		err := w.Graph.UpdateUser(ctx, d.Target.Name, link.TargetUserID, changes)
		var re *galsync.RefusedError
		switch {
		case err == nil:
			metricsOr(w.Metrics).Patch(ctx, d.Name)
			return slices.Sorted(maps.Keys(changes)), refused, nil
		case errors.As(err, &re) && hasKey(changes, re.Attribute):
			refuse(re.Attribute, err)
		case isRefusal(err) && len(changes) > 1:
			return w.patchEach(ctx, d, link, changes, refused, refuse)
		case isRefusal(err):
			for attr := range changes {
				refuse(attr, err)
			}
		default:
			return nil, refused, err
		}
	}
	return []string{}, refused, nil
}

// patchEach writes the attributes one PATCH each, recording the refused;
// any other failure ends it.
func (w *Updater) patchEach(ctx context.Context, d *Direction, link galsync.Link, changes map[string]any,
	refused map[string]galsync.Refusal, refuse func(string, error)) ([]string, map[string]galsync.Refusal, error) {
	var written []string
	for _, attr := range slices.Sorted(maps.Keys(changes)) {
		err := w.Graph.UpdateUser(ctx, d.Target.Name, link.TargetUserID, map[string]any{attr: changes[attr]})
		switch {
		case err == nil:
			metricsOr(w.Metrics).Patch(ctx, d.Name)
			written = append(written, attr)
		case isRefusal(err):
			refuse(attr, err)
		default:
			return written, refused, err
		}
	}
	return written, refused, nil
}

// disabledByGalsync reports whether galsync disabled link's guest itself:
// it wrote accountEnabled false, or retired the guest (a link disabled
// before galsync kept DisabledByGalsync) without having found it blocked
// by the target first.
func disabledByGalsync(link galsync.Link) bool {
	return link.DisabledByGalsync || link.State == galsync.LinkDisabled && link.DisabledInTargetAt.IsZero()
}

func hasKey(m map[string]any, k string) bool { _, ok := m[k]; return ok }

// record saves the reconciled link and logs what was written and refused.
func (w *Updater) record(ctx context.Context, d *Direction, link galsync.Link, item galsync.WorkItem, plan reconcilePlan,
	written []string, refused map[string]galsync.Refusal, extra ...galsync.LogEntry) (Outcome, error) {
	now := w.Now()
	newRefusals := slices.Sorted(maps.Keys(refused))
	maps.Copy(plan.stillRefused, refused)
	link.Refused = plan.stillRefused
	if len(link.Refused) == 0 {
		link.Refused = nil
	}
	link.State, link.ReconciledSeq, link.ReconciledConfig, link.ReconciledAt = galsync.LinkActive, link.SourceSeq, d.Rules.Fingerprint(), now
	if enabled, ok := plan.changes["accountEnabled"].(bool); ok && slices.Contains(written, "accountEnabled") {
		link.DisabledByGalsync = !enabled
	}
	var entries []galsync.LogEntry
	switch {
	case plan.blocked && link.DisabledInTargetAt.IsZero():
		link.DisabledInTargetAt = now
		entries = append(entries, galsync.LogEntry{Time: now, Direction: d.Name, SourceUserID: link.SourceUserID,
			TargetUserID: link.TargetUserID, Action: galsync.ActionBlocked, Outcome: galsync.OutcomeSkipped,
			Reason: reasonDisabledInTarget, Attributes: []string{"accountEnabled"}, Seq: item.Seq})
	case !plan.blocked:
		link.DisabledInTargetAt = time.Time{}
	}
	link.ClearClaim()
	link.UpdatedAt = now
	if _, err := w.Store.PutLink(ctx, link); err != nil {
		return Outcome{}, fmt.Errorf("update worker: record reconciled guest: %w", err)
	}
	for _, attr := range newRefusals {
		entries = append(entries, galsync.LogEntry{Time: now, Direction: d.Name, SourceUserID: link.SourceUserID,
			TargetUserID: link.TargetUserID, Action: galsync.ActionRefused, Outcome: galsync.OutcomeFailed,
			Reason: refused[attr].Message, Attributes: []string{attr}, Seq: item.Seq})
	}
	action, outcome, reason := plan.action, galsync.OutcomeSuccess, ""
	if len(written) == 0 {
		action, outcome, reason = galsync.ActionUpdate, galsync.OutcomeNoChange, "unchanged"
	}
	for _, e := range extra {
		e.Time, e.Seq = now, item.Seq
		entries = append(entries, e)
	}
	entries = append(entries, galsync.LogEntry{Time: now, Direction: d.Name, SourceUserID: link.SourceUserID,
		TargetUserID: link.TargetUserID, Action: action, Outcome: outcome, Reason: reason, Attributes: written, Seq: item.Seq})
	if err := w.Store.AppendLog(ctx, entries...); err != nil {
		return Outcome{}, fmt.Errorf("update worker: log: %w", err)
	}
	return Outcome{Action: action, Reason: reason, Attributes: written}, nil
}

// reasonDisabledInTarget is why a disabled guest is left disabled.
const reasonDisabledInTarget = "the guest was disabled in the target tenant, not by galsync (an administrator's block, " +
	"e.g. a compromised account): galsync leaves it disabled and keeps its other attributes current. " +
	"Enable it in the target tenant once the block may be lifted"

// missing handles a guest Graph does not know: not yet replicated if it
// was invited moments ago (try again later), else deleted in the target
// (invite again).
func (w *Updater) missing(ctx context.Context, link galsync.Link, item galsync.WorkItem, cause error) (Outcome, error) {
	if !link.InvitedAt.IsZero() && w.Now().Sub(link.InvitedAt) < w.grace() {
		return Outcome{}, galsync.RetryAfter(fmt.Errorf("update worker: the new guest is not visible yet (directory replication): %w", cause), w.wait())
	}
	link.State, link.UpdatedAt = galsync.LinkDeleted, w.Now()
	link.ClearClaim()
	if _, err := w.Store.PutLink(ctx, link); err != nil {
		return Outcome{}, fmt.Errorf("update worker: record deleted guest: %w", err)
	}
	return w.toInviter(item, link, "guest missing in the target; inviting again", "deleted:"+link.TargetUserID), nil
}

// toInviter passes the user to the invite worker.
func (w *Updater) toInviter(item galsync.WorkItem, link galsync.Link, reason, tag string) Outcome {
	next := item
	if len(link.Source) > 0 && link.SourceSeq >= item.Seq {
		next.Source, next.Seq = link.Source, link.SourceSeq
	}
	if next.Kind == galsync.WorkUpsert && len(next.Source) == 0 {
		next.Kind = galsync.WorkReconcile
	}
	return Outcome{Action: HandOff, Reason: reason, HandOff: &HandOffItem{Queue: galsync.QueueInvites, Item: next, Tag: tag}}
}

// deprovision retires the guest per the direction's policy and records
// the retirement (RetiredSeq), so that work observed before it changes
// nothing.
func (w *Updater) deprovision(ctx context.Context, d *Direction, link galsync.Link, item galsync.WorkItem) (Outcome, error) {
	action, why := syncplan.DeprovisionAction(d.Deprovision.Action, link.State)
	if !link.HasGuest() {
		action, why = "", "no guest to retire ("+string(link.State)+")"
	}
	if action == "" {
		link, err := w.recordRetirement(ctx, link, item)
		if err != nil {
			return Outcome{}, err
		}
		// A retirement whose announcement failed is announced now.
		if err := w.announceRetired(ctx, d, link); err != nil {
			return Outcome{}, err
		}
		return w.journal().done(ctx, item, link.TargetUserID, galsync.ActionSkip, galsync.OutcomeSkipped, why, nil)
	}
	claimed, err := w.claim(ctx, link, item)
	if err != nil {
		return Outcome{}, err
	}
	link, wrote := claimed, true
	gctx, cancel := underClaim(ctx, claimed.ClaimedAt, w.Now(), w.claimTTL())
	switch action {
	case galsync.ActionDisable:
		wrote, err = w.disable(gctx, d, &link)
	case galsync.ActionDelete:
		err = w.Graph.DeleteUser(gctx, d.Target.Name, link.TargetUserID)
		if errors.Is(err, galsync.ErrNotFound) {
			err = nil
		}
		link.State = galsync.LinkDeleted
	}
	err = outOfClaim(gctx, err)
	cancel()
	if err != nil {
		// The link as claimed: the retry must find the guest not retired.
		w.releaseClaim(ctx, d, claimed)
		return Outcome{}, fmt.Errorf("update worker: %s guest: %w", action, err)
	}
	link.SourceSeq, link.RetiredSeq, link.UpdatedAt = max(link.SourceSeq, item.Seq), max(link.RetiredSeq, item.Seq), w.Now()
	link.ClearClaim()
	if link, err = w.Store.PutLink(ctx, link); err != nil {
		return Outcome{}, fmt.Errorf("update worker: record %s: %w", action, err)
	}
	if err := w.announceRetired(ctx, d, link); err != nil {
		return Outcome{}, err
	}
	outcome := galsync.OutcomeSuccess
	if !wrote {
		outcome = galsync.OutcomeNoChange
	}
	return w.journal().done(ctx, item, link.TargetUserID, action, outcome, item.Reason, nil)
}

// recordRetirement records that the user left scope at item's seq where
// nothing is written to the guest (the policy is none, the guest is
// already retired, or there is none): work observed before it is stale all
// the same. A conflict recorded for the user no longer needs an operator.
func (w *Updater) recordRetirement(ctx context.Context, link galsync.Link, item galsync.WorkItem) (galsync.Link, error) {
	if item.Seq <= link.RetiredSeq {
		return link, nil
	}
	link.SourceSeq, link.RetiredSeq, link.UpdatedAt = max(link.SourceSeq, item.Seq), item.Seq, w.Now()
	if link.State == galsync.LinkConflict || link.State == galsync.LinkInviting {
		link.State, link.Conflict = galsync.LinkDeleted, ""
		link.ClearClaim()
	}
	saved, err := w.Store.PutLink(ctx, link)
	if err != nil {
		return link, fmt.Errorf("update worker: record retirement: %w", err)
	}
	return saved, nil
}

// disable disables the guest unless it already is; a guest Graph does not
// know is recorded as deleted.
func (w *Updater) disable(ctx context.Context, d *Direction, link *galsync.Link) (bool, error) {
	g, err := w.Graph.GetGuest(ctx, d.Target.Name, link.TargetUserID, []string{"accountEnabled"})
	if errors.Is(err, galsync.ErrNotFound) {
		link.State = galsync.LinkDeleted
		return false, nil
	}
	if err != nil {
		return false, err
	}
	link.State = galsync.LinkDisabled
	if enabled, ok := g.Attributes["accountEnabled"].(bool); ok && !enabled {
		return false, nil
	}
	err = w.Graph.UpdateUser(ctx, d.Target.Name, link.TargetUserID, map[string]any{"accountEnabled": false})
	if errors.Is(err, galsync.ErrNotFound) {
		link.State = galsync.LinkDeleted
		return false, nil
	}
	if err != nil {
		return false, err
	}
	link.DisabledByGalsync = true
	return true, nil
}

// claimedByOther: another write to this guest is in progress (a fresh
// claim).
func (w *Updater) claimedByOther(l galsync.Link) bool {
	return !l.ClaimedAt.IsZero() && w.Now().Sub(l.ClaimedAt) < w.claimTTL()
}

func (w *Updater) claimTTL() time.Duration { return orDefault(w.ClaimTTL, DefaultClaimTTL) }

// claim marks the link as being written, ETag-guarded: of two workers
// holding copies of one item (a duplicate delivery), only one wins and
// writes to Graph; the other reads the link again, sees the claim, and
// comes back later to find the guest converged.
func (w *Updater) claim(ctx context.Context, link galsync.Link, item galsync.WorkItem) (galsync.Link, error) {
	link.ClaimedAt, link.ClaimSeq = w.Now(), item.Seq
	claimed, err := w.Store.PutLink(ctx, link)
	if err != nil {
		return link, fmt.Errorf("update worker: claim link: %w", err)
	}
	claimed.Source = link.Source
	return claimed, nil
}

// releaseClaim ends a claim after a failure and returns the link as
// written, for whatever writes it next.
func (w *Updater) releaseClaim(ctx context.Context, d *Direction, link galsync.Link) galsync.Link {
	link.ClearClaim()
	saved, err := w.Store.PutLink(ctx, link)
	if err != nil {
		w.Logger.Warn("update worker: could not release the claim; it expires on its own", "direction", d.Name,
			"sourceUser", link.SourceUserID, "err", err)
		return link
	}
	saved.Source = link.Source
	return saved
}

func (w *Updater) grace() time.Duration {
	return orDefault(w.ReplicationGrace, DefaultReplicationGrace)
}

func (w *Updater) wait() time.Duration { return orDefault(w.ReplicationWait, DefaultReplicationWait) }

func (w *Updater) journal() journal {
	return journal{worker: "update worker", store: w.Store, now: w.Now}
}
