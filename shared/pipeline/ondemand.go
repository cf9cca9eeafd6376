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
	"github.com/galsync/galsync/shared/syncplan"
)

// UserReader reads one source user.
type UserReader interface {
	GetUser(ctx context.Context, tenant, idOrUPN string, selectAttrs []string) (galsync.SourceUser, error)
}

// OnDemandStore is what provisioning on demand reads and writes.
type OnDemandStore interface {
	LinkStore
	ScopeStore
	GetCursor(ctx context.Context, direction string) (galsync.Cursor, error)
}

// Provisioner runs the pipeline for one user, synchronously, like Entra's
// provisionOnDemand: the same decisions, the same invite and update
// workers (so the same idempotency and provisioning log), but the work
// items pass from step to step in memory instead of through the queues,
// and a transient failure (a guest not yet replicated, a 429) is waited
// out here, up to MaxWait. It costs one user's worth of Graph calls: a read
// of the source user, a lookup by address and an invitation for a new
// guest, a read of the guest and one PATCH.
type Provisioner struct {
	Directions Catalog
	Store      OnDemandStore
	Source     UserReader
	Graph      GuestDirectory
	Now        galsync.Clock
	// ClaimTTL as for the workers.
	ClaimTTL time.Duration
	// ReplicationWait: the first wait for a new guest to show.
	ReplicationWait time.Duration
	// MaxWait bounds the waits of one run (1 min when zero).
	MaxWait time.Duration
	// Managers, Reports and Queue as for the update worker: the manager
	// reference is written on demand too, and what the guest's arrival
	// changes for others (its reports, its mirrored groups) is queued.
	Managers ManagerDirectory
	Reports  ReportsReader
	Queue    queue.Sender
	Logger   *slog.Logger
}

// Step is one step of an on-demand run.
type Step struct {
	Name    string `json:"name"`
	Outcome string `json:"outcome"` // success, skipped, failed
	Detail  string `json:"detail,omitempty"`
	// Attributes are names only, never values.
	Attributes []string `json:"attributes,omitempty"`
}

// Report is the result of provisioning one user on demand.
type Report struct {
	Direction    string    `json:"direction"`
	SourceUserID string    `json:"sourceUserId,omitempty"`
	TargetUserID string    `json:"targetUserId,omitempty"`
	Result       string    `json:"result"` // success, skipped, failed
	Steps        []Step    `json:"steps"`
	StartedAt    time.Time `json:"startedAt"`
	Duration     string    `json:"duration"`
}

func (r *Report) step(name, outcome, detail string, attrs []string) {
	r.Steps = append(r.Steps, Step{Name: name, Outcome: outcome, Detail: detail, Attributes: attrs})
}

// Step names.
const (
	StepRead   = "read source user"
	StepScope  = "scope and mapping"
	StepInvite = "join or invite"
	StepUpdate = "update attributes"
	StepRetire = "deprovision"
	// StepManager and StepGroups report the guest's manager reference and
	// its mirrored groups.
	StepManager = "manager reference"
	StepGroups  = "group memberships"
)

