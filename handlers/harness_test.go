package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/galsync/galsync/functions"
	"github.com/galsync/galsync/shared/clocktest"
	"github.com/galsync/galsync/shared/embedded"
	"github.com/galsync/galsync/shared/funchost"
	"github.com/galsync/galsync/shared/funcproto"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/graph"
	"github.com/galsync/galsync/shared/pipeline"
	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/shared/subscription"
	"github.com/galsync/galsync/sim"
)

// The harness: the tenant simulator over TLS with three tenants; galsync's
// handlers wired as in production (real pipeline, Graph adapter, embedded
// queue and store, subscription manager); the local Functions host's HTTP
// front, which Graph (the simulator) posts to, in envelope mode; and
// helpers that post invocations encoded by funcproto's host-side encoders.
//
// Directions: source → target and partner → target. A notification from
// source concerns only the first.

const (
	sourceID  = "5e1d0c2b-3a49-4f6e-8d7c-1b2a3c4d5e01"
	targetID  = "7a9b8c6d-5e4f-4a3b-9c2d-1e0f2a3b4c02"
	partnerID = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e03"
	dirSource = "source-to-target"
	dirPartnr = "partner-to-target"
)

// logBuffer collects what galsync logs, to check what it leaves out.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is the harness. Its clock is the wall clock, shifted as the test
// says, shared by the simulator and galsync so that subscription expiries
// agree.
type env struct {
	t       testing.TB
	clock   *clocktest.Clock
	sim     *sim.Server
	db      *embedded.DB
	deps    Deps
	manager *subscription.Manager
	handler *httptest.Server // the custom handler
	front   *httptest.Server // the Functions host's HTTP front (/api/...)
	host    *funchost.Host
	logs    *logBuffer

	// notifyTimes are the notify endpoint's response times as Graph saw
	// them (notifications only, not validations); invoked counts the
	// invocations each function has received.
	mu          sync.Mutex
	notifyTimes []time.Duration
	invoked     map[string]int
}

