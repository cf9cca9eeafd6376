package graph

import (
	"net/url"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/pace"
)

// TestRequestCost follows the base cost table and its modifiers in
// learn.microsoft.com/graph/throttling-limits ("Identity and access
// service limits").
func TestRequestCost(t *testing.T) {
	for _, tc := range []struct {
		method, url string
		want        pace.Cost
		paced       bool
	}{
		{"GET", "https://graph.microsoft.com/v1.0/users", pace.Cost{ResourceUnits: 2}, true},
		{"GET", "https://graph.microsoft.com/v1.0/users?$filter=mail%20eq%20'a'&$select=id,mail", pace.Cost{ResourceUnits: 1}, true},
		{"GET", "https://graph.microsoft.com/v1.0/users?%24select=id", pace.Cost{ResourceUnits: 1}, true},
		{"GET", "https://127.0.0.1:8443/graph/t1/v1.0/users/abc", pace.Cost{ResourceUnits: 1}, true},
		{"GET", "https://graph.microsoft.com/v1.0/users/abc?$select=id&$top=5", pace.Cost{ResourceUnits: 1}, true},
		{"GET", "https://graph.microsoft.com/v1.0/users/delta()?$select=id", pace.Cost{ResourceUnits: 1}, true},
		{"GET", "https://graph.microsoft.com/v1.0/users/abc/memberOf", pace.Cost{ResourceUnits: 2}, true},
		{"GET", "https://graph.microsoft.com/v1.0/groups/g1/members?$top=5&$select=id", pace.Cost{ResourceUnits: 1}, true},
		{"GET", "https://graph.microsoft.com/v1.0/groups/g1/transitiveMembers?$expand=manager", pace.Cost{ResourceUnits: 6}, true},
		{"POST", "https://graph.microsoft.com/v1.0/directoryObjects/getByIds", pace.Cost{ResourceUnits: 3}, true},
		{"PATCH", "https://graph.microsoft.com/v1.0/users/abc", pace.Cost{ResourceUnits: 1, Writes: 1}, true},
		{"DELETE", "https://graph.microsoft.com/v1.0/users/abc", pace.Cost{ResourceUnits: 1, Writes: 1}, true},
		{"POST", "https://graph.microsoft.com/v1.0/groups/g1/members/$ref", pace.Cost{ResourceUnits: 1, Writes: 1}, true},
		{"PUT", "/users/abc/manager/$ref", pace.Cost{ResourceUnits: 1, Writes: 1}, true},
		{"GET", "/users/abc?$select=id,mail", pace.Cost{ResourceUnits: 1}, true},
		{"POST", "https://graph.microsoft.com/v1.0/invitations", pace.Cost{Invitations: 1}, true},
		{"POST", "https://graph.microsoft.com/v1.0/subscriptions", pace.Cost{}, false},
		{"PATCH", "https://graph.microsoft.com/v1.0/subscriptions/s1", pace.Cost{}, false},
		{"POST", "https://graph.microsoft.com/v1.0/$batch", pace.Cost{}, false},
	} {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		got, paced := requestCost(tc.method, u)
		if got != tc.want || paced != tc.paced {
			t.Errorf("%s %s: cost %+v paced %t, want %+v %t", tc.method, tc.url, got, paced, tc.want, tc.paced)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"1", time.Second, true},
		{"2.128", 2128 * time.Millisecond, true}, // learn.microsoft.com/graph/throttling, sample response
		{"0", 0, true},
		{"Sun, 22 Nov 2026 10:00:30 GMT", 30 * time.Second, true},
		{"Sun, 22 Nov 2026 09:59:00 GMT", 0, true},
		{"", 0, false},
		{"-1", 0, false},
		{"soon", 0, false},
	} {
		got, ok := retryAfter(tc.v, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("retryAfter(%q) = %v, %t; want %v, %t", tc.v, got, ok, tc.want, tc.ok)
		}
	}
}

// TestThrottledBuckets reads x-ms-throttle-scope as throttling-limits
// documents it: <Scope>/<Limit>/<ApplicationId>/<TenantId>.
func TestThrottledBuckets(t *testing.T) {
	write := pace.Cost{ResourceUnits: 1, Writes: 1}
	for _, tc := range []struct {
		scope   string
		cost    pace.Cost
		want    pace.Buckets
		appWide bool
	}{
		{"Tenant_Application/Read/app/tenant", write, pace.ResourceUnitBucket, false},
		{"Tenant_Application/Write/app/tenant", write, pace.WriteBucket, false},
		{"Tenant_Application/ReadWrite/app/tenant", write, pace.ResourceUnitBucket | pace.WriteBucket, false},
		{"Tenant/Write/app/tenant", write, pace.TenantWriteBucket, false},
		{"Application/Write/app/tenant", write, pace.WriteBucket, true},
		{"", write, write.Buckets(), false},
		{"Somewhere/Else", write, write.Buckets(), false},
		{"Tenant/Write/app/tenant", pace.Cost{Invitations: 1}, pace.InvitationBucket, false},
	} {
		got, appWide := throttledBuckets(tc.scope, tc.cost)
		if got != tc.want || appWide != tc.appWide {
			t.Errorf("scope %q: buckets %b app-wide %t, want %b %t", tc.scope, got, appWide, tc.want, tc.appWide)
		}
	}
}

func TestUsageHeaders(t *testing.T) {
	h := map[string]string{"x-ms-resource-unit": "3", "x-ms-throttle-limit-percentage": "0.93"}
	if got := usage(headerMap(h)); got != (pace.Usage{ResourceUnits: 3, LimitFraction: 0.93}) {
		t.Errorf("usage = %+v", got)
	}
	h = map[string]string{"X-Ms-Throttle-Limit-Percentage": "85"}
	if got := usage(headerMap(h)); got != (pace.Usage{LimitFraction: 0.85}) {
		t.Errorf("usage = %+v", got)
	}
	if got := usage(noHeader); got != (pace.Usage{}) {
		t.Errorf("usage = %+v", got)
	}
}
