package sim

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"time"
)

// The tenants `galsync sim` creates. Fixed ids keep topology.json stable
// between runs; secrets are fresh each run.
const (
	sourceTenantID = "5e1d0c2b-3a49-4f6e-8d7c-1b2a3c4d5e01"
	targetTenantID = "7a9b8c6d-5e4f-4a3b-9c2d-1e0f2a3b4c02"
	sourceClientID = "0c5a1f3e-6b7d-4e8f-9a0b-1c2d3e4f5a11"
	targetClientID = "2e4f6a8b-0c1d-4e3f-8a5b-7c9d1e3f5a22"
)

// Main runs the simulator until ctx ends: it creates the "source" and
// "target" tenants, seeds the source, writes the state files galsync needs
// and serves HTTPS.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8443", "address to serve HTTPS on")
	stateDir := fs.String("state-dir", ".galsync-sim", "directory for cert.pem, topology.json and secrets.env")
	sourceUsers := fs.Int("source-users", 500, "users to seed in the source tenant (~5% guests, 2% disabled, 1% without mail)")
	seed := fs.Uint64("seed", 1, "seed for generated users and ids")
	pageSize := fs.Int("page-size", 100, "users per page")
	throttleScale := fs.Float64("throttle-scale", 1, "multiplier of Graph's throttling limits and windows")
	notifyDelay := fs.Duration("notify-delay", 0, "hold change notifications back this long after each change")
	notifyBatch := fs.Duration("notify-batch", 100*time.Millisecond, "changes within this interval go out in one notification POST")
	replication := fs.Duration("replication-delay", 0, "hide a user just invited, converted or created from Graph reads and writes this long (404 Request_ResourceNotFound)")
	addressList := fs.Bool("mail-user-address-list-read-only", false, "refuse showInAddressList in a PATCH of a user with mail, as Exchange Online owns it then")
	verbose := fs.Bool("v", false, "log every request (without addresses or tokens)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	s := New(Options{PageSize: *pageSize, ThrottleScale: *throttleScale, Seed: *seed, Logger: log,
		NotificationDelay: *notifyDelay, NotificationBatch: *notifyBatch, ReplicationDelay: *replication,
		MailUserAddressListReadOnly: *addressList})

	tenants, err := s.setUpTenants(*sourceUsers, *seed)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("sim: listen: %w", err)
	}
	base := "https://" + advertised(ln.Addr())
	if err := writeStateFiles(*stateDir, s.CertPEM(), topologyFor(base, tenants), tenants); err != nil {
		_ = ln.Close()
		return err
	}
	printUsage(stdout, base, *stateDir, tenants)

	served := make(chan error, 1)
	go func() { served <- s.ServeTLS(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(s.Shutdown(shutdownCtx), <-served)
}

func (s *Server) setUpTenants(sourceUsers int, seed uint64) ([]simTenant, error) {
	tenants := []simTenant{
		{name: "source", id: sourceTenantID, domain: "source.onmicrosoft.com", clientID: sourceClientID, secretSetting: "GALSYNC_SIM_SOURCE_SECRET"},
		{name: "target", id: targetTenantID, domain: "target.onmicrosoft.com", clientID: targetClientID, secretSetting: "GALSYNC_SIM_TARGET_SECRET"},
	}
	for i := range tenants {
		t := &tenants[i]
		t.secret = randomToken(30)
		if _, err := s.CreateTenant(t.id, t.domain); err != nil {
			return nil, err
		}
		if err := s.AddApp(t.id, t.clientID, t.secret); err != nil {
			return nil, err
		}
	}
	spec := SeedSpec{Count: sourceUsers, Guests: sourceUsers * 5 / 100, Disabled: sourceUsers * 2 / 100,
		NoMail: sourceUsers / 100, Seed: seed}
	if _, err := s.SeedUsers(sourceTenantID, spec); err != nil {
		return nil, err
	}
	return tenants, nil
}

// advertised is the host:port clients should use: a wildcard listen
// address is reached through the loopback address the certificate names.
func advertised(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	if tcp.IP == nil || tcp.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
	}
	return tcp.String()
}

func printUsage(w io.Writer, base, stateDir string, tenants []simTenant) {
	fmt.Fprintf(w, "galsync tenant simulator listening on %s\n\n", base)
	for _, t := range tenants {
		fmt.Fprintf(w, "  tenant %-7s %s (%s)  Graph: %s/graph/%s/v1.0\n", t.name, t.id, t.domain, base, t.id)
	}
	fmt.Fprintf(w, "\nState files in %s:\n", stateDir)
	for _, f := range []string{"cert.pem (trust it: SSL_CERT_FILE)", "topology.json (GALSYNC_TOPOLOGY_FILE)", "secrets.env (client secrets, mode 0600)"} {
		fmt.Fprintf(w, "  %s\n", filepath.Join(stateDir, f))
	}
	fmt.Fprintf(w, `
Control API (JSON, no auth), e.g. with curl --cacert %[2]s/cert.pem:
  GET    %[1]s/control/tenants
  POST   %[1]s/control/tenants                                {"id":"<guid>","domain":"x.onmicrosoft.com"}
  GET    %[1]s/control/tenants/{tenant}/users
  POST   %[1]s/control/tenants/{tenant}/users                 {"displayName":"..","mail":"..",...}
  PATCH  %[1]s/control/tenants/{tenant}/users/{id}            {"jobTitle":".."}
  DELETE %[1]s/control/tenants/{tenant}/users/{id}[?soft=true]
  GET|PUT|DELETE %[1]s/control/tenants/{tenant}/users/{id}/manager  {"managerId":".."}
  GET|POST %[1]s/control/tenants/{tenant}/groups             {"displayName":"..","members":["<id>",..]}
  GET|PATCH|DELETE %[1]s/control/tenants/{tenant}/groups/{id}[?soft=true]
  POST   %[1]s/control/tenants/{tenant}/groups/{id}/members   {"id":"<user or group id>"}
  DELETE %[1]s/control/tenants/{tenant}/groups/{id}/members/{member}
  POST   %[1]s/control/tenants/{tenant}/seed                  {"count":1000,"guests":50,"disabled":20,"noMail":10,"seed":1}
  POST   %[1]s/control/tenants/{tenant}/apps                  {"clientId":"..","secret":".."}
  POST   %[1]s/control/tenants/{tenant}/invalidate-delta-tokens
  GET|PUT %[1]s/control/tenants/{tenant}/faults               {"errorRate":0.1,"latencyMs":200,"dropRate":0.05,"kinds":["invitations"],"throttleScale":0.01}
  GET    %[1]s/control/requests?tenant=..&kind=..&since=..
  DELETE %[1]s/control/requests
  GET    %[1]s/control/stats?tenant=..
  GET    %[1]s/control/subscriptions?tenant=..
  DELETE %[1]s/control/subscriptions/{id}                   (removed silently)
  POST   %[1]s/control/subscriptions/{id}/lifecycle         {"event":"reauthorizationRequired|subscriptionRemoved|missed"}
  GET|PUT %[1]s/control/notifications                       {"delayMs":0,"batchMs":100}
  GET|PUT %[1]s/control/directory                           {"replicationDelayMs":0,"mailUserAddressListReadOnly":false}
`, base, stateDir)
}
