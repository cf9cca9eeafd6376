package status

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/galsync"
)

func render(t *testing.T, r Report) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteHTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// card returns the HTML of one direction's card.
func cardHTML(t *testing.T, page, direction string) string {
	t.Helper()
	start := strings.Index(page, `data-direction="`+direction+`"`)
	if start < 0 {
		t.Fatalf("no card for %s", direction)
	}
	end := strings.Index(page[start:], "</section>")
	return page[start : start+end]
}

func TestPageShowsEachDirection(t *testing.T) {
	page := render(t, sampleReport())
	for _, want := range []string{
		"<title>ATTENTION NEEDED · galsync status</title>",
		"2 directions: 1 OK, 1 paused, 0 with warnings",
		`<meta http-equiv="refresh" content="60">`,
		"<td>updates</td><td>10000&#43;</td>", // all queues ("10000+")
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	ok := cardHTML(t, page, dirAB)
	for _, want := range []string{
		`data-state="ok"`, "✓</span>OK</span>", "contoso (public) → fabrikam (public)",
		"2m ago (2026-11-01 03:05 UTC)", "subscription expires in 20d",
		`<tr data-queue="invites"><td>invites</td><td>3</td><td>0</td><td>0</td></tr>`,
		`<li data-series="invite">`, "actions per 1h", "time (UTC), one bar per 1h",
	} {
		if !strings.Contains(ok, want) {
			t.Errorf("%s card lacks %q", dirAB, want)
		}
	}
	for _, unwanted := range []string{"PAUSED", `data-series="failed"`, "Needs attention"} {
		if strings.Contains(ok, unwanted) {
			t.Errorf("%s card shows %q", dirAB, unwanted)
		}
	}
	paused := cardHTML(t, page, dirAC)
	for _, want := range []string{
		`data-state="paused"`, "Ⅱ</span>PAUSED</span>", "PAUSED since 47m ago (2026-11-01 02:20 UTC)",
		"40 deprovisions in one round exceed the accidental-deletion threshold",
		"<strong>40</strong> deprovisioning actions are held for approval",
		"<code>galsync approve --direction contoso-to-gcchigh</code>",
		"2 messages dead-lettered in invites", "15 failed actions in the last 24h",
		`<td>invites</td><td>0</td><td class="alert">⚠ 2</td>`, `<li data-series="failed">`,
		"graph: delta in tenant contoso: 410 Gone: token expired",
	} {
		if !strings.Contains(paused, want) {
			t.Errorf("%s card lacks %q", dirAC, want)
		}
	}
	for name, c := range map[string]string{dirAB: ok, dirAC: paused} {
		if n := strings.Count(c, `<rect class="bar `); n < 24 {
			t.Errorf("%s chart: %d bars", name, n)
		}
		if !strings.Contains(c, `<svg class="chart" viewBox="0 0 760 250" role="img"`) {
			t.Errorf("%s: no chart", name)
		}
	}
}

// Self-contained: nothing fetched, no script, no addresses.
func TestPageIsSelfContained(t *testing.T) {
	page := render(t, sampleReport())
	if strings.Contains(strings.ToLower(page), "<script") || strings.Contains(page, "src=") || strings.Contains(page, "@import") ||
		strings.Contains(page, "url(") {
		t.Error("the page loads or runs something")
	}
	for _, m := range regexp.MustCompile(`https?://[^"\s<]*`).FindAllString(page, -1) {
		if m != "http://www.w3.org/2000/svg" {
			t.Errorf("the page refers to %s", m)
		}
	}
	if m := regexp.MustCompile(`[\w.+-]+@[\w-]+`).FindString(page); m != "" {
		t.Errorf("the page holds an address: %q", m)
	}
}

func TestPageEscapesAndHandlesEmptiness(t *testing.T) {
	rep := Report{GeneratedAt: now, Window: Window{From: now.Add(-24 * time.Hour).Truncate(time.Hour), To: now, BucketSeconds: 3600},
		Errors: []string{"read subscriptions: <b>boom</b>"},
		Directions: []DirectionReport{{Name: "a<b>", State: StatePaused,
			Paused:   &PauseStatus{Reason: `<script>alert(1)</script>`, HeldDeprovisions: 1},
			Timeline: Timeline{Buckets: []TimelineBucket{{Start: now.Truncate(time.Hour), Counts: map[string]int{}}}}}}}
	page := render(t, rep)
	if strings.Contains(page, "<script>") || strings.Contains(page, "<b>boom") || strings.Contains(page, "a<b>") {
		t.Error("report text is not escaped")
	}
	for _, want := range []string{"&lt;script&gt;", "No provisioning actions in the last 24h", "<li>no actions</li>",
		"no actions logged", "Last pull</dt><dd><span class=\"alert\">⚠ never</span>", "action is held for approval",
		"Some of this report could not be read"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if page := render(t, Report{GeneratedAt: now, Window: Window{From: now, To: now, BucketSeconds: 3600}}); !strings.Contains(page, "0 directions") {
		t.Error("an empty report does not render")
	}
}

func TestYScale(t *testing.T) {
	for _, tc := range []struct{ peak, top, step int }{
		{0, 4, 1}, {1, 1, 1}, {5, 5, 1}, {7, 8, 2}, {19, 20, 5}, {100, 100, 20}, {10001, 15000, 5000},
	} {
		if top, step := yScale(tc.peak); top != tc.top || step != tc.step {
			t.Errorf("yScale(%d) = %d, %d; want %d, %d", tc.peak, top, step, tc.top, tc.step)
		}
	}
}

// Bars stack bottom-up in series order and reach the value on the axis.
func TestChartBars(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	tl := Timeline{Series: []string{galsync.ActionInvite, SeriesFailed}, Buckets: []TimelineBucket{
		{Start: start, Counts: map[string]int{"invite": 3, "failed": 1}},
		{Start: start.Add(time.Hour), Counts: map[string]int{}},
	}}
	c := newChart(tl, Window{From: start, To: start.Add(90 * time.Minute), BucketSeconds: 3600})
	if len(c.Bars) != 2 || c.Bars[0].Class != "s-invite" || c.Bars[1].Class != "s-failed" {
		t.Fatalf("bars %+v", c.Bars)
	}
	// Peak 4 → axis 0..4: the plot is 192 units high, 48 per action.
	if c.Bars[0].H != "144" || c.Bars[0].Y != "60" || c.Bars[1].H != "48" || c.Bars[1].Y != "12" {
		t.Errorf("bars %+v", c.Bars)
	}
	if c.Bars[1].Title != "00:00–01:00 UTC: failed 1" {
		t.Errorf("title %q", c.Bars[1].Title)
	}
	if len(c.XTicks) != 2 || c.XTicks[0].Label != "Nov 1" || c.XTicks[1].Label != "01:00" {
		t.Errorf("x ticks %+v", c.XTicks)
	}
	if len(c.Legend) != 2 || c.Legend[0] != (legendItem{"invite", "s-invite", 3}) || c.Empty {
		t.Errorf("legend %+v", c.Legend)
	}
	if got := seriesClass("something-new"); got != "s-other" {
		t.Errorf("class %q", got)
	}
}
