package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

// Mirrored groups. A direction names source security groups
// (mirrorGroups); for each, the target gets a security group (made if
// absent, named by groupNamePattern; galsync records the pair) whose
// members are the guests of the source group's direct members that are in
// scope. A run of a direction's groups (a pull request of mode "groups" on
// the pulls queue, so it needs no function of its own) reads each group's
// changes from groups/delta (members@delta) into the pair, works out the
// desired members from the links, and writes the difference to the target
// group. It is level-based like the workers: the pair keeps a digest of the
// membership last written, so a run in which nothing changed reads no
// target group and writes nothing, and the sweep's run (Verify) reads every
// target group to undo edits made there.
//
// Runs are asked for by every finished users/delta round of the direction,
// by a guest's arrival or retirement (at most one run per GroupsWindow),
// and by the sweep.
//
// Rules:
//   - Nested groups are not flattened: a group among a source group's
//     members is recorded and reported, and its members are not members of
//     the mirror (mirror the nested group itself to carry them).
//   - Only guests galsync manages are removed from a target group: members
//     added there by someone else stay.
//   - A target group of the same name that galsync did not make (its
//     description names the source group) is never taken over: the pair is
//     refused and reported.
//   - A deleted source group leaves its target group in place, reported,
//     never deleted; a target group deleted by someone is made again.
//   - A source group with more than galsync.MaxGroupMembers direct members
//     is refused and reported.

// GroupsWindow: guests that arrive in a direction within it are added to
// its mirrored groups by one run.
const GroupsWindow = 5 * time.Second

// GroupDirectory is what a groups run reads and writes in Graph
// (graph.Client provides it).
type GroupDirectory interface {
	GroupDeltaPage(ctx context.Context, tenant, link, groupID string) (galsync.GroupDeltaPage, error)
	FindGroupsByName(ctx context.Context, tenant, name string) ([]galsync.TargetGroup, error)
	CreateGroup(ctx context.Context, tenant string, g galsync.NewGroup) (galsync.TargetGroup, error)
	RenameGroup(ctx context.Context, tenant, id, name string) error
	GroupMembers(ctx context.Context, tenant, id string) ([]string, error)
	AddGroupMembers(ctx context.Context, tenant, id string, members []string) (galsync.MemberWrites, error)
	RemoveGroupMembers(ctx context.Context, tenant, id string, members []string) (galsync.MemberWrites, error)
}

// GroupStore is what a groups run keeps.
type GroupStore interface {
	GetGroupPair(ctx context.Context, direction, key string) (galsync.GroupPair, error)
	PutGroupPair(ctx context.Context, p galsync.GroupPair) (galsync.GroupPair, error)
	ListGroupPairs(ctx context.Context, direction string) ([]galsync.GroupPair, error)
	ListLinks(ctx context.Context, direction string, fn func(galsync.Link) error) error
	AppendLog(ctx context.Context, entries ...galsync.LogEntry) error
}

// GroupSyncer runs a direction's mirrored groups.
type GroupSyncer struct {
	Directions Catalog
	Store      GroupStore
	Graph      GroupDirectory
	Now        galsync.Clock
	// ClaimTTL: a claim on a pair older than this is taken over.
	ClaimTTL time.Duration
	// ReplicationGrace: a target group made (or a guest invited) this
	// recently that Graph does not find yet is waited for, not recreated
	// (DefaultReplicationGrace when zero); ReplicationWait is the wait.
	ReplicationGrace time.Duration
	ReplicationWait  time.Duration
	Logger           *slog.Logger
}

// GroupsResult counts what a run did.
type GroupsResult struct {
	Groups, Created, Added, Removed, Requests, Failed int
	// Unchanged: groups whose membership was already as desired.
	Unchanged int
}

