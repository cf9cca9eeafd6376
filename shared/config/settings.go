// Package config reads galsync's process settings (GALSYNC_* app settings,
// through envconfig) and its topology document (tenants and directions), and
// validates both, reporting every problem at once.
package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
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
	// InviteClaimTTL: how long an invite in progress holds off others.
	InviteClaimTTL time.Duration `envconfig:"INVITE_CLAIM_TTL" default:"2m"`
	// LogRetention: provisioning log entries older than this are pruned.
	LogRetention time.Duration `envconfig:"LOG_RETENTION" default:"720h"`

	// Embedded queue settings (Service Bus sets these on the namespace).
	MaxDeliveryCount int           `envconfig:"MAX_DELIVERY_COUNT" default:"10"`
	LockDuration     time.Duration `envconfig:"LOCK_DURATION" default:"30s"`
	// QueueConcurrency is how many messages of each queue the local host
	// runs at once (host.json sets it under the Functions host).
	QueueConcurrency int `envconfig:"QUEUE_CONCURRENCY" default:"8"`
	// DeltaSchedule is the delta-timer's six-field NCRONTAB; function.json
	// refers to it as %GALSYNC_DELTA_SCHEDULE%.
	DeltaSchedule string `envconfig:"DELTA_SCHEDULE" default:"0 */5 * * * *"`

	LogLevel  string `envconfig:"LOG_LEVEL" default:"info"`
	LogFormat string `envconfig:"LOG_FORMAT" default:"text"`
}

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
	if s.QueueBackend != "embedded" {
		bad("QUEUE_BACKEND", "%q is not supported by this build (supported: embedded)", s.QueueBackend)
	}
	if s.StoreBackend != "embedded" {
		bad("STORE_BACKEND", "%q is not supported by this build (supported: embedded)", s.StoreBackend)
	}
	if s.DataDir == "" {
		bad("DATA_DIR", "must not be empty")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"PULL_BUDGET", s.PullBudget}, {"PULL_COALESCE_WINDOW", s.PullCoalesceWindow}, {"INVITE_CLAIM_TTL", s.InviteClaimTTL},
		{"LOG_RETENTION", s.LogRetention}, {"LOCK_DURATION", s.LockDuration}} {
		if d.v <= 0 {
			bad(d.name, "must be a positive duration such as 30s or 5m, got %s", d.v)
		}
	}
	if s.MaxDeliveryCount < 1 {
		bad("MAX_DELIVERY_COUNT", "must be at least 1")
	}
	if s.QueueConcurrency < 1 || s.QueueConcurrency > 256 {
		bad("QUEUE_CONCURRENCY", "must be between 1 and 256")
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
