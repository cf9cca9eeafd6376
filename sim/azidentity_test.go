package sim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// These tests prove that the real SDK, not a hand-written client, signs in
// against the simulator: MSAL reads the OIDC document, checks its issuer
// and posts the grant.

func sdkOptions(h *harness) azcore.ClientOptions {
	return azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: h.url + "/"},
		Transport: h.s.Client(),
	}
}

var graphScope = policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}}

// useToken calls Graph with an SDK-issued token.
func useToken(t *testing.T, h *harness, cred azcore.TokenCredential) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := cred.GetToken(ctx, graphScope)
	if err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	if resp, body := h.send(http.MethodGet, h.graph(tenantA)+"/users", tok.Token, nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("Graph with the SDK's token: %d %s", resp.StatusCode, body)
	}
}

func TestAzidentityClientSecretCredential(t *testing.T) {
	h := startSim(t, Options{})
	cred, err := azidentity.NewClientSecretCredential(tenantA, appA, secretA, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: sdkOptions(h), DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	useToken(t, h, cred)

	bad, err := azidentity.NewClientSecretCredential(tenantA, appA, "wrong", &azidentity.ClientSecretCredentialOptions{
		ClientOptions: sdkOptions(h), DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.GetToken(context.Background(), graphScope); err == nil {
		t.Error("a wrong secret got a token")
	}
}

func selfSignedRSA(t *testing.T) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "galsync test app"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func TestAzidentityClientCertificateCredential(t *testing.T) {
	h := startSim(t, Options{Now: time.Now}) // the SDK stamps assertions with the wall clock
	const certApp = "cccccccc-0000-4000-8000-00000000000c"
	cert, key := selfSignedRSA(t)
	if err := h.s.AddAppCertificate(tenantA, certApp, cert.Raw); err != nil {
		t.Fatal(err)
	}
	opts := &azidentity.ClientCertificateCredentialOptions{ClientOptions: sdkOptions(h), DisableInstanceDiscovery: true}
	cred, err := azidentity.NewClientCertificateCredential(tenantA, certApp, []*x509.Certificate{cert}, key, opts)
	if err != nil {
		t.Fatal(err)
	}
	useToken(t, h, cred)

	otherCert, otherKey := selfSignedRSA(t)
	impostor, err := azidentity.NewClientCertificateCredential(tenantA, certApp, []*x509.Certificate{otherCert}, otherKey, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := impostor.GetToken(context.Background(), graphScope); err == nil {
		t.Error("an unregistered certificate got a token")
	}
}

func TestAzidentityFederatedAssertion(t *testing.T) {
	h := startSim(t, Options{Now: time.Now})
	const fedApp = "dddddddd-0000-4000-8000-00000000000d"
	fc := FederatedCredential{Issuer: "https://token.actions.example", Subject: "repo:galsync/galsync:ref:refs/heads/main"}
	if err := h.s.AddFederatedCredential(tenantA, fedApp, fc); err != nil {
		t.Fatal(err)
	}
	assertion := func(subject string) func(context.Context) (string, error) {
		return func(context.Context) (string, error) {
			enc := func(v any) string {
				b, _ := json.Marshal(v)
				return base64.RawURLEncoding.EncodeToString(b)
			}
			return enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(map[string]any{
				"iss": fc.Issuer, "sub": subject, "aud": "api://AzureADTokenExchange", "exp": time.Now().Add(time.Hour).Unix(),
			}) + ".c2lnbmF0dXJl", nil
		}
	}
	opts := &azidentity.ClientAssertionCredentialOptions{ClientOptions: sdkOptions(h), DisableInstanceDiscovery: true}
	cred, err := azidentity.NewClientAssertionCredential(tenantA, fedApp, assertion(fc.Subject), opts)
	if err != nil {
		t.Fatal(err)
	}
	useToken(t, h, cred)

	stranger, err := azidentity.NewClientAssertionCredential(tenantA, fedApp, assertion("repo:someone/else"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stranger.GetToken(context.Background(), graphScope); err == nil {
		t.Error("an assertion with another subject got a token")
	}
}