type envOptions struct {
	notifyWindow time.Duration
	// noLifecycleURL leaves the subscriptions without lifecycleNotificationUrl.
	noLifecycleURL bool
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	e := &env{t: t, clock: clocktest.Wall(), logs: &logBuffer{}, invoked: map[string]int{}}
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	e.sim = sim.New(sim.Options{Now: e.clock.Now, Logger: slog.New(slog.DiscardHandler)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- e.sim.ServeTLS(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.sim.Shutdown(ctx)
		<-served
	})
	simBase := "https://" + ln.Addr().String()

	topo := galsync.Topology{}
	endpoints := map[string]graph.Endpoint{}
	for _, tn := range []struct{ name, id, domain string }{
		{"source", sourceID, "source.onmicrosoft.com"}, {"target", targetID, "target.onmicrosoft.com"},
		{"partner", partnerID, "partner.onmicrosoft.com"},
	} {
		if _, err := e.sim.CreateTenant(tn.id, tn.domain); err != nil {
			t.Fatal(err)
		}
		clientID, secret := strings.Replace(tn.id, tn.id[:8], "c1e47000", 1), "secret-"+tn.name
		if err := e.sim.AddApp(tn.id, clientID, secret); err != nil {
			t.Fatal(err)
		}
		if err := e.sim.SetFaults(tn.id, sim.Faults{DisableThrottling: true}); err != nil {
			t.Fatal(err)
		}
		cred, err := azidentity.NewClientSecretCredential(tn.id, clientID, secret, &azidentity.ClientSecretCredentialOptions{
			ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: simBase + "/"}, Transport: e.sim.Client()},
			DisableInstanceDiscovery: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		endpoints[tn.name] = graph.Endpoint{BaseURL: simBase + "/graph/" + tn.id + "/v1.0", Credential: cred,
			Scopes: []string{"https://graph.microsoft.com/.default"}}
		topo.Tenants = append(topo.Tenants, galsync.Tenant{Name: tn.name, TenantID: tn.id, Cloud: galsync.CloudPublic, Domain: tn.domain})
	}
	for _, d := range []struct{ name, src string }{{dirSource, "source"}, {dirPartnr, "partner"}} {
		topo.Directions = append(topo.Directions, galsync.Direction{Name: d.name, Source: d.src, Target: "target",
			InviteRedirectURL: "https://myapps.microsoft.com", Deprovision: galsync.Deprovision{Action: galsync.DeprovisionDisable}})
	}
	catalog, err := pipeline.NewCatalog(topo)
	if err != nil {
		t.Fatal(err)
	}
	gc, err := graph.New(endpoints, graph.Options{HTTPClient: e.sim.Client(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	e.db, err = embedded.Open(filepath.Join(t.TempDir(), "galsync.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.db.Close() })

	// The handler and the front listen before anything is wired, so the
	// subscriptions can name the front's URLs.
	e.handler = httptest.NewUnstartedServer(nil)
	e.front = httptest.NewUnstartedServer(nil)
	frontURL := "http://" + e.front.Listener.Addr().String()
	now := galsync.Clock(e.clock.Now)
	e.manager = &subscription.Manager{Graph: gc, Store: e.db, Tenants: subscription.SourceTenants(topo),
		NotificationURL: frontURL + "/api/notify", LifecycleURL: frontURL + "/api/lifecycle", Now: now, Logger: logger}
	if o.noLifecycleURL {
		e.manager.LifecycleURL = ""
	}
	e.deps = Deps{
		Directions: catalog,
		Puller: &pipeline.Puller{Directions: catalog, Store: e.db, Graph: gc, Queue: e.db, Now: now,
			Budget: 4 * time.Minute, Logger: logger},
		Inviter: &pipeline.Inviter{Directions: catalog, Store: e.db, Graph: gc, Now: now,
			ClaimTTL: 2 * time.Minute, Logger: logger},
		Updater: &pipeline.Updater{Directions: catalog, Store: e.db, Graph: gc, Now: now, Logger: logger},
		Sweeper: &pipeline.Sweeper{Directions: catalog, Store: e.db, Graph: gc, Queue: e.db, Now: now, Logger: logger},
		Retrier: &pipeline.Retrier{Queue: e.db, Log: e.db, Now: now, Logger: logger},
		Queue:   e.db, Now: now, Pulls: &pipeline.Coalescer{Queue: e.db, Now: now, Window: o.notifyWindow, TickWindow: 30 * time.Second},
		Subscriptions: e.manager, SubscriptionRecords: e.db,
		Logger: logger,
	}
	h := New(e.deps)
	e.handler.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.invoked[strings.TrimPrefix(r.URL.Path, "/")]++
		e.mu.Unlock()
		h.ServeHTTP(w, r)
	})
	e.handler.Start()
	t.Cleanup(e.handler.Close)

	fns, err := funchost.Load(functions.FS)
	if err != nil {
		t.Fatal(err)
	}
	fns, err = funchost.ResolveSettings(fns, nil, map[string]string{
		"GALSYNC_DELTA_SCHEDULE": "0 */5 * * * *", "GALSYNC_SUBSCRIPTION_SCHEDULE": "0 */30 * * * *",
		"GALSYNC_SWEEP_SCHEDULE": "0 30 2 * * *", "GALSYNC_FULL_SYNC_SCHEDULE": "0 30 3 * * 0"})
	if err != nil {
		t.Fatal(err)
	}
	e.host = &funchost.Host{Functions: fns, HandlerURL: e.handler.URL, Receiver: e.db, Logger: logger,
		Now: time.Now, DisableTimers: true, Concurrency: 4}
	front := e.host.HTTPHandler()
	e.front.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started := time.Now()
		front.ServeHTTP(w, r)
		if r.URL.Path == "/api/notify" && r.URL.Query().Get("validationToken") == "" {
			e.mu.Lock()
			e.notifyTimes = append(e.notifyTimes, time.Since(started))
			e.mu.Unlock()
		}
	})
	e.front.Start()
	t.Cleanup(e.front.Close)
	return e
}

// invocations is how many invocations function has received.
func (e *env) invocations(function string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.invoked[function]
}

// runHost runs the local host's queue workers (timers off) until the test
// ends.
func (e *env) runHost() {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.host.Run(ctx) }()
	e.t.Cleanup(func() {
		cancel()
		<-done
	})
}

// invoke posts an invocation payload to a function, as the host does, and
// returns the decoded answer. The host only accepts a 2xx JSON answer.
func (e *env) invoke(function string, payload []byte) (int, funcproto.Response) {
	e.t.Helper()
	return e.invokeAt(e.handler.URL, function, payload)
}

// invokeAt is invoke on another handler server.
func (e *env) invokeAt(base, function string, payload []byte) (int, funcproto.Response) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/"+function, io.NopCloser(bytes.NewReader(payload)))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set(funcproto.HeaderInvocationID, funcproto.NewGUID())
	req.Header.Set(funcproto.HeaderHostVersion, funchost.HostVersion)
	req.Header.Set("User-Agent", funcproto.UserAgentPrefix+"/"+funchost.HostVersion)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("invoke %s: %v", function, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		e.t.Fatalf("invoke %s: content type %q", function, resp.Header.Get("Content-Type"))
	}
	out, err := funcproto.DecodeResponse(b)
	if err != nil {
		e.t.Fatalf("invoke %s: %v: %s", function, err, b)
	}
	return resp.StatusCode, out
}

