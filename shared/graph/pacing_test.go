package graph

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/pace"
)

// pacedClient is a client of f whose tenant has budget b.
func pacedClient(t *testing.T, f *fakeGraph, b pace.Budget, opts pace.Options) (*Client, *pace.Tenant) {
	t.Helper()
	p, err := pace.New(map[string]pace.Budget{testTenant: b}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return f.client(Options{Pacer: p}), p.Tenant(testTenant)
}

// waitThrottled returns once tn has adopted n 429s.
func waitThrottled(t *testing.T, tn *pace.Tenant, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for tn.Stats().Throttled < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d 429s adopted, want %d", tn.Stats().Throttled, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// find returns the requests to path, in order of arrival.
func find(reqs []recorded, method, path string) []recorded {
	var out []recorded
	for _, r := range reqs {
		if r.Method == method && r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// TestA429HoldsEveryWriterOfTheTenant: the writer that got the 429 and the
// writers that come after it all wait for its Retry-After; a read, which
// the write limit does not cover, does not.
func TestA429HoldsEveryWriterOfTheTenant(t *testing.T) {
	var throttled atomic.Bool
	f := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		switch {
		case r.Method == http.MethodPatch && strings.HasSuffix(r.URL.Path, "/users/a") && throttled.CompareAndSwap(false, true):
			w.Header().Set("Retry-After", "1")
			w.Header().Set("x-ms-throttle-scope", "Tenant_Application/Write/app/"+testTenant)
			writeJSON(w, http.StatusTooManyRequests, graphError("TooManyRequests", "Too many requests."))
		case r.Method == http.MethodGet:
			writeJSON(w, http.StatusOK, map[string]any{"id": "c"})
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	c, tn := pacedClient(t, f, pace.Budget{}, pace.Options{})
	ctx := testContext(t)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := c.UpdateUser(ctx, testTenant, "a", map[string]any{"city": "Oslo"}); err != nil {
			t.Error(err)
		}
	})
	waitThrottled(t, tn, 1)
	wg.Go(func() {
		if err := c.UpdateUser(ctx, testTenant, "b", map[string]any{"city": "Oslo"}); err != nil {
			t.Error(err)
		}
	})
	if _, err := c.GetUser(ctx, testTenant, "c", nil); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	reqs := f.requests()
	a, b, get := find(reqs, "PATCH", "/v1.0/users/a"), find(reqs, "PATCH", "/v1.0/users/b"), find(reqs, "GET", "/v1.0/users/c")
	if len(a) != 2 || len(b) != 1 || len(get) != 1 {
		t.Fatalf("%d, %d, %d requests for a, b, c; want 2, 1, 1", len(a), len(b), len(get))
	}
	if d := b[0].At.Sub(a[0].At); d < time.Second {
		t.Errorf("another writer went %v after the 429, before its Retry-After (1s)", d)
	}
	if d := a[1].At.Sub(a[0].At); d < time.Second {
		t.Errorf("the throttled write was retried after %v", d)
	}
	if !get[0].At.Before(a[1].At) {
		t.Errorf("the read waited for the write limit's Retry-After")
	}
}

// TestFractionalRetryAfterIsWaitedInFull: kiota waits whole seconds of a
// Retry-After; pacing holds the retry for the rest.
func TestFractionalRetryAfterIsWaitedInFull(t *testing.T) {
	var calls atomic.Int32
	f := newFakeGraph(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1.5")
			writeJSON(w, http.StatusTooManyRequests, graphError("TooManyRequests", "Too many requests."))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	c, _ := pacedClient(t, f, pace.Budget{}, pace.Options{})
	if err := c.UpdateUser(testContext(t), testTenant, "a", map[string]any{"city": "Oslo"}); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	if d := reqs[1].At.Sub(reqs[0].At); d < 1500*time.Millisecond {
		t.Errorf("retried after %v, before the 1.5 s Graph asked for", d)
	}
}

// TestLimitPercentageSlowsTheTenant: an answer saying the app has used its
// whole limit (x-ms-throttle-limit-percentage 1.0) empties the bucket,
// although this process alone has used one write of 300.
func TestLimitPercentageSlowsTheTenant(t *testing.T) {
	var calls atomic.Int32
	f := newFakeGraph(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		if calls.Add(1) == 1 {
			w.Header().Set("x-ms-throttle-limit-percentage", "1.0")
		}
		w.Header().Set("x-ms-resource-unit", "1")
		w.WriteHeader(http.StatusNoContent)
	})
	// 300 writes per 15 s, refilled at a tenth of that: 2 per second.
	c, _ := pacedClient(t, f, pace.Budget{Scale: 0.1, Margin: 0.9}, pace.Options{})
	ctx := testContext(t)
	for _, id := range []string{"a", "b"} {
		if err := c.UpdateUser(ctx, testTenant, id, map[string]any{"city": "Oslo"}); err != nil {
			t.Fatal(err)
		}
	}
	reqs := f.requests()
	if d := reqs[1].At.Sub(reqs[0].At); d < 500*time.Millisecond {
		t.Errorf("second write %v after the first, want one refill (500ms) at least", d)
	}
}

// TestThrottledInvitationHoldsInvitationsOnly: the invitation manager's
// limit is its own; writes go on.
func TestThrottledInvitationHoldsInvitationsOnly(t *testing.T) {
	var throttled atomic.Bool
	f := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if r.Method == http.MethodPost && throttled.CompareAndSwap(false, true) {
			w.Header().Set("Retry-After", "1")
			w.Header().Set("x-ms-throttle-scope", "Tenant/Write/app/"+testTenant)
			writeJSON(w, http.StatusTooManyRequests, graphError("TooManyRequests", "Too many requests."))
			return
		}
		if r.Method == http.MethodPost {
			writeJSON(w, http.StatusCreated, map[string]any{"invitedUser": map[string]any{"id": "guest-1"}})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	c, tn := pacedClient(t, f, pace.Budget{}, pace.Options{})
	ctx := testContext(t)
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := c.Invite(ctx, testTenant, galsync.Invitation{EmailAddress: "ada@contoso.com", RedirectURL: "https://myapps.microsoft.com"}); err != nil {
			t.Error(err)
		}
	})
	waitThrottled(t, tn, 1)
	if err := c.UpdateUser(ctx, testTenant, "a", map[string]any{"city": "Oslo"}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	reqs := f.requests()
	inv, patch := find(reqs, "POST", "/v1.0/invitations"), find(reqs, "PATCH", "/v1.0/users/a")
	if len(inv) != 2 || len(patch) != 1 {
		t.Fatalf("%d invitations, %d patches", len(inv), len(patch))
	}
	if !patch[0].At.Before(inv[1].At) {
		t.Errorf("the write waited for the invitation limit's Retry-After")
	}
}

// TestMaxWaitFailsTheCallAsTransient: past the pacer's MaxWait a call
// fails at once, transient, naming the wait, and sends nothing.
func TestMaxWaitFailsTheCallAsTransient(t *testing.T) {
	f := newFakeGraph(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) { w.WriteHeader(http.StatusNoContent) })
	c, tn := pacedClient(t, f, pace.Budget{}, pace.Options{MaxWait: 100 * time.Millisecond})
	tn.Throttled(pace.WriteBucket, pace.Cost{}, 30*time.Second)
	err := c.UpdateUser(testContext(t), testTenant, "a", map[string]any{"city": "Oslo"})
	var we *pace.WaitError
	if !errors.As(err, &we) || we.RetryAfter() < 29*time.Second || galsync.IsPermanent(err) {
		t.Fatalf("err = %v, want a transient pace.WaitError of about 30s", err)
	}
	if !strings.Contains(err.Error(), "update user in tenant "+testTenant) {
		t.Errorf("err = %v, want the operation named", err)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}