// GroupsMessage asks for a run of a direction's mirrored groups. Requests
// within window share their message id and run once, at the window's end
// (a scheduled message), so a burst of arriving guests costs one run; a
// window of a nanosecond or less runs at once.
func GroupsMessage(direction, trigger string, now time.Time, window time.Duration) (queue.Message, error) {
	id := fmt.Sprintf("groups:%s:%d", direction, now.UnixNano())
	var at time.Time
	if window > time.Nanosecond {
		slot := now.UnixNano() / int64(window)
		id, at = fmt.Sprintf("groups:%s:w%d", direction, slot), windowEnd(now, window)
	}
	body, err := json.Marshal(galsync.PullRequest{Direction: direction, Trigger: trigger, Mode: galsync.PullGroups, RequestedAt: now.UTC()})
	if err != nil {
		return queue.Message{}, fmt.Errorf("pipeline: encode groups request: %w", err)
	}
	return queue.Message{ID: queue.FitID(id), Body: body, ContentType: "application/json", Subject: galsync.PullGroups,
		Properties: map[string]string{queue.PropDirection: direction}, ScheduledAt: at}, nil
}

// requestGroups asks for a run of d's mirrored groups now, if it has any.
func requestGroups(ctx context.Context, q queue.Sender, d *Direction, trigger string, now time.Time) error {
	if len(d.MirrorGroups) == 0 {
		return nil
	}
	m, err := GroupsMessage(d.Name, trigger, now, 0)
	if err != nil {
		return err
	}
	if err := q.Send(ctx, galsync.QueuePulls, m); err != nil {
		return fmt.Errorf("pipeline: ask for a run of the mirrored groups of %s: %w", d.Name, err)
	}
	return nil
}

// Run brings every mirrored group of req.Direction up to date. A transient
// failure of one group does not stop the others; it is returned at the
// end, so the request is retried (the groups already done then cost a
// groups/delta read each).
func (s *GroupSyncer) Run(ctx context.Context, req galsync.PullRequest, invocationID string) (GroupsResult, error) {
	var res GroupsResult
	d, err := s.Directions.Get(req.Direction)
	if err != nil {
		return res, err
	}
	idx := &linkIndex{}
	var failure error
	for _, gid := range d.MirrorGroups {
		res.Groups++
		if err := s.syncGroup(ctx, d, gid, idx, req.Verify, invocationID, &res); err != nil {
			if galsync.IsPermanent(err) {
				return res, err
			}
			failure = errors.Join(failure, err)
		}
	}
	if failure != nil {
		after, _ := galsync.RetryDelay(failure)
		return res, galsync.RetryAfter(fmt.Errorf("groups %s: %w", d.Name, failure), after)
	}
	return res, nil
}

// syncGroup runs one mirrored group under a claim on its pair.
func (s *GroupSyncer) syncGroup(ctx context.Context, d *Direction, gid string, idx *linkIndex, verify bool, invocationID string, res *GroupsResult) error {
	pair, err := s.claim(ctx, d, gid)
	if err != nil {
		return err
	}
	run := &groupRun{s: s, d: d, pair: pair, idx: idx, invocationID: invocationID, res: res}
	err = run.sync(ctx, verify)
	run.pair.ClaimedAt, run.pair.LastRunAt, run.pair.UpdatedAt = time.Time{}, s.Now(), s.Now()
	if _, perr := s.Store.PutGroupPair(ctx, run.pair); perr != nil {
		err = errors.Join(err, fmt.Errorf("groups %s: record group %s: %w", d.Name, gid, perr))
	}
	if lerr := s.Store.AppendLog(ctx, run.log...); lerr != nil {
		err = errors.Join(err, fmt.Errorf("groups %s: log: %w", d.Name, lerr))
	}
	return err
}

// claim reads (or starts) the pair and claims it, ETag-guarded: of two
// runs, one writes and the other comes back later.
func (s *GroupSyncer) claim(ctx context.Context, d *Direction, gid string) (galsync.GroupPair, error) {
	pair, err := s.Store.GetGroupPair(ctx, d.Name, galsync.GroupPairKey(galsync.GroupMirror, gid))
	switch {
	case errors.Is(err, galsync.ErrNotFound):
		pair = galsync.GroupPair{Direction: d.Name, Role: galsync.GroupMirror, SourceGroupID: strings.ToLower(gid), CreatedAt: s.Now()}
	case err != nil:
		return pair, fmt.Errorf("groups %s: read group %s: %w", d.Name, gid, err)
	case !pair.ClaimedAt.IsZero() && s.Now().Sub(pair.ClaimedAt) < s.claimTTL():
		return pair, galsync.RetryAfter(fmt.Errorf("groups %s: another run is writing group %s", d.Name, gid), 5*time.Second)
	}
	pair.ClaimedAt = s.Now()
	claimed, err := s.Store.PutGroupPair(ctx, pair)
	if errors.Is(err, galsync.ErrConflict) {
		return pair, galsync.RetryAfter(fmt.Errorf("groups %s: claim group %s: %w", d.Name, gid, err), 2*time.Second)
	}
	if err != nil {
		return pair, fmt.Errorf("groups %s: claim group %s: %w", d.Name, gid, err)
	}
	return claimed, nil
}

