package sim

import (
	"crypto/sha1" //nolint:gosec // x5t is a SHA-1 thumbprint by definition (RFC 7515 §4.1.7)
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"strings"
)

// app is an app registration in one tenant with its credentials.
type app struct {
	clientID  string
	secrets   []string
	certs     []*x509.Certificate
	federated []FederatedCredential
}

// FederatedCredential trusts assertions from another identity provider
// (a managed identity, a CI system) with this issuer and subject.
type FederatedCredential struct {
	Issuer  string `json:"issuer"`
	Subject string `json:"subject"`
}

// accessToken is what an opaque bearer token stands for.
type accessToken struct {
	tenantID string
	clientID string
}

// AddApp registers an app with a client secret (more secrets may be added).
func (s *Server) AddApp(tenantID, clientID, secret string) error {
	if secret == "" {
		return fmt.Errorf("sim: add app: secret is empty")
	}
	return s.withApp(tenantID, clientID, func(a *app) { a.secrets = append(a.secrets, secret) })
}

// AddAppCertificate registers an app (or adds to one) with a certificate
// whose key signs client assertions.
func (s *Server) AddAppCertificate(tenantID, clientID string, certDER []byte) error {
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return fmt.Errorf("sim: add app certificate: %w", err)
	}
	return s.withApp(tenantID, clientID, func(a *app) { a.certs = append(a.certs, cert) })
}

// AddFederatedCredential registers an app (or adds to one) that accepts
// assertions with this issuer and subject.
func (s *Server) AddFederatedCredential(tenantID, clientID string, fc FederatedCredential) error {
	if fc.Issuer == "" || fc.Subject == "" {
		return fmt.Errorf("sim: add federated credential: issuer and subject are required")
	}
	return s.withApp(tenantID, clientID, func(a *app) { a.federated = append(a.federated, fc) })
}

func (s *Server) withApp(tenantID, clientID string, f func(*app)) error {
	t, err := s.tenant(tenantID)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if clientID == "" {
		return fmt.Errorf("sim: app: client id is empty")
	}
	key := strings.ToLower(clientID)
	a := t.apps[key]
	if a == nil {
		a = &app{clientID: key}
		t.apps[key] = a
	}
	f(a)
	return nil
}

// certsFor picks the registered certificate a JWT header names by
// thumbprint: x5t (SHA-1, RS256 assertions) or x5t#S256 (SHA-256, PS256,
// which MSAL Go sends). Without a thumbprint every certificate is tried.
func (a *app) certsFor(header map[string]json.RawMessage) []*x509.Certificate {
	var x5t, x5tS256 string
	_ = json.Unmarshal(header["x5t"], &x5t)
	_ = json.Unmarshal(header["x5t#S256"], &x5tS256)
	if x5t == "" && x5tS256 == "" {
		return a.certs
	}
	var out []*x509.Certificate
	for _, c := range a.certs {
		s1 := sha1.Sum(c.Raw) //nolint:gosec // thumbprint, not a security hash here
		s256 := sha256.Sum256(c.Raw)
		if thumbprintMatches(x5t, s1[:]) || thumbprintMatches(x5tS256, s256[:]) {
			out = append(out, c)
		}
	}
	return out
}
