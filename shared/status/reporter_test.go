package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/pipeline"
	"github.com/galsync/galsync/shared/queue"
)

var now = time.Date(2026, 11, 1, 3, 7, 0, 0, time.UTC)

const (
	dirAB = "contoso-to-fabrikam"
	dirAC = "contoso-to-gcchigh"
)

func directions() []Direction {
	return []Direction{
		{Name: dirAB, Source: TenantRef{"contoso", "public"}, Target: TenantRef{"fabrikam", "public"}, Deprovision: "disable"},
		{Name: dirAC, Source: TenantRef{"contoso", "public"}, Target: TenantRef{"gcchigh", "usgov"}, Deprovision: "delete"},
	}
}

// healthy is a store where both directions pulled two minutes ago and the
// source tenant's subscription has weeks left.
func healthy() *fakeStore {
	cur := func(dir string) galsync.Cursor {
		return galsync.Cursor{Direction: dir, Link: "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=SECRET-TOKEN",
			NextSeq: 40, DeltaObtainedAt: now.Add(-2 * time.Minute), RoundStartedAt: now.Add(-2 * time.Minute),
			UpdatedAt: now.Add(-2 * time.Minute)}
	}
	return &fakeStore{
		cursors: map[string]galsync.Cursor{dirAB: cur(dirAB), dirAC: cur(dirAC)},
		states:  map[string]galsync.DirectionState{},
		subs: []galsync.Subscription{{Tenant: "contoso", TenantID: "t1", ID: "sub-1", ClientState: "CLIENT-STATE-SECRET",
			NotificationURL: "https://galsync.example/api/notify?code=FUNCTION-KEY", ExpiresAt: now.Add(20 * 24 * time.Hour)}},
	}
}

func reporter(st *fakeStore, q *fakeQueue) *Reporter {
	return &Reporter{Directions: directions(), Store: st, Queue: q, Now: fixed(now)}
}

