package status

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/galsync/galsync/shared/galsync"
)

// inputs are what the Reporter read; build turns them into a Report
// without further I/O.
type inputs struct {
	now              time.Time
	window           Window
	queues           []queueScan
	subscriptions    map[string]galsync.Subscription // by source tenant
	subscriptionsErr error
	directions       []directionInputs
}

// directionInputs are the store's records of one direction.
type directionInputs struct {
	Direction
	cursor       *galsync.Cursor // nil: none yet, or unread
	cursorFailed bool            // the cursor could not be read
	state        galsync.DirectionState
	log          []galsync.LogEntry
	logTruncated bool
	groups       []galsync.GroupPair
	errs         []error
}

func build(in inputs, s Reporter) Report {
	rep := Report{GeneratedAt: in.now, Window: in.window, Queues: []QueueDepth{}, Directions: []DirectionReport{}, Errors: []string{}}
	var shared []string // read errors every direction shares
	if in.subscriptionsErr != nil {
		shared = append(shared, redact(in.subscriptionsErr.Error()))
	}
	for _, q := range in.queues {
		depth := queueDepth(q, q.active.total, q.dead.total, q.parked.total)
		rep.Queues = append(rep.Queues, depth)
		if depth.Error != "" {
			shared = append(shared, depth.Error)
		}
	}
	rep.Errors = append(rep.Errors, shared...)
	for _, d := range in.directions {
		dr := buildDirection(d, in, s)
		dr.Errors = append(dr.Errors, shared...)
		dr.State = state(dr)
		rep.Directions = append(rep.Directions, dr)
		rep.Summary.Directions++
		switch dr.State {
		case StateOK:
			rep.Summary.OK++
		case StateWarning:
			rep.Summary.Warning++
		case StatePaused:
			rep.Summary.Paused++
		}
	}
	rep.Healthy = len(rep.Errors) == 0 && rep.Summary.OK == rep.Summary.Directions
	return rep
}

func state(d DirectionReport) string {
	switch {
	case d.Paused != nil:
		return StatePaused
	case len(d.Warnings) > 0 || len(d.Errors) > 0:
		return StateWarning
	}
	return StateOK
}

func buildDirection(d directionInputs, in inputs, s Reporter) DirectionReport {
	dr := DirectionReport{Name: d.Name, Source: d.Source, Target: d.Target, Deprovision: d.Deprovision,
		Warnings: []string{}, Errors: []string{}}
	for _, err := range d.errs {
		dr.Errors = append(dr.Errors, redact(err.Error()))
	}
	if d.cursor != nil {
		dr.Cursor = cursorStatus(*d.cursor, in.now)
	}
	if d.state.Paused {
		dr.Paused = &PauseStatus{Since: d.state.PausedAt.UTC(), AgeSeconds: seconds(in.now.Sub(d.state.PausedAt)),
			Reason: redact(d.state.PauseReason), HeldDeprovisions: d.state.Held()}
		if d.state.PausedAt.IsZero() {
			dr.Paused.AgeSeconds = 0
		}
	}
	if sub, ok := in.subscriptions[d.Source.Tenant]; ok && (sub.ID != "" || !sub.ExpiresAt.IsZero()) {
		dr.Subscription = &Subscription{ID: sub.ID, ExpiresAt: sub.ExpiresAt.UTC(),
			ExpiresInSeconds: seconds(sub.ExpiresAt.Sub(in.now)), RenewedAt: sub.RenewedAt.UTC()}
	}
	dr.Queues = []QueueDepth{}
	for _, q := range in.queues {
		dr.Queues = append(dr.Queues, queueDepth(q, q.active.byDirection[d.Name], q.dead.byDirection[d.Name], q.parked.byDirection[d.Name]))
	}
	dr.Actions, dr.Timeline = actions(d.log, d.logTruncated, in.window)
	dr.Attention = attention(d)
	dr.Groups = groupStatuses(d.groups)
	dr.Warnings = warnings(d, dr, s)
	return dr
}

func cursorStatus(c galsync.Cursor, now time.Time) *CursorStatus {
	// Every pulled page stamps UpdatedAt; a resync writes the cursor
	// before its first page, so the latest of its times is its last write.
	last := c.UpdatedAt
	for _, t := range []time.Time{c.DeltaObtainedAt, c.RoundStartedAt, c.LastResyncAt} {
		if t.After(last) {
			last = t
		}
	}
	cs := &CursorStatus{UpdatedAt: last.UTC(), LastRoundFinishedAt: c.DeltaObtainedAt.UTC(),
		RoundInProgress: c.Page > 0 || c.Link == "", FullRound: c.Full, RoundStartedAt: c.RoundStartedAt.UTC(),
		RoundPages: c.Page, LastResyncAt: c.LastResyncAt.UTC(), ResyncReason: redact(c.ResyncReason)}
	if !last.IsZero() {
		cs.AgeSeconds = seconds(now.Sub(last))
	}
	return cs
}

