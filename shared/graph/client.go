// Package graph is galsync's Microsoft Graph adapter: users/delta pages from
// source tenants; finding, inviting, updating and deleting guests in target
// tenants. It sends through msgraph-sdk-go's request adapter, so the SDK's
// middleware (bearer tokens, Retry-After honouring retries, request
// compression, redirects) applies to every call, and decodes the JSON
// itself: galsync needs arbitrary selected properties as plain values, not
// typed models.
package graph

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	abs "github.com/microsoft/kiota-abstractions-go"
	kauth "github.com/microsoft/kiota-authentication-azure-go"
	core "github.com/microsoftgraph/msgraph-sdk-go-core"

	"github.com/galsync/galsync/shared/galsync"
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
	// means 10.
	MaxRetries int
}

// Client calls Microsoft Graph in the configured tenants. It is safe for
// concurrent use.
type Client struct {
	tenants map[string]*tenantClient
}

// tenantClient is one tenant's request adapter.
type tenantClient struct {
	name    string
	host    string // of the base URL: the only host given the token
	adapter abs.RequestAdapter
}

// New builds a request adapter per tenant, keyed by galsync.Tenant.Name.
func New(tenants map[string]Endpoint, opts Options) (*Client, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	httpClient := newHTTPClient(opts)
	c := &Client{tenants: make(map[string]*tenantClient, len(tenants))}
	var errs []error
	for name, ep := range tenants {
		adapter, host, err := newAdapter(ep, httpClient)
		if err != nil {
			errs = append(errs, fmt.Errorf("graph: tenant %s: %w", name, err))
			continue
		}
		c.tenants[name] = &tenantClient{name: name, host: host, adapter: adapter}
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
	auth, err := kauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(ep.Credential, ep.Scopes, []string{u.Hostname()})
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
