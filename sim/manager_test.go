package sim

import (
	"net/http"
	"testing"
	"time"
)

// The manager relationship: user-list-manager, user-post-manager,
// user-delete-manager and manager@delta in user-delta
// (https://learn.microsoft.com/graph/api/user-list-manager and siblings).

const (
	ada = "00000000-0000-4000-8000-000000000001"
	bob = "00000000-0000-4000-8000-000000000002"
	cy  = "00000000-0000-4000-8000-000000000003"
)

func (h *harness) putManager(tok, userID, ref string) (*http.Response, []byte) {
	h.t.Helper()
	return h.call(http.MethodPut, h.graph(tenantA)+"/users/"+userID+"/manager/$ref", tok, map[string]any{"@odata.id": ref})
}

func TestManagerReadWrite(t *testing.T) {
	h := startSim(t, Options{})
	goldenTenant(t, h)
	tok := h.tokenA()
	get := func() (int, map[string]any, []byte) {
		resp, body := h.send(http.MethodGet, h.graph(tenantA)+"/users/"+cy+"/manager?$select=displayName", tok, nil, nil)
		var m map[string]any
		if resp.StatusCode == http.StatusOK {
			mustUnmarshal(t, body, &m)
		}
		return resp.StatusCode, m, body
	}
	// "If a manager isn't assigned to the user, returns 404."
	if status, _, body := get(); status != http.StatusNotFound || graphErrorCode(t, body) != "Request_ResourceNotFound" {
		t.Errorf("no manager: %d %s", status, body)
	}
	if resp, b := h.putManager(tok, cy, "https://graph.microsoft.com/v1.0/directoryObjects/"+ada); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("PUT manager: %d %s", resp.StatusCode, b)
	}
	if status, m, body := get(); status != http.StatusOK || m["id"] != ada || m["@odata.type"] != "#microsoft.graph.user" || m["displayName"] != "Ada Lovelace" {
		t.Errorf("GET manager: %d %s", status, body)
	}
	if resp, _ := h.putManager(tok, cy, "https://graph.microsoft.com/v1.0/users/"+bob); resp.StatusCode != http.StatusNoContent {
		t.Errorf("replacing the manager: %d", resp.StatusCode)
	}
	if m, _ := h.s.Manager(tenantA, cy); m != bob {
		t.Errorf("manager %q, want %s", m, bob)
	}
	for name, ref := range map[string]string{
		"unknown":  "https://graph.microsoft.com/v1.0/users/00000000-0000-4000-8000-00000000dead",
		"self":     "https://graph.microsoft.com/v1.0/users/" + cy,
		"relative": "users/" + ada,
		"empty":    "",
	} {
		if resp, b := h.putManager(tok, cy, ref); resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s reference: %d %s, want 400 or 404", name, resp.StatusCode, b)
		}
	}
	del := func() int {
		resp, _ := h.call(http.MethodDelete, h.graph(tenantA)+"/users/"+cy+"/manager/$ref", tok, nil)
		return resp.StatusCode
	}
	if st := del(); st != http.StatusNoContent {
		t.Errorf("DELETE manager: %d", st)
	}
	if st := del(); st != http.StatusNotFound {
		t.Errorf("DELETE of no manager: %d, want 404", st)
	}
}

func TestManagerWritesAreWrites(t *testing.T) {
	h := startSim(t, Options{ThrottleScale: 0.001}) // 3 writes per 150 ms
	goldenTenant(t, h)
	tok := h.tokenA()
	var last *http.Response
	for i := range 4 {
		last, _ = h.putManager(tok, cy, "https://graph.microsoft.com/v1.0/users/"+[]string{ada, bob}[i%2])
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("x-ms-throttle-information") != "WriteLimitExceeded" {
		t.Errorf("fourth manager write: %d %v", last.StatusCode, last.Header)
	}
}

// managerDelta returns each user's manager@delta entries in a round.
func managerDelta(pages []deltaResponse) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	for _, p := range pages {
		for _, v := range p.Value {
			if md, ok := v["manager@delta"].([]any); ok {
				for _, e := range md {
					out[v["id"].(string)] = append(out[v["id"].(string)], e.(map[string]any))
				}
			} else {
				out[v["id"].(string)] = nil
			}
		}
	}
	return out
}

