package graph

import (
	"context"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// countingCredential hands out numbered tokens that expire after life.
type countingCredential struct {
	now   func() time.Time
	life  time.Duration
	calls []policy.TokenRequestOptions
}

func (c *countingCredential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.calls = append(c.calls, o)
	return azcore.AccessToken{Token: "t" + string(rune('0'+len(c.calls))), ExpiresOn: c.now().Add(c.life)}, nil
}

// TestReusedToken: one token serves every request for the same scopes
// until five minutes before it expires; a claims challenge and other
// scopes go to the credential.
func TestReusedToken(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	cred := &countingCredential{now: func() time.Time { return now }, life: time.Hour}
	r := reuseToken(cred)
	r.now = func() time.Time { return now }
	ctx := context.Background()
	graphScope := policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}, EnableCAE: true}
	get := func(o policy.TokenRequestOptions) string {
		t.Helper()
		tok, err := r.GetToken(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		return tok.Token
	}
	if a, b := get(graphScope), get(graphScope); a != "t1" || b != "t1" || len(cred.calls) != 1 {
		t.Fatalf("tokens %s, %s after %d credential calls; want t1 twice after 1", a, b, len(cred.calls))
	}
	withClaims := graphScope
	withClaims.Claims = `{"access_token":{"nbf":{"essential":true}}}`
	if tok := get(withClaims); tok != "t2" || cred.calls[1].Claims == "" {
		t.Errorf("a claims challenge got %s; want a token the credential made with the claims", tok)
	}
	if tok := get(policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.us/.default"}}); tok != "t3" {
		t.Errorf("other scopes got %s, want t3 from the credential", tok)
	}
	if tok := get(graphScope); tok != "t4" {
		t.Errorf("back to the first scopes got %s, want t4: one token is kept", tok)
	}
	now = now.Add(54 * time.Minute) // t4 expires at 60 minutes
	if tok := get(graphScope); tok != "t4" {
		t.Errorf("six minutes before expiry got %s, want t4 again", tok)
	}
	now = now.Add(2 * time.Minute)
	if tok := get(graphScope); tok != "t5" {
		t.Errorf("four minutes before expiry got %s, want t5 (five minutes' margin)", tok)
	}
}