func TestDirectionStateAndWarnings(t *testing.T) {
	for _, tc := range []struct {
		name     string
		setup    func(*fakeStore, *fakeQueue)
		state    string
		warnings []string
		errors   []string
		check    func(*testing.T, DirectionReport)
	}{
		{name: "healthy", state: StateOK, warnings: []string{}, check: func(t *testing.T, d DirectionReport) {
			if d.Cursor == nil || d.Cursor.AgeSeconds != 120 || d.Cursor.RoundInProgress || d.Paused != nil {
				t.Errorf("cursor %+v paused %+v", d.Cursor, d.Paused)
			}
			if d.Subscription == nil || d.Subscription.ID != "sub-1" || d.Subscription.ExpiresIn() != 20*24*time.Hour {
				t.Errorf("subscription %+v", d.Subscription)
			}
			if d.Source != (TenantRef{"contoso", "public"}) || d.Target != (TenantRef{"fabrikam", "public"}) || d.Deprovision != "disable" {
				t.Errorf("names %+v %+v %q", d.Source, d.Target, d.Deprovision)
			}
		}},
		{name: "never pulled", state: StateWarning, warnings: []string{"no pull has run yet"},
			setup: func(s *fakeStore, _ *fakeQueue) { delete(s.cursors, dirAB) },
			check: func(t *testing.T, d DirectionReport) {
				if d.Cursor != nil {
					t.Errorf("cursor %+v", d.Cursor)
				}
			}},
		{name: "stale cursor", state: StateWarning, warnings: []string{"no pull for 2h 5m (expected every few minutes)"},
			setup: func(s *fakeStore, _ *fakeQueue) {
				c := s.cursors[dirAB]
				c.UpdatedAt, c.DeltaObtainedAt, c.RoundStartedAt = now.Add(-125*time.Minute), now.Add(-3*time.Hour), now.Add(-3*time.Hour)
				s.cursors[dirAB] = c
			}},
		{name: "full round in progress", state: StateOK, warnings: []string{},
			setup: func(s *fakeStore, _ *fakeQueue) {
				c := s.cursors[dirAB]
				c.Link, c.Full, c.Page, c.RoundStartedAt, c.UpdatedAt = "https://graph/next", true, 12, now.Add(-10*time.Minute), now.Add(-5*time.Second)
				c.LastResyncAt, c.ResyncReason = now.Add(-10*time.Minute), "graph: delta in tenant contoso: 410 Gone: token for admin@contoso.com expired"
				s.cursors[dirAB] = c
			},
			check: func(t *testing.T, d DirectionReport) {
				c := d.Cursor
				if !c.RoundInProgress || !c.FullRound || c.RoundPages != 12 || c.AgeSeconds != 5 || c.LastResyncAt != now.Add(-10*time.Minute) {
					t.Errorf("cursor %+v", c)
				}
				if c.ResyncReason != "graph: delta in tenant contoso: 410 Gone: token for [redacted] expired" {
					t.Errorf("resync reason %q", c.ResyncReason)
				}
			}},
		{name: "paused", state: StatePaused, warnings: []string{},
			setup: func(s *fakeStore, _ *fakeQueue) {
				c := s.cursors[dirAB]
				c.UpdatedAt = now.Add(-3 * time.Hour) // no pulls while paused: not stale
				s.cursors[dirAB] = c
				s.states[dirAB] = galsync.DirectionState{Direction: dirAB, Paused: true, PausedAt: now.Add(-3 * time.Hour),
					PauseReason: "40 deprovisions in one round exceed the accidental-deletion threshold",
					HeldCount:   40}
			},
			check: func(t *testing.T, d DirectionReport) {
				p := d.Paused
				if p == nil || p.HeldDeprovisions != 40 || p.AgeSeconds != 3*3600 || !strings.HasPrefix(p.Reason, "40 deprovisions") {
					t.Errorf("paused %+v", p)
				}
			}},
		{name: "dead letters", state: StateWarning, warnings: []string{"2 messages dead-lettered in invites", "1 message dead-lettered in updates"},
			setup: func(_ *fakeStore, q *fakeQueue) {
				q.add(queue.DeadLetterQueue(galsync.QueueInvites), dirAB, 2)
				q.add(queue.DeadLetterQueue(galsync.QueueInvites), dirAC, 5)
				q.add(queue.DeadLetterQueue(galsync.QueueUpdates), dirAB, 1)
				q.add(galsync.QueueInvites, dirAB, 3)
				q.add(galsync.QueueInvites, "", 4) // no direction property: totals only
			},
			check: func(t *testing.T, d DirectionReport) {
				want := []QueueDepth{
					{Queue: "pulls"},
					{Queue: "invites", Active: Count{Count: 3}, DeadLettered: Count{Count: 2}},
					{Queue: "updates", DeadLettered: Count{Count: 1}},
				}
				if !slices.Equal(d.Queues, want) {
					t.Errorf("queues %+v", d.Queues)
				}
			}},
		{name: "subscription expired", state: StateWarning,
			warnings: []string{"change-notification subscription expired 3h ago: changes arrive only with the timer"},
			setup:    func(s *fakeStore, _ *fakeQueue) { s.subs[0].ExpiresAt = now.Add(-3 * time.Hour) }},
		{name: "subscription not renewed", state: StateWarning,
			warnings: []string{"change-notification subscription expires in 5h and has not been renewed"},
			setup:    func(s *fakeStore, _ *fakeQueue) { s.subs[0].ExpiresAt = now.Add(5 * time.Hour) }},
		{name: "no subscription", state: StateOK, warnings: []string{},
			setup: func(s *fakeStore, _ *fakeQueue) { s.subs = nil },
			check: func(t *testing.T, d DirectionReport) {
				if d.Subscription != nil {
					t.Errorf("subscription %+v", d.Subscription)
				}
			}},
		{name: "failed actions", state: StateWarning, warnings: []string{"2 failed actions in the last 24h"},
			setup: func(s *fakeStore, _ *fakeQueue) {
				s.log = []galsync.LogEntry{
					{Time: now.Add(-time.Hour), Direction: dirAB, Action: "invite", Outcome: "failed"},
					{Time: now.Add(-time.Hour), Direction: dirAB, Action: "update", Outcome: "failed"},
					{Time: now.Add(-time.Hour), Direction: dirAB, Action: "update", Outcome: "success"},
					{Time: now.Add(-time.Hour), Direction: dirAC, Action: "invite", Outcome: "failed"},
				}
			}},
		{name: "store read errors", state: StateWarning, warnings: []string{},
			errors: []string{"read cursor: cosmos: 503 for admin [redacted]", "read direction state: cosmos: 503", "read provisioning log: cosmos: 429"},
			setup: func(s *fakeStore, _ *fakeQueue) {
				s.cursorErr = errors.New("cosmos: 503 for admin admin@contoso.com")
				s.stateErr, s.logErr = errors.New("cosmos: 503"), errors.New("cosmos: 429")
			}},
		{name: "subscriptions unreadable", state: StateWarning, warnings: []string{},
			errors: []string{"read subscriptions: cosmos: 503"},
			setup:  func(s *fakeStore, _ *fakeQueue) { s.subsErr = errors.New("cosmos: 503") }},
		{name: "queue unreadable", state: StateWarning, warnings: []string{},
			errors: []string{"peek invites/$deadletterqueue: amqp: link detached"},
			setup: func(_ *fakeStore, q *fakeQueue) {
				q.err = map[string]error{queue.DeadLetterQueue(galsync.QueueInvites): errors.New("amqp: link detached")}
			},
			check: func(t *testing.T, d DirectionReport) {
				if d.Queues[1].Error == "" || d.Queues[0].Error != "" {
					t.Errorf("queues %+v", d.Queues)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, q := healthy(), &fakeQueue{}
			if tc.setup != nil {
				tc.setup(st, q)
			}
			rep := reporter(st, q).Report(t.Context())
			d := rep.Directions[0]
			if d.Name != dirAB {
				t.Fatalf("first direction %q", d.Name)
			}
			if d.State != tc.state {
				t.Errorf("state %q, want %q (warnings %q, errors %q)", d.State, tc.state, d.Warnings, d.Errors)
			}
			if !slices.Equal(d.Warnings, tc.warnings) {
				t.Errorf("warnings\n got %q\nwant %q", d.Warnings, tc.warnings)
			}
			if want := orEmpty(tc.errors); !slices.Equal(d.Errors, want) {
				t.Errorf("errors\n got %q\nwant %q", d.Errors, want)
			}
			if tc.check != nil {
				tc.check(t, d)
			}
			b, err := json.Marshal(rep)
			if err != nil {
				t.Fatal(err)
			}
			for _, secret := range []string{"SECRET-TOKEN", "CLIENT-STATE-SECRET", "FUNCTION-KEY", "@"} {
				if strings.Contains(string(b), secret) {
					t.Errorf("the report holds %q: %s", secret, b)
				}
			}
		})
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func TestSummaryAndHealth(t *testing.T) {
	st := healthy()
	rep := reporter(st, &fakeQueue{}).Report(t.Context())
	if !rep.Healthy || rep.Summary != (Summary{Directions: 2, OK: 2}) || len(rep.Errors) != 0 {
		t.Errorf("healthy deployment: healthy %t summary %+v errors %q", rep.Healthy, rep.Summary, rep.Errors)
	}
	st.states[dirAC] = galsync.DirectionState{Paused: true}
	delete(st.cursors, dirAB)
	rep = reporter(st, &fakeQueue{}).Report(t.Context())
	if rep.Healthy || rep.Summary != (Summary{Directions: 2, Warning: 1, Paused: 1}) {
		t.Errorf("healthy %t summary %+v", rep.Healthy, rep.Summary)
	}
	if rep.GeneratedAt != now || rep.Window.From != time.Date(2026, 10, 31, 3, 0, 0, 0, time.UTC) || rep.Window.To != now ||
		rep.Window.BucketSeconds != 3600 {
		t.Errorf("generated %s window %+v", rep.GeneratedAt, rep.Window)
	}
	if got := st.queries; len(got) != 4 || got[0].Since != rep.Window.From || got[0].Limit != DefaultMaxLogEntries {
		t.Errorf("log queries %+v", got)
	}
}

// Depths are counted by peeking in pages up to the cap; a queue with more
// says so ("10000+"), and one with exactly the cap does not.
func TestQueueDepthCap(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ab, ac  int
		cap     int
		total   Count
		abCount Count
	}{
		{name: "empty", cap: 0, total: Count{}, abCount: Count{}},
		{name: "under the cap", ab: 700, ac: 300, total: Count{Count: 1000}, abCount: Count{Count: 700}},
		{name: "exactly the cap", ab: 6000, ac: 4000, total: Count{Count: 10000}, abCount: Count{Count: 6000}},
		{name: "over the cap", ab: 6000, ac: 4001, total: Count{Count: 10000, AtLeast: true}, abCount: Count{Count: 6000, AtLeast: true}},
		{name: "small cap", ab: 4, ac: 4, cap: 5, total: Count{Count: 5, AtLeast: true}, abCount: Count{Count: 4, AtLeast: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := &fakeQueue{}
			q.add(galsync.QueueUpdates, dirAB, tc.ab)
			q.add(galsync.QueueUpdates, dirAC, tc.ac)
			r := reporter(healthy(), q)
			r.QueueCap = tc.cap
			rep := r.Report(t.Context())
			if got := rep.Queues[2]; got.Queue != "updates" || got.Active != tc.total {
				t.Errorf("total %+v, want %v", got, tc.total)
			}
			if got := rep.Directions[0].Queues[2].Active; got != tc.abCount {
				t.Errorf("%s: %+v, want %v", dirAB, got, tc.abCount)
			}
			// Pages of 500, never the whole queue: 10,001 messages take
			// 21 peeks of updates, plus one each of the five other queues
			// and of the parked messages.
			if n := q.peeks.Load(); n > int64(6+tc.ab/peekPage+tc.ac/peekPage+2) {
				t.Errorf("%d peeks", n)
			}
		})
	}
	if got := (Count{Count: 10000, AtLeast: true}).String(); got != "10000+" {
		t.Errorf("String %q", got)
	}
}

// A backend that ignores the sequence number it is given must not make
// the count loop forever.
func TestQueueDepthStopsOnABackendThatGoesBackwards(t *testing.T) {
	c := countQueue(t.Context(), repeatingPeeker{}, "pulls", 10_000)
	if c.err == nil || !strings.Contains(c.err.Error(), "asked from sequence number") {
		t.Fatalf("%+v", c)
	}
}

type repeatingPeeker struct{}

func (repeatingPeeker) Peek(_ context.Context, _ string, _ int64, n int) ([]queue.Delivery, error) {
	return []queue.Delivery{{SequenceNumber: 1}, {SequenceNumber: 2}}[:min(n, 2)], nil
}

func TestNoQueueConfigured(t *testing.T) {
	r := reporter(healthy(), nil)
	r.Queue = nil
	rep := r.Report(t.Context())
	if rep.Healthy || len(rep.Errors) != 3 || rep.Directions[0].State != StateWarning {
		t.Errorf("healthy %t errors %q state %s", rep.Healthy, rep.Errors, rep.Directions[0].State)
	}
}

func TestActionCountsAndTimeline(t *testing.T) {
	st := healthy()
	at := func(h, m int) time.Time { return time.Date(2026, 11, 1, h, m, 0, 0, time.UTC) }
	st.log = []galsync.LogEntry{
		{Time: at(2, 59).Add(-24 * time.Hour), Direction: dirAB, Action: "invite", Outcome: "success"}, // before the window
		{Time: at(3, 0).Add(-24 * time.Hour), Direction: dirAB, Action: "invite", Outcome: "success"},  // first bucket
		{Time: at(3, 30).Add(-24 * time.Hour), Direction: dirAB, Action: "skip", Outcome: "skipped"},
		{Time: at(1, 10), Direction: dirAB, Action: "update", Outcome: "success"},
		{Time: at(1, 20), Direction: dirAB, Action: "update", Outcome: "nochange"},
		{Time: at(1, 30), Direction: dirAB, Action: "update", Outcome: "failed"},
		{Time: at(1, 40), Direction: dirAB, Action: "custom", Outcome: "success"},
		{Time: at(3, 5), Direction: dirAB, Action: "disable", Outcome: "success"},
		{Time: at(3, 9), Direction: dirAB, Action: "delete", Outcome: "success"}, // after now (skew): last bucket
		{Time: at(1, 0), Direction: dirAC, Action: "invite", Outcome: "success"},
	}
	rep := reporter(st, &fakeQueue{}).Report(t.Context())
	d := rep.Directions[0]
	want := ActionCounts{Total: 8, Failed: 1, ByAction: map[string]map[string]int{
		"invite": {"success": 1}, "skip": {"skipped": 1}, "update": {"success": 1, "nochange": 1, "failed": 1},
		"custom": {"success": 1}, "disable": {"success": 1}, "delete": {"success": 1},
	}}
	if fmt.Sprint(d.Actions) != fmt.Sprint(want) {
		t.Errorf("actions\n got %+v\nwant %+v", d.Actions, want)
	}
	tl := d.Timeline
	if want := []string{"invite", "update", "disable", "delete", "skip", "custom", "failed"}; !slices.Equal(tl.Series, want) {
		t.Errorf("series %q, want %q", tl.Series, want)
	}
	if len(tl.Buckets) != 25 || tl.Buckets[0].Start != rep.Window.From || tl.Buckets[24].Start != at(3, 0) {
		t.Fatalf("%d buckets from %s to %s", len(tl.Buckets), tl.Buckets[0].Start, tl.Buckets[len(tl.Buckets)-1].Start)
	}
	wantBuckets := map[int]map[string]int{
		0:  {"invite": 1, "skip": 1},
		22: {"update": 2, "failed": 1, "custom": 1},
		24: {"disable": 1, "delete": 1},
	}
	for i, b := range tl.Buckets {
		if fmt.Sprint(b.Counts) != fmt.Sprint(orEmptyMap(wantBuckets[i])) {
			t.Errorf("bucket %d (%s): %v, want %v", i, b.Start.Format("15:04"), b.Counts, wantBuckets[i])
		}
	}
	if other := rep.Directions[1]; other.Actions.Total != 1 || other.Timeline.Buckets[22].Counts["invite"] != 1 {
		t.Errorf("%s: %+v", other.Name, other.Actions)
	}
}

func orEmptyMap(m map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return m
}

func TestLogTruncated(t *testing.T) {
	st := healthy()
	for i := range 5 {
		st.log = append(st.log, galsync.LogEntry{Time: now.Add(-time.Duration(i) * time.Minute), Direction: dirAB, Action: "update", Outcome: "success"})
	}
	r := reporter(st, &fakeQueue{})
	r.MaxLogEntries = 5
	d := r.Report(t.Context()).Directions[0]
	if !d.Actions.Truncated || d.State != StateWarning ||
		!slices.Equal(d.Warnings, []string{"the provisioning log holds more than 5 entries in the window: counts are lower bounds"}) {
		t.Errorf("actions %+v warnings %q", d.Actions, d.Warnings)
	}
}

func TestOtherWindowAndBucket(t *testing.T) {
	r := reporter(healthy(), &fakeQueue{})
	r.Window, r.Bucket = 6*time.Hour, 5*time.Minute
	rep := r.Report(t.Context())
	// 21:05 to 03:07: 6 h 2 min in 73 buckets of 5 min, the last from 03:05.
	if rep.Window.From != time.Date(2026, 10, 31, 21, 5, 0, 0, time.UTC) || rep.Window.BucketSeconds != 300 {
		t.Errorf("window %+v", rep.Window)
	}
	if b := rep.Directions[0].Timeline.Buckets; len(b) != 73 || b[72].Start != time.Date(2026, 11, 1, 3, 5, 0, 0, time.UTC) {
		t.Errorf("%d buckets, last %s", len(b), b[len(b)-1].Start)
	}
}

func TestDirectionsOfCatalog(t *testing.T) {
	c := pipeline.Catalog{
		"z": {Direction: galsync.Direction{Name: "z", Deprovision: galsync.Deprovision{Action: galsync.DeprovisionDelete}},
			Source: galsync.Tenant{Name: "s", Cloud: galsync.CloudPublic}, Target: galsync.Tenant{Name: "t", Cloud: "usgov"}},
		"a": {Direction: galsync.Direction{Name: "a"}, Source: galsync.Tenant{Name: "s"}, Target: galsync.Tenant{Name: "u"}},
	}
	got := DirectionsOf(c)
	want := []Direction{
		{Name: "a", Source: TenantRef{Tenant: "s"}, Target: TenantRef{Tenant: "u"}},
		{Name: "z", Source: TenantRef{"s", "public"}, Target: TenantRef{"t", "usgov"}, Deprovision: "delete"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v", got)
	}
}

// The JSON keeps the shape the package documents.
func TestJSONShape(t *testing.T) {
	st := healthy()
	st.states[dirAC] = galsync.DirectionState{Paused: true, PausedAt: now.Add(-time.Hour), PauseReason: "threshold", HeldCount: 2}
	q := &fakeQueue{}
	q.add(galsync.QueueInvites, dirAB, 3)
	b, err := json.Marshal(reporter(st, q).Report(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	get := func(path ...any) any {
		var v any = doc
		for _, p := range path {
			switch k := p.(type) {
			case string:
				v = v.(map[string]any)[k]
			case int:
				v = v.([]any)[k]
			}
		}
		return v
	}
	for _, tc := range []struct {
		path []any
		want any
	}{
		{[]any{"generatedAt"}, "2026-11-01T03:07:00Z"},
		{[]any{"window", "from"}, "2026-10-31T03:00:00Z"},
		{[]any{"window", "bucketSeconds"}, 3600.0},
		{[]any{"healthy"}, false},
		{[]any{"summary", "paused"}, 1.0},
		{[]any{"queues", 1, "queue"}, "invites"},
		{[]any{"queues", 1, "active", "count"}, 3.0},
		{[]any{"directions", 0, "name"}, dirAB},
		{[]any{"directions", 0, "source", "tenant"}, "contoso"},
		{[]any{"directions", 0, "state"}, "ok"},
		{[]any{"directions", 0, "cursor", "ageSeconds"}, 120.0},
		{[]any{"directions", 0, "cursor", "lastRoundFinishedAt"}, "2026-11-01T03:05:00Z"},
		{[]any{"directions", 0, "paused"}, nil},
		{[]any{"directions", 0, "subscription", "id"}, "sub-1"},
		{[]any{"directions", 0, "queues", 1, "active", "count"}, 3.0},
		{[]any{"directions", 0, "actions", "total"}, 0.0},
		{[]any{"directions", 1, "state"}, "paused"},
		{[]any{"directions", 1, "paused", "heldDeprovisions"}, 2.0},
		{[]any{"directions", 1, "paused", "reason"}, "threshold"},
		{[]any{"directions", 1, "target", "cloud"}, "usgov"},
		{[]any{"directions", 1, "timeline", "buckets", 24, "start"}, "2026-11-01T03:00:00Z"},
	} {
		if got := get(tc.path...); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%v: %v, want %v", tc.path, got, tc.want)
		}
	}
	for _, key := range []string{"warnings", "errors"} {
		if _, ok := get("directions", 0).(map[string]any)[key].([]any); !ok {
			t.Errorf("%s is not an array: %s", key, b)
		}
	}
}

func TestHumanDurations(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"}, {45 * time.Second, "45s"}, {4*time.Minute + 12*time.Second, "4m 12s"}, {5 * time.Minute, "5m"},
		{3*time.Hour + 5*time.Minute + 59*time.Second, "3h 5m"}, {-2 * time.Hour, "2h"},
		{52 * time.Hour, "2d 4h"}, {29 * 24 * time.Hour, "29d"},
	} {
		if got := Human(tc.d); got != tc.want {
			t.Errorf("Human(%s) = %q, want %q", tc.d, got, tc.want)
		}
	}
	for d, want := range map[time.Duration]string{24 * time.Hour: "24h", time.Hour: "1h", 5 * time.Minute: "5m", 90 * time.Second: "1m 30s"} {
		if got := Span(d); got != want {
			t.Errorf("Span(%s) = %q, want %q", d, got, want)
		}
	}
}

// What galsync parked is counted with the queue it came from, and what
// needs an operator (refused attributes, conflicts, the last sweep's drift)
// is reported from the last sweep and the log since.
func TestParkedAndAttention(t *testing.T) {
	st := healthy()
	st.states[dirAB] = galsync.DirectionState{Direction: dirAB, Attention: &galsync.Attention{At: now.Add(-time.Hour),
		Refused:   map[string]galsync.RefusedAttribute{"jobTitle": {Users: 3, Message: "Invalid value specified for property 'jobTitle'"}},
		Conflicts: 1, Drifted: 20, Missing: 2, DisabledInTarget: 1}}
	st.log = []galsync.LogEntry{
		{Time: now.Add(-2 * time.Hour), Direction: dirAB, SourceUserID: "old", Action: galsync.ActionConflict, Outcome: galsync.OutcomeSkipped},
		{Time: now.Add(-time.Minute), Direction: dirAB, SourceUserID: "u9", Action: galsync.ActionConflict, Outcome: galsync.OutcomeSkipped},
		{Time: now.Add(-time.Minute), Direction: dirAB, SourceUserID: "u8", Action: galsync.ActionRefused, Outcome: galsync.OutcomeFailed,
			Attributes: []string{"jobTitle"}, Reason: "Invalid value specified for property 'jobTitle' of resource 'User'."},
		{Time: now.Add(-time.Minute), Direction: dirAB, SourceUserID: "u7", Action: galsync.ActionBlocked, Outcome: galsync.OutcomeSkipped,
			Attributes: []string{"accountEnabled"}},
		{Time: now.Add(-time.Second), Direction: dirAB, SourceUserID: "u7", Action: galsync.ActionBlocked, Outcome: galsync.OutcomeSkipped,
			Attributes: []string{"accountEnabled"}},
	}
	q := &fakeQueue{}
	q.add(galsync.QueueParked, dirAB, 2)
	for i := range q.msgs[galsync.QueueParked] {
		q.msgs[galsync.QueueParked][i].Properties[queue.PropParkedFrom] = galsync.QueueInvites
	}
	rep := reporter(st, q).Report(t.Context())
	d := rep.Directions[0]
	if d.Name != dirAB {
		t.Fatalf("first direction %s", d.Name)
	}
	if got := d.Queues[1]; got.Queue != galsync.QueueInvites || got.Parked.Count != 2 {
		t.Errorf("invites depth %+v, want 2 parked", got)
	}
	a := d.Attention
	if a.Refused["jobTitle"].Users != 4 || a.Conflicts != 2 || a.Drifted != 20 || a.Missing != 2 || a.DisabledInTarget != 2 {
		t.Errorf("attention = %+v, want jobTitle refused for 4, 2 conflicts, 20 drifted, 2 missing, 2 disabled in the target", a)
	}
	joined := strings.Join(d.Warnings, "\n")
	for _, want := range []string{"2 messages from invites parked", "Graph refuses jobTitle for 4 users", "2 conflicts",
		"2 guests disabled in the target tenant, not by galsync"} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings lack %q:\n%s", want, joined)
		}
	}
}
