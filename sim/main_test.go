package sim

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to write from Main's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitForFile(t *testing.T, path string, done <-chan error) []byte {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("Main returned early: %v", err)
		default:
		}
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return b
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not appear", path)
	return nil
}

func TestMainServesSourceAndTarget(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Main(ctx, []string{"--listen", "127.0.0.1:0", "--state-dir", dir, "--source-users", "200", "--seed", "3"}, &stdout, &stderr)
	}()
	topo := waitForFile(t, filepath.Join(dir, "topology.json"), done)

	var doc struct {
		Tenants []struct {
			GraphBaseURL  string `json:"graphBaseUrl"`
			AuthorityHost string `json:"authorityHost"`
		} `json:"tenants"`
	}
	mustUnmarshal(t, topo, &doc)
	base := strings.TrimSuffix(doc.Tenants[0].AuthorityHost, "/")
	checkTopology(t, topo, base)
	if !strings.Contains(stdout.String(), base) || !strings.Contains(stdout.String(), "/control/tenants") {
		t.Errorf("stdout lacks the URL or the control API:\n%s", stdout.String())
	}

	client := clientTrusting(t, filepath.Join(dir, "cert.pem"))
	secrets := readSecrets(t, filepath.Join(dir, "secrets.env"))
	tok := grant(t, client, base, sourceTenantID, sourceClientID, secrets["GALSYNC_SIM_SOURCE_SECRET"])
	users := fullRound(t, client, base+"/graph/"+sourceTenantID+"/v1.0/users/delta?$select=mail,accountEnabled,creationType,userType", tok)
	var guests, disabled, noMail int
	for _, u := range users {
		if u["creationType"] == "Invitation" {
			guests++
		}
		if u["accountEnabled"] == false {
			disabled++
		}
		if u["mail"] == nil {
			noMail++
		}
	}
	if len(users) != 200 || guests != 10 || disabled != 4 || noMail != 2 {
		t.Errorf("source: %d users, %d guests, %d disabled, %d without mail; want 200, 10, 4, 2", len(users), guests, disabled, noMail)
	}
	grant(t, client, base, targetTenantID, targetClientID, secrets["GALSYNC_SIM_TARGET_SECRET"])

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Main: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Main did not stop after cancel")
	}
}

// checkTopology compares the document with the exact shape galsync reads.
func checkTopology(t *testing.T, got []byte, base string) {
	t.Helper()
	tenant := func(name, id, domain, client, setting string) map[string]any {
		return map[string]any{"name": name, "tenantId": id, "cloud": "public", "domain": domain,
			"graphBaseUrl": base + "/graph/" + id + "/v1.0", "authorityHost": base + "/",
			"auth": map[string]any{"method": "clientSecret", "clientId": client, "clientSecretSetting": setting}}
	}
	want := map[string]any{
		"tenants": []any{
			tenant("source", sourceTenantID, "source.onmicrosoft.com", sourceClientID, "GALSYNC_SIM_SOURCE_SECRET"),
			tenant("target", targetTenantID, "target.onmicrosoft.com", targetClientID, "GALSYNC_SIM_TARGET_SECRET"),
		},
		"directions": []any{map[string]any{"name": "source-to-target", "source": "source", "target": "target",
			"userType": "Guest", "inviteRedirectUrl": "https://myapps.microsoft.com",
			"deprovision": map[string]any{"action": "disable", "threshold": map[string]any{"percent": 20}}}},
	}
	wantJSON, _ := json.Marshal(want)
	var g any
	mustUnmarshal(t, got, &g)
	gotJSON, _ := json.Marshal(g)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("topology.json:\n got %s\nwant %s", gotJSON, wantJSON)
	}
}

func clientTrusting(t *testing.T, certFile string) *http.Client {
	t.Helper()
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	if block, _ := pem.Decode(pemBytes); block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("cert.pem holds no certificate")
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

func readSecrets(t *testing.T, path string) map[string]string {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("secrets.env mode %v, want 0600", st.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		out[k] = v
	}
	if len(out) != 2 || out["GALSYNC_SIM_SOURCE_SECRET"] == "" || out["GALSYNC_SIM_TARGET_SECRET"] == "" {
		t.Fatalf("secrets.env = %q", b)
	}
	return out
}

func grant(t *testing.T, c *http.Client, base, tenant, client, secret string) string {
	t.Helper()
	resp, err := c.PostForm(base+"/"+tenant+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {client}, "client_secret": {secret}, "scope": {"https://graph.microsoft.com/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token for %s: %d %s", tenant, resp.StatusCode, b)
	}
	mustUnmarshal(t, b, &tok)
	return tok.AccessToken
}

func fullRound(t *testing.T, c *http.Client, u, tok string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for u != "" {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
		}
		var p deltaResponse
		mustUnmarshal(t, b, &p)
		out = append(out, p.Value...)
		u = p.NextLink
	}
	return out
}

func TestMainRejectsBadFlags(t *testing.T) {
	var stderr bytes.Buffer
	if err := Main(context.Background(), []string{"--no-such-flag"}, io.Discard, &stderr); err == nil {
		t.Error("Main accepted an unknown flag")
	}
	if err := Main(context.Background(), []string{"--listen", "256.0.0.1:1", "--state-dir", t.TempDir()}, io.Discard, &stderr); err == nil {
		t.Error("Main accepted an address it cannot listen on")
	}
}

func TestMainDirectoryFlags(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Main(ctx, []string{"--listen", "127.0.0.1:0", "--state-dir", dir, "--source-users", "0",
			"--replication-delay", "2500ms", "--mail-user-address-list-read-only"}, &stdout, &stderr)
	}()
	topo := waitForFile(t, filepath.Join(dir, "topology.json"), done)
	var doc struct {
		Tenants []struct {
			AuthorityHost string `json:"authorityHost"`
		} `json:"tenants"`
	}
	mustUnmarshal(t, topo, &doc)
	resp, err := clientTrusting(t, filepath.Join(dir, "cert.pem")).Get(doc.Tenants[0].AuthorityHost + "control/directory")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var d DirectorySettings
	mustUnmarshal(t, b, &d)
	if d.ReplicationDelayMS != 2500 || !d.MailUserAddressListReadOnly {
		t.Errorf("directory settings from flags: %s", b)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Main: %v", err)
	}
}
