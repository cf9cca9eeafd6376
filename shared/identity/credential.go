package identity

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/galsync/galsync/shared/galsync"
)

// Options configure the credentials Credential builds.
type Options struct {
	// Logger receives configuration warnings; nil discards them.
	Logger *slog.Logger
	// Transport sends the credentials' requests (token endpoints, the
	// managed identity endpoint); nil means azcore's default. Tests and a
	// custom certificate authority set it. The managed identity endpoint
	// itself is found by azidentity from IDENTITY_ENDPOINT / MSI_ENDPOINT.
	Transport policy.Transporter
}

// Credential returns the token credential that signs galsync in to tenant t,
// for an app whose managed identity lives in the home cloud. getenv reads app
// settings (a client secret, a certificate password); values read are never
// logged nor put in errors.
func Credential(t galsync.Tenant, home galsync.Cloud, getenv func(string) string, opts Options) (azcore.TokenCredential, error) {
	if errs := Validate(t, home); len(errs) > 0 {
		return nil, fmt.Errorf("identity: tenant %s: %w", t.Name, errors.Join(errs...))
	}
	hosts, err := Hosts(t.Cloud)
	if err != nil {
		return nil, fmt.Errorf("identity: tenant %s: %w", t.Name, err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	var cred azcore.TokenCredential
	switch t.Auth.Method {
	case galsync.AuthManagedIdentity:
		cred, err = managedIdentity(t.Auth.ManagedIdentityClientID, opts)
	case galsync.AuthFederated:
		cred, err = federated(t, hosts, opts)
	case galsync.AuthCertificate:
		cred, err = certificate(t, hosts, getenv, opts)
	case galsync.AuthClientSecret:
		cred, err = clientSecret(t, hosts, getenv, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("identity: tenant %s: %w", t.Name, err)
	}
	return cred, nil
}

// signIn is where a tenant's token requests go: the tenant's own authority
// host when set (the tenant simulator, tests), else its cloud's. An
// authority host of our own is unknown to Microsoft's instance discovery,
// so discovery is turned off for it.
type signIn struct {
	client           azcore.ClientOptions
	disableDiscovery bool
}

func signInFor(t galsync.Tenant, hosts CloudHosts, opts Options) signIn {
	authority := hosts.Authority
	if t.AuthorityHost != "" {
		authority = strings.TrimSuffix(t.AuthorityHost, "/") + "/"
	}
	return signIn{
		client: azcore.ClientOptions{
			Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: authority},
			Transport: opts.Transport,
		},
		disableDiscovery: t.AuthorityHost != "",
	}
}
