package identity

import (
	"context"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/galsync/galsync/shared/galsync"
)

// ManagedIdentity is the app's own managed identity: system-assigned when
// clientID is empty, else the user-assigned one with that client id. The
// Azure backends (Service Bus, Cosmos DB) sign in with it too.
func ManagedIdentity(clientID string, transport policy.Transporter) (*azidentity.ManagedIdentityCredential, error) {
	return managedIdentity(clientID, Options{Transport: transport})
}

func managedIdentity(clientID string, opts Options) (*azidentity.ManagedIdentityCredential, error) {
	o := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: azcore.ClientOptions{Transport: opts.Transport}}
	if clientID != "" {
		o.ID = azidentity.ClientID(clientID)
	}
	cred, err := azidentity.NewManagedIdentityCredential(o)
	if err != nil {
		return nil, fmt.Errorf("managed identity: %w", err)
	}
	return cred, nil
}

// federated signs in as an app registration whose federated identity
// credential trusts the app's user-assigned managed identity: the managed
// identity's token for the cloud's token-exchange audience is the client
// assertion. Validate has made sure the tenant is in the home Entra cloud
// (GCC High and DoD are one), the only place that trust works.
func federated(t galsync.Tenant, hosts CloudHosts, opts Options) (azcore.TokenCredential, error) {
	mi, err := managedIdentity(t.Auth.ManagedIdentityClientID, opts)
	if err != nil {
		return nil, err
	}
	scope := hosts.TokenExchangeScope()
	assertion := func(ctx context.Context) (string, error) {
		tok, err := mi.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
		if err != nil {
			return "", fmt.Errorf("managed identity token for %s: %w", hosts.TokenExchangeAudience, err)
		}
		return tok.Token, nil
	}
	s := signInFor(t, hosts, opts)
	cred, err := azidentity.NewClientAssertionCredential(t.TenantID, t.Auth.ClientID, assertion,
		&azidentity.ClientAssertionCredentialOptions{ClientOptions: s.client, DisableInstanceDiscovery: s.disableDiscovery})
	if err != nil {
		return nil, fmt.Errorf("federated credential: %w", err)
	}
	return cred, nil
}
