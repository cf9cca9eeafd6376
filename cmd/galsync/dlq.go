package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/galsync/galsync/shared/config"
	"github.com/galsync/galsync/shared/deadletter"
	"github.com/galsync/galsync/shared/galsync"
)

const dlqUsage = `Usage: galsync dlq <list|show|replay|purge> [flags]

Reads and repairs the work galsync set aside:
  - parked: work galsync completed and kept for an operator because it failed
    for good (Graph's code and message say why, e.g. 400 Request_BadRequest)
    or kept failing for GALSYNC_RETRY_BUDGET (24h by default). Transient
    failures (429, 5xx, a guest not yet replicated) are retried on their own,
    later, and are not here until that budget is spent;
  - dead-lettered by the queue: work that failed on every delivery (reason
    MaxDeliveryCountExceeded; the last error says why) or that could not be
    read at all.
Fix the cause, then replay. A replay is safe to repeat and safe while galsync
runs: the workers compare each guest with what it should be and write only
the difference, with the mapping in force when they run, so nothing is
duplicated and a replay after a mapping fix converges.

Commands:
  list     one line per dead letter
  show     every detail of each dead letter; message bodies only with --body
  replay   send each letter back to the queue it came from, then remove it
  purge    remove dead letters for good (asks for --yes, or --dry-run)

Filters (every command; together they narrow):
  --queue Q         pulls, invites, updates, parked or all (default all); a
                    work queue selects its dead letters and what was parked
                    from it
  --direction D     this direction only (its name in the topology)
  --reason TEXT     the reason, description or last error contains TEXT (any case)
  --older-than AGE  enqueued at least AGE ago (90s, 15m, 2h, 7d, 1d12h), or
                    at or before an RFC 3339 time (2026-11-26T09:00:00Z)
  --newer-than AGE  enqueued less than AGE ago, or after an RFC 3339 time
  --id ID           this message id, or a replayed copy of it (ID/replay-N);
                    show also takes the id as its argument
  --limit N         at most N dead letters (default 0: all)

Output:
  --json            JSON on stdout, for scripts
  --body            (show) print message bodies too. Bodies hold the users'
                    invite addresses, personal data, so they are hidden by default
  --no-progress     no progress bar (it is drawn on stderr when that is a terminal)

Replay and purge:
  --dry-run         report what would be done; change nothing
  --max-replays N   (replay) refuse a message already replayed N times (default 5)
  --force           (replay) replay it anyway
  --yes             (purge) confirm: purged messages cannot be brought back

A replayed copy keeps the body, subject, correlation id and properties, has
galsync-replay-count one higher, and the message id <original id>/replay-<n>:
Service Bus duplicate detection would drop a copy under the original id.

Examples:
  galsync dlq list
  galsync dlq list --queue invites --reason serviceNotAvailable --older-than 1h
  galsync dlq show 'contoso-to-fabrikam:3f2a...:42:upsert'
  galsync dlq replay --queue invites --dry-run
  galsync dlq replay --direction contoso-to-fabrikam --reason 503
  galsync dlq replay --id 'contoso-to-fabrikam:3f2a...:42:upsert' --force
  galsync dlq purge --reason 'work item:' --yes
  galsync dlq list --json | jq -r '.[].messageId'

The queue backend is the one the GALSYNC_* settings choose, as for galsync
local. The embedded backend's file is open in one process at a time: stop
galsync local on that data directory first.

Exit codes:
  0  done, also when nothing matched
  1  failed; or (not with --dry-run) some dead letters were refused, having
     been replayed --max-replays times already, or could not be received
     because another operator holds them. The output says which, and what
     to do
  2  bad usage or configuration
`

// dlqFlags are the parsed flags of one dlq command.
type dlqFlags struct {
	cmd                            string
	queue, direction, reason, id   string
	olderThan, newerThan           dlqAgeFlag
	limit, maxReplays              int
	force, dryRun, json, yes, body bool
	noProgress                     bool
}

