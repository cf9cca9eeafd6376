package sim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
)

// seal makes an opaque, tamper-evident token of v: its JSON and a
// truncated HMAC, base64url. Graph's skip and delta tokens are opaque too;
// clients must only copy the links that carry them.
func (s *Server) seal(v any) string {
	b, _ := json.Marshal(v) // token states are plain structs
	m := hmac.New(sha256.New, s.tokenMAC)
	m.Write(b)
	return base64.RawURLEncoding.EncodeToString(m.Sum(b)[:len(b)+16])
}

var errBadToken = errors.New("token is not one this server issued")

func (s *Server) unseal(tok string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) < 16 {
		return errBadToken
	}
	b, sum := raw[:len(raw)-16], raw[len(raw)-16:]
	m := hmac.New(sha256.New, s.tokenMAC)
	m.Write(b)
	if !hmac.Equal(m.Sum(nil)[:16], sum) {
		return errBadToken
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errBadToken
	}
	return nil
}
