package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

// A guest that appears (its first reconcile: invited, joined or converted,
// or re-enabled) or is retired changes what depends on it: its direct
// reports' manager references, and the members of its mirrored groups. The
// update worker announces it: a reconcile of each linked report, and a run
// of the direction's mirrored groups (one per GroupsWindow, however many
// guests arrive in it). The link records the announcement only after it
// is sent, so a failure announces again, and the receivers are level-based,
// so an announcement too many changes nothing.

// retiredMark prefixes Link.Announced once a guest's retirement was
// announced.
const retiredMark = "retired:"

// announce tells what depends on link's guest that it is now active
// (active) or retired.
func (w *Updater) announce(ctx context.Context, d *Direction, link galsync.Link, active bool) error {
	if w.Queue == nil || !dependents(d) {
		return nil
	}
	var msgs []queue.Message
	if d.Rules.MapsManager() && w.Reports != nil {
		reports, err := w.reportItems(ctx, d, link, active)
		if err != nil {
			return err
		}
		msgs = append(msgs, reports...)
	}
	if len(msgs) > 0 {
		if err := w.Queue.Send(ctx, galsync.QueueUpdates, msgs...); err != nil {
			return fmt.Errorf("update worker: announce to %d report(s): %w", len(msgs), err)
		}
	}
	if len(d.MirrorGroups) > 0 {
		m, err := GroupsMessage(d.Name, "guest "+map[bool]string{true: "arrived", false: "retired"}[active], w.Now(), GroupsWindow)
		if err != nil {
			return err
		}
		if err := w.Queue.Send(ctx, galsync.QueuePulls, m); err != nil {
			return fmt.Errorf("update worker: ask for a run of the mirrored groups: %w", err)
		}
	}
	return nil
}

// reportItems are reconciles of the linked direct reports of link's source
// user, each with an id of its own announcement.
func (w *Updater) reportItems(ctx context.Context, d *Direction, link galsync.Link, active bool) ([]queue.Message, error) {
	ids, err := w.Reports.DirectReports(ctx, d.Source.Name, link.SourceUserID)
	if errors.Is(err, galsync.ErrNotFound) {
		return nil, nil // the source user is gone: its reports lost their manager and come in delta
	}
	if err != nil {
		return nil, fmt.Errorf("update worker: list direct reports: %w", err)
	}
	event := retiredMark
	if active {
		event = "active:"
	}
	var msgs []queue.Message
	for _, id := range ids {
		rl, err := w.Store.GetLink(ctx, d.Name, id)
		if errors.Is(err, galsync.ErrNotFound) {
			continue // not synced (yet): its own reconcile finds the manager
		}
		if err != nil {
			return nil, fmt.Errorf("update worker: read a report's link: %w", err)
		}
		if !rl.HasGuest() || rl.State != galsync.LinkActive {
			continue
		}
		item := galsync.WorkItem{Direction: d.Name, SourceUserID: id, Seq: rl.SourceSeq, Kind: galsync.WorkReconcile, Source: rl.Source}
		m, err := WorkMessage(item)
		if err != nil {
			return nil, err
		}
		m.ID = queue.FitID(item.MessageID() + "/manager:" + event + link.TargetUserID + ":" + strconv.FormatInt(link.SourceSeq, 10))
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// announceRetired announces a retired guest once: after the retirement is
// recorded, so a report reconciled on the announcement sees it.
func (w *Updater) announceRetired(ctx context.Context, d *Direction, link galsync.Link) error {
	if !dependents(d) || w.Queue == nil || link.Live() || link.TargetUserID == "" || link.Announced == retiredMark+link.TargetUserID {
		return nil
	}
	if err := w.announce(ctx, d, link, false); err != nil {
		return err
	}
	link.Announced = retiredMark + link.TargetUserID
	if _, err := w.Store.PutLink(ctx, link); err != nil {
		return fmt.Errorf("update worker: record the retirement's announcement: %w", err)
	}
	return nil
}

// dependents reports whether anything in d depends on a guest's arrival or
// retirement: manager references, mirrored groups.
func dependents(d *Direction) bool { return d.Rules.MapsManager() || len(d.MirrorGroups) > 0 }
