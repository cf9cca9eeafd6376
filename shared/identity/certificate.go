package identity

import (
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/galsync/galsync/shared/galsync"
)

// certificate signs in as an app registration with a certificate read from
// CertificatePath: PEM (certificate and unencrypted key) or PFX, whose
// password is in the app setting CertificatePasswordSetting names.
func certificate(t galsync.Tenant, hosts CloudHosts, getenv func(string) string, opts Options) (azcore.TokenCredential, error) {
	a := t.Auth
	data, source, err := certificateBytes(a, getenv)
	if err != nil {
		return nil, err
	}
	var password []byte
	if a.CertificatePasswordSetting != "" {
		pw := getenv(a.CertificatePasswordSetting)
		if pw == "" {
			return nil, fmt.Errorf("certificate: app setting %s (certificatePasswordSetting) is empty or not set", a.CertificatePasswordSetting)
		}
		password = []byte(pw)
	}
	certs, key, err := azidentity.ParseCertificates(data, password)
	if err != nil {
		// azidentity reads legacy (3DES) PFX files only, and PEM keys unencrypted.
		return nil, fmt.Errorf("certificate %s: %w (want PEM with an unencrypted key, or a PFX with SHA-1/3DES protection)", source, err)
	}
	// MSAL signs client assertions with RSA only.
	if _, ok := key.(*rsa.PrivateKey); !ok {
		return nil, fmt.Errorf("certificate %s: %w", source, errors.New("the private key must be RSA"))
	}
	s := signInFor(t, hosts, opts)
	cred, err := azidentity.NewClientCertificateCredential(t.TenantID, a.ClientID, certs, key,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: s.client, DisableInstanceDiscovery: s.disableDiscovery})
	if err != nil {
		return nil, fmt.Errorf("certificate credential: %w", err)
	}
	return cred, nil
}

// certificateBytes reads the certificate from its file, or from the app
// setting that holds it (base64 PFX, as a Key Vault reference to a
// certificate's secret yields, or PEM text). source names where it came
// from, for errors; never the content.
func certificateBytes(a galsync.TenantAuth, getenv func(string) string) ([]byte, string, error) {
	if a.CertificateSetting == "" {
		data, err := os.ReadFile(a.CertificatePath)
		if err != nil {
			return nil, "", fmt.Errorf("certificate: %w", err)
		}
		return data, a.CertificatePath, nil
	}
	source := "in app setting " + a.CertificateSetting
	v := strings.TrimSpace(getenv(a.CertificateSetting))
	if v == "" {
		return nil, "", fmt.Errorf("certificate: app setting %s (certificateSetting) is empty or not set; if it is a Key Vault reference, check the app's access to the vault", a.CertificateSetting)
	}
	if strings.HasPrefix(v, "-----BEGIN") {
		return []byte(v), source, nil
	}
	data, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, "", fmt.Errorf("certificate %s: neither PEM nor base64 PFX", source)
	}
	return data, source, nil
}
