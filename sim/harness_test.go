package sim

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/clocktest"
)

const (
	tenantA = "11111111-1111-4111-8111-111111111111"
	tenantB = "22222222-2222-4222-8222-222222222222"
	appA    = "aaaaaaaa-0000-4000-8000-00000000000a"
	appB    = "bbbbbbbb-0000-4000-8000-00000000000b"
	secretA = "secret-a"
	secretB = "secret-b"
)

// harness is a simulator serving HTTPS on a loopback port, with tenants A
// (a.onmicrosoft.com) and B (b.onmicrosoft.com), one app each.
type harness struct {
	t      testing.TB
	s      *Server
	url    string
	client *http.Client
	clock  *clocktest.Clock
}

func startSim(t testing.TB, opts Options) *harness {
	t.Helper()
	clock := clocktest.New(time.Time{})
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	s := New(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.ServeTLS(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	h := &harness{t: t, s: s, url: "https://" + ln.Addr().String(), client: s.Client(), clock: clock}
	for _, x := range []struct{ id, domain, app, secret string }{
		{tenantA, "a.onmicrosoft.com", appA, secretA}, {tenantB, "b.onmicrosoft.com", appB, secretB},
	} {
		if _, err := s.CreateTenant(x.id, x.domain); err != nil {
			t.Fatal(err)
		}
		if err := s.AddApp(x.id, x.app, x.secret); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func (h *harness) graph(tenant string) string { return h.url + "/graph/" + tenant + "/v1.0" }

// token runs the client credentials grant by hand.
func (h *harness) token(tenant, clientID, secret string) string {
	h.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret},
		"scope": {"https://graph.microsoft.com/.default"}}
	resp, body := h.send(http.MethodPost, h.url+"/"+tenant+"/oauth2/v2.0/token", "",
		strings.NewReader(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("token: %d %s", resp.StatusCode, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	mustUnmarshal(h.t, body, &tok)
	return tok.AccessToken
}

func (h *harness) tokenA() string { return h.token(tenantA, appA, secretA) }

func (h *harness) send(method, u, token string, body io.Reader, hdr map[string]string) (*http.Response, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp, b
}

// call sends v as JSON (nil: no body) and returns status and body.
func (h *harness) call(method, u, token string, v any) (*http.Response, []byte) {
	h.t.Helper()
	var body io.Reader
	hdr := map[string]string{}
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			h.t.Fatal(err)
		}
		body = bytes.NewReader(b)
		hdr["Content-Type"] = "application/json"
	}
	return h.send(method, u, token, body, hdr)
}

func gzipJSON(t *testing.T, v any) io.Reader {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(v); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func mustUnmarshal(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

// graphErrorCode reads error.code from a Graph error body.
func graphErrorCode(t testing.TB, b []byte) string {
	t.Helper()
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	mustUnmarshal(t, b, &e)
	return e.Error.Code
}

// deltaResponse is one users/delta page.
type deltaResponse struct {
	NextLink  string           `json:"@odata.nextLink"`
	DeltaLink string           `json:"@odata.deltaLink"`
	Value     []map[string]any `json:"value"`
}

// deltaRound follows nextLinks from u to the deltaLink and returns every
// page.
func (h *harness) deltaRound(u, token string, hdr map[string]string) []deltaResponse {
	h.t.Helper()
	var pages []deltaResponse
	for u != "" {
		resp, body := h.send(http.MethodGet, u, token, nil, hdr)
		if resp.StatusCode != http.StatusOK {
			h.t.Fatalf("GET %s: %d %s", u, resp.StatusCode, body)
		}
		var p deltaResponse
		mustUnmarshal(h.t, body, &p)
		if p.NextLink != "" && p.DeltaLink != "" {
			h.t.Fatalf("a page has both nextLink and deltaLink")
		}
		pages = append(pages, p)
		u = p.NextLink
		if len(pages) > 10000 {
			h.t.Fatal("delta round does not end")
		}
	}
	return pages
}

func lastLink(t *testing.T, pages []deltaResponse) string {
	t.Helper()
	l := pages[len(pages)-1].DeltaLink
	if l == "" {
		t.Fatal("last page has no deltaLink")
	}
	return l
}

func ids(pages []deltaResponse) []string {
	var out []string
	for _, p := range pages {
		for _, v := range p.Value {
			out = append(out, v["id"].(string))
		}
	}
	return out
}

func seedA(t *testing.T, h *harness, n int) []User {
	t.Helper()
	users, err := h.s.SeedUsers(tenantA, SeedSpec{Count: n, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	return users
}
