// Package graph is galsync's Microsoft Graph adapter: users/delta pages from
// source tenants; finding, inviting, updating and deleting guests in target
// tenants, one by one or in JSON batches. It sends through msgraph-sdk-go's
// request adapter, so the SDK's middleware (bearer tokens, Retry-After
// honouring retries, redirects) applies to every call, with pacing within
// each tenant's Graph budget (Options.Pacer), and decodes the JSON itself:
// galsync needs arbitrary selected properties as plain values, not typed
// models.
package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	abs "github.com/microsoft/kiota-abstractions-go"
	kauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	core "github.com/microsoftgraph/msgraph-sdk-go-core"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/pace"
)

// Endpoint is how to reach one tenant's Graph.
type Endpoint struct {
	// BaseURL is the Graph service root ending in /v1.0, such as
	// https://graph.microsoft.com/v1.0, or the tenant simulator's.
	BaseURL    string
	Credential azcore.TokenCredential
	// Scopes requested for the bearer token, such as
	// https://graph.microsoft.com/.default.
	Scopes []string
}

// Options configure a Client.
type Options struct {
	// Logger receives throttling notices; nil discards them.
	Logger *slog.Logger
	// HTTPClient supplies the transport (a custom CA for the simulator) and,
	// through its Timeout, the limit on each attempt; retries wait on top.
	// Nil means http.DefaultTransport and no per-attempt limit.
	HTTPClient *http.Client
	// MaxRetries of a throttled (429) or unavailable (503, 504) call, each
	// after Graph's Retry-After. Zero, or more than the SDK's ceiling of 10,
	// means 10. A batch's requests are retried as often.
	MaxRetries int
	// Pacer, if set, keeps the calls to each tenant it has a budget for
	// within Graph's documented limits (docs/pacing.md): every request
	// waits for its tenant's tokens, and a 429 holds every worker of the
	// tenant until its Retry-After. Nil leaves throttling to Graph's 429s
	// and the retries.
	Pacer *pace.Pacer
	// Throttled, if set, is told of every 429 a tenant answers (the
	// galsync.graph.throttled metric).
	Throttled func(ctx context.Context, tenant string)
}

// Client calls Microsoft Graph in the configured tenants. It is safe for
// concurrent use.
type Client struct {
	tenants map[string]*tenantClient
}

// tenantClient is one tenant's request adapter.
type tenantClient struct {
	name    string
	base    string // the service root, ending in /v1.0
	host    string // of the base URL: the only host given the token
	adapter abs.RequestAdapter
	pacing  pacing // its tenant is nil when the tenant is not paced
	retries int
	logger  *slog.Logger
}

// New builds a request adapter per tenant, keyed by galsync.Tenant.Name.
func New(tenants map[string]Endpoint, opts Options) (*Client, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{tenants: make(map[string]*tenantClient, len(tenants))}
	var errs []error
	for name, ep := range tenants {
		// One middleware pipeline per tenant, over the one transport and
		// its connection pool, so that pacing knows whose budget it keeps.
		tc := &tenantClient{name: name, pacing: pacing{pacer: opts.Pacer, tenant: opts.Pacer.Tenant(name)},
			retries: opts.retries(), base: strings.TrimSuffix(ep.BaseURL, "/"), logger: opts.Logger}
		var paced khttp.Middleware
		if tc.pacing.tenant != nil {
			paced = tc.pacing
		}
		adapter, host, err := newAdapter(ep, newHTTPClient(opts, name, paced))
		if err != nil {
			errs = append(errs, fmt.Errorf("graph: tenant %s: %w", name, err))
			continue
		}
		tc.adapter, tc.host = adapter, host
		c.tenants[name] = tc
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

func newAdapter(ep Endpoint, httpClient *http.Client) (abs.RequestAdapter, string, error) {
	u, err := url.Parse(ep.BaseURL)
	if err != nil || u.Host == "" || !strings.HasSuffix(u.Path, "/v1.0") {
		return nil, "", fmt.Errorf("base URL %q must be an absolute URL ending in /v1.0", ep.BaseURL)
	}
	if ep.Credential == nil {
		return nil, "", errors.New("no credential")
	}
	// The token goes only to the base URL's host; a link elsewhere is sent
	// without it.
	auth, err := kauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(reuseToken(ep.Credential), ep.Scopes, []string{u.Hostname()})
	if err != nil {
		return nil, "", fmt.Errorf("authentication provider: %w", err)
	}
	adapter, err := core.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		auth, core.GraphClientOptions{}, nil, nil, httpClient)
	if err != nil {
		return nil, "", fmt.Errorf("request adapter: %w", err)
	}
	adapter.SetBaseUrl(strings.TrimSuffix(ep.BaseURL, "/"))
	return adapter, u.Hostname(), nil
}

// checkLink refuses a link to another host than the tenant's Graph: the
// token would be withheld there (a 401), and a stored cursor must not
// send galsync elsewhere.
func (tc *tenantClient) checkLink(op, link string) error {
	u, err := url.Parse(link)
	if err != nil || !u.IsAbs() || !strings.EqualFold(u.Hostname(), tc.host) {
		return galsync.Permanent(fmt.Errorf("graph: %s in tenant %s: the link is not a URL on %s", op, tc.name, tc.host))
	}
	return nil
}

func (c *Client) tenant(name string) (*tenantClient, error) {
	tc, ok := c.tenants[name]
	if !ok {
		return nil, galsync.Permanent(fmt.Errorf("graph: tenant %q is not configured", name))
	}
	return tc, nil
}
