package browsertest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/functions"
	"github.com/galsync/galsync/handlers"
	"github.com/galsync/galsync/shared/embedded"
	"github.com/galsync/galsync/shared/funchost"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/pipeline"
	"github.com/galsync/galsync/shared/status"
)

// The report's clock: fixed, so the screenshots of two runs compare.
var now = time.Date(2026, 11, 1, 3, 7, 0, 0, time.UTC)

const (
	dirOK     = "contoso-to-fabrikam"
	dirPaused = "contoso-to-gcchigh"
)

// TestStatusPageInChromium serves the status page as galsync local does,
// opens it in headless Chromium and checks what a person sees: each
// direction's card with its name, state and depths, the paused one's
// reason and what it holds back, and the chart with its bars, axes and
// legend. Screenshots go to test-artifacts/.
func TestStatusPageInChromium(t *testing.T) {
	bin := chromiumBinary(t)
	started := time.Now()
	url := serveStatus(t, populate(t))

	b := startBrowser(t, bin)
	t.Logf("%s (started in %s)", b.version(), time.Since(started).Round(time.Millisecond))
	b.viewport(1280, 900, false)
	b.navigate(url)
	var page seen
	b.eval(seeJS, &page)

	if !strings.Contains(page.Title, "ATTENTION NEEDED") || !strings.Contains(page.Text, "ATTENTION NEEDED") {
		t.Errorf("title %q: the page does not say at once that something needs attention", page.Title)
	}
	if !strings.Contains(page.Text, "2 directions: 1 OK, 1 paused, 0 with warnings") {
		t.Errorf("no summary line in:\n%s", page.Text)
	}
	if strings.Contains(page.Text, "@") || strings.Contains(page.HTML, "CLIENT-STATE-SECRET") || strings.Contains(page.HTML, "FUNCTION-KEY") ||
		strings.Contains(page.HTML, "DELTA-TOKEN") {
		t.Error("the page shows an address or a secret")
	}
	if len(page.Cards) != 2 || page.Cards[0].Name != dirOK || page.Cards[1].Name != dirPaused {
		t.Fatalf("cards %+v", page.Cards)
	}
	ok, paused := page.Cards[0], page.Cards[1]

	// State in words, and in a colour of its own.
	if !strings.Contains(ok.Badge, "OK") || !strings.Contains(paused.Badge, "PAUSED") {
		t.Errorf("badges %q, %q", ok.Badge, paused.Badge)
	}
	if ok.BadgeBackground == paused.BadgeBackground || !ok.BadgeVisible || !paused.BadgeVisible {
		t.Errorf("badge backgrounds %s and %s (visible %t, %t)", ok.BadgeBackground, paused.BadgeBackground, ok.BadgeVisible, paused.BadgeVisible)
	}
	for _, c := range []struct {
		card       card
		want, dont []string
	}{
		{ok, []string{"contoso (public) → fabrikam (public)", "Last pull", "2m ago (2026-11-01 03:05 UTC)",
			"Change notifications", "subscription expires in 20d", "Actions, last 24h"},
			[]string{"PAUSED", "Needs attention", "Could not read"}},
		{paused, []string{"contoso (public) → gcchigh (usgov)", "PAUSED since 47m ago (2026-11-01 02:20 UTC)",
			"Reason: 40 deprovisions in one round exceed the accidental-deletion threshold",
			"40 deprovisioning actions are held for approval", "galsync approve --direction contoso-to-gcchigh",
			"Needs attention", "2 messages dead-lettered in invites", "3 failed actions in the last 24h"},
			[]string{"Could not read"}},
	} {
		for _, w := range c.want {
			if !strings.Contains(c.card.Text, w) {
				t.Errorf("%s: a person does not see %q in:\n%s", c.card.Name, w, c.card.Text)
			}
		}
		for _, w := range c.dont {
			if strings.Contains(c.card.Text, w) {
				t.Errorf("%s: shows %q", c.card.Name, w)
			}
		}
	}
	// Queue depths, as the cells read: waiting, dead-lettered, parked.
	wantQueues := map[string]map[string][]string{
		dirOK:     {"pulls": {"pulls", "1", "0", "0"}, "invites": {"invites", "3", "0", "0"}, "updates": {"updates", "5", "0", "0"}},
		dirPaused: {"pulls": {"pulls", "0", "0", "0"}, "invites": {"invites", "0", "⚠ 2", "0"}, "updates": {"updates", "0", "0", "0"}},
	}
	for _, c := range page.Cards {
		for q, want := range wantQueues[c.Name] {
			if !slices.Equal(c.Queues[q], want) {
				t.Errorf("%s queue %s reads %q, want %q", c.Name, q, c.Queues[q], want)
			}
		}
	}

	// The chart: drawn, with bars of several colours, labelled axes and a
	// legend a person can read.
	for _, c := range page.Cards {
		ch := c.Chart
		if !ch.Visible || ch.Width < 500 || ch.Height < 150 {
			t.Errorf("%s chart not visible: %+v", c.Name, ch)
		}
		if ch.VisibleBars < 40 || ch.VisibleBars != ch.Bars || len(ch.Fills) < 4 {
			t.Errorf("%s chart: %d of %d bars visible, fills %q", c.Name, ch.VisibleBars, ch.Bars, ch.Fills)
		}
		for _, label := range []string{"actions per 1h", "time (UTC), one bar per 1h", "0", "06:00", "12:00", "Nov 1"} {
			if !slices.Contains(ch.Labels, label) {
				t.Errorf("%s chart lacks the label %q (has %q)", c.Name, label, ch.Labels)
			}
		}
	}
	if want := legendOf(dirOK); !slices.Equal(ok.Legend, want) {
		t.Errorf("%s legend %q, want %q", dirOK, ok.Legend, want)
	}
	if want := legendOf(dirPaused); !slices.Equal(paused.Legend, want) || !slices.Contains(want, "failed 3") {
		t.Errorf("%s legend %q, want %q", dirPaused, paused.Legend, want)
	}
	if page.ScrollWidth > page.InnerWidth {
		t.Errorf("the page scrolls sideways at 1280 px: %d > %d", page.ScrollWidth, page.InnerWidth)
	}
	dir := artifactsDir(t)
	save(t, filepath.Join(dir, "status-page.html"), []byte(page.HTML))
	save(t, filepath.Join(dir, "status-page.png"), b.screenshot(1280, false))

	// On a phone at 3 a.m.: one column, nothing cut off sideways.
	b.viewport(390, 844, true)
	b.navigate(url)
	var narrow seen
	b.eval(seeJS, &narrow)
	// A phone widens its layout viewport to fit content that overflows,
	// so the widths are checked against the device's.
	if narrow.ScrollWidth > 390 || narrow.InnerWidth != 390 {
		t.Errorf("the page does not fit 390 px: scroll width %d, layout width %d", narrow.ScrollWidth, narrow.InnerWidth)
	}
	if len(narrow.Cards) != 2 || !strings.Contains(narrow.Cards[1].Badge, "PAUSED") || !narrow.Cards[1].Chart.Visible {
		t.Errorf("narrow page: %+v", narrow.Cards)
	}
	save(t, filepath.Join(dir, "status-page-narrow.png"), b.screenshot(390, true))
	t.Logf("browser test took %s", time.Since(started).Round(time.Millisecond))
}

