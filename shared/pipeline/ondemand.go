package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
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
	GetCursor(ctx context.Context, direction string) (galsync.Cursor, error)
}

// Provisioner runs the pipeline for one user, synchronously, like Entra's
// provisionOnDemand: the same decisions, the same invite and update
// workers (so the same idempotency and provisioning log), but the work
// items pass from step to step in memory instead of through the queues.
// It costs one user's worth of Graph calls: a read of the source user, a
// lookup by address and an invitation for a new guest, one PATCH.
type Provisioner struct {
	Directions Catalog
	Store      OnDemandStore
	Source     UserReader
	Graph      GuestDirectory
	Now        galsync.Clock
	// ClaimTTL and InviteWait as for the workers.
	ClaimTTL   time.Duration
	InviteWait time.Duration
	Logger     *slog.Logger
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
		rep.step(StepScope, galsync.OutcomeSuccess, "in scope; desired attributes mapped", dec.Item.Desired.Names())
	}
	return p.run(ctx, d, dec, &rep, invocationID)
}

// run passes the item between the workers until neither hands it on.
func (p *Provisioner) run(ctx context.Context, d *Direction, dec syncplan.Decision, rep *Report, invocationID string) (Report, error) {
	hand := &handOffs{}
	inviter := &Inviter{Directions: p.Directions, Store: p.Store, Graph: p.Graph, Queue: hand, Now: p.Now, ClaimTTL: p.ClaimTTL, Logger: p.logger()}
	updater := &Updater{Directions: p.Directions, Store: p.Store, Graph: p.Graph, Queue: hand, Now: p.Now,
		InviteWait: p.InviteWait, ClaimTTL: p.ClaimTTL, Logger: p.logger()}
	queueName := galsync.QueueUpdates
	if dec.Verdict == syncplan.VerdictInvite {
		queueName = galsync.QueueInvites
	}
	item := dec.Item
	for hops := 0; hops < 4; hops++ {
		var out Outcome
		var err error
		if queueName == galsync.QueueInvites {
			out, err = inviter.Handle(ctx, item, invocationID)
			p.report(ctx, rep, StepInvite, item, out, err)
		} else {
			var attrs []string
			if item.Kind == galsync.WorkUpsert {
				attrs = p.pendingAttributes(ctx, d.Name, item)
			}
			out, err = updater.Handle(ctx, item, invocationID)
			name := StepUpdate
			if item.Kind == galsync.WorkDeprovision {
				name = StepRetire
			}
			p.reportUpdate(rep, name, out, err, attrs)
		}
		if err != nil {
			rep.Result = galsync.OutcomeFailed
			return *rep, nil
		}
		next, ok := hand.take()
		if !ok {
			break
		}
		queueName, item = next.queue, next.item
	}
	if l, err := p.Store.GetLink(ctx, d.Name, item.SourceUserID); err == nil {
		rep.TargetUserID = l.TargetUserID
	}
	return *rep, nil
}

func (p *Provisioner) report(ctx context.Context, rep *Report, name string, item galsync.WorkItem, out Outcome, err error) {
	switch {
	case err != nil:
		rep.step(name, galsync.OutcomeFailed, err.Error(), nil)
	case out.Action == HandOff:
		rep.step(name, galsync.OutcomeSkipped, "the guest exists already: "+out.Reason, nil)
	default:
		detail := "invited a new guest"
		if out.Action == galsync.ActionJoin {
			detail = "joined the external user that already had the address"
		}
		var attrs []string
		if l, err := p.Store.GetLink(ctx, item.Direction, item.SourceUserID); err == nil {
			attrs = l.Applied.Names()
		}
		rep.step(name, galsync.OutcomeSuccess, detail, attrs)
	}
}

func (p *Provisioner) reportUpdate(rep *Report, name string, out Outcome, err error, attrs []string) {
	switch {
	case err != nil:
		rep.step(name, galsync.OutcomeFailed, err.Error(), nil)
	case out.Action == HandOff:
		rep.step(name, galsync.OutcomeSkipped, out.Reason, nil)
	case out.Action == galsync.ActionSkip || len(attrs) == 0 && out.Action == galsync.ActionUpdate:
		reason := out.Reason
		if reason == "" {
			reason = "unchanged"
		}
		rep.step(name, galsync.OutcomeSkipped, reason, nil)
	case name == StepRetire:
		rep.step(name, galsync.OutcomeSuccess, out.Action+": "+out.Reason, nil)
	default:
		rep.step(name, galsync.OutcomeSuccess, out.Action, attrs)
	}
}

// pendingAttributes names what the update will change (for the report).
func (p *Provisioner) pendingAttributes(ctx context.Context, dir string, item galsync.WorkItem) []string {
	l, err := p.Store.GetLink(ctx, dir, item.SourceUserID)
	if err != nil {
		return nil
	}
	changes, _ := pendingChanges(l, item.Desired)
	return slices.Sorted(maps.Keys(changes))
}

// nextSeq numbers the on-demand item after anything the link applied and
// at the cursor's next number, so later pulls (numbered from there) are
// not taken for stale, and older queued items are.
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
		seq = max(seq, link.AppliedSeq)
	}
	return seq, nil
}

func (p *Provisioner) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// handOffs is the in-memory queue between the workers of one on-demand run.
type handOffs struct {
	mu    sync.Mutex
	items []queuedItem
}

type queuedItem struct {
	queue string
	item  galsync.WorkItem
}

func (h *handOffs) Send(_ context.Context, q string, msgs ...queue.Message) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range msgs {
		it, err := galsync.DecodeWorkItem(m.Body)
		if err != nil {
			return err
		}
		h.items = append(h.items, queuedItem{queue: q, item: it})
	}
	return nil
}

func (h *handOffs) take() (queuedItem, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.items) == 0 {
		return queuedItem{}, false
	}
	it := h.items[0]
	h.items = h.items[1:]
	return it, true
}
