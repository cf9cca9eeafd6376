package graph

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// tokenReuseMargin: a token this close to its expiry is fetched again.
// azidentity itself refreshes five minutes before expiry.
const tokenReuseMargin = 5 * time.Minute

// reusedToken hands the same bearer token to every request of a tenant
// until it is due for a refresh, asking the credential only then. The SDK's
// authentication provider asks the credential on every request, and
// azidentity answers from its cache, but only after a lookup that cost
// about as much as the rest of sending a request. A request with claims (a
// Continuous Access Evaluation challenge) always goes to the credential.
type reusedToken struct {
	cred azcore.TokenCredential
	now  func() time.Time

	mu    sync.Mutex
	key   string
	token azcore.AccessToken
}

func reuseToken(cred azcore.TokenCredential) *reusedToken {
	return &reusedToken{cred: cred, now: time.Now}
}

// GetToken implements azcore.TokenCredential.
func (r *reusedToken) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if opts.Claims != "" {
		return r.cred.GetToken(ctx, opts)
	}
	key := tokenKey(opts)
	now := r.now()
	r.mu.Lock()
	if r.key == key && r.fresh(now) {
		t := r.token
		r.mu.Unlock()
		return t, nil
	}
	r.mu.Unlock()
	t, err := r.cred.GetToken(ctx, opts)
	if err != nil {
		return t, err
	}
	r.mu.Lock()
	r.key, r.token = key, t
	r.mu.Unlock()
	return t, nil
}

// fresh reports whether the kept token may still be handed out.
func (r *reusedToken) fresh(now time.Time) bool {
	if r.token.Token == "" || !now.Before(r.token.ExpiresOn.Add(-tokenReuseMargin)) {
		return false
	}
	return r.token.RefreshOn.IsZero() || now.Before(r.token.RefreshOn)
}

// tokenKey is what makes two requests ask for the same token.
func tokenKey(opts policy.TokenRequestOptions) string {
	scopes := slices.Clone(opts.Scopes)
	slices.Sort(scopes)
	cae := "0"
	if opts.EnableCAE {
		cae = "1"
	}
	return cae + "|" + opts.TenantID + "|" + strings.Join(scopes, " ")
}
