package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/galsync/galsync/functions"
	"github.com/galsync/galsync/handlers"
	"github.com/galsync/galsync/shared/deadletter"
	"github.com/galsync/galsync/shared/funchost"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/pipeline"
	"github.com/galsync/galsync/shared/queue"
)

const localUsage = `Usage: galsync local [flags]

Runs galsync on this machine with nothing from Azure: the functions' handler,
and a local host that plays the Azure Functions host (timers, queue triggers,
retries and dead-lettering) over the embedded queue and store in GALSYNC_DATA_DIR.
It pulls every direction at start, then on the delta-timer schedule.

Example:
  GALSYNC_TOPOLOGY_FILE=topology.json GALSYNC_CA_FILE=.run/cert.pem galsync local

Flags:
`

func local(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("local", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() { fmt.Fprint(stderr, localUsage); flags.PrintDefaults() }
	var o localOptions
	functionsDir := flags.String("functions", "", "read function.json files from this folder instead of the built-in ones")
	flags.BoolVar(&o.noTimers, "no-timers", false, "do not fire timer triggers")
	flags.BoolVar(&o.noStartPull, "no-start-pull", false, "do not pull every direction at start")
	flags.BoolVar(&o.sweep, "sweep", false, "sweep every direction at start: compare each linked guest with its desired state and repair what differs")
	flags.DurationVar(&o.progressEvery, "progress", 5*time.Second, "how often to print progress (0: never)")
	flags.StringVar(&o.httpAddr, "http", "127.0.0.1:7071", "address to serve the HTTP functions on (/api/<route>)")
	flags.BoolVar(&o.noSubscribe, "no-subscribe", false, "do not subscribe to Graph change notifications (the delta timer alone keeps sync)")
	flags.DurationVar(&o.stay, "stay", 0, "with --once: stay live this long after the first sync (e.g. 60s)")
	flags.BoolVar(&o.once, "once", false, "run until every queue is empty, print the summary and exit (1 if anything was dead-lettered)")
	var prof profiles
	flags.StringVar(&prof.cpu, "cpuprofile", "", "write a pprof CPU profile of the whole run to this file")
	flags.StringVar(&prof.mem, "memprofile", "", "write a pprof allocation profile to this file at exit")
	if err := flags.Parse(args); err != nil {
		return usageError{err}
	}
	if flags.NArg() > 0 {
		return usageError{fmt.Errorf("local: unexpected argument %q", flags.Arg(0))}
	}
	o.functions = functions.FS
	if *functionsDir != "" {
		o.functions = os.DirFS(*functionsDir)
	}
	a, err := buildApp(getenv, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := prof.start(); err != nil {
		return err
	}
	err = runLocal(ctx, a, o, getenv, stdout)
	if perr := prof.stop(); perr != nil {
		return errors.Join(err, perr)
	}
	return err
}

type localOptions struct {
	functions                   fs.FS
	noTimers, noStartPull, once bool
	// sweep asks for a sweep of every direction at start.
	sweep         bool
	progressEvery time.Duration
	// httpAddr is where the HTTP functions are served (/api/<route>).
	httpAddr string
	// noSubscribe: do not create Graph subscriptions to the local front.
	noSubscribe bool
	// stay keeps a once run live (notifications, timers) this long after
	// the queues first went idle.
	stay time.Duration
}

// runLocal hosts the functions of a built app until ctx ends (or, with
// once, until the queues are idle).
func runLocal(ctx context.Context, a *app, o localOptions, getenv func(string) string, stdout io.Writer) error {
	fns, err := funchost.Load(o.functions)
	if err != nil {
		return usageError{err}
	}
	fns, err = funchost.ResolveSettings(fns, getenv, a.settings.Values())
	if err != nil {
		return usageError{err}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handlers.New(a.deps), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	host := &funchost.Host{
		Functions: fns, HandlerURL: "http://" + ln.Addr().String(), Receiver: a.queue,
		QueueOptions: queueOptions(a.settings), Concurrency: a.settings.QueueConcurrency,
		Logger: a.logger, Now: time.Now, DisableTimers: o.noTimers,
	}
	// The HTTP functions (graph-notify, graph-lifecycle, provision, log,
	// status) on a local port, as the Functions host serves /api/<route>.
	addr := o.httpAddr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	frontLn, err := net.Listen("tcp", addr)
	if err != nil {
		return usageError{fmt.Errorf("local: serve the HTTP functions on %s: %w", addr, err)}
	}
	front := &http.Server{Handler: host.HTTPHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = front.Serve(frontLn) }()
	defer front.Close()
	frontURL := "http://" + frontLn.Addr().String()
	fmt.Fprintf(stdout, "galsync local: HTTP functions on %s/api/\n", frontURL)
	// Real time: unless GALSYNC_NOTIFY_URL names a public endpoint, the
	// subscriptions point at the local front. That reaches the tenant
	// simulator; Microsoft Graph needs a public https URL (a tunnel).
	if a.subscriptions != nil && !o.noSubscribe && a.settings.NotifyURL == "" {
		a.subscriptions.NotificationURL = frontURL + "/api/notify"
		a.subscriptions.LifecycleURL = frontURL + "/api/lifecycle"
	}
	if !o.noStartPull {
		if err := requestPulls(ctx, a, "startup"); err != nil {
			return err
		}
	}
	if o.sweep {
		if err := requestSweeps(ctx, a, "startup"); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "galsync local: %d function(s), %d direction(s), data in %s\n", len(fns), len(a.catalog), a.settings.DataDir)
	if o.progressEvery > 0 {
		go reportProgress(ctx, a, stdout, o.progressEvery)
	}
	runCtx, stopHost := context.WithCancel(ctx)
	defer stopHost()
	deadBefore, err := deadLettered(ctx, a)
	if err != nil {
		return err
	}
	if a.subscriptions != nil && a.subscriptions.NotificationURL != "" {
		go subscribe(runCtx, a, stdout)
	}
	if o.once {
		go func() {
			if waitIdle(runCtx, a, 100*time.Millisecond, 3) != nil {
				return
			}
			if o.stay > 0 {
				fmt.Fprintf(stdout, "galsync local: in sync. %s\ngalsync local: staying live for %s: changes in the source tenant arrive through change notifications\n",
					a.tally.Summary(), o.stay)
				select {
				case <-runCtx.Done():
					return
				case <-time.After(o.stay):
				}
				_ = waitIdle(runCtx, a, 100*time.Millisecond, 3)
			}
			stopHost()
		}()
	}
	err = host.Run(runCtx)
	fmt.Fprintf(stdout, "galsync local: stopped. %s\n", a.tally.Summary())
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	if ctx.Err() != nil || !o.once {
		return nil
	}
	deadAfter, err := deadLettered(context.Background(), a)
	if err != nil {
		return err
	}
	if deadAfter > deadBefore {
		return fmt.Errorf("%d message(s) were dead-lettered or parked in this run (%d in all); read their reasons with galsync dlq list", deadAfter-deadBefore, deadAfter)
	}
	return nil
}

// subscribe makes sure of the subscriptions once at start (the
// subscription-timer keeps them after) and pulls where changes may have
// gone unnotified.
func subscribe(ctx context.Context, a *app, stdout io.Writer) {
	outs, err := a.subscriptions.Ensure(ctx)
	if err != nil && ctx.Err() == nil {
		a.logger.Warn("change notifications: could not subscribe; the delta timer keeps the directions in sync", "err", err)
	}
	pull := false
	for _, o := range outs {
		fmt.Fprintf(stdout, "galsync local: change notifications for tenant %s: %s (expires %s)\n", o.Tenant, o.Action, o.ExpiresAt.UTC().Format(time.RFC3339))
		pull = pull || o.NeedsPull
	}
	// Changes made while no subscription reached this endpoint went
	// unnotified: pull once to pick them up.
	if pull {
		if err := requestPulls(ctx, a, "subscribed"); err != nil && ctx.Err() == nil {
			a.logger.Warn("could not request a pull after subscribing", "err", err)
		}
	}
}

// waitIdle returns once every work queue has been empty (no message
// waiting, locked, awaiting redelivery or scheduled for a retry) for quiet
// consecutive polls.
func waitIdle(ctx context.Context, a *app, every time.Duration, quiet int) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for calm := 0; calm < quiet; {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		calm++
		for _, q := range galsync.WorkQueues() {
			active, err := queue.Count(ctx, a.queue, q, 1)
			if err != nil || active > 0 {
				calm = 0
				break
			}
			scheduled, err := queue.CountScheduled(ctx, a.queue, q, 1)
			if err != nil || scheduled > 0 {
				calm = 0
				break
			}
		}
	}
	return nil
}

// deadLettered counts the messages that need an operator: dead-lettered
// by the broker, or parked by galsync.
func deadLettered(ctx context.Context, a *app) (int, error) {
	total := 0
	for _, q := range galsync.Queues() {
		dead, err := queue.Count(ctx, a.queue, deadletter.Source(q), 100000)
		if err != nil {
			return 0, fmt.Errorf("queue %s: %w", q, err)
		}
		total += dead
	}
	return total, nil
}

// requestPulls asks for a pull of every direction that folds into no
// earlier one and starts at once.
func requestPulls(ctx context.Context, a *app, trigger string) error {
	return a.deps.Pulls.RequestNow(ctx, trigger, a.catalog.Names()...)
}

func requestSweeps(ctx context.Context, a *app, trigger string) error {
	for name := range a.catalog {
		m, err := pipeline.SweepMessage(name, trigger, time.Now())
		if err != nil {
			return err
		}
		if err := a.queue.Send(ctx, galsync.QueuePulls, m); err != nil {
			return fmt.Errorf("request a sweep of %s: %w", name, err)
		}
	}
	return nil
}

// reportProgress prints the running summary and the queue depths whenever
// they change.
func reportProgress(ctx context.Context, a *app, w io.Writer, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	last := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		line := a.tally.Summary().String() + "\n  queues:"
		for _, q := range galsync.WorkQueues() {
			active, err := queue.Count(ctx, a.queue, q, 100000)
			if err != nil {
				continue
			}
			dead, err := queue.Count(ctx, a.queue, queue.DeadLetterQueue(q), 100000)
			if err != nil {
				continue
			}
			line += fmt.Sprintf(" %s %d (dead-lettered %d)", q, active, dead)
		}
		if parked, err := queue.Count(ctx, a.queue, galsync.QueueParked, 100000); err == nil {
			line += fmt.Sprintf(", parked %d", parked)
		}
		if line != last {
			fmt.Fprintf(w, "%s %s\n", time.Now().Format("15:04:05"), line)
			last = line
		}
	}
}