// seen is what seeJS reads off the page.
type seen struct {
	Title       string `json:"title"`
	Text        string `json:"text"`
	HTML        string `json:"html"`
	ScrollWidth int    `json:"scrollWidth"`
	InnerWidth  int    `json:"innerWidth"`
	Cards       []card `json:"cards"`
}

type card struct {
	Name            string              `json:"name"`
	Text            string              `json:"text"`
	Badge           string              `json:"badge"`
	BadgeVisible    bool                `json:"badgeVisible"`
	BadgeBackground string              `json:"badgeBackground"`
	Queues          map[string][]string `json:"queues"`
	Legend          []string            `json:"legend"`
	Chart           struct {
		Visible     bool     `json:"visible"`
		Width       float64  `json:"width"`
		Height      float64  `json:"height"`
		Bars        int      `json:"bars"`
		VisibleBars int      `json:"visibleBars"`
		Fills       []string `json:"fills"`
		Labels      []string `json:"labels"`
	} `json:"chart"`
}

// seeJS reads the page as a person sees it: rendered text (innerText
// leaves out what CSS hides), elements with a size on screen, computed
// colours.
const seeJS = `(() => {
  const visible = el => {
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none' && Number(s.opacity) > 0;
  };
  const squash = s => s.replace(/\s+/g, ' ').trim();
  const cards = [...document.querySelectorAll('section.card')].map(c => {
    const badge = c.querySelector('[data-role=state]');
    const svg = c.querySelector('svg.chart');
    const bars = svg ? [...svg.querySelectorAll('rect.bar')] : [];
    const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
    return {
      name: squash(c.querySelector('h2').innerText),
      text: squash(c.innerText),
      badge: squash(badge.innerText),
      badgeVisible: visible(badge),
      badgeBackground: getComputedStyle(badge).backgroundColor,
      queues: Object.fromEntries([...c.querySelectorAll('tr[data-queue]')].filter(visible)
        .map(tr => [tr.dataset.queue, [...tr.cells].map(td => squash(td.innerText))])),
      legend: [...c.querySelectorAll('ul.legend li')].filter(visible).map(li => squash(li.innerText)),
      chart: {
        visible: !!svg && visible(svg), width: box.width, height: box.height,
        bars: bars.length, visibleBars: bars.filter(visible).length,
        fills: [...new Set(bars.map(b => getComputedStyle(b).fill))],
        labels: svg ? [...svg.querySelectorAll('text')].filter(visible).map(t => squash(t.textContent)) : [],
      },
    };
  });
  return {
    title: document.title, text: squash(document.body.innerText), html: document.documentElement.outerHTML,
    scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, cards,
  };
})()`

