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

// GuestDirectory finds, invites, updates and deletes users in a target tenant.
type GuestDirectory interface {
	FindUserByMail(ctx context.Context, tenant, mail string, selectAttrs []string) (galsync.TargetUser, error)
	Invite(ctx context.Context, tenant string, inv galsync.Invitation) (galsync.TargetUser, error)
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
		ID:          item.MessageID(),
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

// PullWindowEnd is when the coalescing window holding now ends: the
// NotBefore of the pull request PullMessage makes at now.
func PullWindowEnd(now time.Time, window time.Duration) time.Time {
	_, end := pullSlot(now, window)
	return end
}

// pullSlot numbers now's window (from the Unix epoch) and gives its end.
func pullSlot(now time.Time, window time.Duration) (int64, time.Time) {
	slot := now.UnixNano() / int64(window)
	return slot, time.Unix(0, (slot+1)*int64(window)).UTC()
}

// PullMessage is a pull request for a direction. Requests within one window
// share their message id, so the queue's duplicate detection folds a burst
// of them into one pull. A request folded in after the message was sent
// would be lost if the pull had already run, so the message carries the
// window's end as NotBefore and delta-pull waits until then: the one pull
// that runs covers every request of its window.
func PullMessage(direction, trigger string, now time.Time, window time.Duration) (queue.Message, error) {
	if window <= 0 {
		return queue.Message{}, fmt.Errorf("pipeline: pull coalescing window must be positive, got %s", window)
	}
	slot, end := pullSlot(now, window)
	body, err := json.Marshal(galsync.PullRequest{Direction: direction, Trigger: trigger, RequestedAt: now.UTC(), NotBefore: end})
	if err != nil {
		return queue.Message{}, fmt.Errorf("pipeline: encode pull request: %w", err)
	}
	return queue.Message{
		ID:          fmt.Sprintf("pull:%s:%d", direction, slot),
		Body:        body,
		ContentType: "application/json",
		Subject:     "pull",
		Properties:  map[string]string{queue.PropDirection: direction},
	}, nil
}

// handOff passes an item from one worker to the other. Its message id is
// the item's with the hop's tag: an item can travel updates → invites →
// updates (a guest deleted in the target, invited again), and under the
// item's own id the second arrival on updates would be dropped as a
// duplicate of the first. The tag names the hop and the guest, so copies of
// one hop (duplicate deliveries) still share an id and fold.
func handOff(ctx context.Context, q queue.Sender, queueName string, item galsync.WorkItem, tag string) error {
	m, err := WorkMessage(item)
	if err != nil {
		return err
	}
	m.ID += "/" + tag
	if err := q.Send(ctx, queueName, m); err != nil {
		return fmt.Errorf("pipeline: hand %s's item to %s: %w", item.SourceUserID, queueName, err)
	}
	return nil
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
