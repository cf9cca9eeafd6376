package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/galsync"
)

// TestThrottledCallSucceeds: a 429 with Retry-After: 1 is waited out and
// the invitation (a gzip body) is sent again whole.
func TestThrottledCallSucceeds(t *testing.T) {
	var calls atomic.Int32
	f := newFakeGraph(t, func(w http.ResponseWriter, _ *http.Request, body []byte) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusTooManyRequests, graphError("TooManyRequests", "Too many requests."))
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"invitedUser": map[string]any{"id": "guest-1"}})
	})
	var logs bytes.Buffer
	start := time.Now()
	u, err := f.client(Options{Logger: logTo(&logs)}).Invite(testContext(t), testTenant,
		galsync.Invitation{EmailAddress: "ada@contoso.com", RedirectURL: "https://myapps.microsoft.com"})
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed < time.Second {
		t.Errorf("retried after %v, before Retry-After", elapsed)
	}
	reqs := f.requests()
	if u.ID != "guest-1" || len(reqs) != 2 {
		t.Fatalf("user %+v after %d requests", u, len(reqs))
	}
	for i, r := range reqs {
		var body map[string]any
		if err := json.Unmarshal(r.Body, &body); err != nil || body["invitedUserEmailAddress"] != "ada@contoso.com" || r.ContentEncoding != "" {
			t.Errorf("attempt %d body %q (%v, encoding %q)", i+1, r.Body, err, r.ContentEncoding)
		}
	}
	if !strings.Contains(logs.String(), "status=429") || strings.Contains(logs.String(), "ada@contoso.com") {
		t.Errorf("log = %s; want the 429 noted without the address", logs.String())
	}
}

// TestInvitationNotResentOnGatewayErrors: an invitation answered 503 or
// 504 may have created the guest, so the client does not send it again
// (the error is transient: the queue redelivers and the Inviter looks the
// address up first); a lookup answered 503 is retried as before.
func TestInvitationNotResentOnGatewayErrors(t *testing.T) {
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusGatewayTimeout} {
		var posts, gets atomic.Int32
		f := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
			if r.Method == http.MethodPost {
				posts.Add(1)
				w.Header().Set("Retry-After", "0")
				writeJSON(w, status, graphError("serviceNotAvailable", "Busy."))
				return
			}
			if gets.Add(1) == 1 {
				w.Header().Set("Retry-After", "0")
				writeJSON(w, status, graphError("serviceNotAvailable", "Busy."))
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"value": []any{}})
		})
		c := f.client(Options{MaxRetries: 3})
		_, err := c.Invite(testContext(t), testTenant, galsync.Invitation{EmailAddress: "ada@contoso.com", RedirectURL: "https://myapps.microsoft.com"})
		if err == nil || galsync.IsPermanent(err) {
			t.Errorf("%d: invite err = %v, want a transient error", status, err)
		}
		if n := posts.Load(); n != 1 {
			t.Errorf("%d: %d invitation attempts, want 1", status, n)
		}
		if _, err := c.FindUserByMail(testContext(t), testTenant, "ada@contoso.com", nil); !errors.Is(err, galsync.ErrNotFound) {
			t.Errorf("%d: lookup err = %v, want not found after one retry", status, err)
		}
		if n := gets.Load(); n != 2 {
			t.Errorf("%d: %d lookup attempts, want 2", status, n)
		}
	}
}

// TestPerAttemptTimeout: the HTTPClient's Timeout bounds each attempt, so a
// hung attempt fails and the Retry-After wait is not counted against it.
func TestPerAttemptTimeout(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	f := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		switch calls.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusServiceUnavailable, graphError("serviceNotAvailable", "Busy."))
		default:
			// Hung: never answers. Once the client gives up, the
			// connection is dropped without a response: an empty 200
			// written then can still reach a client racing its own
			// deadline (net/http's transport takes a response that
			// arrives with the cancellation).
			select {
			case <-release:
			case <-r.Context().Done():
			}
			panic(http.ErrAbortHandler)
		}
	})
	defer close(release)
	hc := f.srv.Client()
	hc.Timeout = 700 * time.Millisecond // shorter than the 1 s Retry-After wait
	_, err := f.client(Options{HTTPClient: hc, MaxRetries: 1}).FindUserByMail(testContext(t), testTenant, "ada@contoso.com", nil)
	if err == nil || galsync.IsPermanent(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a transient timeout", err)
	}
	if strings.Contains(err.Error(), "ada@contoso.com") || strings.Contains(err.Error(), "filter") {
		t.Errorf("error text carries the request URL: %v", err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d attempts, want 2 (the wait must not use up the attempt's time)", n)
	}
}

// TestConcurrentCalls shares one Client between goroutines (run with -race).
func TestConcurrentCalls(t *testing.T) {
	f := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if r.Method == http.MethodGet {
			writeJSON(w, http.StatusOK, map[string]any{"@odata.deltaLink": "https://x/v1.0/users/delta?$deltatoken=t",
				"value": []map[string]any{{"id": "u1"}}})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	c := f.client(Options{})
	ctx := testContext(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 8 {
		wg.Go(func() {
			if _, err := c.DeltaPage(ctx, testTenant, "", []string{"displayName"}); err != nil {
				errs <- err
			}
		})
		wg.Go(func() {
			if err := c.UpdateUser(ctx, testTenant, "u"+string(rune('a'+i)), map[string]any{"city": "Oslo"}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(f.requests()); n != 16 {
		t.Errorf("%d requests, want 16", n)
	}
}

// Every 429 a tenant answers is reported to Options.Throttled with the
// tenant's name (the galsync.graph.throttled metric).
func TestThrottledHook(t *testing.T) {
	var calls atomic.Int64
	f := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": map[string]any{"code": "TooManyRequests", "message": "slow down"}})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": "u1"})
	})
	var got []string
	var mu sync.Mutex
	c := f.client(Options{Throttled: func(_ context.Context, tenant string) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, tenant)
	}})
	if _, err := c.GetGuest(testContext(t), testTenant, "u1", nil); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != testTenant {
		t.Errorf("throttled hook calls = %v, want one for %s", got, testTenant)
	}
}