// dlqCommand runs `galsync dlq <list|show|replay|purge>`.
func dlqCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, dlqUsage)
		return usageError{errors.New("dlq: name a command: list, show, replay or purge")}
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, dlqUsage)
		return nil
	}
	f, err := parseDlqFlags(args[0], args[1:])
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, dlqUsage)
		return nil
	}
	if err != nil {
		return usageError{fmt.Errorf("%w (galsync dlq --help lists the flags)", err)}
	}
	a, err := buildApp(getenv, stderr)
	if err != nil {
		return dlqEmbeddedHint(err, getenv)
	}
	defer a.Close()
	bar := newDlqProgressBar(stderr, !f.noProgress)
	o := f.options(bar.update)
	switch f.cmd {
	case "list", "show":
		letters, err := deadletter.List(ctx, a.queue, o)
		bar.finish()
		if err != nil {
			return fmt.Errorf("dlq %s: %w", f.cmd, err)
		}
		if err := deadletter.Explain(ctx, a.store, letters); err != nil {
			fmt.Fprintf(stderr, "galsync: could not read the provisioning log for the failures' causes: %v\n", err)
		}
		return f.printLetters(stdout, letters)
	case "replay":
		r, err := deadletter.Replay(ctx, a.queue, deadletter.ReplayOptions{Options: o, MaxReplays: f.maxReplays, Force: f.force, DryRun: f.dryRun})
		bar.finish()
		return f.finishReport(stdout, r, err)
	default: // purge
		r, err := deadletter.Purge(ctx, a.queue, deadletter.PurgeOptions{Options: o, DryRun: f.dryRun})
		bar.finish()
		return f.finishReport(stdout, r, err)
	}
}

// parseDlqFlags parses one command's flags. Show takes the message id as an
// argument too; flags may come after it.
func parseDlqFlags(cmd string, args []string) (dlqFlags, error) {
	f := dlqFlags{cmd: cmd}
	fs := flag.NewFlagSet("dlq "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.queue, "queue", "all", "")
	fs.StringVar(&f.direction, "direction", "", "")
	fs.StringVar(&f.reason, "reason", "", "")
	fs.StringVar(&f.id, "id", "", "")
	fs.Var(&f.olderThan, "older-than", "")
	fs.Var(&f.newerThan, "newer-than", "")
	fs.IntVar(&f.limit, "limit", 0, "")
	fs.BoolVar(&f.json, "json", false, "")
	fs.BoolVar(&f.noProgress, "no-progress", false, "")
	switch cmd {
	case "list":
	case "show":
		fs.BoolVar(&f.body, "body", false, "")
	case "replay":
		fs.IntVar(&f.maxReplays, "max-replays", deadletter.DefaultMaxReplays, "")
		fs.BoolVar(&f.force, "force", false, "")
		fs.BoolVar(&f.dryRun, "dry-run", false, "")
	case "purge":
		fs.BoolVar(&f.dryRun, "dry-run", false, "")
		fs.BoolVar(&f.yes, "yes", false, "")
	default:
		return f, fmt.Errorf("dlq: unknown command %q: want list, show, replay or purge", cmd)
	}
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return f, err
			}
			return f, fmt.Errorf("dlq %s: %w", cmd, err)
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	return f, f.check(positional)
}

// check validates the flags together.
func (f *dlqFlags) check(positional []string) error {
	var errs []error
	switch {
	case f.cmd == "show" && len(positional) == 1 && f.id == "":
		f.id = positional[0]
	case len(positional) > 0:
		errs = append(errs, fmt.Errorf("dlq %s: unexpected argument %q", f.cmd, positional[0]))
	}
	if f.queue != "all" && !slices.Contains(galsync.Queues(), f.queue) {
		errs = append(errs, fmt.Errorf("dlq %s: --queue %q: want pulls, invites, updates, parked or all", f.cmd, f.queue))
	}
	if f.limit < 0 {
		errs = append(errs, fmt.Errorf("dlq %s: --limit must not be negative", f.cmd))
	}
	if f.cmd == "replay" && f.maxReplays < 1 {
		errs = append(errs, fmt.Errorf("dlq replay: --max-replays must be at least 1 (use --force to replay regardless)"))
	}
	if f.cmd == "purge" && !f.yes && !f.dryRun {
		errs = append(errs, errors.New("dlq purge removes dead letters for good: add --yes to go ahead, or --dry-run to see what it would remove"))
	}
	if f.olderThan.d > 0 && f.newerThan.d > 0 && f.olderThan.d >= f.newerThan.d {
		errs = append(errs, fmt.Errorf("dlq %s: --older-than %s and --newer-than %s select nothing; the older-than age must be the smaller", f.cmd, f.olderThan.d, f.newerThan.d))
	}
	return errors.Join(errs...)
}

func (f dlqFlags) options(progress func(deadletter.Progress)) deadletter.Options {
	queues, origin := galsync.Queues(), ""
	switch {
	case f.queue == galsync.QueueParked:
		queues = []string{f.queue}
	case f.queue != "all":
		// A work queue's letters: its dead letters, and what galsync
		// parked from it.
		queues, origin = []string{f.queue, galsync.QueueParked}, f.queue
	}
	return deadletter.Options{
		Filter: deadletter.Filter{Queues: queues, Origin: origin, Direction: f.direction, Reason: f.reason,
			OlderThan: f.olderThan.d, NewerThan: f.newerThan.d, MessageID: f.id},
		Limit: f.limit, Now: time.Now, Progress: progress,
	}
}

