package identity

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/galsync"
)

// appServiceIdentity stands in for the App Service managed identity
// endpoint (IDENTITY_ENDPOINT + IDENTITY_HEADER), recording what was asked.
type appServiceIdentity struct {
	header string

	mu   sync.Mutex
	asks []url.Values
}

func (m *appServiceIdentity) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-IDENTITY-HEADER") != m.header {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "bad identity header"})
		return
	}
	q := r.URL.Query()
	m.mu.Lock()
	m.asks = append(m.asks, q)
	m.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": miToken(q.Get("resource"), q.Get("client_id")),
		"expires_on":   strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10),
		"resource":     q.Get("resource"),
		"token_type":   "Bearer",
		"client_id":    q.Get("client_id"),
	})
}

func miToken(resource, clientID string) string { return "mi-token|" + resource + "|" + clientID }

func randomGUID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func TestFederatedFlow(t *testing.T) {
	mi := &appServiceIdentity{header: "identity-header-value"}
	miSrv := httptest.NewServer(mi)
	t.Cleanup(miSrv.Close)
	t.Setenv("IDENTITY_ENDPOINT", miSrv.URL+"/msi/token")
	t.Setenv("IDENTITY_HEADER", mi.header)
	t.Setenv("IDENTITY_SERVER_THUMBPRINT", "")
	t.Setenv("MSI_ENDPOINT", "")

	// MSAL caches managed identity tokens process-wide; a fresh identity
	// per run makes sure this run asks the endpoint.
	miClientID := randomGUID(t)
	for _, c := range []struct {
		cloud    galsync.Cloud
		audience string
	}{
		{galsync.CloudUSGov, "api://AzureADTokenExchangeUSGov"},
		{galsync.CloudPublic, "api://AzureADTokenExchange"},
	} {
		t.Run(string(c.cloud), func(t *testing.T) {
			want := miToken(c.audience, miClientID)
			e := newTokenEndpoint(t, func(f url.Values) bool { return f.Get("client_assertion") == want })
			tn := tenantAt(e, galsync.TenantAuth{Method: galsync.AuthFederated, ClientID: testClientID, ManagedIdentityClientID: miClientID})
			tn.Cloud = c.cloud
			cred, err := Credential(tn, c.cloud, settings(nil), Options{Transport: e.srv.Client()})
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
			if len(reqs) != 1 || reqs[0].Get("client_assertion_type") != jwtBearer || reqs[0].Get("client_id") != testClientID {
				t.Fatalf("token requests = %v", reqs)
			}
			if !mi.asked(c.audience, miClientID) {
				t.Errorf("managed identity was not asked for audience %s as %s; asks: %v", c.audience, miClientID, mi.all())
			}
		})
	}
}

func (m *appServiceIdentity) asked(resource, clientID string) bool {
	for _, q := range m.all() {
		if q.Get("resource") == resource && q.Get("client_id") == clientID {
			return true
		}
	}
	return false
}

func (m *appServiceIdentity) all() []url.Values {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]url.Values(nil), m.asks...)
}

func TestFederatedRefusedAcrossClouds(t *testing.T) {
	tn := galsync.Tenant{Name: "gov", TenantID: testTenantID, Cloud: galsync.CloudUSGov,
		Auth: galsync.TenantAuth{Method: galsync.AuthFederated, ClientID: testClientID, ManagedIdentityClientID: testClientID}}
	_, err := Credential(tn, galsync.CloudPublic, settings(nil), Options{})
	if err == nil {
		t.Fatal("want an error for a federated credential across clouds")
	}
	for _, want := range []string{"tenant gov", "own cloud (public)", "use method certificate"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
