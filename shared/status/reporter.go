package status

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/pipeline"
	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/shared/store"
)

// Store is what the report reads of the store.
type Store interface {
	GetCursor(ctx context.Context, direction string) (galsync.Cursor, error)
	GetDirectionState(ctx context.Context, direction string) (galsync.DirectionState, error)
	ListSubscriptions(ctx context.Context) ([]galsync.Subscription, error)
	QueryLog(ctx context.Context, q galsync.LogQuery) ([]galsync.LogEntry, error)
	ListGroupPairs(ctx context.Context, direction string) ([]galsync.GroupPair, error)
}

var _ Store = store.Store(nil)

// Defaults of the Reporter's settings.
const (
	DefaultWindow        = 24 * time.Hour
	DefaultBucket        = time.Hour
	DefaultQueueCap      = 10_000
	DefaultMaxLogEntries = 100_000
	// DefaultStaleAfter: the delta timer asks for a pull of every direction
	// every 5 minutes by default, and every pulled page writes the cursor.
	DefaultStaleAfter = 30 * time.Minute
	// DefaultSubscriptionWarning: subscriptions are renewed with days to
	// spare, so one this close to expiry is not being renewed.
	DefaultSubscriptionWarning = 48 * time.Hour
	// peekPage is how many messages one peek asks for.
	peekPage = 500
)

// Direction is a configured direction as the report names it.
type Direction struct {
	Name        string
	Source      TenantRef
	Target      TenantRef
	Deprovision string
}

