package status

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/galsync/galsync/shared/galsync"
)

// The status page is one self-contained HTML document: inline CSS, the
// charts as inline SVG drawn here, no script and nothing fetched, so it
// renders under a Content-Security-Policy of default-src 'none' and
// reads the same in any browser. It refreshes itself every minute.

//go:embed page.html
var pageHTML string

var pageTemplate = template.Must(template.New("status").Parse(pageHTML))

// RefreshSeconds is how often the page reloads itself.
const RefreshSeconds = 60

// WriteHTML writes the report as the status page.
func WriteHTML(w io.Writer, r Report) error {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, newPage(r)); err != nil {
		return fmt.Errorf("status: render page: %w", err)
	}
	_, err := buf.WriteTo(w)
	return err
}

// page is the template's view of a report.
type page struct {
	Report    Report
	Generated string
	Window    string
	Refresh   int
	Overall   badge
	Summary   string
	Queues    []queueRow
	Cards     []card
}

type badge struct {
	Class, Icon, Label string
}

type card struct {
	DirectionReport
	ID       string
	Badge    badge
	Route    string
	Facts    []fact
	Pause    *pauseView
	Queues   []queueRow
	Counts   []countRow
	Totals   countRow
	Chart    chart
	Activity []activityRow
	Series   []string
}

type fact struct {
	Label, Value, Note string
	Alert              bool
}

type pauseView struct {
	Since, Reason, Command string
	Held                   int
}

type queueRow struct {
	Queue, Active, Dead, Parked string
	DeadAlert, ParkedAlert      bool
	Error                       string
}

type countRow struct {
	Action                             string
	Success, NoChange, Skipped, Failed int
	Total                              int
	HasFailed                          bool
}

type activityRow struct {
	Time   string
	Counts []int
	Total  int
}

func newPage(r Report) page {
	p := page{Report: r, Generated: stamp(r.GeneratedAt), Refresh: RefreshSeconds,
		Window: Span(r.Window.To.Sub(r.Window.From).Round(time.Hour))}
	switch {
	case r.Healthy:
		p.Overall = badge{"state-ok", "✓", "ALL OK"}
	default:
		p.Overall = badge{"state-warning", "!", "ATTENTION NEEDED"}
	}
	if r.Summary.Paused > 0 {
		p.Overall = badge{"state-paused", "Ⅱ", "ATTENTION NEEDED"}
	}
	p.Summary = fmt.Sprintf("%d %s: %d OK, %d paused, %d with warnings", r.Summary.Directions,
		plural(r.Summary.Directions, "direction", "directions"), r.Summary.OK, r.Summary.Paused, r.Summary.Warning)
	p.Queues = queueRows(r.Queues)
	for _, d := range r.Directions {
		p.Cards = append(p.Cards, newCard(d, r.Window))
	}
	return p
}

func stateBadge(state string) badge {
	switch state {
	case StatePaused:
		return badge{"state-paused", "Ⅱ", "PAUSED"}
	case StateWarning:
		return badge{"state-warning", "!", "WARNING"}
	}
	return badge{"state-ok", "✓", "OK"}
}

func newCard(d DirectionReport, w Window) card {
	c := card{DirectionReport: d, ID: idOf(d.Name), Badge: stateBadge(d.State),
		Route:  tenantText(d.Source) + " → " + tenantText(d.Target),
		Queues: queueRows(d.Queues), Chart: newChart(d.Timeline, w), Series: d.Timeline.Series}
	c.Facts = facts(d, w.To)
	if p := d.Paused; p != nil {
		c.Pause = &pauseView{Since: agoStamp(p.Since, w.To), Reason: p.Reason, Held: p.HeldDeprovisions,
			Command: "galsync approve --direction " + d.Name}
	}
	c.Counts, c.Totals = countRows(d.Actions)
	for _, b := range d.Timeline.Buckets {
		if b.Total() == 0 {
			continue
		}
		row := activityRow{Time: b.Start.UTC().Format("Jan 2 15:04"), Total: b.Total()}
		for _, s := range d.Timeline.Series {
			row.Counts = append(row.Counts, b.Counts[s])
		}
		c.Activity = append(c.Activity, row)
	}
	return c
}

func tenantText(t TenantRef) string {
	if t.Cloud == "" {
		return t.Tenant
	}
	return t.Tenant + " (" + t.Cloud + ")"
}

