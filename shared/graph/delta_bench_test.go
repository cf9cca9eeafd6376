package graph

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
)

// deltaPageOf1000 is a users/delta page of 1,000 users with the properties
// a typical mapping selects.
func deltaPageOf1000(tb testing.TB) []byte {
	tb.Helper()
	users := make([]map[string]any, 1000)
	for i := range users {
		users[i] = map[string]any{
			"id": fmt.Sprintf("%08d-0000-0000-0000-000000000000", i), "mail": fmt.Sprintf("user%d@contoso.com", i),
			"userPrincipalName": fmt.Sprintf("user%d@contoso.com", i), "accountEnabled": true, "userType": "Member",
			"creationType": nil, "displayName": fmt.Sprintf("User %d", i), "givenName": "Given", "surname": "Surname",
			"jobTitle": "Engineer", "department": "R&D", "companyName": "Contoso", "officeLocation": "Oslo",
			"businessPhones": []string{"+47 555 0100"}, "mobilePhone": nil,
		}
	}
	b, err := json.Marshal(map[string]any{"@odata.nextLink": "https://graph.microsoft.com/v1.0/users/delta?$skiptoken=x", "value": users})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkDeltaPage reads a page of 1,000 users from the fake Graph
// through the whole SDK pipeline (TLS, middleware, decoding).
func BenchmarkDeltaPage(b *testing.B) {
	page := deltaPageOf1000(b)
	f := newFakeGraph(&testing.T{}, func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(page)
	})
	defer f.srv.Close()
	c := f.client(Options{})
	ctx := testContext(b)
	for b.Loop() {
		p, err := c.DeltaPage(ctx, testTenant, "", []string{"displayName", "jobTitle"})
		if err != nil || len(p.Users) != 1000 {
			b.Fatalf("%d users, %v", len(p.Users), err)
		}
	}
}

// BenchmarkDeltaPageDecode is the decoding alone.
func BenchmarkDeltaPageDecode(b *testing.B) {
	page := deltaPageOf1000(b)
	b.SetBytes(int64(len(page)))
	for b.Loop() {
		var body deltaBody
		if err := json.Unmarshal(page, &body); err != nil {
			b.Fatal(err)
		}
		if _, err := deltaPage(body); err != nil {
			b.Fatal(err)
		}
	}
}
