package handlers

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/sim"
)

// End to end with the local Functions host running the queue workers and
// no timers: the simulator notifies the front, graph-notify asks for a
// pull, delta-pull, the invite and update workers do the rest.

// guestOf returns the target's guest invited for a source mail, if any.
func (e *env) guestOf(mail string) (sim.User, bool) {
	users, err := e.sim.Users(targetID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, u := range users {
		if strings.EqualFold(u.Mail, mail) || strings.EqualFold(strings.Join(u.OtherMails, ","), mail) {
			return u, true
		}
	}
	return sim.User{}, false
}

// idle reports whether every queue is empty.
func (e *env) idle() bool {
	for _, q := range []string{galsync.QueuePulls, galsync.QueueInvites, galsync.QueueUpdates} {
		if active, _, err := e.db.Depth(context.Background(), q); err != nil || active > 0 {
			return false
		}
	}
	return e.sim.DrainNotifications(context.Background()) == nil
}

func TestChangesReachTheTargetWithoutATimer(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.runHost()
	e.ensureSubscriptions()

	start := time.Now()
	ada, err := e.sim.UpsertUser(sourceID, sim.User{DisplayName: "Ada Lovelace", Mail: "ada@source.onmicrosoft.com",
		JobTitle: "Analyst", AccountEnabled: true})
	if err != nil {
		t.Fatal(err)
	}
	var guest sim.User
	waitFor(t, 15*time.Second, "Ada's guest in the target", func() bool {
		var ok bool
		guest, ok = e.guestOf(ada.Mail)
		return ok && guest.JobTitle == "Analyst"
	})
	t.Logf("new user reached the target in %s", time.Since(start).Round(time.Millisecond))
	if guest.CreationType != "Invitation" || guest.DisplayName != "Ada Lovelace" {
		t.Errorf("guest %+v", guest)
	}

	start = time.Now()
	if _, err := e.sim.UpdateUser(sourceID, ada.ID, map[string]any{"jobTitle": "Engineer"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "the new job title in the target", func() bool {
		g, _ := e.guestOf(ada.Mail)
		return g.JobTitle == "Engineer"
	})
	t.Logf("an update reached the target in %s", time.Since(start).Round(time.Millisecond))

	if err := e.sim.DeleteUser(sourceID, ada.ID, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "the guest disabled", func() bool {
		g, _ := e.guestOf(ada.Mail)
		return !g.AccountEnabled
	})
	stats := e.host.Stats()
	if stats[FuncDeltaTimer].Succeeded+stats[FuncDeltaTimer].Failed != 0 {
		t.Errorf("a timer ran: %+v", stats)
	}
	if stats[FuncGraphNotify].Succeeded < 3 || stats[FuncDeltaPull].Failed != 0 {
		t.Errorf("invocations %+v", stats)
	}
}

// 1,000 users created at once: the simulator notifies them in batches,
// they fold into a handful of pulls, and each is invited exactly once.
func TestBurstOfChangesIsPulledAFewTimesAndAppliedOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 users through the whole pipeline")
	}
	e := newEnv(t, envOptions{})
	e.runHost()
	e.ensureSubscriptions()
	const n = 1000
	users, err := e.sim.SeedUsers(sourceID, sim.SeedSpec{Count: n, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Minute, "every user invited", func() bool {
		guests, err := e.sim.Users(targetID)
		return err == nil && len(guests) == n && e.idle()
	})
	if err := e.sim.DrainNotifications(context.Background()); err != nil {
		t.Fatal(err)
	}
	stats := e.host.Stats()
	notified := e.sim.FindRequests(sim.RequestFilter{Kind: sim.KindNotification, Tenant: sourceID})
	pulls := stats[FuncDeltaPull].Succeeded
	t.Logf("%d changes: %d notification POST(s), %d pull(s), %d invitation(s)", n, len(notified), pulls,
		len(e.sim.FindRequests(sim.RequestFilter{Kind: "invitations", Tenant: targetID})))
	if pulls < 1 || pulls > 4 || stats[FuncDeltaPull].Failed != 0 {
		t.Errorf("%d pulls (%d failed) for %d notifications", pulls, stats[FuncDeltaPull].Failed, n)
	}
	invites := e.sim.FindRequests(sim.RequestFilter{Kind: "invitations", Tenant: targetID})
	seen := map[string]int{}
	for _, r := range invites {
		if r.Status != http.StatusCreated {
			t.Errorf("invitation answered %d", r.Status)
		}
		seen[string(r.Body)]++
	}
	if len(invites) != n || len(seen) != n {
		t.Errorf("%d invitations for %d distinct bodies, want %d of each", len(invites), len(seen), n)
	}
	for _, u := range users[:5] {
		if _, ok := e.guestOf(u.Mail); !ok {
			t.Errorf("no guest for %s", u.ID)
		}
	}
}
