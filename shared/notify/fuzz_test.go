package notify

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bodies to Parse and Check. The seed corpus in
// testdata/fuzz/FuzzParse runs with every `go test`; fuzz longer with
//
//	go test -run '^$' -fuzz FuzzParse -fuzztime 1m ./shared/notify/
//
// Whatever the body: no panic, a refusal is one of the three errors, every
// item is either accepted or counted as rejected, and nothing is accepted
// unless it names the known subscription, its tenant and its clientState.
func FuzzParse(f *testing.F) {
	f.Add(mustReadF(f, "testdata/users_change.json"))
	f.Add(mustReadF(f, "testdata/lifecycle.json"))
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := Parse(body)
		if err != nil {
			if !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error quotes the body: %v", err)
			}
			return
		}
		res := Check(b, known)
		if got, want := res.Accepted+res.RejectedCount(), len(b.Notifications)+b.Malformed; got != want {
			t.Fatalf("%d accepted + rejected, %d received", got, want)
		}
		genuine := 0
		for _, n := range b.Notifications {
			if n.SubscriptionID == subID && strings.EqualFold(n.TenantID, tenantID) && n.ClientState == secret &&
				(n.ChangeType != "" || n.LifecycleEvent != "") {
				genuine++
			}
		}
		if res.Accepted != genuine {
			t.Fatalf("accepted %d, but %d notifications carry the subscription's id, tenant and secret", res.Accepted, genuine)
		}
		for _, d := range res.Directions {
			if d != "contoso-to-fabrikam" && d != "contoso-to-adatum" {
				t.Fatalf("direction %q comes from no known subscription", d)
			}
		}
		if !slices.IsSorted(res.Directions) {
			t.Fatalf("directions not sorted: %v", res.Directions)
		}
	})
}

func mustReadF(f *testing.F, path string) []byte {
	f.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	return b
}
