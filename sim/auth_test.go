package sim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestGraphRefusesBadTokens(t *testing.T) {
	h := startSim(t, Options{})
	seedA(t, h, 1)
	cases := []struct {
		name, token string
	}{
		{"no token", ""},
		{"unknown token", "made-up"},
		{"other tenant's token", h.token(tenantB, appB, secretB)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := h.send(http.MethodGet, h.graph(tenantA)+"/users", c.token, nil, nil)
			if resp.StatusCode != http.StatusUnauthorized || graphErrorCode(t, body) != "InvalidAuthenticationToken" {
				t.Errorf("got %d %s, want 401 InvalidAuthenticationToken", resp.StatusCode, body)
			}
			if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer ") {
				t.Errorf("WWW-Authenticate = %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	resp, _ := h.send(http.MethodGet, h.graph(tenantA)+"/users", h.tokenA(), nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("own token: status %d", resp.StatusCode)
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	h := startSim(t, Options{})
	good := url.Values{"grant_type": {"client_credentials"}, "client_id": {appA}, "client_secret": {secretA},
		"scope": {"https://graph.microsoft.com/.default"}}
	cases := []struct {
		name   string
		tenant string
		change func(url.Values)
		status int
		code   string
	}{
		{"wrong secret", tenantA, func(v url.Values) { v.Set("client_secret", "nope") }, http.StatusUnauthorized, "invalid_client"},
		{"unknown client", tenantA, func(v url.Values) { v.Set("client_id", appB) }, http.StatusBadRequest, "unauthorized_client"},
		{"other grant", tenantA, func(v url.Values) { v.Set("grant_type", "password") }, http.StatusBadRequest, "unsupported_grant_type"},
		{"scope without /.default", tenantA, func(v url.Values) { v.Set("scope", "User.Read") }, http.StatusBadRequest, "invalid_scope"},
		{"no credential", tenantA, func(v url.Values) { v.Del("client_secret") }, http.StatusUnauthorized, "invalid_client"},
		{"unknown tenant", "33333333-3333-4333-8333-333333333333", func(url.Values) {}, http.StatusBadRequest, "invalid_tenant"},
		{"tenant by domain", "a.onmicrosoft.com", func(url.Values) {}, http.StatusOK, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			form := url.Values{}
			for k, v := range good {
				form[k] = append([]string(nil), v...)
			}
			c.change(form)
			resp, body := h.send(http.MethodPost, h.url+"/"+c.tenant+"/oauth2/v2.0/token", "", strings.NewReader(form.Encode()),
				map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
			if resp.StatusCode != c.status {
				t.Fatalf("status %d %s, want %d", resp.StatusCode, body, c.status)
			}
			var e struct {
				Error string `json:"error"`
				Codes []int  `json:"error_codes"`
			}
			mustUnmarshal(t, body, &e)
			if e.Error != c.code || c.code != "" && len(e.Codes) != 1 {
				t.Errorf("error = %q %v, want %q with one AADSTS code", e.Error, e.Codes, c.code)
			}
		})
	}
}

func TestOpenIDConfigurationMatchesHost(t *testing.T) {
	h := startSim(t, Options{})
	resp, body := h.send(http.MethodGet, h.url+"/a.onmicrosoft.com/v2.0/.well-known/openid-configuration", "", nil, nil)
	var doc map[string]any
	mustUnmarshal(t, body, &doc)
	if resp.StatusCode != http.StatusOK || doc["issuer"] != h.url+"/"+tenantA+"/v2.0" ||
		doc["token_endpoint"] != h.url+"/"+tenantA+"/oauth2/v2.0/token" || doc["authorization_endpoint"] == nil {
		t.Errorf("%d %v", resp.StatusCode, doc)
	}
}
