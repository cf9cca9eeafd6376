package pipeline

import (
	"testing"
	"time"

	"github.com/galsync/galsync/shared/galsync"
)

// Requests of one window share a message id and carry the window's end,
// so the one pull that runs can wait for the window to close.
func TestPullMessageCoalescesAWindowAndNamesItsEnd(t *testing.T) {
	window := time.Second
	at := time.Date(2026, 11, 2, 9, 0, 7, 250_000_000, time.UTC)
	first, err := PullMessage("contoso-to-fabrikam", "notification", at, window)
	if err != nil {
		t.Fatal(err)
	}
	same, _ := PullMessage("contoso-to-fabrikam", "timer", at.Add(700*time.Millisecond), window)
	next, _ := PullMessage("contoso-to-fabrikam", "notification", at.Add(750*time.Millisecond), window)
	other, _ := PullMessage("adatum-to-fabrikam", "notification", at, window)
	if first.ID != same.ID || first.ID == next.ID || first.ID == other.ID {
		t.Errorf("ids %q %q %q %q", first.ID, same.ID, next.ID, other.ID)
	}
	req, err := galsync.DecodePullRequest(first.Body)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 11, 2, 9, 0, 8, 0, time.UTC); !req.NotBefore.Equal(want) || !req.RequestedAt.Equal(at) || req.Trigger != "notification" {
		t.Errorf("request %+v, want notBefore %s", req, want)
	}
	// A window of a nanosecond (a continuation, a startup pull) starts at once.
	now, _ := PullMessage("contoso-to-fabrikam", "continue", at, time.Nanosecond)
	if req, _ := galsync.DecodePullRequest(now.Body); req.NotBefore.Sub(at) > time.Nanosecond {
		t.Errorf("a 1 ns window waits until %s", req.NotBefore)
	}
	if _, err := PullMessage("contoso-to-fabrikam", "timer", at, 0); err == nil {
		t.Error("a zero window was accepted")
	}
}
