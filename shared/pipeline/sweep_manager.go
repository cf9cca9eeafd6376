package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/shared/syncplan"
)

// The sweep compares managers and mirrored groups too: a guest whose
// attributes match but whose manager reference differs from the guest of
// its source manager gets a reconcile item, and a finished sweep asks for a
// run of the mirrored groups that reads every target group (Verify).

// ManagerReader reads the managers of many users of a tenant (graph.Client
// does it 20 to a JSON batch): by user id, the manager's id or "".
type ManagerReader interface {
	Managers(ctx context.Context, tenant string, ids []string) (map[string]string, error)
}

// managerIndex maps each source user with a link to its guest and state;
// nil when the direction does not map the manager.
type managerIndex map[string]linkTarget

type linkTarget struct {
	target string
	state  galsync.LinkState
}

func (s *Sweeper) managerIndex(ctx context.Context, d *Direction) (managerIndex, error) {
	if !d.Rules.MapsManager() || s.Managers == nil {
		return nil, nil
	}
	idx := managerIndex{}
	err := s.Store.ListLinks(ctx, d.Name, func(l galsync.Link) error {
		idx[strings.ToLower(l.SourceUserID)] = linkTarget{target: l.TargetUserID, state: l.State}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sweep %s: list links: %w", d.Name, err)
	}
	return idx, nil
}

// want is the manager a guest of this source state should have; ok is
// false while it is undecided (the manager's guest is on its way).
func (idx managerIndex) want(d *Direction, source galsync.Snapshot) (string, bool) {
	m := d.Rules.ManagerOf(source)
	if m == "" {
		return "", true
	}
	e, ok := idx[strings.ToLower(m)]
	switch {
	case !ok || e.state == galsync.LinkInviting:
		return "", false
	case e.state == galsync.LinkActive && e.target != "":
		return e.target, true
	}
	return "", true
}

// managerDrift reads the managers of guests whose attributes match and
// returns reconcile items for those whose manager differs.
func (s *Sweeper) managerDrift(ctx context.Context, d *Direction, idx managerIndex, settled []galsync.Link) ([]galsync.WorkItem, error) {
	if idx == nil || len(settled) == 0 {
		return nil, nil
	}
	want := map[string]string{}
	var ids []string
	for _, l := range settled {
		w, ok := idx.want(d, l.Source)
		if !ok {
			continue
		}
		if r, refused := l.Refused[syncplan.ManagerAttribute]; refused && r.Fingerprint == d.Rules.AttributeFingerprint(syncplan.ManagerAttribute, w) {
			continue
		}
		want[l.TargetUserID] = w
		ids = append(ids, l.TargetUserID)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	have, err := s.Managers.Managers(ctx, d.Target.Name, ids)
	if err != nil {
		return nil, fmt.Errorf("sweep %s: read managers: %w", d.Name, err)
	}
	var out []galsync.WorkItem
	for _, l := range settled {
		w, ok := want[l.TargetUserID]
		if ok && !strings.EqualFold(w, have[l.TargetUserID]) {
			out = append(out, reconcileItem(d, l))
		}
	}
	return out, nil
}

// verifyGroups asks for a run of the direction's mirrored groups that
// reads every target group.
func (s *Sweeper) verifyGroups(ctx context.Context, d *Direction, round string) error {
	if len(d.MirrorGroups) == 0 {
		return nil
	}
	m, err := GroupsMessage(d.Name, "sweep", s.Now(), 0)
	if err != nil {
		return err
	}
	body, err := json.Marshal(galsync.PullRequest{Direction: d.Name, Trigger: "sweep", Mode: galsync.PullGroups, RequestedAt: s.Now().UTC(), Verify: true})
	if err != nil {
		return fmt.Errorf("sweep %s: encode groups request: %w", d.Name, err)
	}
	m.Body, m.ID = body, queue.FitID("groups:"+d.Name+":verify:"+round)
	if err := s.Queue.Send(ctx, galsync.QueuePulls, m); err != nil {
		return fmt.Errorf("sweep %s: ask for a check of the mirrored groups: %w", d.Name, err)
	}
	return nil
}
