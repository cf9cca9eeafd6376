package clocktest_test

import (
	"testing"
	"time"

	"github.com/galsync/galsync/shared/clocktest"
)

func TestClockMovesOnlyWhenTold(t *testing.T) {
	c := clocktest.New(time.Time{})
	if !c.Now().Equal(clocktest.Start) {
		t.Fatalf("a new clock reads %s, want %s", c.Now(), clocktest.Start)
	}
	c.Advance(90 * time.Second)
	if got := c.Now().Sub(clocktest.Start); got != 90*time.Second {
		t.Errorf("advanced by %s, want 90s", got)
	}
	at := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Set(at)
	if !c.Now().Equal(at) {
		t.Errorf("set to %s, reads %s", at, c.Now())
	}
}

func TestWallClockShifts(t *testing.T) {
	c := clocktest.Wall()
	c.Advance(48 * time.Hour)
	before := time.Now()
	got := c.Now()
	after := time.Now()
	if got.Before(before.Add(48*time.Hour)) || got.After(after.Add(48*time.Hour)) {
		t.Errorf("wall clock advanced by 48h reads %s, want between %s and %s", got, before.Add(48*time.Hour), after.Add(48*time.Hour))
	}
}
