// Package clocktest is the clock tests hand to what takes a
// galsync.Clock (a func() time.Time): time moves only when the test moves
// it. It is safe for concurrent use, so a test may move it while the code
// under test reads it.
//
// Code whose waits are timers (time.NewTimer, time.After) is tested in a
// testing/synctest bubble instead, where time.Now and the timers share one
// fake clock.
package clocktest

import (
	"sync"
	"time"
)

// Start is where a New clock starts: a fixed instant, so that runs compare.
var Start = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// Clock is a settable clock.
type Clock struct {
	mu sync.Mutex
	at time.Time
	// wall: Now is the wall clock plus offset.
	wall   bool
	offset time.Duration
}

// New returns a clock stopped at start (Start when zero).
func New(start time.Time) *Clock {
	if start.IsZero() {
		start = Start
	}
	return &Clock{at: start}
}

// Wall returns a clock that follows the wall clock, shifted by what
// Advance adds: for tests whose other parties (an HTTP server, a
// simulator's timers) run on real time but must agree with the code under
// test about a date far ahead.
func Wall() *Clock { return &Clock{wall: true} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wall {
		return time.Now().Add(c.offset)
	}
	return c.at
}

// Advance moves the clock by d (back when d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wall {
		c.offset += d
		return
	}
	c.at = c.at.Add(d)
}

// Set stops the clock at t (a Wall clock too).
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at, c.wall = t, false
}
