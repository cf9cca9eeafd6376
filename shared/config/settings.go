// Package config reads galsync's process settings (GALSYNC_* app settings,
// through envconfig) and its topology document (tenants and directions), and
// validates both, reporting every problem at once.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/pace"
)

// Settings are the process settings. Under the Functions host they are app
// settings; locally, environment variables. Every one is listed, with its
// default, in local.settings.sample.json and the README.
type Settings struct {
	// Topology is the tenants-and-directions JSON document itself; TopologyFile
	// is a path to it. Exactly one is needed.
	Topology     string `envconfig:"TOPOLOGY"`
	TopologyFile string `envconfig:"TOPOLOGY_FILE"`

	// HomeCloud is the cloud the app (and its managed identity) lives in.
	HomeCloud string `envconfig:"HOME_CLOUD" default:"public"`

	// QueueBackend is embedded (one local file) or servicebus (connection
	// in GALSYNC_SERVICEBUS…); StoreBackend is embedded or cosmos
	// (GALSYNC_COSMOS…). See connections.go.
	QueueBackend string `envconfig:"QUEUE_BACKEND" default:"embedded"`
	StoreBackend string `envconfig:"STORE_BACKEND" default:"embedded"`
	// DataDir holds the embedded backends' file (galsync.db).
	DataDir string `envconfig:"DATA_DIR" default:".galsync"`

	// CAFile is a PEM bundle trusted in addition to the system roots for
	// Graph and sign-in (the tenant simulator's certificate).
	CAFile string `envconfig:"CA_FILE"`

	// PullBudget bounds one delta-pull invocation; a longer round continues
	// in a follow-up pull message.
	PullBudget time.Duration `envconfig:"PULL_BUDGET" default:"4m"`
	// PullCoalesceWindow: pull requests for one direction within this window
	// share a message id, so duplicate detection folds them into one.
	PullCoalesceWindow time.Duration `envconfig:"PULL_COALESCE_WINDOW" default:"30s"`
	// InviteClaimTTL: how long a worker's claim on a user (an invitation,
	// or a write to its guest) or on a mirrored group holds off other
	// workers; past it the claim is taken over (its worker died). The
	// worker stops its Graph calls galsync.ClaimMargin (30 s, a quarter
	// of a TTL under 2m) before the claim expires, so it must leave room
	// for at least one call: a wait of up to GRAPH_MAX_WAIT for the
	// tenant's budget plus one attempt of up to GRAPH_TIMEOUT
	// (MinClaimTTL: 83 s with the defaults). The default, 5m, leaves 4.5
	// minutes: several calls, or one that kiota retries through
	// Retry-After waits (up to 180 s). A call cut off by the claim is
	// retried later; a longer TTL only delays the takeover after a crash.
	InviteClaimTTL time.Duration `envconfig:"INVITE_CLAIM_TTL" default:"5m"`
	// LogRetention: provisioning log entries older than this are pruned.
	LogRetention time.Duration `envconfig:"LOG_RETENTION" default:"720h"`

	// Embedded queue settings (Service Bus sets these on the namespace).
	MaxDeliveryCount int           `envconfig:"MAX_DELIVERY_COUNT" default:"10"`
	LockDuration     time.Duration `envconfig:"LOCK_DURATION" default:"30s"`
	// QueueConcurrency is how many messages of each queue the local host
	// runs at once (host.json sets it under the Functions host). Its
	// workers mostly wait, on Graph and on the data file's commits, which
	// the embedded store shares among the writes that arrive together: an
	// initial sync of 10,000 users (BenchmarkInitialSync) ran at 249
	// users/s with 8 (2.12 commits per user) and 297 with 16 (1.50).
	QueueConcurrency int `envconfig:"QUEUE_CONCURRENCY" default:"16"`
	// MaxInstances is the most galsync processes that may write to one
	// target tenant at the same time; Graph's budget per tenant is split
	// between them (budget per instance = tenant budget / MaxInstances).
	// infra/ derives it from the plan's maximum instance count
	// (docs/capacity.md); a single local process is 1.
	MaxInstances int `envconfig:"MAX_INSTANCES" default:"1"`
	// DeltaSchedule is the delta-timer's six-field NCRONTAB; function.json
	// refers to it as %GALSYNC_DELTA_SCHEDULE%.
	DeltaSchedule string `envconfig:"DELTA_SCHEDULE" default:"0 */5 * * * *"`

	// NotifyURL is the public URL of the graph-notify function
	// (https://<app>.azurewebsites.net/api/notify), given to Graph as the
	// subscriptions' notificationUrl. Empty turns change notifications off:
	// subscription-timer then removes galsync's subscriptions and the
	// delta-timer alone keeps the directions in sync.
	NotifyURL string `envconfig:"NOTIFY_URL"`
	// LifecycleURL is the public URL of the graph-lifecycle function, the
	// subscriptions' lifecycleNotificationUrl. Empty means no lifecycle
	// notifications (Graph cannot add one to an existing subscription).
	LifecycleURL string `envconfig:"LIFECYCLE_URL"`
	// SubscriptionSchedule is the subscription-timer's six-field NCRONTAB;
	// function.json refers to it as %GALSYNC_SUBSCRIPTION_SCHEDULE%.
	SubscriptionSchedule string `envconfig:"SUBSCRIPTION_SCHEDULE" default:"0 */30 * * * *"`
	// NotifyCoalesceWindow: pulls asked for by change notifications within
	// this window fold into one, which starts at the window's end. Short,
	// because it is latency; it also bounds how long delta-pull waits for
	// any request's window to close.
	NotifyCoalesceWindow time.Duration `envconfig:"NOTIFY_COALESCE_WINDOW" default:"1s"`

	// RetryBudget bounds how long a transient failure is retried (each
	// retry a scheduled message, RetryMinDelay to RetryMaxDelay apart with
	// exponential backoff and jitter); past it the work is parked for an
	// operator (galsync dlq).
	RetryBudget   time.Duration `envconfig:"RETRY_BUDGET" default:"24h"`
	RetryMinDelay time.Duration `envconfig:"RETRY_MIN_DELAY" default:"2s"`
	RetryMaxDelay time.Duration `envconfig:"RETRY_MAX_DELAY" default:"15m"`
	// ReplicationWait: how long after an invitation the new guest is first
	// read (Graph may not show it on every replica at once), and between
	// such reads.
	ReplicationWait time.Duration `envconfig:"REPLICATION_WAIT" default:"3s"`
	// SweepSchedule is the sweep-timer's six-field NCRONTAB: every linked
	// guest compared with its desired state (function.json:
	// %GALSYNC_SWEEP_SCHEDULE%). FullSyncSchedule is the full-sync-timer's:
	// a fresh full round of each source, which catches what incremental
	// rounds miss.
	SweepSchedule    string `envconfig:"SWEEP_SCHEDULE" default:"0 30 2 * * *"`
	FullSyncSchedule string `envconfig:"FULL_SYNC_SCHEDULE" default:"0 30 3 * * 0"`
	// GraphPacing keeps every Graph call within its tenant's documented
	// limits (docs/pacing.md); false leaves throttling to Graph's 429s and
	// the retries.
	GraphPacing bool `envconfig:"GRAPH_PACING" default:"true"`
	// GraphBudgetMargin is the share of each limit's refill rate held back
	// for what galsync cannot see (other apps on the per-tenant limits);
	// a tenant's graphBudget.margin overrides it.
	GraphBudgetMargin float64 `envconfig:"GRAPH_BUDGET_MARGIN" default:"0.05"`
	// GraphBudgetScale multiplies every documented limit and its window: 1
	// for Microsoft Graph, the tenant simulator's throttle scale for it.
	GraphBudgetScale float64 `envconfig:"GRAPH_BUDGET_SCALE" default:"1"`
	// GraphMaxWait bounds how long a worker waits for a tenant's Graph
	// budget; past it the message is put off (scheduled for when the
	// budget has room) so the worker can serve other tenants meanwhile.
	GraphMaxWait time.Duration `envconfig:"GRAPH_MAX_WAIT" default:"2s"`
	// GraphMaxWaiters bounds how many of a process's workers wait for one
	// tenant's budget at once; the next message for that tenant is put off
	// at once. More waiters than keep the budget busy add no throughput,
	// they only hold workers: without the bound, a mesh of five throttled
	// targets (BenchmarkThrottledMeshFiveTargets) used 37-51% of each
	// target's budget, every worker queued for whichever target's messages
	// came first.
	GraphMaxWaiters int `envconfig:"GRAPH_MAX_WAITERS" default:"8"`
	// GraphTimeout bounds one HTTP attempt of a Graph call, answer
	// included; the Graph client's retries and their Retry-After waits
	// come on top, within the claim's time.
	GraphTimeout time.Duration `envconfig:"GRAPH_TIMEOUT" default:"60s"`

	LogLevel  string `envconfig:"LOG_LEVEL" default:"info"`
	LogFormat string `envconfig:"LOG_FORMAT" default:"text"`
}

