package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/syncplan"
)

// Managers. With "manager": {"source": "manager"} in the mapping, a
// guest's manager is the guest of its source user's manager: written with
// PUT /users/{id}/manager/$ref, removed with DELETE when the source user
// has no manager any more or the manager's guest is retired. The update
// worker reads the guest's manager (GET /users/{id}/manager) and writes
// only when it differs, as it does the attributes.
//
// Order does not matter. When the manager has no guest yet (it is being
// invited, or a later page of the round holds it), the reference waits:
// the report's link records the pending manager, its current manager is
// left alone, and the manager's guest, on its first reconcile, announces
// itself to its direct reports (GET /users/{id}/directReports in the
// source), which are reconciled again and now find it. The announcement is
// recorded on the manager's link only after it was sent, so a failure sends
// it again; and the sweep compares every guest's manager too. Nothing waits
// in a retry loop, and a manager that enters scope months after its
// reports still gets them.

// ManagerDirectory reads and writes the manager references of a tenant's
// users (graph.Client provides it).
type ManagerDirectory interface {
	GetManager(ctx context.Context, tenant, id string) (string, error)
	SetManager(ctx context.Context, tenant, id, managerID string) error
	RemoveManager(ctx context.Context, tenant, id string) error
}

// ReportsReader lists a source user's direct reports (graph.Client).
type ReportsReader interface {
	DirectReports(ctx context.Context, tenant, id string) ([]string, error)
}

// managerWant is the manager reference a guest should have.
type managerWant struct {
	// decided: target holds the desired manager ("" for none); else the
	// reference waits for pending's guest.
	decided bool
	target  string
	// source is the source manager ("" for none), pending the one whose
	// guest does not exist yet.
	source, pending string
	why             string
}

// desiredManager resolves the source user's manager to its guest.
func desiredManager(ctx context.Context, links LinkStore, src UserReader, d *Direction, source galsync.Snapshot) (managerWant, error) {
	m := d.Rules.ManagerOf(source)
	if m == "" {
		return managerWant{decided: true, why: "the source user has no manager"}, nil
	}
	want := managerWant{source: m}
	l, err := links.GetLink(ctx, d.Name, m)
	switch {
	case err == nil && l.State == galsync.LinkActive && l.TargetUserID != "":
		want.decided, want.target, want.why = true, l.TargetUserID, "the guest of the source manager"
		return want, nil
	case err == nil && l.State == galsync.LinkInviting:
		want.pending, want.why = m, "the source manager's guest is being invited"
		return want, nil
	case err == nil:
		want.decided, want.why = true, fmt.Sprintf("the source manager has no guest (%s)", l.State)
		return want, nil
	case !errors.Is(err, galsync.ErrNotFound):
		return want, fmt.Errorf("read the manager's link: %w", err)
	}
	// galsync has not decided on the manager yet: in scope, it will get a
	// guest (the pull that sees it invites it); out of scope, it never will.
	if src == nil {
		want.pending, want.why = m, "the source manager has no guest yet"
		return want, nil
	}
	u, err := src.GetUser(ctx, d.Source.Name, m, d.Rules.Select())
	if errors.Is(err, galsync.ErrNotFound) {
		want.decided, want.why = true, "the source manager is not a user galsync can read"
		return want, nil
	}
	if err != nil {
		return want, fmt.Errorf("read the source manager: %w", err)
	}
	if in, why := d.Rules.InScope(u); !in {
		want.decided, want.why = true, "the source manager is out of scope: "+why
		return want, nil
	}
	want.pending, want.why = m, "the source manager's guest does not exist yet"
	return want, nil
}

// managerStep is what reconciling a guest's manager does.
type managerStep struct {
	want    managerWant
	current string
	// write: the reference differs and is to be written (set or removed).
	write bool
	// refused: Graph refused this very reference before.
	refused *galsync.Refusal
}

// planManager reads the guest's manager and decides the write.
func (w *Updater) planManager(ctx context.Context, d *Direction, link galsync.Link, source galsync.Snapshot) (*managerStep, error) {
	if !d.Rules.MapsManager() || w.Managers == nil {
		return nil, nil
	}
	want, err := desiredManager(ctx, w.Store, w.Source, d, source)
	if err != nil {
		return nil, fmt.Errorf("update worker: %w", err)
	}
	step := &managerStep{want: want}
	if !want.decided {
		return step, nil
	}
	if r, ok := link.Refused[syncplan.ManagerAttribute]; ok && r.Fingerprint == d.Rules.AttributeFingerprint(syncplan.ManagerAttribute, want.target) {
		step.refused = &r
		return step, nil
	}
	if step.current, err = w.Managers.GetManager(ctx, d.Target.Name, link.TargetUserID); err != nil {
		return nil, fmt.Errorf("update worker: read the guest's manager: %w", err)
	}
	step.write = !sameID(step.current, want.target)
	return step, nil
}

// writeManager writes the reference; a refusal is returned to be recorded
// as the attribute "manager".
func (w *Updater) writeManager(ctx context.Context, d *Direction, link galsync.Link, step *managerStep) (*galsync.Refusal, error) {
	var err error
	if step.want.target == "" {
		err = w.Managers.RemoveManager(ctx, d.Target.Name, link.TargetUserID)
	} else {
		err = w.Managers.SetManager(ctx, d.Target.Name, link.TargetUserID, step.want.target)
	}
	switch {
	case err == nil:
		metricsOr(w.Metrics).Patch(ctx, d.Name)
		return nil, nil
	case errors.Is(err, galsync.ErrNotFound):
		// The manager's guest (or this one) is not on every replica yet.
		return nil, galsync.RetryAfter(fmt.Errorf("update worker: write manager: %w", err), w.wait())
	case isRefusal(err):
		r := refusal(d, syncplan.ManagerAttribute, step.want.target, err, w.Now())
		return &r, nil
	}
	return nil, fmt.Errorf("update worker: write manager: %w", err)
}

// managerLog is the provisioning-log line of a manager step, if it says
// something new.
func managerLog(link galsync.Link, step *managerStep, wrote bool) (galsync.LogEntry, bool) {
	e := galsync.LogEntry{Direction: link.Direction, SourceUserID: link.SourceUserID, TargetUserID: link.TargetUserID,
		Action: galsync.ActionManager, Attributes: []string{syncplan.ManagerAttribute}}
	switch {
	case wrote && step.want.target == "":
		e.Outcome, e.Reason = galsync.OutcomeSuccess, "manager reference removed: "+step.want.why
	case wrote:
		e.Outcome, e.Reason = galsync.OutcomeSuccess, "manager set to the guest of source user "+step.want.source
	case !step.want.decided && link.ManagerPending != step.want.pending:
		e.Outcome, e.Reason = galsync.OutcomeSkipped, "manager reference waits: "+step.want.why+
			" (source user "+step.want.pending+"); it is written once that guest exists"
	default:
		return e, false
	}
	return e, true
}

func sameID(a, b string) bool { return strings.EqualFold(a, b) }
