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
	"github.com/galsync/galsync/shared/funchost"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/pipeline"
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
	functionsDir := flags.String("functions", "", "read function.json files from this folder instead of the built-in ones")
	noTimers := flags.Bool("no-timers", false, "do not fire timer triggers")
	noStartPull := flags.Bool("no-start-pull", false, "do not pull every direction at start")
	every := flags.Duration("progress", 5*time.Second, "how often to print progress (0: never)")
	if err := flags.Parse(args); err != nil {
		return usageError{err}
	}
	a, err := buildApp(getenv, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	var fsys fs.FS = functions.FS
	if *functionsDir != "" {
		fsys = os.DirFS(*functionsDir)
	}
	fns, err := funchost.Load(fsys)
	if err != nil {
		return usageError{err}
	}
	fns, err = funchost.ResolveSettings(fns, getenv, map[string]string{"GALSYNC_DELTA_SCHEDULE": a.settings.DeltaSchedule})
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
		Functions: fns, HandlerURL: "http://" + ln.Addr().String(), Receiver: a.db,
		QueueOptions: queueOptions(a.settings), Concurrency: a.settings.QueueConcurrency,
		Logger: a.logger, Now: time.Now, DisableTimers: *noTimers,
	}
	if !*noStartPull {
		if err := requestPulls(ctx, a, "startup"); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "galsync local: %d function(s), %d direction(s), data in %s\n", len(fns), len(a.catalog), a.settings.DataDir)
	if *every > 0 {
		go reportProgress(ctx, a, stdout, *every)
	}
	err = host.Run(ctx)
	fmt.Fprintf(stdout, "galsync local: stopped. %s\n", a.tally.Summary())
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func requestPulls(ctx context.Context, a *app, trigger string) error {
	for name := range a.catalog {
		m, err := pipeline.PullMessage(name, trigger, time.Now(), a.settings.PullCoalesceWindow)
		if err != nil {
			return err
		}
		if err := a.db.Send(ctx, galsync.QueuePulls, m); err != nil {
			return fmt.Errorf("request a pull of %s: %w", name, err)
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
		for _, q := range []string{galsync.QueuePulls, galsync.QueueInvites, galsync.QueueUpdates} {
			active, dead, err := a.db.Depth(ctx, q)
			if err != nil {
				continue
			}
			line += fmt.Sprintf(" %s %d (dead-lettered %d)", q, active, dead)
		}
		if line != last {
			fmt.Fprintf(w, "%s %s\n", time.Now().Format("15:04:05"), line)
			last = line
		}
	}
}
