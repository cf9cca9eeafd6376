// Package sim is a tenant simulator: a stand-in for the Microsoft Entra
// token endpoint and the parts of Microsoft Graph v1.0 galsync uses (users,
// users/delta with managers, invitations and conversions, groups and
// groups/delta, subscriptions, JSON $batch), for any number of tenants,
// behind one HTTPS listener. It is written from Microsoft's documentation and imports nothing
// from the product, so the product is tested against an independent
// implementation rather than its own assumptions.
//
// Layout of one listener:
//
//	/{tenant}/v2.0/.well-known/openid-configuration   Entra OIDC metadata
//	/{tenant}/oauth2/v2.0/token                        client credentials grant
//	/graph/{tenant}/v1.0/...                           Graph for that tenant
//	/control/...                                       test control API (no auth)
//	/redeem                                            inviteRedeemUrl: accepts an invitation
//
// The control API (routes.go) stages tenants, apps, users and faults and
// reports the requests galsync made; every operation is also a method on
// Server for in-process tests. It has no authentication: listen on
// loopback only.
package sim

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Options configure a Server. Zero values mean the documented defaults.
type Options struct {
	// Now is the simulator's clock: delta token age, throttling windows,
	// createdDateTime. Tests inject a fake one.
	Now func() time.Time
	// PageSize is the number of users per users/delta and users page (100).
	PageSize int
	// DeltaTokenLifetime is how long a delta link stays usable; Graph keeps
	// directory delta tokens for seven days (delta-query-overview, "Token duration").
	DeltaTokenLifetime time.Duration
	// ThrottleScale multiplies every documented throttling limit and its
	// window (1 = Microsoft's numbers). 0.01 turns "150 invitations per 5 s"
	// into "2 per 50 ms" so tests reach the limit quickly.
	ThrottleScale float64
	// Seed makes generated object ids and fault injection repeatable.
	Seed uint64
	// MaxRequests bounds the request log (100,000); the oldest are dropped.
	MaxRequests int
	// NotificationDelay holds every change notification back this long
	// after its change (0: none); the control API changes it too.
	NotificationDelay time.Duration
	// NotificationBatch: changes within this interval go out in one POST
	// per endpoint (100 ms).
	NotificationBatch time.Duration
	// ReplicationDelay hides a user just created by an invitation (or
	// converted by one, or created through the control API) from Graph
	// reads and writes for this long (0: none); see DirectorySettings.
	ReplicationDelay time.Duration
	// MailUserAddressListReadOnly refuses showInAddressList in a PATCH of
	// a user with mail; see DirectorySettings.
	MailUserAddressListReadOnly bool
	Logger                      *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PageSize <= 0 {
		o.PageSize = 100
	}
	if o.DeltaTokenLifetime <= 0 {
		o.DeltaTokenLifetime = 7 * 24 * time.Hour
	}
	if o.ThrottleScale <= 0 {
		o.ThrottleScale = 1
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.MaxRequests <= 0 {
		o.MaxRequests = 100_000
	}
	if o.NotificationBatch <= 0 {
		o.NotificationBatch = 100 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Server is a running (or ready to run) simulator. All methods are safe for
// concurrent use.
type Server struct {
	opts     Options
	log      *slog.Logger
	cert     tls.Certificate
	certPEM  []byte
	certErr  error
	tokenMAC []byte // keys the HMAC that makes page and delta tokens opaque
	ids      *idSource
	chance   *chanceSource
	handler  http.Handler

	mu      sync.RWMutex
	tenants map[string]*tenant // by lower-case id and by lower-case domain
	order   []*tenant
	tokens  map[string]accessToken

	requests *requestLog
	settings settingsBox

	// appBuckets are the throttling buckets of limits per app across all
	// tenants; the tenant's mu is taken first.
	appBucketsMu sync.Mutex
	appBuckets   map[string]*bucket

	// notif keeps the change-notification subscriptions and delivers
	// their notifications; subIDs makes their ids, apart from ids so that
	// subscribing does not change the users a seed makes.
	notif  *notifier
	subIDs *idSource

	srvMu    sync.Mutex
	srvs     []*http.Server
	shutdown bool
}

// New prepares a simulator with a fresh self-signed certificate for
// 127.0.0.1 and localhost. It has no tenants yet.
func New(opts Options) *Server {
	opts = opts.withDefaults()
	s := &Server{
		opts:       opts,
		log:        opts.Logger,
		ids:        newIDSource(opts.Seed),
		chance:     newChanceSource(opts.Seed),
		tenants:    map[string]*tenant{},
		tokens:     map[string]accessToken{},
		requests:   newRequestLog(opts.MaxRequests),
		appBuckets: map[string]*bucket{},
		tokenMAC:   randomBytes(32),
		subIDs:     newIDSource(opts.Seed ^ 0x5ab5c41b710e5eed),
	}
	s.settings.set(DirectorySettings{ReplicationDelayMS: int(opts.ReplicationDelay / time.Millisecond),
		MailUserAddressListReadOnly: opts.MailUserAddressListReadOnly})
	s.notif = newNotifier(s, NotificationSettings{
		DelayMS: int(opts.NotificationDelay / time.Millisecond), BatchMS: int(opts.NotificationBatch / time.Millisecond)})
	// TLS clients check validity against the wall clock, not the simulated one.
	s.cert, s.certPEM, s.certErr = selfSignedCert(time.Now())
	s.handler = s.routes()
	return s
}

// CertPEM is the PEM of the listener's certificate; clients trust it.
func (s *Server) CertPEM() []byte { return s.certPEM }

// Handler serves the simulator without TLS (ServeTLS adds it).
func (s *Server) Handler() http.Handler { return s.handler }

// Client returns an HTTP client that trusts the simulator's certificate.
func (s *Server) Client() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.certPEM)
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	}}
}

// ServeTLS serves HTTPS on ln until Shutdown; it returns nil after a
// Shutdown, even one that came first. HTTP/2 is off so that a dropped-connection fault can hijack
// the connection and close it, as a failing front end would.
func (s *Server) ServeTLS(ln net.Listener) error {
	if s.certErr != nil {
		return fmt.Errorf("sim: certificate: %w", s.certErr)
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{s.cert}, MinVersion: tls.VersionTLS12},
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.srvMu.Lock()
	if s.shutdown { // Shutdown ran first: serve nothing
		s.srvMu.Unlock()
		_ = ln.Close()
		return nil
	}
	s.srvs = append(s.srvs, srv)
	s.srvMu.Unlock()
	err := srv.ServeTLS(ln, "", "")
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("sim: serve: %w", err)
}

// Shutdown stops every listener ServeTLS serves, waiting for requests and
// notification deliveries in flight until ctx ends; notifications not yet
// due are dropped. The server cannot serve again afterwards.
func (s *Server) Shutdown(ctx context.Context) error {
	s.srvMu.Lock()
	srvs := s.srvs
	s.srvs, s.shutdown = nil, true
	s.srvMu.Unlock()
	var errs []error
	if err := s.notif.close(ctx); err != nil {
		errs = append(errs, err)
	}
	for _, srv := range srvs {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sim: shutdown: %w", err)
	}
	return nil
}

func (s *Server) now() time.Time { return s.opts.Now() }
