package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/galsync/galsync/functions"
	"github.com/galsync/galsync/shared/config"
	"github.com/galsync/galsync/shared/cosmos/cosmostest"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/shared/servicebus/sbtest"
	"github.com/galsync/galsync/shared/store"
	"github.com/galsync/galsync/sim"
)

// The end-to-end harness: the tenant simulator in-process over TLS, and
// galsync run through its real entry points (run, buildApp, runLocal) with
// its configuration in the environment, as an operator would run it.

const (
	srcTenantID = "5e1d0c2b-3a49-4f6e-8d7c-1b2a3c4d5e01"
	dstTenantID = "7a9b8c6d-5e4f-4a3b-9c2d-1e0f2a3b4c02"
	srcClientID = "0c5a1f3e-6b7d-4e8f-9a0b-1c2d3e4f5a11"
	dstClientID = "2e4f6a8b-0c1d-4e3f-8a5b-7c9d1e3f5a22"
	direction   = "source-to-target"
)

type harness struct {
	t       testing.TB
	sim     *sim.Server
	base    string
	dir     string
	source  []sim.User // as seeded
	env     map[string]string
	simOpts sim.Options
}

type harnessOptions struct {
	seed             sim.SeedSpec
	deprovision      string  // none, disable, delete
	thresholdPercent float64 // 0: no threshold
	throttleScale    float64 // 0: throttling off
	pageSize         int
	// backend is "embedded" (default) or "azure": Service Bus (the repo's
	// AMQP test broker, driven by the real azservicebus client) and Cosmos
	// DB (the npm Cosmos server, driven by the real azcosmos client).
	backend string
	// replicationDelay hides a new guest from reads and writes this long
	// (Graph's replicas); 0 means defaultReplicationDelay, negative none.
	replicationDelay time.Duration
	// mapping replaces the default mapping; addressList sets the
	// direction's addressList.
	mapping     map[string]any
	addressList string
	// noPacing turns galsync's Graph pacing off, so a throttled simulator
	// answers 429 as often as Graph would to a client that does not pace.
	noPacing bool
	// extraTargets adds target tenants target2, target3, ... with a
	// direction from the source to each (a mesh).
	extraTargets int
	// direction holds more settings of the direction (existingMembers,
	// mirrorGroups, ...), as the topology document spells them.
	direction map[string]any
}

// extraTarget is the n-th extra target tenant (n from 2).
type extraTarget struct{ name, id, domain, client, setting, direction string }

func extraTargetOf(n int) extraTarget {
	return extraTarget{name: fmt.Sprintf("target%d", n), id: fmt.Sprintf("7a9b8c6d-5e4f-4a3b-9c2d-1e0f2a3b4c%02d", 10+n),
		domain: fmt.Sprintf("target%d.onmicrosoft.com", n), client: fmt.Sprintf("2e4f6a8b-0c1d-4e3f-8a5b-7c9d1e3f5a%02d", 30+n),
		setting: fmt.Sprintf("GALSYNC_E2E_TARGET%d_SECRET", n), direction: fmt.Sprintf("source-to-target%d", n)}
}

// defaultReplicationDelay is the directory replication delay the
// end-to-end tests run under: Graph documents that a new user may not show
// on every replica for a while, and the product must wait it out.
const defaultReplicationDelay = 2 * time.Second

// backendsUnderTest are the backends the core scenarios run on: the
// embedded ones. The Azure backends (Service Bus and Cosmos DB, through
// the real SDKs against the repository's test servers) run their
// conformance suites in their packages and one end-to-end smoke scenario
// here (TestAzureBackendsEndToEnd); GALSYNC_E2E_BACKENDS=embedded,azure
// runs every core scenario on both (make test-azure).
func backendsUnderTest() []string {
	if v := os.Getenv("GALSYNC_E2E_BACKENDS"); v != "" {
		return strings.Split(v, ",")
	}
	return []string{"embedded"}
}

// runOnBackends runs a scenario once per backend.
func runOnBackends(t *testing.T, scenario func(t *testing.T, backend string)) {
	for _, be := range backendsUnderTest() {
		t.Run(be, func(t *testing.T) { scenario(t, be) })
	}
}

