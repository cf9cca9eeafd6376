package sim

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDeltaInitialRoundPagesThroughEveryUser(t *testing.T) {
	h := startSim(t, Options{PageSize: 10})
	users := seedA(t, h, 25)
	pages := h.deltaRound(h.graph(tenantA)+"/users/delta?$select=displayName,mail", h.tokenA(), nil)

	if len(pages) != 3 {
		t.Fatalf("pages = %d, want 3 (10+10+5)", len(pages))
	}
	for i, want := range []int{10, 10, 5} {
		if got := len(pages[i].Value); got != want {
			t.Errorf("page %d has %d users, want %d", i, got, want)
		}
	}
	got := ids(pages)
	var want []string
	for _, u := range users {
		want = append(want, u.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("round ids differ from the tenant's users:\n got %v\nwant %v", got, want)
	}
	for _, v := range pages[0].Value {
		if len(v) != 3 || v["displayName"] == nil || v["id"] == nil {
			t.Fatalf("user has %v, want exactly id, displayName, mail", v)
		}
	}
	if !strings.Contains(lastLink(t, pages), "/users/delta()?$deltatoken=") {
		t.Errorf("deltaLink %q", lastLink(t, pages))
	}
}

func TestDeltaIncrementalRoundReturnsOnlyChanges(t *testing.T) {
	h := startSim(t, Options{PageSize: 10})
	users := seedA(t, h, 12)
	tok := h.tokenA()
	link := lastLink(t, h.deltaRound(h.graph(tenantA)+"/users/delta?$select=displayName,jobTitle", tok, nil))

	created, err := h.s.UpsertUser(tenantA, User{DisplayName: "New Person", Mail: "new@a.onmicrosoft.com", AccountEnabled: true})
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, h, users[0].ID, map[string]any{"jobTitle": "Chief Tester"})
	mustUpdate(t, h, users[1].ID, map[string]any{"city": "Oslo"}) // not selected: not tracked
	if err := h.s.DeleteUser(tenantA, users[2].ID, false); err != nil {
		t.Fatal(err)
	}
	if err := h.s.DeleteUser(tenantA, users[3].ID, true); err != nil {
		t.Fatal(err)
	}

	pages := h.deltaRound(link, tok, nil)
	byID := map[string]map[string]any{}
	for _, v := range pages[0].Value {
		byID[v["id"].(string)] = v
	}
	if len(byID) != 4 {
		t.Fatalf("incremental round returned %d users, want 4: %v", len(byID), pages[0].Value)
	}
	if byID[created.ID]["displayName"] != "New Person" {
		t.Errorf("created user: %v", byID[created.ID])
	}
	if byID[users[0].ID]["jobTitle"] != "Chief Tester" {
		t.Errorf("updated user: %v", byID[users[0].ID])
	}
	if _, ok := byID[users[1].ID]; ok {
		t.Errorf("a change to an unselected property was reported")
	}
	for id, reason := range map[string]string{users[2].ID: "deleted", users[3].ID: "changed"} {
		removed, _ := byID[id]["@removed"].(map[string]any)
		if removed["reason"] != reason || len(byID[id]) != 2 {
			t.Errorf("removed user %s: %v, want reason %s", id, byID[id], reason)
		}
	}

	again := h.deltaRound(lastLink(t, pages), tok, nil)
	if n := len(ids(again)); n != 0 {
		t.Errorf("a round with no changes returned %d users", n)
	}
}

func mustUpdate(t *testing.T, h *harness, id string, patch map[string]any) {
	t.Helper()
	if _, err := h.s.UpdateUser(tenantA, id, patch); err != nil {
		t.Fatal(err)
	}
}

