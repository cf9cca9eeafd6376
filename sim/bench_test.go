package sim

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// Benchmarks of the new surfaces at the sizes the issues name; each prints
// its figure per operation.

// BenchmarkAddressLookup100k: the one-request lookup of every form of an
// address (addressFilter) in a tenant of 100,000 users, over HTTPS.
func BenchmarkAddressLookup100k(b *testing.B) {
	h := startSim(b, Options{})
	if _, err := h.s.SeedUsers(tenantA, SeedSpec{Count: 100_000, Guests: 5_000, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	if err := h.s.SetFaults(tenantA, Faults{DisableThrottling: true}); err != nil {
		b.Fatal(err)
	}
	tok := h.tokenA()
	q := "$select=id,mail&$filter=" + url.QueryEscape(addressFilter("nobody@partner.example"))
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if resp, _ := h.send(http.MethodGet, h.graph(tenantA)+"/users?"+q, tok, nil, nil); resp.StatusCode != http.StatusOK {
			b.Fatalf("%d", resp.StatusCode)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/lookup")
}

// BenchmarkBatchOf20Patches: one $batch of 20 PATCHes.
func BenchmarkBatchOf20Patches(b *testing.B) {
	h := startSim(b, Options{})
	users, err := h.s.SeedUsers(tenantA, SeedSpec{Count: 20, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	if err := h.s.SetFaults(tenantA, Faults{DisableThrottling: true}); err != nil {
		b.Fatal(err)
	}
	tok := h.tokenA()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		reqs := make([]map[string]any, 0, 20)
		for j, u := range users {
			reqs = append(reqs, map[string]any{"id": strconv.Itoa(j), "method": "PATCH", "url": "/users/" + u.ID,
				"headers": jsonHeaders, "body": map[string]any{"jobTitle": "Title " + strconv.Itoa(i)}})
		}
		if status, _, body := h.batch(tok, reqs); status != http.StatusOK {
			b.Fatalf("%d %s", status, body)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/batch")
}

// BenchmarkGroupDeltaRound: a full groups/delta round of 3 groups of 200
// members each.
func BenchmarkGroupDeltaRound(b *testing.B) {
	h := startSim(b, Options{})
	users, err := h.s.SeedUsers(tenantA, SeedSpec{Count: 400, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	for g := range 3 {
		var ids []string
		for _, u := range users[g*100 : g*100+200] {
			ids = append(ids, u.ID)
		}
		if _, err := h.s.CreateGroup(tenantA, GroupSpec{DisplayName: "G" + strconv.Itoa(g), Members: ids}); err != nil {
			b.Fatal(err)
		}
	}
	if err := h.s.SetFaults(tenantA, Faults{DisableThrottling: true}); err != nil {
		b.Fatal(err)
	}
	tok := h.tokenA()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if r := foldGroupRound(h.deltaRound(h.graph(tenantA)+"/groups/delta?$select=displayName,members", tok, nil)); len(r.added) != 3 {
			b.Fatalf("round saw %d groups", len(r.added))
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/round")
}
