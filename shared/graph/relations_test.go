package graph

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/sim"
)

// Managers, conversions and groups against the tenant simulator, which
// models them from Microsoft's pages: user-list-manager, user-post-manager,
// user-delete-manager, user-list-directreports, manager@delta in
// user-delta; invite-internal-users; group-delta, group-post-groups,
// group-post-members, group-delete-members, group-list-members.

func newRelationsGraph(t *testing.T) (*sim.Server, *Client) {
	t.Helper()
	s, base := startSim(t, sim.Options{})
	c, err := New(map[string]Endpoint{simTenant: simEndpoint(t, s, base, simTenantID, "source.onmicrosoft.com", simClientID, simSecret)},
		Options{HTTPClient: s.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func seedUsers(t *testing.T, s *sim.Server, n int) []sim.User {
	t.Helper()
	users, err := s.SeedUsers(simTenantID, sim.SeedSpec{Count: n, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	return users
}

func TestManagerCalls(t *testing.T) {
	s, c := newRelationsGraph(t)
	ctx := testContext(t)
	u := seedUsers(t, s, 3)
	boss, a, b := u[0].ID, u[1].ID, u[2].ID
	if m, err := c.GetManager(ctx, simTenant, a); err != nil || m != "" {
		t.Fatalf("no manager: %q, %v", m, err)
	}
	for _, id := range []string{a, b} {
		if err := c.SetManager(ctx, simTenant, id, boss); err != nil {
			t.Fatal(err)
		}
	}
	if m, err := c.GetManager(ctx, simTenant, a); err != nil || m != boss {
		t.Fatalf("manager %q, %v, want %s", m, err, boss)
	}
	reports, err := c.DirectReports(ctx, simTenant, boss)
	if slices.Sort(reports); err != nil || !slices.Equal(reports, sortedIDs(a, b)) {
		t.Errorf("direct reports %v, %v", reports, err)
	}
	got, err := c.Managers(ctx, simTenant, []string{a, b, boss})
	if err != nil || got[a] != boss || got[b] != boss || got[boss] != "" {
		t.Errorf("Managers = %v, %v", got, err)
	}
	if err := c.RemoveManager(ctx, simTenant, a); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveManager(ctx, simTenant, a); err != nil {
		t.Errorf("removing no manager: %v, want nil", err)
	}
	if err := c.SetManager(ctx, simTenant, a, "00000000-0000-4000-8000-00000000dead"); !errors.Is(err, galsync.ErrNotFound) {
		t.Errorf("an unknown manager: %v, want not found", err)
	}
	src, err := c.GetUser(ctx, simTenant, b, []string{"displayName", "manager"})
	if err != nil || src.Attributes["manager"] != boss {
		t.Errorf("GetUser with the manager: %v, %v", src.Attributes, err)
	}
	src, err = c.GetUser(ctx, simTenant, a, []string{"displayName", "manager"})
	if v, ok := src.Attributes["manager"]; err != nil || !ok || v != nil {
		t.Errorf("GetUser of a user without manager: %v, %v", src.Attributes, err)
	}
}

func sortedIDs(ids ...string) []string { slices.Sort(ids); return ids }

// TestManagerDelta: with manager selected, users/delta gives the manager
// as an attribute: its id, or nil when taken away; an entry that says
// nothing of it has no such attribute.
func TestManagerDelta(t *testing.T) {
	s, c := newRelationsGraph(t)
	ctx := testContext(t)
	u := seedUsers(t, s, 3)
	if err := s.SetManager(simTenantID, u[1].ID, u[0].ID); err != nil {
		t.Fatal(err)
	}
	round := func(link string) (map[string]galsync.SourceUser, string) {
		out := map[string]galsync.SourceUser{}
		for {
			page, err := c.DeltaPage(ctx, simTenant, link, []string{"displayName", "manager"})
			if err != nil {
				t.Fatal(err)
			}
			for _, su := range page.Users {
				out[su.ID] = su
			}
			if page.DeltaLink != "" {
				return out, page.DeltaLink
			}
			link = page.NextLink
		}
	}
	full, link := round("")
	if full[u[1].ID].Attributes["manager"] != u[0].ID {
		t.Errorf("full round: %v", full[u[1].ID].Attributes)
	}
	if _, ok := full[u[0].ID].Attributes["manager"]; ok {
		t.Errorf("a user without manager: %v", full[u[0].ID].Attributes)
	}
	if err := s.SetManager(simTenantID, u[1].ID, ""); err != nil {
		t.Fatal(err)
	}
	changes, _ := round(link)
	if v, ok := changes[u[1].ID].Attributes["manager"]; !ok || v != nil {
		t.Errorf("a manager taken away: %v", changes[u[1].ID].Attributes)
	}
}

func TestConvertMember(t *testing.T) {
	s, c := newRelationsGraph(t)
	ctx := testContext(t)
	sync := true
	member, err := s.UpsertUser(simTenantID, sim.User{DisplayName: "Kim", Mail: "kim@partner.example", UserType: "Member",
		AccountEnabled: true, OnPremisesSyncEnabled: &sync})
	if err != nil {
		t.Fatal(err)
	}
	blocked, err := s.UpsertUser(simTenantID, sim.User{DisplayName: "Max", Mail: "max@partner.example", UserType: "Member",
		AccountEnabled: true, OnPremisesSyncEnabled: &sync, OnPremisesUserPrincipalName: "max@corp.partner.example"})
	if err != nil {
		t.Fatal(err)
	}
	inv := galsync.Invitation{EmailAddress: "kim@partner.example", RedirectURL: "https://myapps.microsoft.com/?tenantid=" + simTenantID,
		UserType: "Guest", InvitedUserID: member.ID}
	got, err := c.Invite(ctx, simTenant, inv)
	if err != nil || got.ID != member.ID || got.ExternalUserState == "" || got.CreationType == "Invitation" {
		t.Fatalf("conversion: %+v, %v", got, err)
	}
	if u, _ := s.User(simTenantID, member.ID); u.ExternalUserState != "PendingAcceptance" || u.UserType != "Member" {
		t.Errorf("converted user %+v: same object, external, userType kept", u)
	}
	inv.EmailAddress, inv.InvitedUserID = "max@partner.example", blocked.ID
	_, err = c.Invite(ctx, simTenant, inv)
	if !galsync.IsPermanent(err) || !strings.Contains(err.Error(), "onPremisesUserPrincipalName") {
		t.Errorf("a member with onPremisesUserPrincipalName: %v, want Graph's permanent refusal", err)
	}
	found, err := c.FindUserByAddress(ctx, simTenant, "max@partner.example", "source.onmicrosoft.com", []string{"onPremisesUserPrincipalName"})
	if err != nil || found.OnPremisesUserPrincipalName != "max@corp.partner.example" {
		t.Errorf("lookup with onPremisesUserPrincipalName: %+v, %v", found, err)
	}
}

func TestGroupCalls(t *testing.T) {
	s, c := newRelationsGraph(t)
	ctx := testContext(t)
	users := seedUsers(t, s, 30)
	ids := func(us []sim.User) []string {
		out := make([]string, len(us))
		for i, u := range us {
			out[i] = u.ID
		}
		return out
	}
	src, err := s.CreateGroup(simTenantID, sim.GroupSpec{DisplayName: "Finance", Members: ids(users[:5])})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddGroupMember(simTenantID, src.ID, mustGroup(t, s, "Nested").ID); err != nil {
		t.Fatal(err)
	}
	page, err := c.GroupDeltaPage(ctx, simTenant, "", src.ID)
	if err != nil || page.DeltaLink == "" || len(page.Groups) != 1 {
		t.Fatalf("groups/delta: %+v, %v", page, err)
	}
	g := page.Groups[0]
	if g.ID != src.ID || g.DisplayName != "Finance" || len(g.Added) != 6 || g.Added[5].Type != "group" || g.Added[0].Type != "user" {
		t.Errorf("group entry %+v", g)
	}
	if err := s.RemoveGroupMember(simTenantID, src.ID, users[0].ID); err != nil {
		t.Fatal(err)
	}
	page, err = c.GroupDeltaPage(ctx, simTenant, page.DeltaLink, src.ID)
	if err != nil || len(page.Groups) != 1 || len(page.Groups[0].Dropped) != 1 || page.Groups[0].Dropped[0].ID != users[0].ID {
		t.Errorf("a member removed: %+v, %v", page, err)
	}

	made, err := c.CreateGroup(ctx, simTenant, galsync.NewGroup{DisplayName: "Finance (source)", MailNickname: "galsyncfinance",
		Description: "kept by galsync"})
	if err != nil || made.ID == "" {
		t.Fatalf("create: %+v, %v", made, err)
	}
	found, err := c.FindGroupsByName(ctx, simTenant, "Finance (source)")
	if err != nil || len(found) != 1 || !found[0].SecurityEnabled || found[0].MailEnabled || found[0].Description != "kept by galsync" {
		t.Errorf("find by name: %+v, %v", found, err)
	}
	if err := s.AddGroupMember(simTenantID, made.ID, users[3].ID); err != nil {
		t.Fatal(err)
	}
	// 25 members, one of whom is in already: the bind of the first 20 is
	// refused whole, so they go one by one; the other 5 bind at once.
	w, err := c.AddGroupMembers(ctx, simTenant, made.ID, ids(users[:25]))
	if err != nil || w.Changes != 24 || len(w.Failed) != 0 {
		t.Fatalf("add: %+v, %v", w, err)
	}
	if w.Requests != 3 { // the refused bind, one batch of 20, one bind of 5
		t.Errorf("add took %d requests, want 3", w.Requests)
	}
	w, err = c.RemoveGroupMembers(ctx, simTenant, made.ID, append(ids(users[:3]), users[29].ID))
	if err != nil || w.Changes != 3 || len(w.Failed) != 0 || w.Requests != 1 {
		t.Errorf("remove (one not a member): %+v, %v", w, err)
	}
	members, err := c.GroupMembers(ctx, simTenant, made.ID)
	if slices.Sort(members); err != nil || !slices.Equal(members, sortedIDs(ids(users[3:25])...)) {
		t.Errorf("members: %d, %v", len(members), err)
	}
	if err := c.RenameGroup(ctx, simTenant, made.ID, "Finance II (source)"); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.GroupByID(simTenantID, made.ID); v.DisplayName != "Finance II (source)" {
		t.Errorf("renamed: %q", v.DisplayName)
	}
	if _, err := c.GroupMembers(ctx, simTenant, "00000000-0000-4000-8000-00000000dead"); !errors.Is(err, galsync.ErrNotFound) {
		t.Errorf("members of no group: %v", err)
	}
}

func mustGroup(t *testing.T, s *sim.Server, name string) sim.GroupView {
	t.Helper()
	g, err := s.CreateGroup(simTenantID, sim.GroupSpec{DisplayName: name})
	if err != nil {
		t.Fatal(fmt.Errorf("create group %s: %w", name, err))
	}
	return g
}