// attention merges what the last sweep counted with the refusals and
// conflicts the log shows since (each user counted once per attribute).
func attention(d directionInputs) Attention {
	a := Attention{Refused: map[string]RefusedAttribute{}}
	since := time.Time{}
	if at := d.state.Attention; at != nil {
		a.CountedAt, a.Conflicts, since = at.At.UTC(), at.Conflicts, at.At
		a.Drifted, a.Missing, a.PendingAcceptance = at.Drifted, at.Missing, at.PendingAcceptance
		a.Converted, a.ManagersPending, a.DisabledInTarget = at.Converted, at.ManagersPending, at.DisabledInTarget
		for attr, r := range at.Refused {
			a.Refused[attr] = RefusedAttribute{Users: r.Users, Message: redact(r.Message)}
		}
	}
	seen := map[string]bool{}
	for _, e := range d.log {
		if !e.Time.After(since) {
			continue
		}
		switch e.Action {
		case galsync.ActionConflict:
			if key := "conflict|" + e.SourceUserID; !seen[key] {
				seen[key] = true
				a.Conflicts++
			}
		case galsync.ActionConvert:
			if key := "convert|" + e.SourceUserID; e.Outcome == galsync.OutcomeSuccess && !seen[key] {
				seen[key] = true
				a.Converted++
			}
		case galsync.ActionBlocked:
			if key := "blocked|" + e.SourceUserID; !seen[key] {
				seen[key] = true
				a.DisabledInTarget++
			}
		case galsync.ActionRefused:
			for _, attr := range e.Attributes {
				if key := attr + "|" + e.SourceUserID; !seen[key] {
					seen[key] = true
					r := a.Refused[attr]
					r.Users++
					if r.Message == "" {
						r.Message = redact(e.Reason)
					}
					a.Refused[attr] = r
				}
			}
		}
	}
	return a
}

// queueDepth is a queue's depth with total (or one direction's) counts.
func queueDepth(q queueScan, active, dead, parked int) QueueDepth {
	depth := QueueDepth{Queue: q.name,
		Active:       Count{Count: active, AtLeast: q.active.capped},
		DeadLettered: Count{Count: dead, AtLeast: q.dead.capped},
		Parked:       Count{Count: parked, AtLeast: q.parked.capped}}
	if err := errorsText(q.active.err, q.dead.err, q.parked.err); err != "" {
		depth.Error = redact(err)
	}
	return depth
}

func errorsText(errs ...error) string {
	var parts []string
	for _, err := range errs {
		if err != nil {
			parts = append(parts, err.Error())
		}
	}
	return strings.Join(parts, "; ")
}

// actions counts the log entries of the window and spreads them over its
// buckets. Entries stamped after the window's end (clock skew between
// writers) count in the last bucket; entries before its start are left
// out.
func actions(log []galsync.LogEntry, truncated bool, w Window) (ActionCounts, Timeline) {
	counts := ActionCounts{ByAction: map[string]map[string]int{}, Truncated: truncated}
	bucket := w.Bucket()
	n := int(w.To.Truncate(bucket).Sub(w.From)/bucket) + 1
	tl := Timeline{Series: []string{}, Buckets: make([]TimelineBucket, n)}
	for i := range tl.Buckets {
		tl.Buckets[i] = TimelineBucket{Start: w.From.Add(time.Duration(i) * bucket), Counts: map[string]int{}}
	}
	totals := map[string]int{}
	for _, e := range log {
		if e.Time.Before(w.From) {
			continue
		}
		counts.Total++
		if counts.ByAction[e.Action] == nil {
			counts.ByAction[e.Action] = map[string]int{}
		}
		counts.ByAction[e.Action][e.Outcome]++
		series := e.Action
		if e.Outcome == galsync.OutcomeFailed {
			counts.Failed++
			series = SeriesFailed
		}
		i := min(int(e.Time.Sub(w.From)/bucket), n-1)
		tl.Buckets[i].Counts[series]++
		totals[series]++
	}
	tl.Series = seriesOrder(slices.Collect(maps.Keys(totals)))
	return counts, tl
}

// knownSeries is the order of the chart's series: adding, changing,
// retiring, then what is not a user's change.
var knownSeries = []string{
	galsync.ActionInvite, galsync.ActionJoin, galsync.ActionUpdate, galsync.ActionReenable,
	galsync.ActionDisable, galsync.ActionDelete, galsync.ActionSkip, galsync.ActionPause, galsync.ActionResync,
}

