package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/galsync/galsync/handlers"
	"github.com/galsync/galsync/shared/config"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/graph"
	"github.com/galsync/galsync/shared/identity"
	"github.com/galsync/galsync/shared/pace"
	"github.com/galsync/galsync/shared/pipeline"
	"github.com/galsync/galsync/shared/progress"
	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/shared/status"
	"github.com/galsync/galsync/shared/subscription"
	"github.com/galsync/galsync/shared/telemetry"
)

// app is galsync wired from its configuration. Wiring lives here and only
// here: every other package receives what it needs.
type app struct {
	settings config.Settings
	catalog  pipeline.Catalog
	*backends
	tally  *progress.Tally
	deps   handlers.Deps
	logger *slog.Logger
	tel    *telemetry.Telemetry
	// httpClient is Graph's and sign-in's; Close drops its idle
	// connections, so a server shutting down does not wait for them.
	httpClient *http.Client
	// Operations.
	provisioner *pipeline.Provisioner
	planner     *pipeline.Planner
	approval    *pipeline.Approval
	// subscriptions keeps the Graph change-notification subscriptions.
	subscriptions *subscription.Manager
}

func buildApp(getenv func(string) string, stderr io.Writer) (*app, error) {
	return buildAppChecked(getenv, stderr, nil)
}