// Provision runs direction's pipeline for the user with this id or user
// principal name. An error means the run could not be attempted (unknown
// direction, store down); a failure of a step is in the report.
func (p *Provisioner) Provision(ctx context.Context, direction, user, invocationID string) (rep Report, err error) {
	// Named results: the deferred Duration lands in the report returned.
	rep = Report{Direction: direction, StartedAt: p.Now(), Result: galsync.OutcomeSuccess}
	defer func() { rep.Duration = p.Now().Sub(rep.StartedAt).Round(time.Millisecond).String() }()
	d, err := p.Directions.Get(direction)
	if err != nil {
		return rep, err
	}
	if user == "" {
		return rep, galsync.Permanent(errors.New("provision: no user given (an object id or a user principal name)"))
	}
	src, err := p.Source.GetUser(ctx, d.Source.Name, user, d.Rules.Select())
	if err != nil {
		rep.Result = galsync.OutcomeFailed
		rep.step(StepRead, galsync.OutcomeFailed, err.Error(), nil)
		return rep, nil
	}
	rep.SourceUserID = src.ID
	rep.step(StepRead, galsync.OutcomeSuccess, "read from tenant "+d.Source.Name, nil)
	scope, err := storedScope(ctx, p.Store, d)
	if err != nil {
		return rep, fmt.Errorf("provision: %w", err)
	}
	scope.mark(d, &src)

	var link *galsync.Link
	l, err := p.Store.GetLink(ctx, d.Name, src.ID)
	switch {
	case err == nil:
		link = &l
		rep.TargetUserID = l.TargetUserID
	case !errors.Is(err, galsync.ErrNotFound):
		return rep, fmt.Errorf("provision: read link: %w", err)
	}
	seq, err := p.nextSeq(ctx, d.Name, link)
	if err != nil {
		return rep, err
	}
	dec := d.Rules.Decide(src, link)
	dec.Item.Seq = seq
	switch dec.Verdict {
	case syncplan.VerdictSkip:
		rep.Result = galsync.OutcomeSkipped
		rep.step(StepScope, galsync.OutcomeSkipped, dec.Reason, nil)
		return rep, p.Store.AppendLog(ctx, skipEntry(p.Now(), d.Name, src.ID, dec.Reason+" (on demand)", invocationID))
	case syncplan.VerdictDeprovision:
		rep.step(StepScope, galsync.OutcomeSuccess, "to be deprovisioned: "+dec.Reason, nil)
	default:
		rep.step(StepScope, galsync.OutcomeSuccess, "in scope; desired attributes mapped", d.Rules.Map(src.Attributes).Names())
	}
	queueName := galsync.QueueUpdates
	if dec.Verdict == syncplan.VerdictInvite {
		queueName = galsync.QueueInvites
	}
	return p.run(ctx, queueName, dec.Item, &rep, invocationID)
}

// run passes the item between the workers until neither hands it on,
// waiting out transient failures.
func (p *Provisioner) run(ctx context.Context, queueName string, item galsync.WorkItem, rep *Report, invocationID string) (Report, error) {
	inviter := &Inviter{Directions: p.Directions, Store: p.Store, Graph: p.Graph, Source: p.Source, Now: p.Now,
		ClaimTTL: p.ClaimTTL, ReplicationWait: p.ReplicationWait, Logger: p.logger()}
	updater := &Updater{Directions: p.Directions, Store: p.Store, Graph: p.Graph, Source: p.Source, Now: p.Now,
		ClaimTTL: p.ClaimTTL, ReplicationWait: p.ReplicationWait, Managers: p.Managers, Reports: p.Reports, Queue: p.Queue,
		Logger: p.logger()}
	deadline := p.Now().Add(p.maxWait())
	for hops := 0; hops < 6; {
		var out Outcome
		var err error
		name := StepUpdate
		switch {
		case queueName == galsync.QueueInvites:
			name = StepInvite
			out, err = inviter.Handle(ctx, item, invocationID)
		case item.Kind == galsync.WorkDeprovision:
			name = StepRetire
			out, err = updater.Handle(ctx, item, invocationID)
		default:
			out, err = updater.Handle(ctx, item, invocationID)
		}
		if after, ok := galsync.RetryDelay(err); ok && !galsync.IsPermanent(err) {
			wait := max(after, time.Second)
			if p.Now().Add(wait).Before(deadline) {
				if !sleepCtx(ctx, wait) {
					return *rep, ctx.Err()
				}
				continue
			}
		}
		p.report(rep, name, out, err)
		if err != nil {
			rep.Result = galsync.OutcomeFailed
			return *rep, nil
		}
		if out.HandOff == nil {
			break
		}
		hops++
		queueName, item = out.HandOff.Queue, out.HandOff.Item
		if wait := out.HandOff.NotBefore.Sub(p.Now()); wait > 0 && !sleepCtx(ctx, wait) {
			return *rep, ctx.Err()
		}
	}
	if l, err := p.Store.GetLink(ctx, item.Direction, item.SourceUserID); err == nil {
		rep.TargetUserID = l.TargetUserID
		if l.State == galsync.LinkConflict {
			rep.Result = galsync.OutcomeSkipped
		}
		if l.HasGuest() {
			if err := p.relations(ctx, item.Direction, l, rep); err != nil {
				return *rep, err
			}
		}
	}
	return *rep, nil
}