func (s *GroupSyncer) claimTTL() time.Duration { return orDefault(s.ClaimTTL, DefaultClaimTTL) }

func (s *GroupSyncer) grace() time.Duration {
	return orDefault(s.ReplicationGrace, DefaultReplicationGrace)
}

func (s *GroupSyncer) wait() time.Duration {
	return orDefault(s.ReplicationWait, DefaultReplicationWait)
}

// groupRun is one group's run.
type groupRun struct {
	s            *GroupSyncer
	d            *Direction
	pair         galsync.GroupPair
	idx          *linkIndex
	invocationID string
	res          *GroupsResult
	log          []galsync.LogEntry
	// refused is the pair's refusal before this run.
	refused string
}

func (r *groupRun) note(source, target, outcome, reason string) {
	r.log = append(r.log, galsync.LogEntry{Time: r.s.Now(), Direction: r.d.Name, SourceUserID: source, TargetUserID: target,
		Action: galsync.ActionGroup, Outcome: outcome, Reason: reason, InvocationID: r.invocationID})
}

// what names the pair in the log: the source group's id and name.
func (r *groupRun) what() string {
	if r.pair.SourceName == "" {
		return "source group " + r.pair.SourceGroupID
	}
	return fmt.Sprintf("source group %s (%s)", r.pair.SourceGroupID, r.pair.SourceName)
}

func (r *groupRun) sync(ctx context.Context, verify bool) error {
	wasDeleted, nested := !r.pair.SourceDeletedAt.IsZero(), slices.Clone(r.pair.Nested)
	// A refusal is decided again each run (its cause may be gone), and
	// logged only when it is new.
	r.refused, r.pair.Refused = r.pair.Refused, ""
	if err := r.readSource(ctx); err != nil {
		r.pair.Refused = r.refused
		return err
	}
	if r.pair.SourceName == "" && r.pair.TargetGroupID == "" && r.pair.SourceDeletedAt.IsZero() {
		r.refuse(fmt.Sprintf("%s: the source tenant has no such group (check mirrorGroups)", r.what()))
	}
	// The source's state is recorded before the target is written: it is
	// what the target is made from, and the delta link moves with it.
	saved, err := r.s.Store.PutGroupPair(ctx, r.pair)
	if err != nil {
		return fmt.Errorf("groups %s: record %s: %w", r.d.Name, r.what(), err)
	}
	r.pair = saved
	for _, g := range r.pair.Nested {
		if !slices.Contains(nested, g) {
			r.note("", "", galsync.OutcomeSkipped, fmt.Sprintf("%s has group %s as a member: nested groups are not flattened, so its members are not mirrored (mirror that group itself)", r.what(), g))
		}
	}
	switch {
	case !r.pair.SourceDeletedAt.IsZero():
		if !wasDeleted {
			r.note("", r.pair.TargetGroupID, galsync.OutcomeSkipped, fmt.Sprintf("%s was deleted in the source; its target group %q is left in place and no longer managed", r.what(), r.pair.TargetName))
		}
		return nil
	case r.pair.Refused != "":
		return nil
	case len(r.pair.Members) > galsync.MaxGroupMembers:
		r.refuse(fmt.Sprintf("%s has %d direct members, more than the %d galsync mirrors", r.what(), len(r.pair.Members), galsync.MaxGroupMembers))
		return nil
	}
	made, err := r.ensureTarget(ctx)
	if err != nil || r.pair.Refused != "" {
		return err
	}
	return r.writeMembers(ctx, made, verify)
}