// maxGraphTimeout bounds GALSYNC_GRAPH_TIMEOUT: Graph's own gateway gives
// up on a request well within it.
const maxGraphTimeout = 5 * time.Minute

// MinClaimTTL is the shortest GALSYNC_INVITE_CLAIM_TTL that leaves the
// work under a claim room for one Graph call, a budget wait of up to
// maxWait and one attempt of up to timeout, before the claim's margin
// (galsync.ClaimMargin: 30 s, or a quarter of a TTL under 2m).
func MinClaimTTL(maxWait, timeout time.Duration) time.Duration {
	call := maxWait + timeout
	if least := call + 30*time.Second; least >= 2*time.Minute {
		return least
	}
	return (4*call + 2) / 3 // ttl - ttl/4 >= call, rounded up
}

// maxWriterInstances bounds GALSYNC_MAX_INSTANCES: Flex Consumption's
// highest maximum instance count (1,000 per function group) times the two
// function groups that write to Graph (docs/capacity.md).
const maxWriterInstances = 2000

// maxNotifyCoalesceWindow bounds GALSYNC_NOTIFY_COALESCE_WINDOW: Graph
// expects changes to show within seconds.
const maxNotifyCoalesceWindow = 10 * time.Second

// absoluteHTTPURL reports whether s is an absolute http or https URL.
func absoluteHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// Backends.
const (
	QueueEmbedded   = "embedded"
	QueueServiceBus = "servicebus"
	StoreEmbedded   = "embedded"
	StoreCosmos     = "cosmos"
)