// DirectionsOf lists a catalog's directions, by name.
func DirectionsOf(c pipeline.Catalog) []Direction {
	out := make([]Direction, 0, len(c))
	for _, d := range c {
		out = append(out, Direction{
			Name:        d.Name,
			Source:      TenantRef{Tenant: d.Source.Name, Cloud: string(d.Source.Cloud)},
			Target:      TenantRef{Tenant: d.Target.Name, Cloud: string(d.Target.Cloud)},
			Deprovision: string(d.Deprovision.Action),
		})
	}
	slices.SortFunc(out, func(a, b Direction) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// Reporter builds status reports. Zero settings take their defaults.
type Reporter struct {
	Directions []Direction
	Store      Store
	// Queue peeks at the queues; nil leaves the depths out (the report
	// says so).
	Queue queue.Peeker
	// Queues are the work queues counted (default pulls, invites,
	// updates); what galsync parked from each is counted with it.
	Queues []string
	Now    galsync.Clock

	// Window is the span of the action counts and the timeline; Bucket
	// the width of a timeline bucket.
	Window, Bucket time.Duration
	// QueueCap bounds the messages counted in one queue.
	QueueCap int
	// MaxLogEntries bounds the log entries read per direction.
	MaxLogEntries int
	// StaleAfter: a running direction whose cursor is older gets a warning.
	StaleAfter time.Duration
	// SubscriptionWarning: a subscription expiring sooner gets a warning.
	SubscriptionWarning time.Duration
}

// New returns a Reporter of a catalog's directions with default settings;
// st is the store (store.Store), q the queue backend.
func New(c pipeline.Catalog, st Store, q queue.Peeker, now galsync.Clock) *Reporter {
	return &Reporter{Directions: DirectionsOf(c), Store: st, Queue: q, Now: now}
}

// Report reads the store and the queues and builds the report.
func (r *Reporter) Report(ctx context.Context) Report {
	s := r.settings()
	now := s.Now().UTC()
	in := inputs{now: now, window: s.window(now), queues: r.scanQueues(ctx, s)}
	subs, err := r.Store.ListSubscriptions(ctx)
	if err != nil {
		in.subscriptionsErr = fmt.Errorf("read subscriptions: %w", err)
	}
	in.subscriptions = map[string]galsync.Subscription{}
	for _, sub := range subs {
		in.subscriptions[sub.Tenant] = sub
	}
	for _, d := range r.Directions {
		in.directions = append(in.directions, r.readDirection(ctx, d, in.window, s))
	}
	return build(in, s)
}

// settings returns r with its defaults filled in.
func (r *Reporter) settings() Reporter {
	s := *r
	if s.Now == nil {
		s.Now = time.Now
	}
	if len(s.Queues) == 0 {
		s.Queues = galsync.WorkQueues()
	}
	s.Window = positive(s.Window, DefaultWindow)
	s.Bucket = positive(s.Bucket, DefaultBucket)
	s.QueueCap = positive(s.QueueCap, DefaultQueueCap)
	s.MaxLogEntries = positive(s.MaxLogEntries, DefaultMaxLogEntries)
	s.StaleAfter = positive(s.StaleAfter, DefaultStaleAfter)
	s.SubscriptionWarning = positive(s.SubscriptionWarning, DefaultSubscriptionWarning)
	return s
}

func positive[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// window is (now − Window) rounded down to the bucket, to now.
func (r *Reporter) window(now time.Time) Window {
	return Window{From: now.Add(-r.Window).Truncate(r.Bucket), To: now, BucketSeconds: int64(r.Bucket / time.Second)}
}

// readDirection reads what the store keeps of one direction.
func (r *Reporter) readDirection(ctx context.Context, d Direction, w Window, s Reporter) directionInputs {
	in := directionInputs{Direction: d}
	cur, err := r.Store.GetCursor(ctx, d.Name)
	switch {
	case err == nil:
		in.cursor = &cur
	case !errors.Is(err, galsync.ErrNotFound):
		in.cursorFailed = true
		in.errs = append(in.errs, fmt.Errorf("read cursor: %w", err))
	}
	st, err := r.Store.GetDirectionState(ctx, d.Name)
	switch {
	case err == nil:
		in.state = st
	case !errors.Is(err, galsync.ErrNotFound):
		in.errs = append(in.errs, fmt.Errorf("read direction state: %w", err))
	}
	in.log, err = r.Store.QueryLog(ctx, galsync.LogQuery{Direction: d.Name, Since: w.From, Limit: s.MaxLogEntries})
	if err != nil {
		in.errs = append(in.errs, fmt.Errorf("read provisioning log: %w", err))
	}
	in.logTruncated = len(in.log) >= s.MaxLogEntries
	pairs, err := r.Store.ListGroupPairs(ctx, d.Name)
	if err != nil {
		in.errs = append(in.errs, fmt.Errorf("read mirrored groups: %w", err))
	}
	for _, p := range pairs {
		if p.Role == galsync.GroupMirror {
			in.groups = append(in.groups, p)
		}
	}
	return in
}

// scanQueues counts every queue, its dead letters and what galsync parked
// from it, all at once.
func (r *Reporter) scanQueues(ctx context.Context, s Reporter) []queueScan {
	scans := make([]queueScan, len(s.Queues))
	if r.Queue == nil {
		err := errors.New("no queue to peek at: depths not reported")
		for i, q := range s.Queues {
			scans[i] = queueScan{name: q, active: tally{err: err}, dead: tally{err: err}, parked: tally{err: err}}
		}
		return scans
	}
	var wg sync.WaitGroup
	var parked map[string]tally
	wg.Go(func() { parked = countParked(ctx, r.Queue, s.QueueCap) })
	for i, q := range s.Queues {
		scans[i].name = q
		wg.Go(func() { scans[i].active = countQueue(ctx, r.Queue, q, s.QueueCap) })
		wg.Go(func() { scans[i].dead = countQueue(ctx, r.Queue, queue.DeadLetterQueue(q), s.QueueCap) })
	}
	wg.Wait()
	for i := range scans {
		scans[i].parked = parked[scans[i].name]
	}
	return scans
}

// countParked counts the parked messages by the queue they came from.
func countParked(ctx context.Context, p queue.Peeker, limit int) map[string]tally {
	out := map[string]tally{}
	var from int64
	seen := 0
	for seen < limit {
		page, err := p.Peek(ctx, galsync.QueueParked, from, min(peekPage, limit-seen))
		if err != nil {
			err = fmt.Errorf("peek %s: %w", galsync.QueueParked, err)
			for _, q := range galsync.WorkQueues() {
				t := out[q]
				t.err = err
				out[q] = t
			}
			return out
		}
		if len(page) == 0 {
			return out
		}
		for _, d := range page {
			q := d.Properties[queue.PropParkedFrom]
			t := out[q]
			if t.byDirection == nil {
				t.byDirection = map[string]int{}
			}
			t.total++
			t.byDirection[d.Properties[queue.PropDirection]]++
			out[q] = t
		}
		seen += len(page)
		from = page[len(page)-1].SequenceNumber + 1
	}
	for q, t := range out {
		t.capped = true
		out[q] = t
	}
	return out
}

// queueScan is what peeking at one queue and its dead letters found.
type queueScan struct {
	name                 string
	active, dead, parked tally
}

// tally counts a queue's messages, in all and by direction.
type tally struct {
	total       int
	byDirection map[string]int
	// capped: counting stopped at the cap with messages left.
	capped bool
	err    error
}

// countQueue peeks at a queue page by page, up to limit messages.
func countQueue(ctx context.Context, p queue.Peeker, name string, limit int) tally {
	t := tally{byDirection: map[string]int{}}
	var from int64
	for {
		page, err := p.Peek(ctx, name, from, min(peekPage, limit-t.total+1))
		if err != nil {
			t.err = fmt.Errorf("peek %s: %w", name, err)
			return t
		}
		if len(page) == 0 {
			return t
		}
		for _, d := range page {
			if t.total == limit {
				// One message past the cap was asked for to tell "exactly
				// the cap" from "more".
				t.capped = true
				return t
			}
			t.total++
			t.byDirection[d.Properties[queue.PropDirection]]++
		}
		last := page[len(page)-1].SequenceNumber
		if last < from {
			t.err = fmt.Errorf("peek %s: asked from sequence number %d, got up to %d", name, from, last)
			return t
		}
		from = last + 1
	}
}
