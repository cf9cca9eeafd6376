package notify

import (
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const (
	subID    = "7f105c7d-2dc5-4530-97cd-4e7ae6534c07"
	tenantID = "11111111-1111-4111-8111-111111111111"
	secret   = "kept-secret"
)

// known is a lookup with one subscription on tenant "contoso", source of
// two directions.
func known(id string) (Subscription, bool) {
	if id != subID {
		return Subscription{}, false
	}
	return Subscription{Tenant: "contoso", TenantID: tenantID, ClientState: secret,
		Directions: []string{"contoso-to-fabrikam", "contoso-to-adatum"}}, true
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The payload of testdata/users_change.json has the shape Graph documents
// for users (resourceData with @odata.type #Microsoft.Graph.User).
func TestParseDocumentedUsersPayload(t *testing.T) {
	b, err := Parse(mustRead(t, "testdata/users_change.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Notifications) != 2 || b.Malformed != 0 {
		t.Fatalf("batch = %+v", b)
	}
	n := b.Notifications[0]
	want := Notification{SubscriptionID: subID, SubscriptionExpirationDateTime: "2026-11-30T09:00:00.0000000Z",
		ChangeType: "updated", Resource: "Users/00000000-0000-4000-8000-000000000001", ClientState: secret, TenantID: tenantID,
		ResourceData: &ResourceData{ODataType: "#Microsoft.Graph.User", ODataID: "Users/00000000-0000-4000-8000-000000000001",
			ID: "00000000-0000-4000-8000-000000000001", OrganizationID: tenantID}}
	if !reflect.DeepEqual(n, want) {
		t.Errorf("first notification\n got %+v\nwant %+v", n, want)
	}
	if n.IsLifecycle() || b.Notifications[1].ChangeType != "deleted" {
		t.Errorf("kinds: %+v", b.Notifications)
	}
}

func TestParseRefusesWhatIsNotACollection(t *testing.T) {
	for name, tc := range map[string]struct {
		body string
		want error
	}{
		"empty":          {"", ErrEmpty},
		"blank":          {" \n\t", ErrEmpty},
		"not JSON":       {"{value:", ErrMalformed},
		"null":           {"null", ErrMalformed},
		"array":          {`[{"subscriptionId":"x"}]`, ErrMalformed},
		"string":         {`"value"`, ErrMalformed},
		"no value":       {`{"values":[]}`, ErrMalformed},
		"value null":     {`{"value":null}`, ErrMalformed},
		"value object":   {`{"value":{}}`, ErrMalformed},
		"trailing junk":  {`{"value":[]} x`, ErrMalformed},
		"just too large": {`{"value":[]}` + strings.Repeat(" ", MaxBodyBytes), ErrTooLarge},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.body))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// An error says what is wrong without quoting the body, which may hold a
// clientState.
func TestParseErrorsDoNotQuoteTheBody(t *testing.T) {
	_, err := Parse([]byte(`{"value":[],"x":"` + secret + `"` + `,}`))
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("err = %v", err)
	}
	_, err = Parse([]byte(`{"value":"` + secret + `"}`))
	if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), `"value" is a JSON string`) {
		t.Fatalf("err = %v", err)
	}
}