func TestDeltaChangeDuringRoundIsReplayedNotLost(t *testing.T) {
	h := startSim(t, Options{PageSize: 5})
	users := seedA(t, h, 10)
	tok := h.tokenA()
	resp, body := h.send(http.MethodGet, h.graph(tenantA)+"/users/delta", tok, nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var first deltaResponse
	mustUnmarshal(t, body, &first)
	// users[0] was on page one; change it before reading page two.
	mustUpdate(t, h, users[0].ID, map[string]any{"displayName": "Renamed Mid-round"})
	rest := h.deltaRound(first.NextLink, tok, nil)

	next := h.deltaRound(lastLink(t, rest), tok, nil)
	got := next[0].Value
	if len(got) != 1 || got[0]["id"] != users[0].ID || got[0]["displayName"] != "Renamed Mid-round" {
		t.Errorf("next round = %v, want the user renamed mid-round", got)
	}
}

func TestDeltaCanRepeatAUserOnTwoPages(t *testing.T) {
	h := startSim(t, Options{PageSize: 4})
	users := seedA(t, h, 10)
	if err := h.s.SetFaults(tenantA, Faults{RepeatDeltaUsers: true}); err != nil {
		t.Fatal(err)
	}
	pages := h.deltaRound(h.graph(tenantA)+"/users/delta", h.tokenA(), nil)
	if len(pages) != 3 {
		t.Fatalf("pages = %d, want 3", len(pages))
	}
	for i := 1; i < len(pages); i++ {
		prev := pages[i-1].Value
		if pages[i].Value[0]["id"] != prev[len(prev)-1]["id"] {
			t.Errorf("page %d does not start with the last user of page %d", i, i-1)
		}
	}
	got := ids(pages)
	if len(got) != len(users)+2 {
		t.Errorf("returned %d entries, want %d users + 2 repeats", len(got), len(users))
	}
	slices.Sort(got)
	if got = slices.Compact(got); len(got) != len(users) {
		t.Errorf("distinct users = %d, want %d", len(got), len(users))
	}
}

func TestDeltaTokenGone(t *testing.T) {
	cases := []struct {
		name    string
		spoil   func(h *harness)
		wantErr bool
	}{
		{"fresh", func(*harness) {}, false},
		{"six days old", func(h *harness) { h.clock.Advance(6 * 24 * time.Hour) }, false},
		{"older than seven days", func(h *harness) { h.clock.Advance(7*24*time.Hour + time.Second) }, true},
		{"invalidated", func(h *harness) {
			if err := h.s.InvalidateDeltaTokens(tenantA); err != nil {
				t.Fatal(err)
			}
		}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := startSim(t, Options{})
			seedA(t, h, 3)
			tok := h.tokenA()
			link := lastLink(t, h.deltaRound(h.graph(tenantA)+"/users/delta?$select=mail", tok, nil))
			c.spoil(h)
			resp, body := h.send(http.MethodGet, link, tok, nil, nil)
			if !c.wantErr {
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d %s, want 200", resp.StatusCode, body)
				}
				return
			}
			if resp.StatusCode != http.StatusGone || graphErrorCode(t, body) != "syncStateNotFound" {
				t.Fatalf("got %d %s, want 410 syncStateNotFound", resp.StatusCode, body)
			}
			loc := resp.Header.Get("Location")
			if !strings.Contains(loc, "/users/delta?$deltatoken=&$select=id,mail") {
				t.Errorf("Location = %q, want the initial query", loc)
			}
			// Following Location starts a full round again.
			if n := len(ids(h.deltaRound(loc, tok, nil))); n != 3 {
				t.Errorf("restarted round returned %d users, want 3", n)
			}
		})
	}
}