func facts(d DirectionReport, now time.Time) []fact {
	var out []fact
	if cur := d.Cursor; cur == nil {
		out = append(out, fact{Label: "Last pull", Value: "never", Note: "no pull has run yet", Alert: true})
	} else {
		out = append(out, fact{Label: "Last pull", Value: agoStamp(cur.UpdatedAt, now),
			Note: "cursor age: when delta-pull last wrote the cursor"})
		if cur.LastRoundFinishedAt.IsZero() {
			out = append(out, fact{Label: "Caught up", Value: "not yet", Note: "the first full sync has not finished"})
		} else {
			out = append(out, fact{Label: "Caught up", Value: agoStamp(cur.LastRoundFinishedAt, now),
				Note: "last pull that read every change"})
		}
		if cur.RoundInProgress {
			kind := "incremental"
			if cur.FullRound {
				kind = "full sync"
			}
			out = append(out, fact{Label: "Round in progress", Value: fmt.Sprintf("%s, %d %s read", kind, cur.RoundPages,
				plural(cur.RoundPages, "page", "pages")), Note: "started " + stampOrNever(cur.RoundStartedAt)})
		}
		resync := fact{Label: "Last full resync", Value: "never"}
		if !cur.LastResyncAt.IsZero() {
			resync.Value, resync.Note = stamp(cur.LastResyncAt), cur.ResyncReason
		}
		out = append(out, resync)
	}
	sub := fact{Label: "Change notifications", Value: "none", Note: "changes arrive with the delta timer"}
	if s := d.Subscription; s != nil {
		left := s.ExpiresIn()
		switch {
		case left <= 0:
			sub = fact{Label: "Change notifications", Value: "EXPIRED " + Human(-left) + " ago", Note: stamp(s.ExpiresAt), Alert: true}
		default:
			sub = fact{Label: "Change notifications", Value: "subscription expires in " + Human(left), Note: stamp(s.ExpiresAt)}
		}
	}
	out = append(out, sub)
	if d.Deprovision != "" {
		out = append(out, fact{Label: "Deprovisioning", Value: d.Deprovision, Note: "what leaving users get in the target"})
	}
	if a := d.Attention; !a.CountedAt.IsZero() {
		out = append(out, fact{Label: "Last sweep", Value: agoStamp(a.CountedAt, now),
			Note: fmt.Sprintf("%d drifted and %d missing guests sent for repair", a.Drifted, a.Missing)},
			fact{Label: "Pending redemption", Value: fmt.Sprint(a.PendingAcceptance),
				Note: "guests that have not redeemed their invitation (externalUserState PendingAcceptance)"})
	}
	if n := d.Attention.Converted; n > 0 {
		out = append(out, fact{Label: "Converted members", Value: fmt.Sprint(n), Note: "target members made external users in place (existingMembers convert)"})
	}
	if n := d.Attention.ManagersPending; n > 0 {
		out = append(out, fact{Label: "Managers pending", Value: fmt.Sprint(n), Note: "guests whose manager reference waits for their manager's guest"})
	}
	return out
}

// agoStamp writes a past time as "4m 12s ago (2026-11-01 03:04 UTC)".
func agoStamp(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return Human(now.Sub(t)) + " ago (" + stamp(t) + ")"
}

func stampOrNever(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return stamp(t)
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func queueRows(qs []QueueDepth) []queueRow {
	out := make([]queueRow, 0, len(qs))
	for _, q := range qs {
		row := queueRow{Queue: q.Queue, Active: q.Active.String(), Dead: q.DeadLettered.String(), Parked: q.Parked.String(),
			DeadAlert: q.DeadLettered.Count > 0, ParkedAlert: q.Parked.Count > 0, Error: q.Error}
		if q.Error != "" {
			row.Active, row.Dead, row.Parked = "unknown", "unknown", "unknown"
		}
		out = append(out, row)
	}
	return out
}

func countRows(a ActionCounts) ([]countRow, countRow) {
	var rows []countRow
	totals := countRow{Action: "all"}
	for _, action := range seriesOrder(slices.Collect(maps.Keys(a.ByAction))) {
		o := a.ByAction[action]
		row := countRow{Action: action, Success: o[galsync.OutcomeSuccess], NoChange: o[galsync.OutcomeNoChange],
			Skipped: o[galsync.OutcomeSkipped], Failed: o[galsync.OutcomeFailed]}
		for _, v := range o {
			row.Total += v
		}
		row.HasFailed = row.Failed > 0
		totals.Success += row.Success
		totals.NoChange += row.NoChange
		totals.Skipped += row.Skipped
		totals.Failed += row.Failed
		totals.Total += row.Total
		rows = append(rows, row)
	}
	totals.HasFailed = totals.Failed > 0
	return rows, totals
}

// idOf makes an HTML id from a direction name.
func idOf(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return "dir-" + b.String()
}