// Prefix of every setting.
const Prefix = "GALSYNC"

// LoadSettings reads the settings from the process environment (envconfig
// reads it directly) and validates them.
func LoadSettings() (Settings, error) {
	var s Settings
	if err := envconfig.Process(Prefix, &s); err != nil {
		return s, fmt.Errorf("config: %w", err)
	}
	return s, s.Validate()
}

// FunctionsHostProblems names the settings that do not suit the Azure
// Functions host: its queue triggers read Service Bus, and its instances
// come and go with their disks, so work sent to a local file would never
// run and records kept in one would be lost.
func (s Settings) FunctionsHostProblems() []error {
	var errs []error
	if s.QueueBackend != QueueServiceBus {
		errs = append(errs, fmt.Errorf("%s_QUEUE_BACKEND is %q: under the Functions host the queue triggers read Azure Service Bus, so set it to %s (the embedded queue is for galsync local)", Prefix, s.QueueBackend, QueueServiceBus))
	}
	if s.StoreBackend != StoreCosmos {
		errs = append(errs, fmt.Errorf("%s_STORE_BACKEND is %q: Functions instances do not share or keep a local file, so set it to %s (the embedded store is for galsync local)", Prefix, s.StoreBackend, StoreCosmos))
	}
	return errs
}

// Validate checks the settings, one error per problem.
func (s Settings) Validate() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s_%s: %s", Prefix, name, fmt.Sprintf(format, args...)))
	}
	if s.Topology == "" && s.TopologyFile == "" {
		bad("TOPOLOGY_FILE", "set it (or GALSYNC_TOPOLOGY) to the tenants-and-directions document")
	}
	if s.Topology != "" && s.TopologyFile != "" {
		bad("TOPOLOGY", "set GALSYNC_TOPOLOGY or GALSYNC_TOPOLOGY_FILE, not both")
	}
	if !validCloud(s.HomeCloud) {
		bad("HOME_CLOUD", "%q is not one of %s", s.HomeCloud, strings.Join(cloudNames, ", "))
	}
	if s.QueueBackend != QueueEmbedded && s.QueueBackend != QueueServiceBus {
		bad("QUEUE_BACKEND", "%q is not one of %s, %s", s.QueueBackend, QueueEmbedded, QueueServiceBus)
	}
	if s.StoreBackend != StoreEmbedded && s.StoreBackend != StoreCosmos {
		bad("STORE_BACKEND", "%q is not one of %s, %s", s.StoreBackend, StoreEmbedded, StoreCosmos)
	}
	if s.DataDir == "" {
		bad("DATA_DIR", "must not be empty")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"PULL_BUDGET", s.PullBudget}, {"PULL_COALESCE_WINDOW", s.PullCoalesceWindow}, {"INVITE_CLAIM_TTL", s.InviteClaimTTL},
		{"LOG_RETENTION", s.LogRetention}, {"LOCK_DURATION", s.LockDuration}, {"NOTIFY_COALESCE_WINDOW", s.NotifyCoalesceWindow},
		{"RETRY_BUDGET", s.RetryBudget}, {"RETRY_MIN_DELAY", s.RetryMinDelay}, {"RETRY_MAX_DELAY", s.RetryMaxDelay},
		{"REPLICATION_WAIT", s.ReplicationWait}, {"GRAPH_MAX_WAIT", s.GraphMaxWait}, {"GRAPH_TIMEOUT", s.GraphTimeout}} {
		if d.v <= 0 {
			bad(d.name, "must be a positive duration such as 30s or 5m, got %s", d.v)
		}
	}
	if s.GraphTimeout > maxGraphTimeout {
		bad("GRAPH_TIMEOUT", "must be at most %s, got %s", maxGraphTimeout, s.GraphTimeout)
	}
	if least := MinClaimTTL(s.GraphMaxWait, s.GraphTimeout); s.InviteClaimTTL > 0 && s.InviteClaimTTL < least {
		bad("INVITE_CLAIM_TTL", "must be at least %s, got %s: work under a claim stops %s before it expires and needs room for "+
			"GALSYNC_GRAPH_MAX_WAIT (%s) plus one Graph attempt (GALSYNC_GRAPH_TIMEOUT, %s), or a second worker takes over a live claim",
			least, s.InviteClaimTTL, galsync.ClaimMargin(s.InviteClaimTTL), s.GraphMaxWait, s.GraphTimeout)
	}
	if s.NotifyCoalesceWindow > maxNotifyCoalesceWindow {
		bad("NOTIFY_COALESCE_WINDOW", "must be at most %s (it is added to every notification's latency), got %s", maxNotifyCoalesceWindow, s.NotifyCoalesceWindow)
	}
	for _, u := range []struct{ name, v string }{{"NOTIFY_URL", s.NotifyURL}, {"LIFECYCLE_URL", s.LifecycleURL}} {
		if u.v != "" && !absoluteHTTPURL(u.v) {
			bad(u.name, "%q is not an absolute http(s) URL (Graph requires https; http serves only a local simulator)", u.v)
		}
	}
	if s.LifecycleURL != "" && s.NotifyURL == "" {
		bad("LIFECYCLE_URL", "is set but GALSYNC_NOTIFY_URL is not: lifecycle notifications need a subscription")
	}
	for _, sch := range []struct{ name, v string }{{"SUBSCRIPTION_SCHEDULE", s.SubscriptionSchedule},
		{"SWEEP_SCHEDULE", s.SweepSchedule}, {"FULL_SYNC_SCHEDULE", s.FullSyncSchedule}, {"DELTA_SCHEDULE", s.DeltaSchedule}} {
		if strings.TrimSpace(sch.v) == "" {
			bad(sch.name, "must not be empty")
		}
	}
	if s.RetryMaxDelay < s.RetryMinDelay {
		bad("RETRY_MAX_DELAY", "must not be shorter than GALSYNC_RETRY_MIN_DELAY (%s), got %s", s.RetryMinDelay, s.RetryMaxDelay)
	}
	if s.MaxDeliveryCount < 1 {
		bad("MAX_DELIVERY_COUNT", "must be at least 1")
	}
	if s.QueueConcurrency < 1 || s.QueueConcurrency > 256 {
		bad("QUEUE_CONCURRENCY", "must be between 1 and 256")
	}
	if s.GraphMaxWaiters < 1 || s.GraphMaxWaiters > 256 {
		bad("GRAPH_MAX_WAITERS", "must be between 1 and 256, got %d", s.GraphMaxWaiters)
	}
	if s.GraphBudgetMargin < 0 || s.GraphBudgetMargin > pace.MaxMargin {
		bad("GRAPH_BUDGET_MARGIN", "must be between 0 and %v (the share of Graph's limits held back), got %v", pace.MaxMargin, s.GraphBudgetMargin)
	}
	if s.GraphBudgetScale <= 0 || s.GraphBudgetScale > 1 {
		bad("GRAPH_BUDGET_SCALE", "must be greater than 0 and at most 1 (1 is Microsoft's documented limits), got %v", s.GraphBudgetScale)
	}
	// Flex Consumption allows at most 1,000 instances per function group.
	if s.MaxInstances < 1 || s.MaxInstances > maxWriterInstances {
		bad("MAX_INSTANCES", "must be between 1 and %d", maxWriterInstances)
	}
	switch strings.ToLower(s.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		bad("LOG_LEVEL", "%q is not one of debug, info, warn, error", s.LogLevel)
	}
	if s.LogFormat != "text" && s.LogFormat != "json" {
		bad("LOG_FORMAT", "%q is not text or json", s.LogFormat)
	}
	return errors.Join(errs...)
}
