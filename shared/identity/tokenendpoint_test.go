package identity

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
)

// tokenEndpoint is a local Microsoft Entra sign-in stand-in: the OIDC
// document MSAL reads and the v2.0 token endpoint. It must be TLS, because
// azidentity refuses an authority host without https.
type tokenEndpoint struct {
	srv *httptest.Server
	// accept decides whether a token request succeeds.
	accept func(url.Values) bool

	mu       sync.Mutex
	requests []url.Values
}

func newTokenEndpoint(t *testing.T, accept func(url.Values) bool) *tokenEndpoint {
	t.Helper()
	e := &tokenEndpoint{accept: accept}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", e.openIDConfiguration)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", e.token)
	e.srv = httptest.NewTLSServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *tokenEndpoint) openIDConfiguration(w http.ResponseWriter, r *http.Request) {
	base := e.srv.URL + "/" + r.PathValue("tenant")
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                 base + "/v2.0",
		"token_endpoint":         base + "/oauth2/v2.0/token",
		"authorization_endpoint": base + "/oauth2/v2.0/authorize",
		"jwks_uri":               base + "/discovery/v2.0/keys",
	})
}

func (e *tokenEndpoint) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	form := r.PostForm
	form.Set("tenant", r.PathValue("tenant"))
	e.mu.Lock()
	e.requests = append(e.requests, form)
	e.mu.Unlock()
	if !e.accept(form) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{
			"error":             "invalid_client",
			"error_description": "AADSTS7000215: Invalid client secret provided.",
			"error_codes":       []int{7000215},
		})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600,
		"access_token": "graph-token-for-" + form.Get("client_id"),
	})
}

// tokenRequests returns the token requests received so far.
func (e *tokenEndpoint) tokenRequests() []url.Values {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]url.Values(nil), e.requests...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