// postHTTP invokes an HTTP-trigger function with a request, encoded as the
// host encodes HTTP envelopes, and returns its http output.
func (e *env) postHTTP(function, rawQuery string, body []byte) funcproto.HTTPOutput {
	e.t.Helper()
	r := httptest.NewRequest(http.MethodPost, "https://galsync.example/api/"+strings.TrimPrefix(function, "graph-")+"?"+rawQuery, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	payload, err := funcproto.EncodeHTTP("req", r, body, map[string]string{}, funcproto.NewSys(function, time.Now()))
	if err != nil {
		e.t.Fatal(err)
	}
	status, resp := e.invoke(function, payload)
	if status != http.StatusOK {
		e.t.Fatalf("invoke %s: %d %v", function, status, resp.Logs)
	}
	out, err := resp.HTTPOutput("res")
	if err != nil {
		e.t.Fatalf("%s: %v (%v)", function, err, resp.Logs)
	}
	return out
}

// fireTimer invokes a timer-trigger function.
func (e *env) fireTimer(function string) (int, funcproto.Response) {
	e.t.Helper()
	payload, err := funcproto.EncodeTimer("timer", funcproto.TimerInfo{}, funcproto.NewSys(function, time.Now()))
	if err != nil {
		e.t.Fatal(err)
	}
	return e.invoke(function, payload)
}

// ensureSubscriptions runs subscription-timer once and returns the source
// tenant's record.
func (e *env) ensureSubscriptions() galsync.Subscription {
	e.t.Helper()
	if status, resp := e.fireTimer(FuncSubscriptionTimer); status != http.StatusOK {
		e.t.Fatalf("subscription-timer: %d %v", status, resp.Logs)
	}
	rec, err := e.db.GetSubscription(context.Background(), "source")
	if err != nil {
		e.t.Fatal(err)
	}
	return rec
}

// pulls peeks at the waiting pull requests.
func (e *env) pulls() []galsync.PullRequest {
	e.t.Helper()
	ds, err := e.db.Peek(context.Background(), galsync.QueuePulls, 0, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	out := make([]galsync.PullRequest, 0, len(ds))
	for _, d := range ds {
		p, err := galsync.DecodePullRequest(d.Body)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// receivePull takes the next pull message off the queue, locked.
func (e *env) receivePull(wait time.Duration) (queue.Delivery, bool) {
	e.t.Helper()
	ds, err := e.db.Receive(context.Background(), galsync.QueuePulls, 1, wait)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(ds) == 0 {
		return queue.Delivery{}, false
	}
	return ds[0], true
}

// deliver invokes the function a queue message triggers and settles the
// message as the host would.
func (e *env) deliver(function string, d queue.Delivery) funcproto.Response {
	e.t.Helper()
	payload, err := funcproto.EncodeServiceBus("msg", d, funcproto.NewSys(function, time.Now()))
	if err != nil {
		e.t.Fatal(err)
	}
	status, resp := e.invoke(function, payload)
	if status != http.StatusOK {
		e.t.Fatalf("%s: %d %v", function, status, resp.Logs)
	}
	if err := e.db.Complete(context.Background(), d); err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// notification is one change notification as Graph sends it.
func notification(rec galsync.Subscription, clientState, userID string) map[string]any {
	return map[string]any{
		"subscriptionId": rec.ID, "subscriptionExpirationDateTime": rec.ExpiresAt.Format(time.RFC3339Nano),
		"changeType": "updated", "resource": "Users/" + userID, "clientState": clientState, "tenantId": rec.TenantID,
		"resourceData": map[string]any{"@odata.type": "#Microsoft.Graph.User", "@odata.id": "Users/" + userID, "id": userID,
			"organizationId": rec.TenantID},
	}
}

func body(t testing.TB, items ...map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"value": items})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
