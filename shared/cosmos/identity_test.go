package cosmos_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/galsync/galsync/shared/config"
	"github.com/galsync/galsync/shared/cosmos"
	"github.com/galsync/galsync/shared/cosmos/cosmostest"
	"github.com/galsync/galsync/shared/galsync"
)

// fakeCredential hands out a fixed token and records the scopes asked for.
type fakeCredential struct {
	mu     sync.Mutex
	scopes [][]string
}

func (c *fakeCredential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scopes = append(c.scopes, o.Scopes)
	return azcore.AccessToken{Token: "fake-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// TestIdentityConnection drives the identity-based configuration
// (GALSYNC_COSMOS__accountEndpoint) over the wire: a TLS proxy in front of
// the stand-in (bearer tokens need https) checks that every request
// carries the credential's token for the account's scope.
func TestIdentityConnection(t *testing.T) {
	target, err := url.Parse(strings.TrimPrefix(strings.Split(cosmostest.Start(t), ";")[0], "AccountEndpoint="))
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		auths []string
	)
	proxy := httputil.NewSingleHostReverseProxy(target)
	tlsFront := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	defer tlsFront.Close()
	// The account document names the regional endpoints the client then
	// uses: make them the proxy's, as Cosmos DB's name its own.
	front := strings.TrimPrefix(tlsFront.URL, "https://")
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.URL.Path != "/" {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		body = bytes.ReplaceAll(body, []byte(target.Host), []byte(front))
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}

	cfg, err := cosmos.ConfigFromEnv(env{
		config.CosmosConnection + config.AccountEndpoint: tlsFront.URL + "/",
		config.CosmosConnection + config.ClientID:        "11111111-1111-1111-1111-111111111111",
	}.get)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.KeyAuth() {
		t.Fatal("identity configuration uses a key")
	}
	cred := &fakeCredential{}
	s, err := cosmos.Open(t.Context(), cfg, cosmos.Options{Credential: cred, Transport: tlsFront.Client(), EnsureContainers: true})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	c, err := s.PutCursor(t.Context(), galsync.Cursor{Direction: "a-to-b", NextSeq: 7})
	if err != nil {
		t.Fatalf("put cursor: %v", err)
	}
	if got, err := s.GetCursor(t.Context(), "a-to-b"); err != nil || got.NextSeq != 7 || got.ETag != c.ETag {
		t.Fatalf("get cursor: %+v, %v", got, err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(auths) == 0 {
		t.Fatal("no request went through the proxy")
	}
	for _, a := range auths {
		if a != "type=aad&ver=1.0&sig=fake-token" {
			t.Fatalf("request authorized with %q, want the credential's token", a)
		}
	}
	wantScope := []string{"https://127.0.0.1/.default"}
	cred.mu.Lock()
	defer cred.mu.Unlock()
	for _, sc := range cred.scopes {
		if !slices.Equal(sc, wantScope) {
			t.Errorf("token asked for scopes %v, want %v", sc, wantScope)
		}
	}
}