// dlqEmbeddedHint adds what to do when the embedded file cannot be opened:
// most often, galsync local holds it.
func dlqEmbeddedHint(err error, getenv func(string) string) error {
	var u usageError
	if errors.As(err, &u) {
		return err
	}
	if b := getenv("GALSYNC_QUEUE_BACKEND"); b != "" && b != config.QueueEmbedded {
		return err
	}
	return fmt.Errorf("%w\nIf galsync local is running on this data directory, stop it and run the command again: the embedded file is open in one process at a time", err)
}

// dlqAgeFlag is an age: how long ago a letter was enqueued at least (or
// at most). It takes what every galsync command takes for a point back in
// time (galsync.ParseSince): an age (90s, 2h, 7d, 1d12h) or an RFC 3339
// time, which stands for its age now.
type dlqAgeFlag struct{ d time.Duration }

func (a *dlqAgeFlag) String() string { return a.d.String() }

func (a *dlqAgeFlag) Set(s string) error {
	d, err := galsync.AgeSince(s, time.Now())
	if err != nil {
		return fmt.Errorf("age %w", err)
	}
	a.d = d
	return nil
}

// printLetters prints list's table or show's details.
func (f dlqFlags) printLetters(w io.Writer, letters []deadletter.Letter) error {
	if f.json {
		out := make([]dlqLetterJSON, len(letters))
		for i, l := range letters {
			out[i] = dlqLetterJSON{Letter: l}
			if f.body {
				out[i].Body = string(l.Body)
			}
		}
		return writeJSON(w, out)
	}
	if len(letters) == 0 {
		_, err := fmt.Fprintln(w, "No dead letter matches.")
		return err
	}
	if f.cmd == "show" {
		return printLetterDetails(w, letters, f.body)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "QUEUE\tSEQ\tAGE\tREPLAYS\tDIRECTION\tMESSAGE ID\tREASON")
	now := time.Now()
	for _, l := range letters {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t%s\t%s\n", l.Queue, l.SequenceNumber, dlqAge(now, l.EnqueuedAt), l.ReplayCount,
			orDash(l.Direction), l.MessageID, dlqShorten(dlqReasonText(l), 100))
	}
	fmt.Fprintf(tw, "\n%d dead letter(s). Details: galsync dlq show <message id>\n", len(letters))
	return tw.Flush()
}

// dlqLetterJSON is a letter with its body, when asked for.
type dlqLetterJSON struct {
	deadletter.Letter
	Body string `json:"body,omitempty"`
}

