package graph

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/sim"
)

// The subscription calls run against the tenant simulator, an independent
// implementation of Graph's subscription API with its validation handshake.

const (
	simTenantID = "5e1d0c2b-3a49-4f6e-8d7c-1b2a3c4d5e01"
	simClientID = "0c5a1f3e-6b7d-4e8f-9a0b-1c2d3e4f5a11"
	simSecret   = "graph-test-secret"
	simTenant   = "source"
)

type simGraph struct {
	sim    *sim.Server
	client *Client
	// endpoint answers the validation handshake (and 202 to anything else).
	endpoint *httptest.Server
}

func newSimGraph(t *testing.T) *simGraph {
	t.Helper()
	s, base := startSim(t, sim.Options{})
	c, err := New(map[string]Endpoint{simTenant: simEndpoint(t, s, base, simTenantID, "source.onmicrosoft.com", simClientID, simSecret)},
		Options{HTTPClient: s.Client()})
	if err != nil {
		t.Fatal(err)
	}
	ep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.URL.Query().Get("validationToken"); tok != "" && !strings.Contains(r.URL.Path, "refuse") {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, tok)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(ep.Close)
	return &simGraph{sim: s, client: c, endpoint: ep}
}

func (g *simGraph) request(expires time.Time) galsync.Subscription {
	return galsync.Subscription{Tenant: simTenant, TenantID: simTenantID, Resource: "users", ChangeType: "updated,deleted",
		NotificationURL: g.endpoint.URL + "/api/notify", LifecycleURL: g.endpoint.URL + "/api/lifecycle",
		ClientState: "kept-in-the-store", ExpiresAt: expires}
}

func TestSubscriptionLifeAgainstTheSimulator(t *testing.T) {
	g := newSimGraph(t)
	ctx := testContext(t)
	expires := time.Now().Add(41760*time.Minute - time.Hour).Truncate(time.Second)

	created, err := g.client.CreateSubscription(ctx, simTenant, g.request(expires))
	if err != nil {
		t.Fatal(err)
	}
	if created.ID == "" || !created.ExpiresAt.Equal(expires) || created.ClientState != "kept-in-the-store" || created.Resource != "users" {
		t.Fatalf("created = %+v", created)
	}
	subs, err := g.sim.Subscriptions(simTenantID)
	if err != nil || len(subs) != 1 || subs[0].ID != created.ID || subs[0].LifecycleNotificationURL != g.endpoint.URL+"/api/lifecycle" {
		t.Fatalf("simulator's subscriptions = %+v, %v", subs, err)
	}

	got, err := g.client.GetSubscription(ctx, simTenant, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != created.ID || !got.ExpiresAt.Equal(expires) || got.ChangeType != "updated,deleted" ||
		got.NotificationURL != g.endpoint.URL+"/api/notify" || got.Tenant != simTenant {
		t.Errorf("got = %+v", got)
	}

	later := expires.Add(30 * time.Minute)
	renewed, err := g.client.RenewSubscription(ctx, simTenant, created.ID, later)
	if err != nil {
		t.Fatal(err)
	}
	if !renewed.Equal(later) {
		t.Errorf("renewed to %s, want %s", renewed, later)
	}
	if err := g.client.ReauthorizeSubscription(ctx, simTenant, created.ID); err != nil {
		t.Fatal(err)
	}
	subs, _ = g.sim.Subscriptions(simTenantID)
	if len(subs) != 1 || subs[0].Renewed != 1 || subs[0].Reauthorized != 1 || !subs[0].ExpirationDateTime.Equal(later) {
		t.Errorf("simulator's subscription = %+v", subs)
	}

	if err := g.client.DeleteSubscription(ctx, simTenant, created.ID); err != nil {
		t.Fatal(err)
	}
	// Gone: every call says ErrNotFound, which the manager turns into
	// "create it again".
	_, errGet := g.client.GetSubscription(ctx, simTenant, created.ID)
	_, errRenew := g.client.RenewSubscription(ctx, simTenant, created.ID, later)
	errReauth := g.client.ReauthorizeSubscription(ctx, simTenant, created.ID)
	errDelete := g.client.DeleteSubscription(ctx, simTenant, created.ID)
	for name, err := range map[string]error{"get": errGet, "renew": errRenew, "reauthorize": errReauth, "delete": errDelete} {
		if !errors.Is(err, galsync.ErrNotFound) {
			t.Errorf("%s of a deleted subscription: %v, want ErrNotFound", name, err)
		}
	}

	// What went over the wire: the documented body, without a clientState
	// in the simulator's log.
	reqs := g.sim.FindRequests(sim.RequestFilter{Kind: "subscriptions"})
	if len(reqs) < 5 || reqs[0].Method != http.MethodPost || reqs[0].Path != "/graph/"+simTenantID+"/v1.0/subscriptions" {
		t.Fatalf("requests = %+v", reqs)
	}
	for _, want := range []string{`"changeType":"updated,deleted"`, `"resource":"users"`, `"expirationDateTime":"` + expires.UTC().Format(graphDateTime) + `"`,
		`"lifecycleNotificationUrl":"` + g.endpoint.URL + `/api/lifecycle"`} {
		if !strings.Contains(string(reqs[0].Body), want) {
			t.Errorf("create body %s lacks %s", reqs[0].Body, want)
		}
	}
	var reauth bool
	for _, r := range reqs {
		reauth = reauth || r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/subscriptions/"+created.ID+"/reauthorize")
	}
	if !reauth {
		t.Errorf("no POST /subscriptions/{id}/reauthorize in %+v", reqs)
	}
}

func TestCreateSubscriptionRefusals(t *testing.T) {
	g := newSimGraph(t)
	ctx := testContext(t)
	// An endpoint that fails the validation handshake: Graph answers 400,
	// which no retry cures.
	req := g.request(time.Now().Add(time.Hour))
	req.NotificationURL = g.endpoint.URL + "/refuse"
	if _, err := g.client.CreateSubscription(ctx, simTenant, req); !galsync.IsPermanent(err) || !strings.Contains(err.Error(), "400") {
		t.Errorf("failed validation: %v", err)
	}
	// Longer than Graph allows for users.
	req = g.request(time.Now().Add(41761 * time.Minute))
	if _, err := g.client.CreateSubscription(ctx, simTenant, req); !galsync.IsPermanent(err) {
		t.Errorf("too long: %v", err)
	}
	if _, err := g.client.CreateSubscription(ctx, simTenant, galsync.Subscription{Resource: "users"}); !galsync.IsPermanent(err) {
		t.Errorf("incomplete request: %v", err)
	}
	if _, err := g.client.CreateSubscription(ctx, "nowhere", g.request(time.Now().Add(time.Hour))); !galsync.IsPermanent(err) {
		t.Errorf("unknown tenant: %v", err)
	}
	if err := g.client.DeleteSubscription(ctx, simTenant, ""); !galsync.IsPermanent(err) {
		t.Errorf("empty id: %v", err)
	}
	if subs, _ := g.sim.Subscriptions(simTenantID); len(subs) != 0 {
		t.Errorf("subscriptions after refusals: %+v", subs)
	}
}