func newHarness(t testing.TB, o harnessOptions) *harness {
	t.Helper()
	if o.pageSize == 0 {
		o.pageSize = 100
	}
	switch {
	case o.replicationDelay == 0:
		o.replicationDelay = defaultReplicationDelay
	case o.replicationDelay < 0:
		o.replicationDelay = 0
	}
	// MailUserAddressListReadOnly: Graph refuses showInAddressList on a
	// mail-enabled guest (cross-tenant synchronization's known issues).
	simOpts := sim.Options{PageSize: o.pageSize, Seed: o.seed.Seed + 1, ThrottleScale: o.throttleScale,
		ReplicationDelay: o.replicationDelay, MailUserAddressListReadOnly: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if o.throttleScale == 0 {
		simOpts.ThrottleScale = 1
	}
	s := sim.New(simOpts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.ServeTLS(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		<-served
	})
	h := &harness{t: t, sim: s, base: "https://" + ln.Addr().String(), dir: t.TempDir(), simOpts: simOpts, env: map[string]string{}}
	secrets := map[string]string{}
	tenants := []struct{ id, domain, client, setting string }{
		{srcTenantID, "source.onmicrosoft.com", srcClientID, "GALSYNC_E2E_SOURCE_SECRET"},
		{dstTenantID, "target.onmicrosoft.com", dstClientID, "GALSYNC_E2E_TARGET_SECRET"},
	}
	for n := 2; n < 2+o.extraTargets; n++ {
		x := extraTargetOf(n)
		tenants = append(tenants, struct{ id, domain, client, setting string }{x.id, x.domain, x.client, x.setting})
	}
	for _, tn := range tenants {
		if _, err := s.CreateTenant(tn.id, tn.domain); err != nil {
			t.Fatal(err)
		}
		secret := "e2e-secret-" + tn.client[:8]
		if err := s.AddApp(tn.id, tn.client, secret); err != nil {
			t.Fatal(err)
		}
		secrets[tn.setting] = secret
		if o.throttleScale == 0 {
			if err := s.SetFaults(tn.id, sim.Faults{DisableThrottling: true}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if o.seed.Count > 0 {
		if h.source, err = s.SeedUsers(srcTenantID, o.seed); err != nil {
			t.Fatal(err)
		}
	}
	cert := filepath.Join(h.dir, "cert.pem")
	if err := os.WriteFile(cert, s.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	topo := filepath.Join(h.dir, "topology.json")
	if err := os.WriteFile(topo, h.topology(o), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range secrets {
		h.setenv(k, v)
	}
	h.setenv("GALSYNC_TOPOLOGY_FILE", topo)
	h.setenv("GALSYNC_CA_FILE", cert)
	h.setenv("GALSYNC_DATA_DIR", filepath.Join(h.dir, "data"))
	h.setenv("GALSYNC_LOG_LEVEL", "warn")
	h.setenv("GALSYNC_MAX_DELIVERY_COUNT", "5")
	// galsync paces itself to the simulator's limits (its scale), or not
	// at all when the simulator does not throttle.
	if o.throttleScale == 0 || o.noPacing {
		h.setenv("GALSYNC_GRAPH_PACING", "false")
	} else {
		h.setenv("GALSYNC_GRAPH_PACING", "true")
		h.setenv("GALSYNC_GRAPH_BUDGET_SCALE", strconv.FormatFloat(o.throttleScale, 'g', -1, 64))
	}
	// Retries as in production but closer together, so tests wait less.
	h.setenv("GALSYNC_RETRY_MIN_DELAY", "500ms")
	// A new guest is read once the simulator's replication delay is past.
	h.setenv("GALSYNC_REPLICATION_WAIT", (o.replicationDelay + 250*time.Millisecond).String())
	h.setenv("GALSYNC_RETRY_MAX_DELAY", "5s")
	if o.backend == "azure" {
		queues := galsync.Queues()
		qo := queue.Options{LockDuration: 30 * time.Second, MaxDeliveryCount: 5, DuplicateDetectionWindow: 10 * time.Minute}
		h.setenv("GALSYNC_QUEUE_BACKEND", config.QueueServiceBus)
		h.setenv(config.ServiceBusConnection, sbtest.Start(t, queues, qo))
		h.setenv("GALSYNC_STORE_BACKEND", config.StoreCosmos)
		h.setenv(config.CosmosConnection, cosmostest.Start(t))
	}
	return h
}

// waitReplication waits until users created through the simulator's
// control API are visible to Graph reads (its replication delay).
func (h *harness) waitReplication() {
	time.Sleep(h.simOpts.ReplicationDelay)
}

func (h *harness) setenv(k, v string) {
	h.t.Setenv(k, v)
	h.env[k] = v
}

func (h *harness) topology(o harnessOptions) []byte {
	tenant := func(name, id, domain, client, setting string) map[string]any {
		return map[string]any{
			"name": name, "tenantId": id, "cloud": "public", "domain": domain,
			"graphBaseUrl": h.base + "/graph/" + id + "/v1.0", "authorityHost": h.base + "/",
			"auth": map[string]any{"method": "clientSecret", "clientId": client, "clientSecretSetting": setting},
		}
	}
	deprov := map[string]any{"action": o.deprovision}
	if o.thresholdPercent > 0 {
		deprov["threshold"] = map[string]any{"percent": o.thresholdPercent}
	}
	dir := map[string]any{
		"name": direction, "source": "source", "target": "target", "userType": "Guest",
		"inviteRedirectUrl": "https://myapps.microsoft.com", "deprovision": deprov,
	}
	if o.mapping != nil {
		dir["mapping"] = o.mapping
	}
	if o.addressList != "" {
		dir["addressList"] = o.addressList
	}
	maps.Copy(dir, o.direction)
	tenants := []any{
		tenant("source", srcTenantID, "source.onmicrosoft.com", srcClientID, "GALSYNC_E2E_SOURCE_SECRET"),
		tenant("target", dstTenantID, "target.onmicrosoft.com", dstClientID, "GALSYNC_E2E_TARGET_SECRET"),
	}
	directions := []any{dir}
	for n := 2; n < 2+o.extraTargets; n++ {
		x := extraTargetOf(n)
		tenants = append(tenants, tenant(x.name, x.id, x.domain, x.client, x.setting))
		more := maps.Clone(dir)
		more["name"], more["target"] = x.direction, x.name
		directions = append(directions, more)
	}
	doc := map[string]any{"tenants": tenants, "directions": directions}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

// sync runs one complete cycle: `galsync local --once`, pulling every
// direction and working until every queue is idle. It returns run's error
// (nil when nothing was dead-lettered) and the output.
func (h *harness) sync() (string, error) {
	h.t.Helper()
	return h.syncWith(nil)
}

// syncWith is sync with a hook that may rewire the built app (tests wrap
// its queue sender).
func (h *harness) syncWith(rewire func(*app)) (string, error) {
	h.t.Helper()
	return h.run(localOptions{functions: functions.FS, noTimers: true, once: true}, rewire)
}

// sweep runs one `galsync local --once --sweep`: pulls, and a sweep of
// every direction.
func (h *harness) sweep() (string, error) {
	h.t.Helper()
	return h.run(localOptions{functions: functions.FS, noTimers: true, once: true, sweep: true}, nil)
}

// run runs galsync local with o until it exits.
func (h *harness) run(o localOptions, rewire func(*app)) (string, error) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	a, err := buildApp(os.Getenv, &errb)
	if err != nil {
		h.t.Fatalf("buildApp: %v\n%s", err, errb.String())
	}
	if rewire != nil {
		rewire(a)
	}
	err = runLocal(ctx, a, o, os.Getenv, &out)
	if cerr := a.Close(); cerr != nil {
		h.t.Fatalf("close: %v", cerr)
	}
	if ctx.Err() != nil {
		h.t.Fatalf("sync did not finish in time:\n%s\n%s", out.String(), errb.String())
	}
	return out.String() + errb.String(), err
}

// mustSync is sync that fails the test on any error.
func (h *harness) mustSync() string {
	h.t.Helper()
	out, err := h.sync()
	if err != nil {
		h.t.Fatalf("sync: %v\n%s", err, out)
	}
	return out
}

// withBackends opens the configured queue and store (as galsync would),
// calls fn and closes them again, so a later sync can open the file.
func (h *harness) withBackends(fn func(*backends)) {
	h.t.Helper()
	s, err := config.LoadSettings()
	if err != nil {
		h.t.Fatal(err)
	}
	b, err := openBackends(context.Background(), s, os.Getenv, &http.Client{Timeout: time.Minute}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		h.t.Fatal(err)
	}
	defer b.Close()
	fn(b)
}

// guests returns the target's invited users by lower-cased mail.
func (h *harness) guests() map[string]sim.User {
	h.t.Helper()
	users, err := h.sim.Users(dstTenantID)
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]sim.User{}
	for _, u := range users {
		if u.CreationType != "Invitation" {
			continue
		}
		key := strings.ToLower(u.Mail)
		if _, dup := out[key]; dup {
			h.t.Errorf("two guests in the target for one address (user %s)", u.ID)
		}
		out[key] = u
	}
	return out
}

// inScope is the seeded source users the default scope syncs: members with
// a mail, enabled, not themselves invited guests.
func inScope(users []sim.User) []sim.User {
	var out []sim.User
	for _, u := range users {
		if u.CreationType == "Invitation" || u.Mail == "" || !u.AccountEnabled || strings.EqualFold(u.UserType, "Guest") {
			continue
		}
		out = append(out, u)
	}
	return out
}

// writes returns the target tenant's recorded write requests by kind
// (invitations, patch, delete) since the last reset.
func (h *harness) writes() map[string][]sim.Request {
	out := map[string][]sim.Request{}
	for _, r := range h.sim.FindRequests(sim.RequestFilter{Tenant: dstTenantID}) {
		switch r.Kind {
		case "invitations", "patch", "delete":
			if r.Status >= 200 && r.Status < 300 {
				out[r.Kind] = append(out[r.Kind], r)
			}
		}
	}
	return out
}

func countWrites(w map[string][]sim.Request) int {
	return len(w["invitations"]) + len(w["patch"]) + len(w["delete"])
}

// checkAttributes compares a guest with its source user on every attribute
// of the default mapping.
func checkAttributes(t testing.TB, src, guest sim.User) {
	t.Helper()
	type pair struct {
		name      string
		src, dest any
	}
	for _, p := range []pair{
		{"displayName", src.DisplayName, guest.DisplayName}, {"givenName", src.GivenName, guest.GivenName},
		{"surname", src.Surname, guest.Surname}, {"jobTitle", src.JobTitle, guest.JobTitle},
		{"department", src.Department, guest.Department}, {"companyName", src.CompanyName, guest.CompanyName},
		{"officeLocation", src.OfficeLocation, guest.OfficeLocation}, {"city", src.City, guest.City},
		{"country", src.Country, guest.Country}, {"mobilePhone", src.MobilePhone, guest.MobilePhone},
		{"employeeId", src.EmployeeID, guest.EmployeeID},
		{"businessPhones", strings.Join(src.BusinessPhones, ","), strings.Join(guest.BusinessPhones, ",")},
	} {
		if p.src != p.dest {
			t.Errorf("guest %s: %s = %q, source has %q", guest.ID, p.name, p.dest, p.src)
		}
	}
	if guest.ShowInAddressList != nil && *guest.ShowInAddressList {
		t.Errorf("guest %s: the default mapping wrote showInAddressList", guest.ID)
	}
	if guest.UserType != "Guest" {
		t.Errorf("guest %s: userType %q", guest.ID, guest.UserType)
	}
}

// logFor returns the provisioning log of the direction.
func logFor(t *testing.T, db store.Store, q galsync.LogQuery) []galsync.LogEntry {
	t.Helper()
	q.Direction = direction
	entries, err := db.QueryLog(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// lockedBuffer is a bytes.Buffer many goroutines write to.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// checkConverged: each user has exactly one guest, with its attributes.
func checkConverged(t testing.TB, h *harness, users []sim.User) {
	t.Helper()
	guests := h.guests() // fails the test on a second guest for an address
	if len(guests) != len(users) {
		t.Errorf("%d guests, want %d", len(guests), len(users))
	}
	for _, u := range users {
		g, ok := guests[strings.ToLower(u.Mail)]
		if !ok {
			t.Errorf("user %s has no guest", u.ID)
			continue
		}
		checkAttributes(t, u, g)
	}
}