// relations reports the guest's manager reference and its mirrored
// groups, and asks for a run of those groups.
func (p *Provisioner) relations(ctx context.Context, direction string, l galsync.Link, rep *Report) error {
	d, err := p.Directions.Get(direction)
	if err != nil {
		return err
	}
	if d.Rules.MapsManager() {
		switch m := d.Rules.ManagerOf(l.Source); {
		case l.ManagerPending != "":
			rep.step(StepManager, galsync.OutcomeSkipped, "waits for the guest of the source manager "+l.ManagerPending+
				"; written once that guest exists", []string{syncplan.ManagerAttribute})
		case m == "":
			rep.step(StepManager, galsync.OutcomeSuccess, "the source user has no manager: the guest has none", []string{syncplan.ManagerAttribute})
		default:
			rep.step(StepManager, galsync.OutcomeSuccess, "the guest's manager is the guest of source user "+m+" (or none, if that user has no guest)",
				[]string{syncplan.ManagerAttribute})
		}
	}
	if len(d.MirrorGroups) == 0 {
		return nil
	}
	pairs, err := p.Store.ListGroupPairs(ctx, d.Name)
	if err != nil {
		return fmt.Errorf("provision: read the mirrored groups: %w", err)
	}
	var in []string
	for _, g := range pairs {
		if g.Role == galsync.GroupMirror && g.HasMember(l.SourceUserID) && g.TargetName != "" {
			in = append(in, fmt.Sprintf("%q", g.TargetName))
		}
	}
	detail := fmt.Sprintf("a direct member of %d of the %d mirrored source group(s)", len(in), len(d.MirrorGroups))
	if len(in) > 0 {
		detail += ": " + strings.Join(in, ", ")
	}
	if p.Queue != nil {
		m, err := GroupsMessage(d.Name, "provision on demand", p.Now(), 0)
		if err != nil {
			return err
		}
		if err := p.Queue.Send(ctx, galsync.QueuePulls, m); err != nil {
			return fmt.Errorf("provision: ask for a run of the mirrored groups: %w", err)
		}
		detail += "; a run of the mirrored groups was queued to write the memberships"
	}
	rep.step(StepGroups, galsync.OutcomeSuccess, detail, nil)
	return nil
}

func (p *Provisioner) report(rep *Report, name string, out Outcome, err error) {
	switch {
	case err != nil:
		rep.step(name, galsync.OutcomeFailed, err.Error(), nil)
	case out.Action == HandOff && name == StepInvite:
		rep.step(name, galsync.OutcomeSkipped, "the guest exists already", nil)
	case out.Action == HandOff:
		rep.step(name, galsync.OutcomeSkipped, out.Reason, nil)
	case out.HandOff != nil && out.Action == galsync.ActionInvite:
		rep.step(name, galsync.OutcomeSuccess, "invited a new guest", nil)
	case out.HandOff != nil && out.Action == galsync.ActionConvert:
		rep.step(name, galsync.OutcomeSuccess, "converted the target member holding the address into an external user in place (same object id)", nil)
	case out.HandOff != nil && out.Action == galsync.ActionJoin:
		rep.step(name, galsync.OutcomeSuccess, "joined the external user that already had the address", nil)
	case out.Action == galsync.ActionConflict:
		rep.step(name, galsync.OutcomeSkipped, "conflict: "+out.Reason, nil)
	case out.Action == galsync.ActionSkip || len(out.Attributes) == 0 && out.Action == galsync.ActionUpdate:
		reason := out.Reason
		if reason == "" {
			reason = "unchanged"
		}
		rep.step(name, galsync.OutcomeSkipped, reason, nil)
	case name == StepRetire:
		rep.step(name, galsync.OutcomeSuccess, out.Action+": "+out.Reason, nil)
	default:
		rep.step(name, galsync.OutcomeSuccess, out.Action, out.Attributes)
	}
}

// nextSeq numbers the on-demand item after anything the link saw and at
// the cursor's next number, so later pulls (numbered from there) are not
// taken for stale, and older queued items are.
func (p *Provisioner) nextSeq(ctx context.Context, dir string, link *galsync.Link) (int64, error) {
	seq := int64(1)
	c, err := p.Store.GetCursor(ctx, dir)
	switch {
	case err == nil:
		seq = max(seq, c.NextSeq)
	case !errors.Is(err, galsync.ErrNotFound):
		return 0, fmt.Errorf("provision: read cursor: %w", err)
	}
	if link != nil {
		seq = max(seq, link.SourceSeq+1)
	}
	return seq, nil
}

func (p *Provisioner) maxWait() time.Duration {
	if p.MaxWait <= 0 {
		return time.Minute
	}
	return p.MaxWait
}

func (p *Provisioner) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// sleepCtx waits for d or ctx; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
