package sim

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// The Entra sign-in endpoints: OIDC metadata and the v2.0 token endpoint,
// enough for MSAL (and so azidentity) to run the client credentials grant.

func (s *Server) handleOpenID(w http.ResponseWriter, r *http.Request) {
	t := noteOf(r).tenant
	base := "https://" + r.Host + "/" + t.id
	// MSAL checks that the issuer has the authority's scheme and host.
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                base + "/v2.0",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"tenant_region_scope":                   "NA",
		"cloud_instance_name":                   "microsoftonline.com",
		"msgraph_host":                          r.Host,
	})
}

// entraError is an AADSTS error as the token endpoint returns it.
type entraError struct {
	status int
	code   string // OAuth error: invalid_client, unauthorized_client, ...
	aadsts int
	desc   string
}

func (s *Server) writeEntraError(w http.ResponseWriter, e entraError) {
	now := s.now().UTC()
	trace := requestID()
	writeJSON(w, e.status, map[string]any{
		"error": e.code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s",
			e.aadsts, e.desc, trace, requestID(), now.Format("2006-01-02 15:04:05Z")),
		"error_codes":    []int{e.aadsts},
		"timestamp":      now.Format("2006-01-02 15:04:05Z"),
		"trace_id":       trace,
		"correlation_id": requestID(),
		"error_uri":      fmt.Sprintf("https://%s/error?code=%d", "login.microsoftonline.com", e.aadsts),
	})
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	n := noteOf(r)
	t := n.tenant
	if err := r.ParseForm(); err != nil {
		s.writeEntraError(w, entraError{http.StatusBadRequest, "invalid_request", 900144, "The request body is not a valid form."})
		return
	}
	form := r.PostForm
	clientID, secret := form.Get("client_id"), form.Get("client_secret")
	if id, pw, ok := r.BasicAuth(); ok { // client_secret_basic
		clientID, secret = id, pw
	}
	n.app = clientID
	if e, bad := checkGrant(form.Get("grant_type"), form.Get("scope"), clientID); bad {
		s.writeEntraError(w, e)
		return
	}
	a := t.appCopy(clientID)
	if a == nil {
		s.writeEntraError(w, entraError{http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", clientID, t.id)})
		return
	}
	var e *entraError
	switch {
	case secret != "":
		e = checkSecret(a, secret)
	case form.Get("client_assertion") != "":
		e = s.checkAssertion(a, r, form.Get("client_assertion_type"), form.Get("client_assertion"))
	default:
		e = &entraError{http.StatusUnauthorized, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}
	}
	if e != nil {
		s.writeEntraError(w, *e)
		return
	}
	// Access tokens are opaque and do not expire: a test that moves the
	// simulated clock days ahead (delta token expiry) would otherwise strand
	// SDK clients, which cache tokens by the wall clock.
	tok := randomToken(32)
	s.mu.Lock()
	s.tokens[tok] = accessToken{tenantID: t.id, clientID: a.clientID}
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store, no-cache")
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok,
	})
}

func checkGrant(grant, scope, clientID string) (entraError, bool) {
	if grant != "client_credentials" {
		return entraError{http.StatusBadRequest, "unsupported_grant_type", 70003,
			"The app requested an unsupported grant type '" + grant + "'."}, true
	}
	if clientID == "" {
		return entraError{http.StatusBadRequest, "invalid_request", 900144,
			"The request body must contain the following parameter: 'client_id'."}, true
	}
	// Client credential flows must ask for a resource's /.default scope.
	if !slices.ContainsFunc(strings.Fields(scope), func(s string) bool { return strings.HasSuffix(s, "/.default") }) {
		return entraError{http.StatusBadRequest, "invalid_scope", 1002012,
			"The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."}, true
	}
	return entraError{}, false
}

func checkSecret(a *app, secret string) *entraError {
	for _, s := range a.secrets {
		if subtle.ConstantTimeCompare([]byte(s), []byte(secret)) == 1 {
			return nil
		}
	}
	return &entraError{http.StatusUnauthorized, "invalid_client", 7000215,
		"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID."}
}

const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// checkAssertion accepts a JWT signed by one of the app's certificates, or
// one from a trusted federated issuer. A federated assertion's signature is
// not checked: the simulator cannot fetch the issuer's keys, so it trusts
// issuer, subject, audience and lifetime, which is what a test controls.
func (s *Server) checkAssertion(a *app, r *http.Request, typ, raw string) *entraError {
	if typ != jwtBearer {
		return &entraError{http.StatusBadRequest, "invalid_request", 700026,
			"Client assertion type is not supported: expected " + jwtBearer + "."}
	}
	as, err := parseAssertion(raw)
	if err != nil {
		return &entraError{http.StatusUnauthorized, "invalid_client", 50027, "JWT token is invalid or malformed."}
	}
	if !as.timely(s.now()) {
		return &entraError{http.StatusUnauthorized, "invalid_client", 700024, "Client assertion is not within its valid time range."}
	}
	for _, c := range a.certsFor(as.header) {
		if as.verify(c.PublicKey) != nil {
			continue
		}
		endpoint := "https://" + r.Host + r.URL.Path
		if as.claims.Issuer != as.claims.Subject || !strings.EqualFold(as.claims.Subject, a.clientID) ||
			!slices.ContainsFunc(as.audiences(), func(s string) bool { return strings.EqualFold(s, endpoint) }) {
			return &entraError{http.StatusUnauthorized, "invalid_client", 700021,
				"Client assertion application identifier doesn't match 'client_id' parameter, or its audience is not this token endpoint."}
		}
		return nil
	}
	for _, fc := range a.federated {
		if as.claims.Issuer == fc.Issuer && as.claims.Subject == fc.Subject &&
			slices.Contains(as.audiences(), "api://AzureADTokenExchange") {
			return nil
		}
	}
	if len(a.federated) > 0 {
		return &entraError{http.StatusUnauthorized, "invalid_client", 70021, "No matching federated identity record found for presented assertion."}
	}
	return &entraError{http.StatusUnauthorized, "invalid_client", 700027, "Client assertion failed signature validation."}
}

// appCopy returns a snapshot of an app registration, or nil.
func (t *tenant) appCopy(clientID string) *app {
	t.mu.RLock()
	defer t.mu.RUnlock()
	a := t.apps[strings.ToLower(clientID)]
	if a == nil {
		return nil
	}
	c := *a
	c.secrets = slices.Clone(a.secrets)
	c.certs = slices.Clone(a.certs)
	c.federated = slices.Clone(a.federated)
	return &c
}