// TestManagerDelta: $select=manager makes users/delta carry manager@delta,
// [{"@odata.type": "#microsoft.graph.user", "id": ...}]; a manager taken
// away comes marked "@removed", as members@delta marks a member removed
// (https://learn.microsoft.com/graph/delta-query-groups).
func TestManagerDelta(t *testing.T) {
	h := startSim(t, Options{})
	goldenTenant(t, h)
	if err := h.s.SetManager(tenantA, cy, ada); err != nil {
		t.Fatal(err)
	}
	tok := h.tokenA()
	pages := h.deltaRound(h.graph(tenantA)+"/users/delta?$select=displayName,manager", tok, nil)
	full := managerDelta(pages)
	if e := full[cy]; len(e) != 1 || e[0]["id"] != ada || e[0]["@odata.type"] != "#microsoft.graph.user" || e[0]["@removed"] != nil {
		t.Errorf("full round: %v", full)
	}
	if e, ok := full[ada]; !ok || e != nil {
		t.Errorf("a user without a manager carries manager@delta: %v", e)
	}
	link := lastLink(t, pages)

	// Changes: a new manager, and a manager removed.
	if resp, _ := h.putManager(tok, bob, "https://graph.microsoft.com/v1.0/users/"+ada); resp.StatusCode != http.StatusNoContent {
		t.Fatal("PUT manager")
	}
	if resp, _ := h.call(http.MethodDelete, h.graph(tenantA)+"/users/"+cy+"/manager/$ref", tok, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatal("DELETE manager")
	}
	pages = h.deltaRound(link, tok, nil)
	changed := managerDelta(pages)
	if e := changed[bob]; len(e) != 1 || e[0]["id"] != ada {
		t.Errorf("new manager: %v", changed)
	}
	if e := changed[cy]; len(e) != 1 || e[0]["id"] != ada || e[0]["@removed"].(map[string]any)["reason"] != "deleted" {
		t.Errorf("removed manager: %v", changed)
	}
	link = lastLink(t, pages)

	// A change to another property: the default answer repeats the manager,
	// the minimal one leaves it out.
	mustUpdate(t, h, bob, map[string]any{"displayName": "Bob Renamed"})
	if e := managerDelta(h.deltaRound(link, tok, nil))[bob]; len(e) != 1 || e[0]["id"] != ada {
		t.Errorf("default answer after a rename: %v", e)
	}
	if e, ok := managerDelta(h.deltaRound(link, tok, map[string]string{"Prefer": "return=minimal"}))[bob]; !ok || e != nil {
		t.Errorf("minimal answer after a rename carries manager@delta: %v", e)
	}

	// Deleting a manager takes it from its reports.
	link = lastLink(t, h.deltaRound(link, tok, nil))
	if err := h.s.DeleteUser(tenantA, ada, false); err != nil {
		t.Fatal(err)
	}
	if m, _ := h.s.Manager(tenantA, bob); m != "" {
		t.Errorf("manager of bob after its manager's deletion: %q", m)
	}
	if e := managerDelta(h.deltaRound(link, tok, nil))[bob]; len(e) != 1 || e[0]["@removed"] == nil {
		t.Errorf("delta after the manager's deletion: %v", e)
	}
}

func TestManagerControlAPI(t *testing.T) {
	h := startSim(t, Options{ReplicationDelay: time.Second})
	goldenTenant(t, h)
	c := h.url + "/control/tenants/" + tenantA + "/users/" + cy + "/manager"
	if resp, b := h.call(http.MethodPut, c, "", map[string]string{"managerId": ada}); resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	resp, b := h.call(http.MethodGet, c, "", nil)
	var m managerBody
	mustUnmarshal(t, b, &m)
	if resp.StatusCode != http.StatusOK || m.ManagerID != ada {
		t.Errorf("GET: %d %s", resp.StatusCode, b)
	}
	// A manager still replicating is not there for Graph yet.
	if resp, _ := h.send(http.MethodGet, h.graph(tenantA)+"/users/"+bob+"/manager", h.tokenA(), nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET manager of a replicating user: %d", resp.StatusCode)
	}
	if resp, _ := h.call(http.MethodDelete, c, "", nil); resp.StatusCode != http.StatusNoContent {
		t.Errorf("DELETE: %d", resp.StatusCode)
	}
	if resp, _ := h.call(http.MethodPut, c, "", map[string]string{"managerId": "00000000-0000-4000-8000-00000000dead"}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown manager: %d", resp.StatusCode)
	}
}

// TestDirectReports: GET /users/{id}/directReports lists the users whose
// manager is the user, paged with $top and @odata.nextLink
// (https://learn.microsoft.com/graph/api/user-list-directreports).
func TestDirectReports(t *testing.T) {
	h := startSim(t, Options{})
	goldenTenant(t, h)
	for _, id := range []string{bob, cy} {
		if err := h.s.SetManager(tenantA, id, ada); err != nil {
			t.Fatal(err)
		}
	}
	tok := h.tokenA()
	var got []string
	next := h.graph(tenantA) + "/users/" + ada + "/directReports?$select=id,displayName&$top=1"
	for pages := 0; next != ""; pages++ {
		if pages > 3 {
			t.Fatal("paging does not end")
		}
		resp, body := h.send(http.MethodGet, next, tok, nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		var page struct {
			Value []map[string]any `json:"value"`
			Next  string           `json:"@odata.nextLink"`
		}
		mustUnmarshal(t, body, &page)
		for _, v := range page.Value {
			if v["@odata.type"] != "#microsoft.graph.user" || v["displayName"] == nil {
				t.Errorf("report %v", v)
			}
			got = append(got, v["id"].(string))
		}
		next = page.Next
	}
	if len(got) != 2 || got[0] != bob || got[1] != cy {
		t.Errorf("direct reports %v, want %s and %s", got, bob, cy)
	}
	resp, body := h.send(http.MethodGet, h.graph(tenantA)+"/users/"+bob+"/directReports", tok, nil, nil)
	var empty struct {
		Value []any `json:"value"`
	}
	mustUnmarshal(t, body, &empty)
	if resp.StatusCode != http.StatusOK || len(empty.Value) != 0 {
		t.Errorf("no reports: %d %s", resp.StatusCode, body)
	}
	if resp, _ := h.send(http.MethodGet, h.graph(tenantA)+"/users/00000000-0000-4000-8000-00000000dead/directReports", tok, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown user: %d", resp.StatusCode)
	}
}
