package identity

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/galsync/galsync/shared/galsync"
)

const (
	testTenantID = "22222222-2222-2222-2222-222222222222"
	testClientID = "33333333-3333-3333-3333-333333333333"
	graphScope   = "https://graph.microsoft.com/.default"
	jwtBearer    = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

func tenantAt(e *tokenEndpoint, auth galsync.TenantAuth) galsync.Tenant {
	return galsync.Tenant{Name: "fabrikam", TenantID: testTenantID, Cloud: galsync.CloudPublic,
		Domain: "fabrikam.onmicrosoft.com", AuthorityHost: e.srv.URL, Auth: auth}
}

func settings(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func getToken(t *testing.T, cred azcore.TokenCredential) (azcore.AccessToken, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{graphScope}})
}

func TestClientSecretFlow(t *testing.T) {
	const secret = "s3cr3t-value-for-dev"
	e := newTokenEndpoint(t, func(f url.Values) bool { return f.Get("client_secret") == secret })
	var logs bytes.Buffer
	tn := tenantAt(e, galsync.TenantAuth{Method: galsync.AuthClientSecret, ClientID: testClientID, ClientSecretSetting: "FABRIKAM_SECRET"})
	cred, err := Credential(tn, galsync.CloudPublic, settings(map[string]string{"FABRIKAM_SECRET": secret}),
		Options{Logger: slog.New(slog.NewTextHandler(&logs, nil)), Transport: e.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := getToken(t, cred)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Token != "graph-token-for-"+testClientID {
		t.Fatalf("token = %q", tok.Token)
	}
	reqs := e.tokenRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d token requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Get("tenant") != testTenantID || r.Get("grant_type") != "client_credentials" ||
		!slices.Contains(strings.Fields(r.Get("scope")), graphScope) || r.Get("client_secret") == "" {
		t.Errorf("token request = %v", r)
	}
	if n := strings.Count(logs.String(), "client secret"); n != 1 {
		t.Errorf("want one warning about the client secret, got %d in:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), secret) {
		t.Error("the log holds the secret")
	}
}

func TestCertificateFlowPEM(t *testing.T) {
	key, certDER := newRSACertificate(t)
	path := filepath.Join(t.TempDir(), "app.pem")
	pemData := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER}),
		pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})...)
	if err := os.WriteFile(path, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	e := newTokenEndpoint(t, func(f url.Values) bool { return f.Get("client_assertion_type") == jwtBearer })
	tn := tenantAt(e, galsync.TenantAuth{Method: galsync.AuthCertificate, ClientID: testClientID, CertificatePath: path})
	cred, err := Credential(tn, galsync.CloudUSGov, settings(nil), Options{Transport: e.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := getToken(t, cred); err != nil {
		t.Fatal(err)
	}
	checkAssertion(t, e, &key.PublicKey)
}

func TestCertificateFlowPFX(t *testing.T) {
	const password = "pfx-test-password" // of testdata/test-only.pfx
	path := filepath.Join("testdata", "test-only.pfx")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	certs, _, err := azidentity.ParseCertificates(data, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	e := newTokenEndpoint(t, func(f url.Values) bool { return f.Get("client_assertion_type") == jwtBearer })
	tn := tenantAt(e, galsync.TenantAuth{Method: galsync.AuthCertificate, ClientID: testClientID,
		CertificatePath: path, CertificatePasswordSetting: "PFX_PASSWORD"})
	cred, err := Credential(tn, galsync.CloudPublic, settings(map[string]string{"PFX_PASSWORD": password}), Options{Transport: e.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := getToken(t, cred); err != nil {
		t.Fatal(err)
	}
	checkAssertion(t, e, certs[0].PublicKey.(*rsa.PublicKey))
}

// checkAssertion proves the one token request carried a client assertion
// signed by the certificate's key, addressed to the token endpoint, issued
// by the app.
func checkAssertion(t *testing.T, e *tokenEndpoint, pub *rsa.PublicKey) {
	t.Helper()
	reqs := e.tokenRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d token requests, want 1", len(reqs))
	}
	parts := strings.Split(reqs[0].Get("client_assertion"), ".")
	if len(parts) != 3 {
		t.Fatalf("client_assertion is not a JWT: %d parts", len(parts))
	}
	var header struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Aud string `json:"aud"`
		Iss string `json:"iss"`
		Sub string `json:"sub"`
	}
	decodeSegment(t, parts[0], &header)
	decodeSegment(t, parts[1], &claims)
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch header.Alg {
	case "RS256":
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	case "PS256":
		err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, nil)
	default:
		t.Fatalf("assertion alg %q", header.Alg)
	}
	if err != nil {
		t.Fatalf("assertion signature: %v", err)
	}
	wantAud := e.srv.URL + "/" + testTenantID + "/oauth2/v2.0/token"
	if claims.Aud != wantAud || claims.Iss != testClientID || claims.Sub != testClientID {
		t.Errorf("assertion claims = %+v, want aud %s, iss = sub = %s", claims, wantAud, testClientID)
	}
}

func decodeSegment(t *testing.T, seg string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func newRSACertificate(t *testing.T) (*rsa.PrivateKey, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "galsync-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

// TestCertificateFromAppSetting: a certificate held in an app setting (the
// value a Key Vault reference resolves to: base64 PFX) signs in, and a
// bad value names the setting, never its content.
func TestCertificateFromAppSetting(t *testing.T) {
	const password = "pfx-test-password" // of testdata/test-only.pfx
	data, err := os.ReadFile(filepath.Join("testdata", "test-only.pfx"))
	if err != nil {
		t.Fatal(err)
	}
	certs, _, err := azidentity.ParseCertificates(data, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	e := newTokenEndpoint(t, func(f url.Values) bool { return f.Get("client_assertion_type") == jwtBearer })
	tn := tenantAt(e, galsync.TenantAuth{Method: galsync.AuthCertificate, ClientID: testClientID,
		CertificateSetting: "GALSYNC_CERT", CertificatePasswordSetting: "PFX_PASSWORD"})
	env := map[string]string{"PFX_PASSWORD": password, "GALSYNC_CERT": base64.StdEncoding.EncodeToString(data)}
	cred, err := Credential(tn, galsync.CloudPublic, settings(env), Options{Transport: e.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := getToken(t, cred); err != nil {
		t.Fatal(err)
	}
	checkAssertion(t, e, certs[0].PublicKey.(*rsa.PublicKey))

	env["GALSYNC_CERT"] = "not a certificate!"
	_, err = Credential(tn, galsync.CloudPublic, settings(env), Options{Transport: e.srv.Client()})
	if err == nil || !strings.Contains(err.Error(), "GALSYNC_CERT") || strings.Contains(err.Error(), "not a certificate") {
		t.Errorf("bad setting: %v", err)
	}
	delete(env, "GALSYNC_CERT")
	if _, err := Credential(tn, galsync.CloudPublic, settings(env), Options{Transport: e.srv.Client()}); err == nil || !strings.Contains(err.Error(), "GALSYNC_CERT") {
		t.Errorf("missing setting: %v", err)
	}
	if errs := Validate(galsync.Tenant{Name: "x", TenantID: testClientID, Cloud: galsync.CloudPublic,
		Auth: galsync.TenantAuth{Method: galsync.AuthCertificate, ClientID: testClientID, CertificatePath: "a", CertificateSetting: "B"}}, galsync.CloudPublic); len(errs) == 0 {
		t.Error("both certificatePath and certificateSetting were accepted")
	}
}
