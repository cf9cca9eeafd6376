package identity

import (
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/galsync/galsync/shared/galsync"
)

// clientSecret signs in as an app registration with a client secret read
// from the app setting ClientSecretSetting names. Secrets at rest are what
// galsync avoids, so this is for development and says so.
func clientSecret(t galsync.Tenant, hosts CloudHosts, getenv func(string) string, opts Options) (azcore.TokenCredential, error) {
	a := t.Auth
	secret := getenv(a.ClientSecretSetting)
	if secret == "" {
		return nil, fmt.Errorf("client secret: app setting %s (clientSecretSetting) is empty or not set", a.ClientSecretSetting)
	}
	s := signInFor(t, hosts, opts)
	cred, err := azidentity.NewClientSecretCredential(t.TenantID, a.ClientID, secret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: s.client, DisableInstanceDiscovery: s.disableDiscovery})
	if err != nil {
		return nil, fmt.Errorf("client secret credential: %w", err)
	}
	opts.Logger.Warn("identity: tenant signs in with a client secret; secrets are for development, use a managed identity, federated credential or certificate in production",
		"tenant", t.Name, "setting", a.ClientSecretSetting)
	return cred, nil
}
