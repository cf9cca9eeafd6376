package pace

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestMaxWaitersRefusesOnlyWhatWouldWait: MaxWaiters bounds the requests
// that wait; a read whose budget is full waits for nothing and is granted
// at once although writes wait for theirs. It was refused with a
// WaitError of 0s: put off for nothing, and "a read does not wait behind
// writes" did not hold once MaxWaiters writes waited.
func TestMaxWaitersRefusesOnlyWhatWouldWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := tenantFor(t, Budget{Scale: 0.1}, Options{MaxWaiters: 1})
		tn.Throttled(WriteBucket, write, time.Second)
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := tn.Wait(t.Context(), write); err != nil {
				t.Error(err)
			}
		})
		synctest.Wait() // the write waits for the Retry-After
		if err := tn.Wait(t.Context(), read); err != nil {
			t.Errorf("read with a full budget: %v, want it granted at once", err)
		}
		// A second write would wait: refused, told to come back after the first.
		var we *WaitError
		if err := tn.Wait(t.Context(), write); !errors.As(err, &we) || we.RetryAfter() < time.Second {
			t.Errorf("second write: %v, want a WaitError of at least 1s", err)
		}
		wg.Wait()
	})
}

// TestRefusedInLineIsToldTheWaitLeft: a 429 adopted while requests wait
// in line refuses those it pushes past MaxWait; each is told how long to
// put its work off from now, spread over the refill like the requests
// refused on joining. They were told the wait counted from when they
// joined (the time already waited added to the wait left), all the same.
func TestRefusedInLineIsToldTheWaitLeft(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := tenantFor(t, Budget{Scale: 0.1}, Options{MaxWait: time.Second})
		tn.Throttled(InvitationBucket, invitation, 0) // empty: one per 1/30 s
		start := time.Now()
		var (
			mu   sync.Mutex
			back []time.Duration // when refused ones come back, since start
			wg   sync.WaitGroup
		)
		for range 30 {
			wg.Go(func() {
				err := tn.Wait(t.Context(), invitation)
				var we *WaitError
				if errors.As(err, &we) {
					mu.Lock()
					back = append(back, time.Since(start)+we.RetryAfter())
					mu.Unlock()
				} else if err != nil {
					t.Error(err)
				}
			})
			synctest.Wait()
		}
		time.Sleep(510 * time.Millisecond) // 15 granted, 15 still in line
		tn.Throttled(InvitationBucket, invitation, 2*time.Second)
		wg.Wait()
		if len(back) != 15 {
			t.Fatalf("%d refused, want 15", len(back))
		}
		for i, b := range back {
			want := 2510*time.Millisecond + time.Duration(i)*time.Second/30
			if math.Abs(float64(b-want)) > float64(time.Microsecond) {
				t.Errorf("refused %d comes back at %v, want %v", i, b, want)
			}
		}
	})
}

// TestCancelledWaitersLeaveTheLine: a waiter that gives up, first in line
// or in the middle, leaves the line, and the others are served in turn.
func TestCancelledWaitersLeaveTheLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := tenantFor(t, Budget{Scale: 0.1}, Options{})
		tn.Throttled(InvitationBucket, invitation, 0)
		var wg sync.WaitGroup
		cancels := make([]context.CancelFunc, 6)
		granted := make([]bool, 6)
		for i := range 6 {
			ctx, cancel := context.WithCancel(t.Context())
			cancels[i] = cancel
			wg.Go(func() { granted[i] = tn.Wait(ctx, invitation) == nil })
			synctest.Wait()
		}
		cancels[0]() // first in line, sleeping for the refill
		cancels[3]() // in the middle
		wg.Wait()
		for i, want := range []bool{false, true, true, false, true, true} {
			if granted[i] != want {
				t.Errorf("waiter %d granted %v, want %v", i, granted[i], want)
			}
		}
		if n := tn.waiters(); n != 0 {
			t.Errorf("%d left in line", n)
		}
		for _, c := range cancels {
			c()
		}
	})
}