// populate fills an embedded store and queue: contoso-to-fabrikam running
// with a little queued work and a day of activity; contoso-to-gcchigh
// paused by the accidental-deletion threshold, with dead letters and
// failed invitations. It returns the reporter galsync would wire.
func populate(t *testing.T) *status.Reporter {
	t.Helper()
	ctx := context.Background()
	db, err := embedded.Open(filepath.Join(t.TempDir(), "galsync.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	topo := galsync.Topology{
		Tenants: []galsync.Tenant{
			{Name: "contoso", TenantID: "11111111-1111-4111-8111-111111111111", Cloud: galsync.CloudPublic},
			{Name: "fabrikam", TenantID: "22222222-2222-4222-8222-222222222222", Cloud: galsync.CloudPublic},
			{Name: "gcchigh", TenantID: "33333333-3333-4333-8333-333333333333", Cloud: galsync.CloudUSGov},
		},
		Directions: []galsync.Direction{
			{Name: dirOK, Source: "contoso", Target: "fabrikam", InviteRedirectURL: "https://myapps.microsoft.com",
				Deprovision: galsync.Deprovision{Action: galsync.DeprovisionDisable}},
			{Name: dirPaused, Source: "contoso", Target: "gcchigh", InviteRedirectURL: "https://myapps.microsoft.us",
				Deprovision: galsync.Deprovision{Action: galsync.DeprovisionDelete, Threshold: galsync.Threshold{Count: 25}}},
		},
	}
	catalog, err := pipeline.NewCatalog(topo)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for dir, at := range map[string]time.Time{dirOK: now.Add(-2 * time.Minute), dirPaused: now.Add(-47 * time.Minute)} {
		_, err := db.PutCursor(ctx, galsync.Cursor{Direction: dir, Link: "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=DELTA-TOKEN",
			NextSeq: 900, DeltaObtainedAt: at, RoundStartedAt: at, UpdatedAt: at})
		must(err)
	}
	held := make([]galsync.WorkItem, 40)
	for i := range held {
		held[i] = galsync.WorkItem{Direction: dirPaused, SourceUserID: fmt.Sprintf("u-%03d", i), Seq: int64(800 + i),
			Kind: galsync.WorkDeprovision, Reason: "deleted in source"}
	}
	_, err = db.PutDirectionState(ctx, galsync.DirectionState{Direction: dirPaused, Paused: true, PausedAt: now.Add(-47 * time.Minute),
		PauseReason: "40 deprovisions in one round exceed the accidental-deletion threshold (count 25, percent 0 of 812 live guests); approve to release them",
		HeldCount:   len(held), UpdatedAt: now.Add(-47 * time.Minute)})
	must(err)
	must(db.SaveHeld(ctx, galsync.HeldPage{Direction: dirPaused, FirstSeq: held[0].Seq, Items: held}))
	_, err = db.PutSubscription(ctx, galsync.Subscription{Tenant: "contoso", TenantID: topo.Tenants[0].TenantID,
		ID: "5f0b3c1e-6f5a-4f43-9c1d-8f2a7e3b9d10", Resource: "users", ChangeType: "updated,deleted",
		NotificationURL: "https://galsync.example/api/notify?code=FUNCTION-KEY", ClientState: "CLIENT-STATE-SECRET",
		ExpiresAt: now.Add(20 * 24 * time.Hour), CreatedAt: now.Add(-9 * 24 * time.Hour), RenewedAt: now.Add(-time.Hour)})
	must(err)
	must(db.AppendLog(ctx, activity()...))

	// Queued work: a pull and some invites and updates waiting; two
	// invitations of the paused direction dead-lettered.
	pull, err := (&pipeline.Coalescer{TickWindow: 30 * time.Second}).TickMessage(dirOK, now)
	must(err)
	must(db.Send(ctx, galsync.QueuePulls, pull))
	send := func(queueName, dir string, n int, seq int64) {
		for i := range n {
			m, err := pipeline.WorkMessage(galsync.WorkItem{Direction: dir, SourceUserID: fmt.Sprintf("q-%s-%d", queueName, i),
				Seq: seq + int64(i), Kind: galsync.WorkUpsert, Source: galsync.Snapshot{"mail": fmt.Sprintf("user%d@contoso.com", i)}})
			must(err)
			must(db.Send(ctx, queueName, m))
		}
	}
	send(galsync.QueueInvites, dirPaused, 2, 100)
	ds, err := db.Receive(ctx, galsync.QueueInvites, 2, time.Second)
	must(err)
	if len(ds) != 2 {
		t.Fatalf("received %d", len(ds))
	}
	for _, d := range ds {
		must(db.DeadLetter(ctx, d, "MaxDeliveryCountExceeded", "graph: invite in tenant gcchigh: 403 Forbidden"))
	}
	send(galsync.QueueInvites, dirOK, 3, 200)
	send(galsync.QueueUpdates, dirOK, 5, 300)

	r := status.New(catalog, db, db, func() time.Time { return now })
	return r
}

// activity is a day of provisioning log entries, every 30 minutes, busier
// by day than by night.
func activity() []galsync.LogEntry {
	var out []galsync.LogEntry
	add := func(at time.Time, dir, action, outcome string, n int) {
		for i := range n {
			out = append(out, galsync.LogEntry{Time: at.Add(time.Duration(i) * time.Second), Direction: dir, Action: action,
				Outcome: outcome, SourceUserID: fmt.Sprintf("s-%d", len(out)), Reason: "from the browser test"})
		}
	}
	for i := range 48 {
		at := now.Add(-time.Duration(i)*30*time.Minute - time.Minute)
		busy := 1
		if h := at.Hour(); h >= 7 && h < 19 {
			busy = 2
		}
		for _, dir := range []string{dirOK, dirPaused} {
			add(at, dir, galsync.ActionUpdate, galsync.OutcomeSuccess, busy)
			add(at, dir, galsync.ActionSkip, galsync.OutcomeSkipped, 1)
			if i%2 == 0 {
				add(at, dir, galsync.ActionInvite, galsync.OutcomeSuccess, busy)
			}
			if i%4 == 0 {
				add(at, dir, galsync.ActionJoin, galsync.OutcomeSuccess, 1)
			}
			if i%5 == 0 {
				add(at, dir, galsync.ActionDisable, galsync.OutcomeSuccess, 1)
			}
		}
		if i%16 == 3 {
			add(at, dirPaused, galsync.ActionInvite, galsync.OutcomeFailed, 1)
		}
	}
	return out
}

// legendOf is the legend a person should read under a direction's
// chart: each series with its total, in the chart's order, failures last.
func legendOf(dir string) []string {
	totals := map[string]int{}
	for _, e := range activity() {
		if e.Direction != dir {
			continue
		}
		if e.Outcome == galsync.OutcomeFailed {
			totals[status.SeriesFailed]++
		} else {
			totals[e.Action]++
		}
	}
	var out []string
	for _, s := range []string{"invite", "join", "update", "disable", "skip", status.SeriesFailed} {
		if totals[s] > 0 {
			out = append(out, fmt.Sprintf("%s %d", s, totals[s]))
		}
	}
	return out
}

// serveStatus serves the status function as galsync local does: the
// local Functions host's HTTP front in envelope mode, posting invocations
// to the custom handler. It returns the page's URL, with a function key
// as an operator's URL would carry one.
func serveStatus(t *testing.T, r *status.Reporter) string {
	t.Helper()
	handler := httptest.NewServer(handlers.New(handlers.Deps{Status: r, Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(handler.Close)
	all, err := funchost.Load(functions.FS)
	if err != nil {
		t.Fatal(err)
	}
	var fns []funchost.Function
	for _, fn := range all {
		if fn.Name == handlers.FuncStatus {
			fns = append(fns, fn)
		}
	}
	host := &funchost.Host{Functions: fns, HandlerURL: handler.URL, Now: time.Now, Logger: slog.New(slog.DiscardHandler)}
	front := httptest.NewServer(host.HTTPHandler())
	t.Cleanup(front.Close)
	return front.URL + "/api/status?code=FUNCTION-KEY"
}

// artifactsDir is test-artifacts/ at the repository root (gitignored), or
// GALSYNC_TEST_ARTIFACTS.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("GALSYNC_TEST_ARTIFACTS")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		root := wd
		for {
			if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(root)
			if parent == root {
				t.Fatalf("no go.mod above %s", wd)
			}
			root = parent
		}
		dir = filepath.Join(root, "test-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func save(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("saved %s (%d bytes)", path, len(b))
}
