package identity

import (
	"bytes"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/galsync/galsync/shared/galsync"
)

// TestNoSecretInErrorsOrLogs drives every way a secret-bearing sign-in can
// fail and checks that neither the error nor the log holds the value.
func TestNoSecretInErrorsOrLogs(t *testing.T) {
	const secret = "Sup3r~Secret.Value_42"
	e := newTokenEndpoint(t, func(url.Values) bool { return false }) // rejects every request
	var logs bytes.Buffer
	opts := Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Transport: e.srv.Client()}
	env := settings(map[string]string{"SECRET": secret, "PFX_PASSWORD": secret})

	secretTenant := tenantAt(e, galsync.TenantAuth{Method: galsync.AuthClientSecret, ClientID: testClientID, ClientSecretSetting: "SECRET"})
	cred, err := Credential(secretTenant, galsync.CloudPublic, env, opts)
	if err != nil {
		t.Fatal(err)
	}
	_, rejected := getToken(t, cred)
	if rejected == nil {
		t.Fatal("want the token endpoint's rejection")
	}
	if got := e.tokenRequests(); len(got) == 0 || got[0].Get("client_secret") != secret {
		t.Fatal("the secret was not what the token endpoint received") // the check below would prove nothing
	}

	_, missing := Credential(tenantAt(e, galsync.TenantAuth{Method: galsync.AuthClientSecret, ClientID: testClientID, ClientSecretSetting: "UNSET"}),
		galsync.CloudPublic, env, opts)
	if missing == nil || !strings.Contains(missing.Error(), "UNSET") {
		t.Errorf("missing secret: error %v should name the setting", missing)
	}

	_, wrongPassword := Credential(tenantAt(e, galsync.TenantAuth{Method: galsync.AuthCertificate, ClientID: testClientID,
		CertificatePath: filepath.Join("testdata", "test-only.pfx"), CertificatePasswordSetting: "PFX_PASSWORD"}), galsync.CloudPublic, env, opts)
	if wrongPassword == nil {
		t.Fatal("want an error for a wrong PFX password")
	}

	for name, err := range map[string]error{"rejected": rejected, "missing": missing, "wrong password": wrongPassword} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error holds the secret: %v", name, err)
		}
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("log holds the secret:\n%s", logs.String())
	}
}