func (r *groupRun) refuse(reason string) {
	if r.refused != reason {
		r.note("", r.pair.TargetGroupID, galsync.OutcomeFailed, reason)
	}
	r.pair.Refused = reason
}

// readSource applies the group's groups/delta changes to the pair.
func (r *groupRun) readSource(ctx context.Context) error {
	if err := readGroupDelta(ctx, r.s.Graph, r.d.Source.Name, &r.pair, r.s.Now()); err != nil {
		return fmt.Errorf("groups %s: read %s: %w", r.d.Name, r.what(), err)
	}
	return nil
}

// groupMarker is what a target group's description carries so that galsync
// knows it made the group (and may take it up again after a crash).
func groupMarker(sourceGroupID string) string { return "galsync:" + strings.ToLower(sourceGroupID) }

// ensureTarget finds or makes the target group and keeps its name; made
// reports a group made in this run.
func (r *groupRun) ensureTarget(ctx context.Context) (bool, error) {
	p := &r.pair
	name := r.d.Rules.GroupName(p.SourceName, r.d.Source.Name, p.SourceGroupID)
	if p.TargetGroupID != "" {
		if p.TargetName == name {
			return false, nil
		}
		err := r.s.Graph.RenameGroup(ctx, r.d.Target.Name, p.TargetGroupID, name)
		switch {
		case err == nil:
			r.note("", p.TargetGroupID, galsync.OutcomeSuccess, fmt.Sprintf("target group of %s renamed from %q to %q", r.what(), p.TargetName, name))
			p.TargetName = name
			return false, nil
		case !errors.Is(err, galsync.ErrNotFound):
			return false, fmt.Errorf("groups %s: rename the group of %s: %w", r.d.Name, r.what(), err)
		case r.s.Now().Sub(p.TargetMadeAt) < r.s.grace():
			return false, galsync.RetryAfter(fmt.Errorf("groups %s: the group of %s is not visible yet: %w", r.d.Name, r.what(), err), r.s.wait())
		}
		r.note("", p.TargetGroupID, galsync.OutcomeSkipped, fmt.Sprintf("the target group of %s is gone from the target; it is made again", r.what()))
		p.TargetGroupID, p.TargetName, p.Applied, p.AppliedCount = "", "", "", 0
	}
	found, err := r.s.Graph.FindGroupsByName(ctx, r.d.Target.Name, name)
	if err != nil {
		return false, fmt.Errorf("groups %s: look up the group of %s: %w", r.d.Name, r.what(), err)
	}
	for _, g := range found {
		if strings.Contains(strings.ToLower(g.Description), groupMarker(p.SourceGroupID)) && g.SecurityEnabled && !g.MailEnabled {
			p.TargetGroupID, p.TargetName = g.ID, name
			r.note("", g.ID, galsync.OutcomeSuccess, fmt.Sprintf("took up the target group %q galsync made for %s", name, r.what()))
			return false, r.record(ctx)
		}
	}
	if len(found) > 0 {
		r.refuse(fmt.Sprintf("the target has a group named %q that galsync did not make; galsync will not add members to it: rename that group, or change the direction's groupNamePattern", name))
		return false, nil
	}
	made, err := r.s.Graph.CreateGroup(ctx, r.d.Target.Name, galsync.NewGroup{
		DisplayName: name, MailNickname: "galsync" + strings.ReplaceAll(p.SourceGroupID, "-", ""),
		Description: fmt.Sprintf("Guests of the members of group %s of tenant %s, kept by galsync (%s).", p.SourceGroupID, r.d.Source.Name, groupMarker(p.SourceGroupID)),
	})
	if err != nil {
		return false, fmt.Errorf("groups %s: make the group of %s: %w", r.d.Name, r.what(), err)
	}
	p.TargetGroupID, p.TargetName, p.TargetMadeAt, p.Applied, p.AppliedCount = made.ID, name, r.s.Now(), "", 0
	r.res.Created++
	r.note("", made.ID, galsync.OutcomeSuccess, fmt.Sprintf("made the target security group %q for %s", name, r.what()))
	return true, r.record(ctx)
}

