// Package pipeline is galsync's sync pipeline: delta-pull reads a source
// tenant's changes and fans them out as work items; the invite worker
// creates or joins guests; the update worker converges them. Each step reads
// and writes through small ports declared here, so it runs the same on the
// embedded backends and on Azure.
package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

// DeltaReader reads users/delta pages from a source tenant.
type DeltaReader interface {
	DeltaPage(ctx context.Context, tenant, link string, selectAttrs []string) (galsync.DeltaPage, error)
}

// GuestDirectory finds, reads, invites, updates and deletes users in a
// target tenant.
type GuestDirectory interface {
	// FindUserByAddress finds the user holding addr as mail, in otherMails,
	// in proxyAddresses or as the #EXT# user principal name derived with
	// the tenant's initial domain.
	FindUserByAddress(ctx context.Context, tenant, addr, domain string, selectAttrs []string) (galsync.TargetUser, error)
	GetGuest(ctx context.Context, tenant, id string, selectAttrs []string) (galsync.TargetUser, error)
	Invite(ctx context.Context, tenant string, inv galsync.Invitation) (galsync.TargetUser, error)
	// UpdateUser patches the user; a 400 naming one of the properties is a
	// *galsync.RefusedError, any other 400 wraps galsync.ErrInvalid.
	UpdateUser(ctx context.Context, tenant, id string, changes map[string]any) error
	DeleteUser(ctx context.Context, tenant, id string) error
}

// LinkStore is what the workers keep: links and the provisioning log.
type LinkStore interface {
	GetLink(ctx context.Context, direction, sourceUserID string) (galsync.Link, error)
	PutLink(ctx context.Context, l galsync.Link) (galsync.Link, error)
	AppendLog(ctx context.Context, entries ...galsync.LogEntry) error
}

// WorkMessage is the queue message carrying a work item.
func WorkMessage(item galsync.WorkItem) (queue.Message, error) {
	body, err := json.Marshal(item)
	if err != nil {
		return queue.Message{}, fmt.Errorf("pipeline: encode work item: %w", err)
	}
	return queue.Message{
		ID:          queue.FitID(item.MessageID()),
		Body:        body,
		ContentType: "application/json",
		Subject:     item.Kind,
		Properties: map[string]string{
			queue.PropDirection:  item.Direction,
			queue.PropSourceUser: item.SourceUserID,
			queue.PropSeq:        strconv.FormatInt(item.Seq, 10),
		},
	}, nil
}

// SendHandOff sends an item one worker passes to the other. Its message id
// is the item's with the hop's tag: an item can travel updates → invites →
// updates (a guest deleted in the target, invited again), and under the
// item's own id the second arrival on updates would be dropped as a
// duplicate of the first. The tag names the hop and the guest, so copies of
// one hop (duplicate deliveries) still share an id and fold.
func SendHandOff(ctx context.Context, q queue.Sender, h *HandOffItem) error {
	m, err := WorkMessage(h.Item)
	if err != nil {
		return err
	}
	m.ID = queue.FitID(h.Item.MessageID() + "/" + h.Queue + ":" + h.Tag)
	m.ScheduledAt = h.NotBefore
	if err := q.Send(ctx, h.Queue, m); err != nil {
		return fmt.Errorf("pipeline: hand %s's item to %s: %w", h.Item.SourceUserID, h.Queue, err)
	}
	return nil
}

// SweepMessage asks for a sweep of a direction: every linked guest
// compared with its desired state.
func SweepMessage(direction, trigger string, now time.Time) (queue.Message, error) {
	body, err := json.Marshal(galsync.PullRequest{Direction: direction, Trigger: trigger, Mode: galsync.PullSweep, RequestedAt: now.UTC()})
	if err != nil {
		return queue.Message{}, fmt.Errorf("pipeline: encode sweep request: %w", err)
	}
	return queue.Message{
		ID:          queue.FitID(fmt.Sprintf("sweep:%s:%d", direction, now.UnixNano())),
		Body:        body,
		ContentType: "application/json",
		Subject:     galsync.PullSweep,
		Properties:  map[string]string{queue.PropDirection: direction},
	}, nil
}

func encodeSweepContinuation(direction string, cur galsync.SweepCursor, now time.Time) ([]byte, error) {
	body, err := json.Marshal(galsync.PullRequest{Direction: direction, Trigger: "continue", Mode: galsync.PullSweep,
		RequestedAt: now.UTC(), Sweep: &cur})
	if err != nil {
		return nil, fmt.Errorf("pipeline: encode sweep continuation: %w", err)
	}
	return body, nil
}

// LifecycleMessage asks delta-pull to act on a Graph lifecycle event of a
// source tenant's subscription. Copies of one event within a minute (Graph
// delivers at least once) share an id, and the queue folds them.
func LifecycleMessage(work galsync.LifecycleWork, now time.Time) (queue.Message, error) {
	body, err := json.Marshal(galsync.PullRequest{Trigger: "lifecycle", Mode: galsync.PullLifecycle, RequestedAt: now.UTC(), Lifecycle: &work})
	if err != nil {
		return queue.Message{}, fmt.Errorf("pipeline: encode lifecycle work: %w", err)
	}
	return queue.Message{
		ID:          queue.FitID(fmt.Sprintf("lifecycle:%s:%s:%s:%d", work.Tenant, work.Event, work.Subscription, now.Unix()/60)),
		Body:        body,
		ContentType: "application/json",
		Subject:     galsync.PullLifecycle,
	}, nil
}

// FullRoundMessage asks for a fresh full round of a direction's source.
func FullRoundMessage(direction, trigger string, now time.Time) (queue.Message, error) {
	body, err := json.Marshal(galsync.PullRequest{Direction: direction, Trigger: trigger, Mode: galsync.PullFull, RequestedAt: now.UTC()})
	if err != nil {
		return queue.Message{}, fmt.Errorf("pipeline: encode full round request: %w", err)
	}
	return queue.Message{
		ID:          queue.FitID(fmt.Sprintf("full:%s:%d", direction, now.UnixNano())),
		Body:        body,
		ContentType: "application/json",
		Subject:     galsync.PullFull,
		Properties:  map[string]string{queue.PropDirection: direction},
	}, nil
}

func sendItems(ctx context.Context, q queue.Sender, queueName string, items []galsync.WorkItem) error {
	if len(items) == 0 {
		return nil
	}
	msgs := make([]queue.Message, 0, len(items))
	for _, it := range items {
		m, err := WorkMessage(it)
		if err != nil {
			return err
		}
		msgs = append(msgs, m)
	}
	if err := q.Send(ctx, queueName, msgs...); err != nil {
		return fmt.Errorf("pipeline: send %d item(s) to %s: %w", len(msgs), queueName, err)
	}
	return nil
}
