package pipeline

import (
	"context"
	"errors"
	"sync"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
	"github.com/galsync/galsync/shared/store"
)

// errInjected is the failure the fault-injecting doubles return: a crash
// at that point, as far as the code under test can tell.
var errInjected = errors.New("injected failure")

// faultSender sends through next (nil: nowhere). failOn makes the send
// with that number (1 for the first call of Send) fail without sending
// anything; 0 never fails.
type faultSender struct {
	next queue.Sender

	mu     sync.Mutex
	calls  int
	failOn int
}

func (s *faultSender) Send(ctx context.Context, name string, msgs ...queue.Message) error {
	s.mu.Lock()
	s.calls++
	fail := s.calls == s.failOn
	s.mu.Unlock()
	if fail {
		return errInjected
	}
	if s.next == nil {
		return nil
	}
	return s.next.Send(ctx, name, msgs...)
}

// sends is how many times Send was called, failed ones included.
func (s *faultSender) sends() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// faultStore is a store.Store whose cursor saves can fail: failCursorOn
// makes the PutCursor with that number (1 for the first) fail without
// saving; 0 never fails.
type faultStore struct {
	store.Store

	mu           sync.Mutex
	cursorPuts   int
	failCursorOn int
}

func (s *faultStore) PutCursor(ctx context.Context, c galsync.Cursor) (galsync.Cursor, error) {
	s.mu.Lock()
	s.cursorPuts++
	fail := s.cursorPuts == s.failCursorOn
	s.mu.Unlock()
	if fail {
		return c, errInjected
	}
	return s.Store.PutCursor(ctx, c)
}