// buildAppChecked is buildApp with a check of the loaded settings that
// runs before anything is opened.
func buildAppChecked(getenv func(string) string, stderr io.Writer, check func(config.Settings) error) (*app, error) {
	// Settings and topology are both checked before either stops startup,
	// so one run names every configuration problem.
	settings, settingsErr := config.LoadSettings()
	if settingsErr != nil && settings.Topology == "" && settings.TopologyFile == "" {
		return nil, usageError{settingsErr}
	}
	if check != nil {
		if err := check(settings); err != nil {
			return nil, usageError{err}
		}
	}
	doc, err := config.ReadTopology(settings)
	if err != nil {
		return nil, usageError{errors.Join(settingsErr, err)}
	}
	home := galsync.Cloud(settings.HomeCloud)
	if _, err := identity.Hosts(home); err != nil {
		home = galsync.CloudPublic // settingsErr names the bad cloud
	}
	topo, err := config.ParseTopology(doc, home, identity.Validate)
	if err := errors.Join(settingsErr, err); err != nil {
		return nil, usageError{err}
	}
	logger := newLogger(settings, stderr)
	catalog, err := pipeline.NewCatalog(topo)
	if err != nil {
		return nil, usageError{err}
	}
	httpClient, err := newHTTPClient(settings.CAFile, settings.GraphTimeout)
	if err != nil {
		return nil, usageError{err}
	}
	tel, err := telemetry.New(context.Background(), getenv, telemetry.Options{ServiceName: "galsync"})
	if err != nil {
		return nil, usageError{err}
	}
	logger.Debug("telemetry: " + tel.Describe())
	// Each Graph call is a span of the trace of the work that made it.
	graphHTTP := *httpClient
	graphHTTP.Transport = tel.Transport(httpClient.Transport)
	graphClient, err := newGraph(topo, settings, home, getenv, &graphHTTP, logger, tel.Metrics())
	if err != nil {
		return nil, errors.Join(usageError{err}, tel.Shutdown(context.Background()))
	}
	b, err := openBackends(context.Background(), settings, getenv, httpClient, logger)
	if err != nil {
		return nil, errors.Join(err, tel.Shutdown(context.Background()))
	}
	// What galsync sends carries the trace of the work that sent it.
	sender := tel.Sender(b.queue)
	metrics := tel.Metrics()
	tally := progress.NewTally()
	st := progress.Store(b.store, tally)
	now := galsync.Clock(time.Now)
	deps := handlers.Deps{
		Directions: catalog,
		Puller: &pipeline.Puller{Directions: catalog, Store: st, Graph: graphClient, Queue: sender, Now: now,
			Budget: settings.PullBudget, Users: graphClient, Groups: graphClient, Tracer: tel, Metrics: metrics, Logger: logger},
		Inviter: &pipeline.Inviter{Directions: catalog, Store: st, Graph: graphClient, Source: graphClient, Now: now,
			ClaimTTL: settings.InviteClaimTTL, ReplicationWait: settings.ReplicationWait, Metrics: metrics, Logger: logger},
		Updater: &pipeline.Updater{Directions: catalog, Store: st, Graph: graphClient, Source: graphClient, Now: now,
			ClaimTTL: settings.InviteClaimTTL, ReplicationWait: settings.ReplicationWait, Managers: graphClient,
			Reports: graphClient, Queue: sender, Metrics: metrics, Logger: logger},
		Sweeper: &pipeline.Sweeper{Directions: catalog, Store: st, Graph: graphClient, Queue: sender, Managers: graphClient,
			Now: now, Budget: settings.PullBudget, Logger: logger},
		Groups: &pipeline.GroupSyncer{Directions: catalog, Store: st, Graph: graphClient, Now: now,
			ClaimTTL: settings.InviteClaimTTL, ReplicationWait: settings.ReplicationWait, Logger: logger},
		Retrier: &pipeline.Retrier{Queue: sender, Log: st, Now: now, Metrics: metrics, Logger: logger,
			Policy: pipeline.RetryPolicy{Budget: settings.RetryBudget, MinDelay: settings.RetryMinDelay, MaxDelay: settings.RetryMaxDelay}},
		Queue: sender, Now: now, Tracer: tel.Tracer(), Logger: logger,
		Pulls: &pipeline.Coalescer{Queue: sender, Now: now, Window: settings.NotifyCoalesceWindow, TickWindow: settings.PullCoalesceWindow,
			Tracer: tel},
	}
	if _, err := metrics.ObserveQueueDepth(queueDepths(b.queue)); err != nil {
		logger.Warn("telemetry: queue depths will not be reported", "err", err)
	}
	for _, d := range catalog {
		for _, w := range d.Rules.Warnings {
			logger.Warn("direction "+d.Name+": "+w, "direction", d.Name)
		}
	}
	// The subscriptions manager is set even with notifications off: it then
	// removes galsync's subscriptions.
	subs := &subscription.Manager{Graph: graphClient, Store: st, Tenants: subscription.SourceTenants(topo),
		NotificationURL: settings.NotifyURL, LifecycleURL: settings.LifecycleURL, Now: now, Logger: logger}
	deps.Subscriptions, deps.SubscriptionRecords = subs, st
	a := &app{settings: settings, catalog: catalog, backends: b, tally: tally, deps: deps, logger: logger, tel: tel, httpClient: httpClient,
		provisioner: &pipeline.Provisioner{Directions: catalog, Store: st, Source: graphClient, Graph: graphClient, Now: now,
			ClaimTTL: settings.InviteClaimTTL, ReplicationWait: settings.ReplicationWait, Managers: graphClient,
			Reports: graphClient, Queue: sender, Logger: logger},
		planner:       &pipeline.Planner{Directions: catalog, Store: b.store, Graph: graphClient},
		approval:      &pipeline.Approval{Directions: catalog, Store: b.store, Queue: sender, Now: now},
		subscriptions: subs,
	}
	a.deps.Provisioner, a.deps.Log = a.provisioner, b.store
	a.deps.Status = status.New(catalog, b.store, b.queue, now)
	return a, nil
}

// Close flushes the telemetry, closes the backends and drops the idle
// connections: a connection the transport opened but never used looks new
// to the server, which then waits up to 5 s for it when it shuts down.
func (a *app) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := errors.Join(a.tel.Shutdown(ctx), a.backends.Close())
	a.httpClient.CloseIdleConnections()
	return err
}

// queueDepths reports each work queue's depth to the queue-depth gauge:
// active (scheduled retries included) and dead-lettered or parked.
func queueDepths(q queue.Peeker) telemetry.QueueDepthFunc {
	return func(ctx context.Context, observe func(queue string, active, deadLettered int64)) error {
		parked, err := queue.Count(ctx, q, galsync.QueueParked, 100000)
		if err != nil {
			return err
		}
		for _, name := range galsync.WorkQueues() {
			active, err := queue.Count(ctx, q, name, 100000)
			if err != nil {
				return err
			}
			scheduled, err := queue.CountScheduled(ctx, q, name, 100000)
			if err != nil {
				return err
			}
			dead, err := queue.Count(ctx, q, queue.DeadLetterQueue(name), 100000)
			if err != nil {
				return err
			}
			observe(name, int64(active+scheduled), int64(dead))
		}
		observe(galsync.QueueParked, 0, int64(parked))
		return nil
	}
}

