package sim

import (
	"net/http"
	"strings"
)

func unauthorized(r *http.Request, msg string) *graphError {
	e := newGraphError(http.StatusUnauthorized, "InvalidAuthenticationToken", "%s", msg)
	e.headers = map[string]string{"WWW-Authenticate": `Bearer realm="", authorization_uri="https://` + r.Host +
		`/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`}
	return e
}

// authorize checks the bearer token: it must be one the token endpoint
// issued, for this tenant.
func (s *Server) authorize(r *http.Request, n *requestNote) *graphError {
	h := r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(h, " ")
	if h == "" || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return unauthorized(r, "Access token is empty.")
	}
	s.mu.RLock()
	at, ok := s.tokens[strings.TrimSpace(tok)]
	s.mu.RUnlock()
	if !ok {
		return unauthorized(r, "Access token validation failure. Invalid signature or the token is not one this tenant issued.")
	}
	if at.tenantID != n.tenant.id {
		return unauthorized(r, "Access token validation failure. Invalid audience: the token was issued for another tenant.")
	}
	n.app = at.clientID
	return nil
}