func seriesOrder(names []string) []string {
	rank := func(s string) int {
		if s == SeriesFailed {
			return len(knownSeries) + 1
		}
		if i := slices.Index(knownSeries, s); i >= 0 {
			return i
		}
		return len(knownSeries)
	}
	slices.SortFunc(names, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	return names
}

// warnings say, in words, what needs a person's attention.
func warnings(d directionInputs, dr DirectionReport, s Reporter) []string {
	out := []string{}
	switch {
	case dr.Cursor == nil && !d.cursorFailed:
		out = append(out, "no pull has run yet")
	case dr.Cursor != nil && dr.Paused == nil && dr.Cursor.Age() > s.StaleAfter:
		out = append(out, fmt.Sprintf("no pull for %s (expected every few minutes)", Human(dr.Cursor.Age())))
	}
	for _, q := range dr.Queues {
		if q.DeadLettered.Count > 0 {
			out = append(out, fmt.Sprintf("%s %s dead-lettered in %s", q.DeadLettered, plural(q.DeadLettered.Count, "message", "messages"), q.Queue))
		}
		if q.Parked.Count > 0 {
			out = append(out, fmt.Sprintf("%s %s from %s parked for an operator (galsync dlq list)", q.Parked, plural(q.Parked.Count, "message", "messages"), q.Queue))
		}
	}
	for _, attr := range slices.Sorted(maps.Keys(dr.Attention.Refused)) {
		r := dr.Attention.Refused[attr]
		out = append(out, fmt.Sprintf("Graph refuses %s for %d %s (the other attributes are written): %s", attr, r.Users, plural(r.Users, "user", "users"), r.Message))
	}
	for _, g := range dr.Groups {
		switch {
		case g.Refused != "":
			out = append(out, "mirrored group "+g.SourceGroupID+" is not kept: "+g.Refused)
		case g.SourceDeleted:
			out = append(out, fmt.Sprintf("source group %s (%s) was deleted: its target group %q is left in place, no longer kept; delete it, or drop the group from mirrorGroups",
				g.SourceGroupID, g.SourceName, g.TargetName))
		}
	}
	if n := dr.Attention.Conflicts; n > 0 {
		out = append(out, fmt.Sprintf("%d %s: a target member holds the address (galsync log --action conflict)", n, plural(n, "conflict", "conflicts")))
	}
	if n := dr.Attention.DisabledInTarget; n > 0 {
		out = append(out, fmt.Sprintf("%d %s disabled in the target tenant, not by galsync: left disabled until enabled there (galsync log --action blocked)",
			n, plural(n, "guest", "guests")))
	}
	if n := dr.Actions.Failed; n > 0 {
		out = append(out, fmt.Sprintf("%d failed %s in the last %s", n, plural(n, "action", "actions"), Span(s.Window)))
	}
	if sub := dr.Subscription; sub != nil && !sub.ExpiresAt.IsZero() {
		switch left := sub.ExpiresIn(); {
		case left <= 0:
			out = append(out, fmt.Sprintf("change-notification subscription expired %s ago: changes arrive only with the timer", Human(-left)))
		case left < s.SubscriptionWarning:
			out = append(out, fmt.Sprintf("change-notification subscription expires in %s and has not been renewed", Human(left)))
		}
	}
	if dr.Actions.Truncated {
		out = append(out, fmt.Sprintf("the provisioning log holds more than %d entries in the window: counts are lower bounds", s.MaxLogEntries))
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func seconds(d time.Duration) int64 { return int64(d / time.Second) }

// redact replaces each word holding an '@' (a mail address or a user
// principal name) with [redacted]: free text from the store or an error
// may quote one, and the status page shows no addresses.
func redact(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	words := strings.Fields(s)
	for i, w := range words {
		if strings.Contains(w, "@") {
			words[i] = "[redacted]"
		}
	}
	return strings.Join(words, " ")
}

// Human writes a duration as a person reads it at a glance: "45s",
// "4m 12s", "3h 5m", "2d 4h".
func Human(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	d = d.Truncate(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return twoUnits(d, time.Minute, "m", time.Second, "s")
	case d < 24*time.Hour:
		return twoUnits(d, time.Hour, "h", time.Minute, "m")
	}
	return twoUnits(d, 24*time.Hour, "d", time.Hour, "h")
}

// Span writes a window's length: "24h", "90m", or as Human beyond.
func Span(d time.Duration) string {
	switch {
	case d%time.Hour == 0 && d <= 72*time.Hour:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0 && d < time.Hour:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return Human(d)
}

func twoUnits(d, big time.Duration, bigName string, small time.Duration, smallName string) string {
	b, rest := d/big, (d%big)/small
	if rest == 0 {
		return fmt.Sprintf("%d%s", b, bigName)
	}
	return fmt.Sprintf("%d%s %d%s", b, bigName, rest, smallName)
}

// groupStatuses reports the mirrored groups' pairs.
func groupStatuses(pairs []galsync.GroupPair) []GroupStatus {
	out := []GroupStatus{}
	for _, p := range pairs {
		out = append(out, GroupStatus{SourceGroupID: p.SourceGroupID, SourceName: p.SourceName, TargetGroupID: p.TargetGroupID,
			TargetName: p.TargetName, SourceMembers: len(p.Members), Members: p.AppliedCount, NestedGroups: len(p.Nested),
			SourceDeleted: !p.SourceDeletedAt.IsZero(), Refused: redact(p.Refused), LastRunAt: p.LastRunAt.UTC()})
	}
	return out
}
