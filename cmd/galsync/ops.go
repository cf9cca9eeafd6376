package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/pipeline"
)

// The operations commands: provision, plan, log, approve. Each reads the
// same GALSYNC_* configuration as the functions, so it acts on the same
// tenants, queues and store.

// opFlags is a flag set whose -h prints the command's usage text
// (with examples) and flags.
func opFlags(name, usageText string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usageText); fs.PrintDefaults() }
	return fs
}

// parseOp parses args; -h/--help prints usage and ends the command
// successfully.
func parseOp(fs *flag.FlagSet, args []string) (help bool, err error) {
	err = fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return true, nil
	}
	if err != nil {
		return false, usageError{err}
	}
	if fs.NArg() > 0 {
		return false, usageError{fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return false, nil
}

// needDirection checks --direction against the configured ones.
func needDirection(a *app, name string) error {
	if name == "" {
		return usageError{fmt.Errorf("--direction is required; configured directions: %s", directionNames(a))}
	}
	if _, ok := a.catalog[name]; !ok {
		return usageError{fmt.Errorf("direction %q is not configured; configured directions: %s", name, directionNames(a))}
	}
	return nil
}

// appFor builds the app for a command on one direction.
func appFor(getenv func(string) string, stderr io.Writer, direction string) (*app, error) {
	a, err := buildApp(getenv, stderr)
	if err != nil {
		return nil, err
	}
	if err := needDirection(a, direction); err != nil {
		return nil, errors.Join(err, a.Close())
	}
	return a, nil
}

func directionNames(a *app) string {
	names := make([]string, 0, len(a.catalog))
	for n := range a.catalog {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// --- provision ---

const provisionUsage = `Usage: galsync provision --direction D --user <object id or UPN> [--json]

Provisions one user now, synchronously, through the same steps as a sync
(scope and mapping, join or invite, update), and prints each step, like
Entra's "provision on demand". It costs one user's worth of Graph calls and
is written to the provisioning log like any other run.

Examples:
  galsync provision --direction contoso-to-fabrikam --user ada@contoso.com
  galsync provision --direction contoso-to-fabrikam --user 1f0e...c2 --json

Exit codes: 0 provisioned or skipped (the report says why), 1 a step failed,
2 bad usage or configuration.

Flags:
`

func provisionCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := opFlags("provision", provisionUsage, stderr)
	direction := fs.String("direction", "", "the direction to provision in (required)")
	user := fs.String("user", "", "the source user's object id or user principal name (required)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if help, err := parseOp(fs, args); help || err != nil {
		return err
	}
	if *user == "" {
		return usageError{errors.New("--user is required: the source user's object id or user principal name")}
	}
	a, err := appFor(getenv, stderr, *direction)
	if err != nil {
		return err
	}
	defer a.Close()
	rep, err := a.provisioner.Provision(ctx, *direction, *user, "cli-"+time.Now().UTC().Format("20060102T150405"))
	if err != nil {
		return err
	}
	if *asJSON {
		if err := writeJSON(stdout, rep); err != nil {
			return err
		}
	} else {
		printReport(stdout, rep)
	}
	if rep.Result == galsync.OutcomeFailed {
		return errors.New("provisioning failed at the step marked FAILED; fix its cause (see the detail), then run the command again")
	}
	return nil
}

func printReport(w io.Writer, rep pipeline.Report) {
	fmt.Fprintf(w, "direction %s, source user %s", rep.Direction, orDash(rep.SourceUserID))
	if rep.TargetUserID != "" {
		fmt.Fprintf(w, " → guest %s", rep.TargetUserID)
	}
	fmt.Fprintf(w, "\n")
	for i, s := range rep.Steps {
		fmt.Fprintf(w, "  %d. %-18s %-8s %s", i+1, s.Name, strings.ToUpper(s.Outcome), s.Detail)
		if len(s.Attributes) > 0 {
			fmt.Fprintf(w, " [%s]", strings.Join(s.Attributes, ", "))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "result: %s in %s\n", rep.Result, rep.Duration)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// --- plan ---

const planUsage = `Usage: galsync plan --direction D [--samples N] [--json]

Previews what a full sync of the direction would do now, without writing
anything: it reads the whole source tenant and the links, and decides each
user as a sync would. It prints counts of invite / join / convert (a target
member made external in place) / conflict / update / re-enable / disable /
delete / skip (by reason) / unchanged, with sample users; the manager
references to set or remove; and, per mirrored group, the target group and
the members to add and remove.

Examples:
  galsync plan --direction contoso-to-fabrikam
  galsync plan --direction contoso-to-fabrikam --json | jq '.counts'

Exit codes: 0 done, 1 failed (Graph or store unreachable), 2 bad usage or configuration.

Flags:
`

func planCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := opFlags("plan", planUsage, stderr)
	direction := fs.String("direction", "", "the direction to preview (required)")
	samples := fs.Int("samples", 3, "sample users shown per action")
	asJSON := fs.Bool("json", false, "print the whole plan, every user, as JSON")
	if help, err := parseOp(fs, args); help || err != nil {
		return err
	}
	a, err := appFor(getenv, stderr, *direction)
	if err != nil {
		return err
	}
	defer a.Close()
	plan, err := a.planner.Plan(ctx, *direction)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, plan)
	}
	fmt.Fprintf(stdout, "plan for %s: %d source users, %d live guests\n", plan.Direction, plan.Users, plan.Guests)
	tw := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', 0)
	actions := make([]string, 0, len(plan.Counts))
	for k := range plan.Counts {
		actions = append(actions, k)
	}
	sort.Strings(actions)
	sampled := plan.Samples(*samples)
	for _, act := range actions {
		ids := []string{}
		for _, s := range sampled[act] {
			id := s.SourceUserID
			if len(s.Attributes) > 0 {
				id += " (" + strings.Join(s.Attributes, ",") + ")"
			}
			ids = append(ids, id)
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\n", act, plan.Counts[act], strings.Join(ids, "  "))
	}
	_ = tw.Flush()
	if len(plan.Reasons) > 0 {
		fmt.Fprintln(stdout, "by reason:")
		reasons := make([]string, 0, len(plan.Reasons))
		for r := range plan.Reasons {
			reasons = append(reasons, r)
		}
		sort.Strings(reasons)
		for _, r := range reasons {
			fmt.Fprintf(stdout, "  %6d  %s\n", plan.Reasons[r], r)
		}
	}
	if len(plan.Drift) > 0 {
		fmt.Fprintln(stdout, "drift (guests that differ from their desired state, by attribute):")
		attrs := make([]string, 0, len(plan.Drift))
		for a := range plan.Drift {
			attrs = append(attrs, a)
		}
		sort.Strings(attrs)
		for _, a := range attrs {
			fmt.Fprintf(stdout, "  %6d  %s\n", plan.Drift[a], a)
		}
	}
	if len(plan.Managers) > 0 {
		fmt.Fprintf(stdout, "manager references: %d to set, %d to remove, %d unchanged, %d waiting for the manager's guest\n",
			plan.Managers[pipeline.ManagerSet], plan.Managers[pipeline.ManagerRemove], plan.Managers[pipeline.ManagerUnchanged],
			plan.Managers[pipeline.ManagerPending])
	}
	for _, g := range plan.Groups {
		switch {
		case g.Refused != "":
			fmt.Fprintf(stdout, "group %s: not kept: %s\n", g.SourceGroupID, g.Refused)
		case g.SourceDeleted:
			fmt.Fprintf(stdout, "group %s: deleted in the source; target group %q left in place\n", g.SourceGroupID, g.TargetName)
		default:
			made := ""
			if g.Create {
				made = " (would be made)"
			}
			fmt.Fprintf(stdout, "group %q → %q%s: %d source members, %d guests to hold (+%d after their invitation): %d to add, %d to remove",
				g.SourceName, g.TargetName, made, g.SourceMembers, g.Desired, g.Pending, g.Add, g.Remove)
			if g.NestedGroups > 0 {
				fmt.Fprintf(stdout, "; %d nested group(s) not flattened", g.NestedGroups)
			}
			fmt.Fprintln(stdout)
		}
	}
	if plan.WouldPause {
		fmt.Fprintln(stdout, "NOTE: the deprovisions exceed the direction's accidental-deletion threshold: a sync would pause the direction and hold them for `galsync approve`.")
	}
	return nil
}

// --- log ---

const logUsage = `Usage: galsync log [--direction D] [--user <id or UPN>] [--action A] [--since T] [--limit N] [--json]

Reads the provisioning log: every action galsync took or skipped on a user,
with its reason, the source and target ids, the attributes it changed (names,
not values) and the outcome. It answers "what happened to user U".

--since takes an age back from now (90m, 24h, 7d, 1d12h) or an RFC 3339
time (2026-11-26T09:00:00Z), as galsync dlq --older-than does.
--user takes an object id, or a user principal name (resolved through Graph
in the direction's source tenant; needs --direction).

Examples:
  galsync log --direction contoso-to-fabrikam --user ada@contoso.com
  galsync log --direction contoso-to-fabrikam --action skip --since 24h
  galsync log --user 1f0e...c2 --json

Exit codes: 0 done, 1 failed, 2 bad usage or configuration.

Flags:
`

func logCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := opFlags("log", logUsage, stderr)
	direction := fs.String("direction", "", "only this direction")
	user := fs.String("user", "", "only this source user (object id or UPN)")
	action := fs.String("action", "", "only this action: invite, join, convert, update, reenable, manager, group, disable, delete, skip, conflict, refused, park, sweep, pause, resync, approve, discard")
	since := fs.String("since", "", "only entries after this (an age back from now such as 24h or 7d, or an RFC 3339 time)")
	limit := fs.Int("limit", 200, "at most this many entries, oldest first (0: all)")
	asJSON := fs.Bool("json", false, "print JSON")
	if help, err := parseOp(fs, args); help || err != nil {
		return err
	}
	from, err := galsync.ParseSince(*since, time.Now())
	if err != nil {
		return usageError{fmt.Errorf("--since %w", err)}
	}
	a, err := buildApp(getenv, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	if *direction != "" {
		if err := needDirection(a, *direction); err != nil {
			return err
		}
	}
	id := *user
	if strings.Contains(id, "@") {
		if *direction == "" {
			return usageError{errors.New("--user with a user principal name needs --direction (to know which tenant to look it up in)")}
		}
		d := a.catalog[*direction]
		u, err := a.provisioner.Source.GetUser(ctx, d.Source.Name, id, []string{"id"})
		if err != nil {
			return fmt.Errorf("look up %s in tenant %s: %w", "the user", d.Source.Name, err)
		}
		id = u.ID
	}
	entries, err := a.store.QueryLog(ctx, galsync.LogQuery{Direction: *direction, SourceUserID: id, Action: *action, Since: from, Limit: *limit})
	if err != nil {
		return err
	}
	if *asJSON {
		if entries == nil {
			entries = []galsync.LogEntry{}
		}
		return writeJSON(stdout, entries)
	}
	if len(entries) == 0 {
		fmt.Fprintln(stdout, "no entries match")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tDIRECTION\tSOURCE USER\tACTION\tOUTCOME\tTARGET USER\tATTRIBUTES\tREASON")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.UTC().Format(time.RFC3339), e.Direction, orDash(e.SourceUserID),
			e.Action, e.Outcome, orDash(e.TargetUserID), orDash(strings.Join(e.Attributes, ",")), e.Reason)
	}
	return tw.Flush()
}

// --- approve ---

const approveUsage = `Usage: galsync approve --direction D [--discard] [--yes] [--json]

A direction whose deprovisions in one round exceeded its accidental-deletion
threshold is paused: it holds that batch and pulls nothing more. approve shows
the held batch and releases exactly it to the update worker, then resumes the
direction. With --discard the batch is dropped instead (the guests stay as they
are) and the direction resumes. Without --yes it only shows what it holds.

Examples:
  galsync approve --direction contoso-to-fabrikam             # review
  galsync approve --direction contoso-to-fabrikam --yes       # release
  galsync approve --direction contoso-to-fabrikam --discard --yes

Exit codes: 0 done (or shown), 1 failed or not paused, 2 bad usage or configuration.

Flags:
`

// heldShown is how many held deprovisions the review prints.
const heldShown = 10

// writeHeld prints a paused direction and the first held deprovisions; the
// held items are read in a stream, so a pause of any size is shown in
// bounded memory.
func writeHeld(ctx context.Context, w io.Writer, ap *pipeline.Approval, st galsync.DirectionState) error {
	var first []galsync.WorkItem
	total := 0
	err := ap.ListHeld(ctx, st, func(it galsync.WorkItem) error {
		if len(first) < heldShown {
			first = append(first, it)
		}
		total++
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s is PAUSED since %s: %s\n", st.Direction, st.PausedAt.UTC().Format(time.RFC3339), st.PauseReason)
	fmt.Fprintf(w, "held: %d deprovision(s)\n", total)
	for _, it := range first {
		fmt.Fprintf(w, "  %s  %s\n", it.SourceUserID, it.Reason)
	}
	if total > len(first) {
		fmt.Fprintf(w, "  … and %d more (--json lists all)\n", total-len(first))
	}
	fmt.Fprintln(w, "run again with --yes to release them, or --discard --yes to drop them")
	return nil
}

// writeHeldJSON prints the direction state as JSON with every held
// deprovision under "held", written as they are read.
func writeHeldJSON(ctx context.Context, w io.Writer, ap *pipeline.Approval, st galsync.DirectionState) error {
	head := st
	head.LegacyHeld = nil
	data, err := json.MarshalIndent(head, "", "  ")
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.Write(bytes.TrimSuffix(data, []byte("\n}")))
	bw.WriteString(",\n  \"held\": [")
	sep := "\n    "
	err = ap.ListHeld(ctx, st, func(it galsync.WorkItem) error {
		item, err := json.Marshal(it)
		if err != nil {
			return err
		}
		bw.WriteString(sep)
		bw.Write(item)
		sep = ",\n    "
		return nil
	})
	if err != nil {
		return err
	}
	bw.WriteString("\n  ]\n}\n")
	return bw.Flush()
}

func approveCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := opFlags("approve", approveUsage, stderr)
	direction := fs.String("direction", "", "the paused direction (required)")
	discard := fs.Bool("discard", false, "drop the held deprovisions instead of releasing them")
	yes := fs.Bool("yes", false, "do it (without it, only show the held batch)")
	asJSON := fs.Bool("json", false, "print JSON")
	if help, err := parseOp(fs, args); help || err != nil {
		return err
	}
	a, err := appFor(getenv, stderr, *direction)
	if err != nil {
		return err
	}
	defer a.Close()
	st, err := a.approval.Held(ctx, *direction)
	if errors.Is(err, pipeline.ErrNotPaused) {
		return fmt.Errorf("%s: %w", *direction, err)
	}
	if err != nil {
		return err
	}
	if !*yes {
		if *asJSON {
			return writeHeldJSON(ctx, stdout, a.approval, st)
		}
		return writeHeld(ctx, stdout, a.approval, st)
	}
	who := getenv("USER")
	n, err := a.approval.Approve(ctx, *direction, who, *discard)
	if err != nil {
		return err
	}
	if err := requestPulls(ctx, a, "approve"); err != nil {
		fmt.Fprintf(stderr, "galsync: the direction resumed, but a pull could not be requested (%v); the next timer tick pulls it\n", err)
	}
	verb := "released"
	if *discard {
		verb = "discarded"
	}
	if *asJSON {
		return writeJSON(stdout, map[string]any{"direction": *direction, verb: n, "resumed": true})
	}
	fmt.Fprintf(stdout, "%s %d held deprovision(s) of %s; the direction resumed\n", verb, n, *direction)
	return nil
}

// --- status ---

const statusUsage = `Usage: galsync status [--json]

Reports how each direction is doing, as the status function does: cursor age
and last pull, paused state and held deprovisions, queue depths with what is
dead-lettered or parked, the change-notification subscription, what needs an
operator (attributes Graph refuses, conflicts with target members) and the
actions of the last 24 hours. It reads; it changes nothing.

Examples:
  galsync status
  galsync status --json | jq '.directions[] | {name, state, warnings}'

Exit codes: 0 every direction ok, 1 a direction needs attention (or the
report could not be read in full), 2 bad usage or configuration.

Flags:
`

func statusCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := opFlags("status", statusUsage, stderr)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if help, err := parseOp(fs, args); help || err != nil {
		return err
	}
	a, err := buildApp(getenv, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	rep := a.deps.Status.Report(ctx)
	if *asJSON {
		if err := writeJSON(stdout, rep); err != nil {
			return err
		}
	} else {
		for _, d := range rep.Directions {
			fmt.Fprintf(stdout, "%s (%s → %s): %s\n", d.Name, d.Source.Tenant, d.Target.Tenant, strings.ToUpper(d.State))
			for _, w := range d.Warnings {
				fmt.Fprintf(stdout, "  warning: %s\n", w)
			}
			for _, e := range d.Errors {
				fmt.Fprintf(stdout, "  error: %s\n", e)
			}
			for _, q := range d.Queues {
				fmt.Fprintf(stdout, "  %-8s active %s, dead-lettered %s, parked %s\n", q.Queue, q.Active, q.DeadLettered, q.Parked)
			}
		}
	}
	if !rep.Healthy {
		return errors.New("status: a direction needs attention (see above)")
	}
	return nil
}