func TestDeltaSkipTokenGoneAfterInvalidation(t *testing.T) {
	h := startSim(t, Options{PageSize: 2})
	seedA(t, h, 5)
	tok := h.tokenA()
	resp, body := h.send(http.MethodGet, h.graph(tenantA)+"/users/delta", tok, nil, nil)
	var p deltaResponse
	mustUnmarshal(t, body, &p)
	if resp.StatusCode != http.StatusOK || p.NextLink == "" {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if err := h.s.InvalidateDeltaTokens(tenantA); err != nil {
		t.Fatal(err)
	}
	resp, body = h.send(http.MethodGet, p.NextLink, tok, nil, nil)
	if resp.StatusCode != http.StatusGone {
		t.Fatalf("status %d %s, want 410", resp.StatusCode, body)
	}
}

func TestDeltaRejectsForgedToken(t *testing.T) {
	h := startSim(t, Options{})
	u := h.graph(tenantA) + "/users/delta?$deltatoken=" + url.QueryEscape("eyJ0IjoiZm9yZ2VkIn0")
	resp, body := h.send(http.MethodGet, u, h.tokenA(), nil, nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d %s, want 400", resp.StatusCode, body)
	}
}

func TestDeltaMinimalReturnsOnlyChangedProperties(t *testing.T) {
	h := startSim(t, Options{})
	users := seedA(t, h, 3)
	tok := h.tokenA()
	link := lastLink(t, h.deltaRound(h.graph(tenantA)+"/users/delta?$select=displayName,jobTitle,mobilePhone", tok, nil))
	mustUpdate(t, h, users[1].ID, map[string]any{"jobTitle": "Auditor", "mobilePhone": nil})

	resp, body := h.send(http.MethodGet, link, tok, nil, map[string]string{"Prefer": "return=minimal"})
	var p deltaResponse
	mustUnmarshal(t, body, &p)
	if resp.Header.Get("Preference-Applied") != "return=minimal" {
		t.Errorf("Preference-Applied = %q", resp.Header.Get("Preference-Applied"))
	}
	want := map[string]any{"id": users[1].ID, "jobTitle": "Auditor", "mobilePhone": nil}
	if len(p.Value) != 1 || len(p.Value[0]) != len(want) {
		t.Fatalf("value = %v, want %v", p.Value, want)
	}
	for k, v := range want {
		if got, ok := p.Value[0][k]; !ok || got != v {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
}

func TestDeltaLatestSkipsExistingUsers(t *testing.T) {
	h := startSim(t, Options{})
	seedA(t, h, 5)
	tok := h.tokenA()
	pages := h.deltaRound(h.graph(tenantA)+"/users/delta?$deltatoken=latest", tok, nil)
	if len(pages) != 1 || len(pages[0].Value) != 0 {
		t.Fatalf("latest returned data: %+v", pages)
	}
	u, err := h.s.UpsertUser(tenantA, User{DisplayName: "Later", AccountEnabled: true})
	if err != nil {
		t.Fatal(err)
	}
	got := ids(h.deltaRound(lastLink(t, pages), tok, nil))
	if !slices.Equal(got, []string{u.ID}) {
		t.Errorf("changes since latest = %v, want [%s]", got, u.ID)
	}
}

func TestDeltaFilterByID(t *testing.T) {
	h := startSim(t, Options{})
	users := seedA(t, h, 6)
	f := url.QueryEscape("id eq '" + users[1].ID + "' or id eq '" + users[4].ID + "'")
	got := ids(h.deltaRound(h.graph(tenantA)+"/users/delta?$filter="+f, h.tokenA(), nil))
	if !slices.Equal(got, []string{users[1].ID, users[4].ID}) {
		t.Errorf("filtered round = %v", got)
	}
	resp, _ := h.send(http.MethodGet, h.graph(tenantA)+"/users/delta?$filter="+url.QueryEscape("mail eq 'x@y.z'"), h.tokenA(), nil, nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("delta $filter on mail: status %d, want 400", resp.StatusCode)
	}
}

func TestDeltaDefaultPropertiesWithoutSelect(t *testing.T) {
	h := startSim(t, Options{})
	seedA(t, h, 1)
	pages := h.deltaRound(h.graph(tenantA)+"/users/delta", h.tokenA(), nil)
	got := pages[0].Value[0]
	for _, p := range []string{"id", "displayName", "mail", "userPrincipalName", "businessPhones", "surname"} {
		if _, ok := got[p]; !ok {
			t.Errorf("default set lacks %s", p)
		}
	}
	for _, p := range []string{"accountEnabled", "creationType", "department"} {
		if _, ok := got[p]; ok {
			t.Errorf("default set has %s, which Graph returns only when selected", p)
		}
	}
}
