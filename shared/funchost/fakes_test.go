package funchost

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/funcproto"
	"github.com/galsync/galsync/shared/queue"
)

// fakeQueue is an in-memory queue.Receiver. It records settlements and
// renewals as events; abandoned messages are not redelivered, so a test
// sees each failure once.
type fakeQueue struct {
	mu      sync.Mutex
	ready   map[string][]queue.Delivery
	wake    chan struct{} // closed and replaced on every send
	nextSeq int64
	events  chan event
	// renewals gets a value for every lock renewal.
	renewals chan struct{}
	receives atomic.Int64
}

type event struct {
	kind  string // complete, abandon, renew
	d     queue.Delivery
	props map[string]string
}

func newFakeQueue() *fakeQueue {
	return &fakeQueue{ready: map[string][]queue.Delivery{}, wake: make(chan struct{}), events: make(chan event, 100), renewals: make(chan struct{}, 100)}
}

func (f *fakeQueue) send(q string, m queue.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextSeq++
	f.ready[q] = append(f.ready[q], queue.Delivery{Message: m, Queue: q, SequenceNumber: f.nextSeq,
		EnqueuedAt: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)})
	close(f.wake)
	f.wake = make(chan struct{})
}

func (f *fakeQueue) Receive(ctx context.Context, q string, max int, wait time.Duration) ([]queue.Delivery, error) {
	f.receives.Add(1)
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		f.mu.Lock()
		if ds := f.ready[q]; len(ds) > 0 {
			d := ds[0]
			f.ready[q] = ds[1:]
			f.mu.Unlock()
			d.DeliveryCount++
			d.LockToken = funcproto.NewGUID()
			d.LockedUntil = time.Now().Add(time.Minute)
			return []queue.Delivery{d}, nil
		}
		wake := f.wake
		f.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline.C:
			return nil, nil
		case <-wake:
		}
	}
}

func (f *fakeQueue) Complete(_ context.Context, d queue.Delivery) error {
	f.events <- event{kind: "complete", d: d}
	return nil
}

func (f *fakeQueue) Abandon(_ context.Context, d queue.Delivery, props map[string]string) error {
	f.events <- event{kind: "abandon", d: d, props: props}
	return nil
}

func (f *fakeQueue) DeadLetter(context.Context, queue.Delivery, string, string) error {
	return fmt.Errorf("fakeQueue: the host must never dead-letter")
}

func (f *fakeQueue) RenewLock(_ context.Context, d queue.Delivery) (time.Time, error) {
	f.events <- event{kind: "renew", d: d}
	f.renewals <- struct{}{}
	return time.Now().Add(time.Minute), nil
}

// nextEvent waits for the next event other than a renewal.
func (f *fakeQueue) nextSettlement(t *testing.T) event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-f.events:
			if e.kind != "renew" {
				return e
			}
		case <-deadline:
			t.Fatal("no settlement within 10s")
		}
	}
}

// recorded is one request the stub handler received.
type recorded struct {
	method, path  string
	header        http.Header
	contentLength int64
	body          []byte
}

// stubHandler stands in for the custom handler: it records every request
// and answers with respond (GET / answers 404: any answer means ready).
type stubHandler struct {
	*httptest.Server
	reqs chan recorded
}

func newStub(t *testing.T, respond http.HandlerFunc) *stubHandler {
	s := &stubHandler{reqs: make(chan recorded, 100)}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.reqs <- recorded{r.Method, r.URL.Path, r.Header.Clone(), r.ContentLength, body}
		if r.Method == http.MethodGet && r.URL.Path == "/" {
			http.NotFound(w, r)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		respond(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// nextPost waits for the next non-ping request.
func (s *stubHandler) nextPost(t *testing.T) recorded {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case r := <-s.reqs:
			if r.method != http.MethodGet {
				return r
			}
		case <-deadline:
			t.Fatal("no invocation within 10s")
		}
	}
}

// answer writes a funcproto response.
func answer(status int, logs ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		funcproto.WriteResponse(w, status, funcproto.Response{Logs: logs})
	}
}

// runHost runs h until the test ends and returns a stop that cancels it
// and waits for Run to return.
func runHost(t *testing.T, h *Host) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				t.Error("Run did not return within 20s of cancellation")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}
