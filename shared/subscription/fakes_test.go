package subscription

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/clocktest"
	"github.com/galsync/galsync/shared/embedded"
	"github.com/galsync/galsync/shared/galsync"
)

// fakeGraph keeps subscriptions as Graph does: ids it made, an expiry of
// at most MaxLifetime, deleted once expired, 404 for what it does not have.
type fakeGraph struct {
	clock *clocktest.Clock

	mu    sync.Mutex
	subs  map[string]galsync.Subscription // by id
	calls []string                        // "create tenant", "renew id", ...
	next  int
	// failCreate makes CreateSubscription fail.
	failCreate error
}

func newFakeGraph(c *clocktest.Clock) *fakeGraph {
	return &fakeGraph{clock: c, subs: map[string]galsync.Subscription{}}
}

var errExpiry = errors.New("fake graph: expiry out of range")

func (g *fakeGraph) record(call string) { g.calls = append(g.calls, call) }

func (g *fakeGraph) live(id string) (galsync.Subscription, bool) {
	s, ok := g.subs[id]
	if ok && !g.clock.Now().Before(s.ExpiresAt) {
		delete(g.subs, id)
		return s, false
	}
	return s, ok
}

func (g *fakeGraph) checkExpiry(t time.Time) error {
	now := g.clock.Now()
	if !t.After(now) || t.Sub(now) > MaxLifetime {
		return galsync.Permanent(errExpiry)
	}
	return nil
}

func notFound(id string) error {
	return fmt.Errorf("fake graph: subscription %s: %w", id, galsync.ErrNotFound)
}

func (g *fakeGraph) CreateSubscription(_ context.Context, tenant string, sub galsync.Subscription) (galsync.Subscription, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.record("create " + tenant)
	if g.failCreate != nil {
		return sub, g.failCreate
	}
	if err := g.checkExpiry(sub.ExpiresAt); err != nil {
		return sub, err
	}
	if len(sub.ClientState) == 0 || len(sub.ClientState) > 128 || sub.Resource != "users" || sub.ChangeType != "updated,deleted" {
		return sub, galsync.Permanent(fmt.Errorf("fake graph: bad subscription %+v", sub))
	}
	g.next++
	sub.ID = fmt.Sprintf("sub-%d", g.next)
	g.subs[sub.ID] = sub
	return sub, nil
}

func (g *fakeGraph) GetSubscription(_ context.Context, tenant, id string) (galsync.Subscription, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.record("get " + id)
	s, ok := g.live(id)
	if !ok || s.Tenant != tenant {
		return galsync.Subscription{}, notFound(id)
	}
	return s, nil
}

func (g *fakeGraph) RenewSubscription(_ context.Context, tenant, id string, expiresAt time.Time) (time.Time, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.record("renew " + id)
	s, ok := g.live(id)
	if !ok || s.Tenant != tenant {
		return time.Time{}, notFound(id)
	}
	if err := g.checkExpiry(expiresAt); err != nil {
		return time.Time{}, err
	}
	s.ExpiresAt = expiresAt
	g.subs[id] = s
	return expiresAt, nil
}

func (g *fakeGraph) ReauthorizeSubscription(_ context.Context, tenant, id string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.record("reauthorize " + id)
	if s, ok := g.live(id); !ok || s.Tenant != tenant {
		return notFound(id)
	}
	return nil
}

func (g *fakeGraph) DeleteSubscription(_ context.Context, tenant, id string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.record("delete " + id)
	if s, ok := g.live(id); !ok || s.Tenant != tenant {
		return notFound(id)
	}
	delete(g.subs, id)
	return nil
}

// remove drops a subscription, as Graph does without telling.
func (g *fakeGraph) remove(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.subs, id)
}

func (g *fakeGraph) takeCalls() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.calls
	g.calls = nil
	return c
}

func (g *fakeGraph) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for id := range g.subs {
		if _, ok := g.live(id); ok {
			n++
		}
	}
	return n
}

// openStore opens a real embedded store in a temporary directory.
func openStore(t *testing.T, c *clocktest.Clock) *embedded.DB {
	t.Helper()
	db, err := embedded.Open(filepath.Join(t.TempDir(), "galsync.db"), embedded.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// failingStore fails every PutSubscription with err.
type failingStore struct {
	Store
	err error
}

func (s failingStore) PutSubscription(context.Context, galsync.Subscription) (galsync.Subscription, error) {
	return galsync.Subscription{}, s.err
}