func TestParseCountsOddItemsAndKeepsTheRest(t *testing.T) {
	b, err := Parse([]byte(`{"value":[null, 7, "x", {"subscriptionId": 5}, {}, {"subscriptionId":"a","tenantId":"b","changeType":"updated"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if b.Malformed != 4 || len(b.Notifications) != 2 {
		t.Fatalf("batch = %+v", b)
	}
	// An exactly-at-the-limit body is read.
	body := `{"value":[]}`
	if _, err := Parse([]byte(body + strings.Repeat(" ", MaxBodyBytes-len(body)))); err != nil {
		t.Errorf("a body of exactly MaxBodyBytes: %v", err)
	}
}

func change(sub, tenant, state string) Notification {
	return Notification{SubscriptionID: sub, TenantID: tenant, ClientState: state, ChangeType: "updated", Resource: "Users/u1"}
}

func lifecycle(event string) Notification {
	return Notification{SubscriptionID: subID, TenantID: tenantID, ClientState: secret, LifecycleEvent: event}
}

func TestCheck(t *testing.T) {
	bothDirs := []string{"contoso-to-adatum", "contoso-to-fabrikam"}
	for _, tc := range []struct {
		name     string
		batch    Batch
		accepted int
		dirs     []string
		events   []string
		rejected map[Reason]int
	}{
		{name: "valid change", batch: Batch{Notifications: []Notification{change(subID, tenantID, secret)}},
			accepted: 1, dirs: bothDirs},
		{name: "a burst folds into one pull per direction",
			batch:    Batch{Notifications: []Notification{change(subID, tenantID, secret), change(subID, tenantID, secret), change(subID, tenantID, secret)}},
			accepted: 3, dirs: bothDirs},
		{name: "tenant id matches in any case", batch: Batch{Notifications: []Notification{change(subID, strings.ToUpper(tenantID), secret)}},
			accepted: 1, dirs: bothDirs},
		{name: "wrong clientState", batch: Batch{Notifications: []Notification{change(subID, tenantID, "guess")}},
			rejected: map[Reason]int{ReasonWrongClientState: 1}},
		{name: "clientState differing in case", batch: Batch{Notifications: []Notification{change(subID, tenantID, strings.ToUpper(secret))}},
			rejected: map[Reason]int{ReasonWrongClientState: 1}},
		{name: "no clientState", batch: Batch{Notifications: []Notification{change(subID, tenantID, "")}},
			rejected: map[Reason]int{ReasonWrongClientState: 1}},
		{name: "unknown subscription", batch: Batch{Notifications: []Notification{change("8f105c7d-2dc5-4530-97cd-4e7ae6534c07", tenantID, secret)}},
			rejected: map[Reason]int{ReasonUnknownSubscription: 1}},
		{name: "other tenant", batch: Batch{Notifications: []Notification{change(subID, "22222222-2222-4222-8222-222222222222", secret)}},
			rejected: map[Reason]int{ReasonWrongTenant: 1}},
		{name: "incomplete", batch: Batch{Notifications: []Notification{{SubscriptionID: subID, TenantID: tenantID, ClientState: secret}, {}}},
			rejected: map[Reason]int{ReasonIncomplete: 2}},
		{name: "malformed items are counted", batch: Batch{Malformed: 2, Notifications: []Notification{change(subID, tenantID, secret)}},
			accepted: 1, dirs: bothDirs, rejected: map[Reason]int{ReasonMalformed: 2}},
		{name: "one forged item does not spoil the batch",
			batch:    Batch{Notifications: []Notification{change(subID, tenantID, "forged"), change(subID, tenantID, secret)}},
			accepted: 1, dirs: bothDirs, rejected: map[Reason]int{ReasonWrongClientState: 1}},
		{name: "reauthorizationRequired is an event, not a pull",
			batch:    Batch{Notifications: []Notification{lifecycle(EventReauthorizationRequired), lifecycle(EventReauthorizationRequired)}},
			accepted: 2, events: []string{EventReauthorizationRequired}},
		{name: "missed is an event and a pull", batch: Batch{Notifications: []Notification{lifecycle(EventMissed)}},
			accepted: 1, dirs: bothDirs, events: []string{EventMissed}},
		{name: "removed and missed", batch: Batch{Notifications: []Notification{lifecycle(EventSubscriptionRemoved), lifecycle(EventMissed)}},
			accepted: 2, dirs: bothDirs, events: []string{EventSubscriptionRemoved, EventMissed}},
		{name: "forged lifecycle event", batch: Batch{Notifications: []Notification{{SubscriptionID: subID, TenantID: tenantID,
			ClientState: "x", LifecycleEvent: EventSubscriptionRemoved}}},
			rejected: map[Reason]int{ReasonWrongClientState: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := Check(tc.batch, known)
			if res.Accepted != tc.accepted || !slices.Equal(res.Directions, tc.dirs) {
				t.Errorf("accepted %d directions %v, want %d %v", res.Accepted, res.Directions, tc.accepted, tc.dirs)
			}
			var events []string
			for _, e := range res.Events {
				if e.Tenant != "contoso" || e.SubscriptionID != subID {
					t.Errorf("event %+v", e)
				}
				events = append(events, e.LifecycleEvent)
			}
			if !reflect.DeepEqual(events, tc.events) {
				t.Errorf("events %v, want %v", events, tc.events)
			}
			if tc.rejected == nil {
				tc.rejected = map[Reason]int{}
			}
			if !reflect.DeepEqual(res.Rejected, tc.rejected) {
				t.Errorf("rejected %v, want %v", res.Rejected, tc.rejected)
			}
			if res.Accepted+res.RejectedCount() != len(tc.batch.Notifications)+tc.batch.Malformed {
				t.Errorf("%d accepted + %d rejected != %d received", res.Accepted, res.RejectedCount(), len(tc.batch.Notifications)+tc.batch.Malformed)
			}
		})
	}
}

func TestSameSecret(t *testing.T) {
	for _, tc := range []struct {
		got, want string
		same      bool
	}{
		{"a", "a", true}, {"a", "b", false}, {"", "", false}, {"x", "", false}, {"", "x", false}, {"abc", "abcd", false},
	} {
		if SameSecret(tc.got, tc.want) != tc.same {
			t.Errorf("SameSecret(%q, %q) = %t", tc.got, tc.want, !tc.same)
		}
	}
}