// record saves the pair at once: a target group made must not be lost.
func (r *groupRun) record(ctx context.Context) error {
	saved, err := r.s.Store.PutGroupPair(ctx, r.pair)
	if err != nil {
		return fmt.Errorf("groups %s: record the group of %s: %w", r.d.Name, r.what(), err)
	}
	r.pair = saved
	return nil
}

// writeMembers makes the target group's members the desired ones.
func (r *groupRun) writeMembers(ctx context.Context, made, verify bool) error {
	p := &r.pair
	if err := r.idx.load(ctx, r.s.Store, r.d); err != nil {
		return err
	}
	desired := r.idx.desired(p.Members)
	digest := galsync.MembershipDigest(desired)
	if digest == p.Applied && !verify {
		r.res.Unchanged++
		return nil
	}
	fresh := r.s.Now().Sub(p.TargetMadeAt) < r.s.grace()
	var actual []string
	if !made {
		var err error
		actual, err = r.s.Graph.GroupMembers(ctx, r.d.Target.Name, p.TargetGroupID)
		switch {
		case errors.Is(err, galsync.ErrNotFound) && fresh:
			return galsync.RetryAfter(fmt.Errorf("groups %s: the group of %s is not visible yet: %w", r.d.Name, r.what(), err), r.s.wait())
		case errors.Is(err, galsync.ErrNotFound):
			p.TargetGroupID = "" // deleted in the target: made again next time
			return galsync.RetryAfter(fmt.Errorf("groups %s: the group of %s is gone from the target: %w", r.d.Name, r.what(), err), 0)
		case err != nil:
			return fmt.Errorf("groups %s: read the members of the group of %s: %w", r.d.Name, r.what(), err)
		}
	}
	adds, removes := r.idx.diff(desired, actual)
	if len(adds) == 0 && len(removes) == 0 {
		p.Applied, p.AppliedCount = digest, len(desired)
		r.res.Unchanged++
		return nil
	}
	added, err := r.s.Graph.AddGroupMembers(ctx, r.d.Target.Name, p.TargetGroupID, adds)
	r.count(added, adds, "added to")
	if err == nil {
		var removed galsync.MemberWrites
		removed, err = r.s.Graph.RemoveGroupMembers(ctx, r.d.Target.Name, p.TargetGroupID, removes)
		r.count(removed, removes, "removed from")
		r.res.Removed += removed.Changes
	}
	r.res.Added += added.Changes
	r.note("", p.TargetGroupID, galsync.OutcomeSuccess, fmt.Sprintf("target group %q of %s: %d member(s) to add, %d to remove",
		p.TargetName, r.what(), len(adds), len(removes)))
	if err != nil {
		return fmt.Errorf("groups %s: write the members of the group of %s: %w", r.d.Name, r.what(), err)
	}
	if r.waiting(added.Failed, fresh) {
		return galsync.RetryAfter(fmt.Errorf("groups %s: members of the group of %s are not visible yet", r.d.Name, r.what()), r.s.wait())
	}
	p.Applied, p.AppliedCount = digest, len(desired)
	return nil
}

// count logs each member written or refused.
func (r *groupRun) count(w galsync.MemberWrites, ids []string, verb string) {
	r.res.Requests += w.Requests
	r.res.Failed += len(w.Failed)
	for _, id := range ids {
		src := r.idx.source[strings.ToLower(id)]
		if err, failed := w.Failed[id]; failed {
			r.note(src, id, galsync.OutcomeFailed, fmt.Sprintf("not %s target group %q: %v", verb, r.pair.TargetName, err))
			continue
		}
		r.note(src, id, galsync.OutcomeSuccess, fmt.Sprintf("%s target group %q (%s)", verb, r.pair.TargetName, r.what()))
	}
}

// waiting: members that failed may only be new (not yet on every replica),
// as may the group itself.
func (r *groupRun) waiting(failed map[string]error, freshGroup bool) bool {
	for id, err := range failed {
		if freshGroup || errors.Is(err, galsync.ErrNotFound) && r.idx.fresh(id, r.s.Now(), r.s.grace()) {
			return true
		}
	}
	return false
}