func printLetterDetails(w io.Writer, letters []deadletter.Letter, body bool) error {
	now := time.Now()
	for i, l := range letters {
		if i > 0 {
			fmt.Fprintln(w)
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, row := range [][2]string{
			{"message id", l.MessageID}, {"queue", l.Queue}, {"sequence number", strconv.FormatInt(l.SequenceNumber, 10)},
			{"direction", orDash(l.Direction)}, {"source user", orDash(l.SourceUser)},
			{"reason", orDash(l.Reason)}, {"description", orDash(l.Description)}, {"last error", orDash(l.LastError)},
			{"replays", strconv.Itoa(l.ReplayCount)}, {"deliveries", strconv.Itoa(l.DeliveryCount)},
			{"enqueued", fmt.Sprintf("%s (%s ago)", l.EnqueuedAt.UTC().Format(time.RFC3339), dlqAge(now, l.EnqueuedAt))},
			{"subject", orDash(l.Subject)}, {"content type", orDash(l.ContentType)}, {"correlation id", orDash(l.CorrelationID)},
		} {
			fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
		}
		for _, k := range slices.Sorted(maps.Keys(l.Properties)) {
			fmt.Fprintf(tw, "property %s:\t%s\n", k, l.Properties[k])
		}
		if body {
			fmt.Fprintf(tw, "body:\t%s\n", l.Body)
		} else {
			fmt.Fprintf(tw, "body:\t%d bytes, hidden: it holds invite addresses (add --body to print it)\n", len(l.Body))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// finishReport prints a replay or purge report and turns what is left
// undone into an error that says what to do.
func (f dlqFlags) finishReport(w io.Writer, r deadletter.Report, opErr error) error {
	if f.json {
		if err := writeJSON(w, dlqReportJSON{DryRun: r.DryRun, Counts: dlqOutcomeCounts(r), Items: r.Items}); err != nil {
			return err
		}
	} else if err := printDlqReport(w, f.cmd, r); err != nil {
		return err
	}
	if opErr != nil {
		return fmt.Errorf("dlq %s stopped: %w\nWhat was done stays done; run the same command again to finish: it is safe to repeat", f.cmd, opErr)
	}
	if r.DryRun {
		return nil // the report says what a real run would refuse
	}
	var errs []error
	if n := r.Count(deadletter.Refused); n > 0 {
		errs = append(errs, fmt.Errorf("%d dead letter(s) refused: each was replayed %d time(s) already. Read why with galsync dlq show <message id>, fix the cause, then replay with --force (or a higher --max-replays), or remove them with galsync dlq purge", n, f.maxReplays))
	}
	if n := r.Count(deadletter.Missing); n > 0 {
		errs = append(errs, fmt.Errorf("%d dead letter(s) could not be received: another operator holds them, or they were just removed. Run the same command again in a minute", n))
	}
	return errors.Join(errs...)
}

type dlqReportJSON struct {
	DryRun bool                       `json:"dryRun"`
	Counts map[deadletter.Outcome]int `json:"counts"`
	Items  []deadletter.Item          `json:"items"`
}

func dlqOutcomeCounts(r deadletter.Report) map[deadletter.Outcome]int {
	counts := map[deadletter.Outcome]int{}
	for _, it := range r.Items {
		counts[it.Outcome]++
	}
	return counts
}

func printDlqReport(w io.Writer, cmd string, r deadletter.Report) error {
	if len(r.Items) == 0 {
		_, err := fmt.Fprintf(w, "Nothing to %s: no dead letter matches.\n", cmd)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := "QUEUE\tSEQ\tOUTCOME\tMESSAGE ID"
	if cmd == "replay" {
		header += "\tCOPY ID"
	}
	fmt.Fprintln(tw, header)
	for _, it := range r.Items {
		line := fmt.Sprintf("%s\t%d\t%s\t%s", it.Queue, it.SequenceNumber, it.Outcome, it.MessageID)
		if cmd == "replay" {
			line += "\t" + orDash(it.ReplayID)
		}
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var parts []string
	for _, o := range []deadletter.Outcome{deadletter.Replayed, deadletter.WouldReplay, deadletter.Purged, deadletter.WouldPurge,
		deadletter.Refused, deadletter.Missing, deadletter.Pending} {
		if n := r.Count(o); n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", o, n))
		}
	}
	summary := strings.Join(parts, ", ") + "."
	switch {
	case r.DryRun:
		summary = "Dry run, nothing changed: " + summary
	case r.Count(deadletter.Replayed) > 0:
		summary += " The copies are on their queues; the workers take them from there."
	}
	_, err := fmt.Fprintf(w, "\n%s\n", summary)
	return err
}

func dlqReasonText(l deadletter.Letter) string {
	if l.LastError == "" || strings.Contains(l.Reason, l.LastError) {
		return orDash(l.Reason)
	}
	return l.Reason + ": " + l.LastError
}

func dlqShorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// age is a rough duration for tables: 45s, 12m, 3h, 5d.
func dlqAge(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// dlqProgressBar draws a one-line progress bar on a terminal. On anything
// else it draws nothing.
type dlqProgressBar struct {
	mu    sync.Mutex
	w     io.Writer // nil: off
	last  time.Time
	drawn bool
}

func newDlqProgressBar(w io.Writer, enabled bool) *dlqProgressBar {
	if !enabled || !isTerminalWriter(w) {
		return &dlqProgressBar{}
	}
	return &dlqProgressBar{w: w}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminalWriter(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

const dlqBarWidth = 30

func (b *dlqProgressBar) update(p deadletter.Progress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.w == nil || (time.Since(b.last) < 100*time.Millisecond && (p.Total == 0 || p.Done < p.Total)) {
		return
	}
	b.last, b.drawn = time.Now(), true
	if p.Total == 0 {
		fmt.Fprintf(b.w, "\r\033[Kreading dead letters of %s: %d read", p.Queue, p.Done)
		return
	}
	filled := dlqBarWidth * p.Done / p.Total
	fmt.Fprintf(b.w, "\r\033[K%s [%s%s] %d/%d %s", p.Op, strings.Repeat("#", filled), strings.Repeat(".", dlqBarWidth-filled), p.Done, p.Total, p.Queue)
}

// finish clears the bar's line.
func (b *dlqProgressBar) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.drawn {
		fmt.Fprint(b.w, "\r\033[K")
		b.drawn = false
	}
}
