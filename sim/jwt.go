package sim

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// assertion is a decoded client assertion (RFC 7523). Only what the token
// endpoint checks is read.
type assertion struct {
	header map[string]json.RawMessage
	alg    string
	claims assertionClaims
	signed []byte // header.payload, the signed bytes
	sig    []byte
}

type assertionClaims struct {
	Issuer    string          `json:"iss"`
	Subject   string          `json:"sub"`
	Audience  json.RawMessage `json:"aud"`
	Expires   json.Number     `json:"exp"`
	NotBefore json.Number     `json:"nbf"`
}

func parseAssertion(s string) (*assertion, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a compact JWS")
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	pb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	a := &assertion{signed: []byte(parts[0] + "." + parts[1]), sig: sig}
	if err := json.Unmarshal(hb, &a.header); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	_ = json.Unmarshal(a.header["alg"], &a.alg)
	dec := json.NewDecoder(bytes.NewReader(pb))
	dec.UseNumber()
	if err := dec.Decode(&a.claims); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	return a, nil
}

// verify checks the signature with an RSA public key: RS256 (PKCS #1
// v1.5) or PS256 (PSS), the two algorithms Entra accepts for certificate
// credentials; MSAL Go signs with PS256.
func (a *assertion) verify(pub crypto.PublicKey) error {
	key, ok := pub.(*rsa.PublicKey)
	if !ok {
		return errors.New("certificate key is not RSA")
	}
	sum := sha256.Sum256(a.signed)
	switch a.alg {
	case "RS256":
		return rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], a.sig)
	case "PS256":
		return rsa.VerifyPSS(key, crypto.SHA256, sum[:], a.sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	default:
		return fmt.Errorf("algorithm %q is not supported", a.alg)
	}
}

// audiences reads aud, a string or an array of strings.
func (a *assertion) audiences() []string {
	var one string
	if json.Unmarshal(a.claims.Audience, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(a.claims.Audience, &many)
	return many
}

// clockSkew is the leeway Entra allows on exp and nbf.
const clockSkew = 5 * time.Minute

func (a *assertion) timely(now time.Time) bool {
	exp, err := a.claims.Expires.Int64()
	if err != nil || now.After(time.Unix(exp, 0).Add(clockSkew)) {
		return false
	}
	if a.claims.NotBefore != "" {
		nbf, err := a.claims.NotBefore.Int64()
		if err != nil || now.Add(clockSkew).Before(time.Unix(nbf, 0)) {
			return false
		}
	}
	return true
}

// thumbprintMatches compares a JWT thumbprint header (base64, base64url or
// hex, as different clients write it) with a digest.
func thumbprintMatches(header string, sum []byte) bool {
	if header == "" {
		return false
	}
	for _, dec := range []func(string) ([]byte, error){
		base64.StdEncoding.DecodeString, base64.RawURLEncoding.DecodeString,
		base64.RawStdEncoding.DecodeString, base64.URLEncoding.DecodeString, hex.DecodeString,
	} {
		if b, err := dec(header); err == nil && subtle.ConstantTimeCompare(b, sum) == 1 {
			return true
		}
	}
	return false
}
