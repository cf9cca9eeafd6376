package cosmos

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/galsync/galsync/shared/identity"
	"github.com/galsync/galsync/shared/store"
)

// Options tunes Open. The zero value is production's defaults.
type Options struct {
	// Transport sends the HTTP requests (an *http.Client will do); nil
	// means azcosmos's default client.
	Transport policy.Transporter
	// Retry overrides azcore's retry policy for transient failures
	// (429, 5xx, timeouts); the zero value keeps its defaults.
	Retry policy.RetryOptions
	// LogTTL is how long provisioning log entries live (the log
	// container's default TTL, set by EnsureContainers); DefaultLogTTL
	// when 0. Deployed containers take theirs from Terraform.
	LogTTL time.Duration
	// Credential replaces the managed identity credential when the
	// configuration has no account key (another identity flow, tests).
	Credential azcore.TokenCredential
	// EnsureContainers makes Open create the database and missing
	// containers (development). Otherwise Open checks that they exist.
	EnsureContainers bool
	// PageSize is how many items a query asks for per page; 1000 when 0.
	PageSize int32
	// Now stamps log entries that carry no time; time.Now when nil.
	Now func() time.Time
}

// Store is the Cosmos DB backend of store.Store. It is safe for concurrent
// use; Close releases the client.
type Store struct {
	client     *azcosmos.Client
	database   string
	containers []Container
	now        func() time.Time
	pageSize   int32

	cursors, links, rounds, states, subscriptions, log *azcosmos.ContainerClient
}

var _ store.Store = (*Store)(nil)

// Open connects to the account in cfg and checks (or, with
// Options.EnsureContainers, creates) the database and its containers.
func Open(ctx context.Context, cfg Config, opts Options) (*Store, error) {
	client, err := newClient(cfg, opts)
	if err != nil {
		return nil, err
	}
	s := &Store{client: client, database: cfg.Database, containers: Containers(opts.LogTTL), now: opts.Now}
	if s.database == "" {
		s.database = DefaultDatabase
	}
	s.pageSize = opts.PageSize
	if s.pageSize <= 0 {
		s.pageSize = 1000
	}
	if s.now == nil {
		s.now = time.Now
	}
	for _, c := range []struct {
		name string
		cc   **azcosmos.ContainerClient
	}{
		{ContainerCursors, &s.cursors}, {ContainerLinks, &s.links}, {ContainerRounds, &s.rounds},
		{ContainerStates, &s.states}, {ContainerSubscriptions, &s.subscriptions}, {ContainerLog, &s.log},
	} {
		if *c.cc, err = client.NewContainer(s.database, c.name); err != nil {
			client.Close()
			return nil, fmt.Errorf("cosmos: container %q: %w", c.name, err)
		}
	}
	if opts.EnsureContainers {
		err = s.EnsureContainers(ctx)
	} else {
		err = s.CheckContainers(ctx)
	}
	if err != nil {
		client.Close()
		return nil, err
	}
	return s, nil
}

// newClient builds the azcosmos client: key auth when the configuration
// carries a key, else a token credential (managed identity by default).
func newClient(cfg Config, opts Options) (*azcosmos.Client, error) {
	co := &azcosmos.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: opts.Transport,
		Retry:     opts.Retry,
		Telemetry: policy.TelemetryOptions{ApplicationID: "galsync"},
	}}
	if cfg.KeyAuth() {
		if err := checkEndpoint(cfg.Endpoint, false); err != nil {
			return nil, fmt.Errorf("cosmos: endpoint: %w", err)
		}
		cred, err := azcosmos.NewKeyCredential(string(cfg.AccountKey))
		if err != nil {
			// Its message names no part of the key, but say it ourselves.
			return nil, errors.New("cosmos: account key is not base64")
		}
		client, err := azcosmos.NewClientWithKey(cfg.Endpoint, cred, co)
		if err != nil {
			return nil, fmt.Errorf("cosmos: client for %s: %w", cfg.Endpoint, err)
		}
		return client, nil
	}
	if err := checkEndpoint(cfg.Endpoint, true); err != nil {
		return nil, fmt.Errorf("cosmos: endpoint: %w", err)
	}
	cred := opts.Credential
	if cred == nil {
		mi, err := identity.ManagedIdentity(cfg.ClientID, opts.Transport)
		if err != nil {
			return nil, fmt.Errorf("cosmos: managed identity: %w", err)
		}
		cred = mi
	}
	client, err := azcosmos.NewClient(cfg.Endpoint, cred, co)
	if err != nil {
		return nil, fmt.Errorf("cosmos: client for %s: %w", cfg.Endpoint, err)
	}
	return client, nil
}

// Database is the id of the store's database.
func (s *Store) Database() string { return s.database }

// Close releases the client's connections and caches.
func (s *Store) Close() error {
	s.client.Close()
	return nil
}