func queueOptions(s config.Settings) map[string]queue.Options {
	o := queue.DefaultOptions()
	o.LockDuration, o.MaxDeliveryCount = s.LockDuration, s.MaxDeliveryCount
	opts := map[string]queue.Options{}
	for _, q := range galsync.Queues() {
		opts[q] = o
	}
	return opts
}

func newLogger(s config.Settings, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(s.LogLevel))) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if s.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// newHTTPClient trusts the system roots plus, if given, a CA bundle (the
// tenant simulator's certificate), with timeout bounding each attempt.
func newHTTPClient(caFile string, timeout time.Duration) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("GALSYNC_CA_FILE: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("GALSYNC_CA_FILE %s: no PEM certificate in it", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: timeout}, nil
}

func newGraph(t galsync.Topology, s config.Settings, home galsync.Cloud, getenv func(string) string, hc *http.Client, logger *slog.Logger, metrics *telemetry.Metrics) (*graph.Client, error) {
	endpoints := map[string]graph.Endpoint{}
	for _, tn := range t.Tenants {
		cred, err := identity.Credential(tn, home, getenv, identity.Options{Logger: logger, Transport: hc})
		if err != nil {
			return nil, fmt.Errorf("tenant %s: %w", tn.Name, err)
		}
		hosts, err := identity.Hosts(tn.Cloud)
		if err != nil {
			return nil, fmt.Errorf("tenant %s: %w", tn.Name, err)
		}
		base := tn.GraphBaseURL
		if base == "" {
			base = hosts.Graph + "/v1.0"
		}
		endpoints[tn.Name] = graph.Endpoint{BaseURL: base, Credential: cred, Scopes: []string{hosts.Graph + "/.default"}}
	}
	pacer, err := newPacer(t, s)
	if err != nil {
		return nil, err
	}
	if _, err := metrics.ObserveBudget(budgetUse(pacer)); err != nil {
		logger.Warn("telemetry: Graph budget use will not be reported", "err", err)
	}
	return graph.New(endpoints, graph.Options{Logger: logger, HTTPClient: hc, Pacer: pacer, Throttled: metrics.Throttled})
}

// budgetUse reports each tenant's Graph budget use to the budget gauge.
func budgetUse(p *pace.Pacer) telemetry.BudgetFunc {
	return func(_ context.Context, observe func(tenant, budget string, used float64)) error {
		now := time.Now()
		for _, name := range p.Tenants() {
			for budget, used := range p.Tenant(name).Utilization(now) {
				observe(name, budget, used)
			}
		}
		return nil
	}
}

// newPacer gives every tenant its Graph budget (docs/pacing.md): the
// documented limits, scaled, shared among the instances, with a margin
// held back; nil when pacing is off.
func newPacer(t galsync.Topology, s config.Settings) (*pace.Pacer, error) {
	if !s.GraphPacing {
		return nil, nil
	}
	budgets := make(map[string]pace.Budget, len(t.Tenants))
	for _, tn := range t.Tenants {
		b := pace.Budget{Scale: s.GraphBudgetScale, Margin: s.GraphBudgetMargin, Instances: s.MaxInstances}
		if gb := tn.GraphBudget; gb != nil {
			b.Size = pace.TenantSize(gb.Size)
			if gb.Margin != nil {
				b.Margin = *gb.Margin
			}
		}
		budgets[tn.Name] = b
	}
	return pace.New(budgets, pace.Options{MaxWait: s.GraphMaxWait, MaxWaiters: s.GraphMaxWaiters})
}

// serveUntilDone serves h on the listener until ctx ends, then shuts down.
func serveUntilDone(ctx context.Context, srv *http.Server, serve func() error) error {
	errc := make(chan error, 1)
	go func() { errc <- serve() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}
