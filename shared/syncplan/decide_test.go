package syncplan

import (
	"reflect"
	"testing"

	"github.com/galsync/galsync/shared/galsync"
)

func TestDecide(t *testing.T) {
	live := &galsync.Link{State: galsync.LinkActive, TargetUserID: "t1"}
	disabled := &galsync.Link{State: galsync.LinkDisabled, TargetUserID: "t1"}
	deleted := &galsync.Link{State: galsync.LinkDeleted, TargetUserID: "t1"}
	member := user("s1", "mail", "a@contoso.com", "displayName", "A")
	removed := galsync.SourceUser{ID: "s1", Removed: "deleted"}
	softRemoved := galsync.SourceUser{ID: "s1", Removed: "changed"}
	disabledUser := user("s1", "mail", "a@contoso.com", "accountEnabled", false)
	tests := []struct {
		name    string
		policy  string
		u       galsync.SourceUser
		link    *galsync.Link
		verdict string
		reason  string
	}{
		{"new member invites", "disable", member, nil, VerdictInvite, ""},
		{"linked member updates", "disable", member, live, VerdictUpdate, ""},
		{"disabled guest updates (re-enable)", "disable", member, disabled, VerdictUpdate, ""},
		{"deleted guest re-invites", "disable", member, deleted, VerdictInvite, ""},
		{"removed linked disables", "disable", removed, live, VerdictDeprovision, ReasonDeleted},
		{"soft-removed linked", "delete", softRemoved, live, VerdictDeprovision, ReasonSoftDeleted},
		{"removed unlinked skips", "disable", removed, nil, VerdictSkip, ReasonRemovedOnly},
		{"removed with policy none", "none", removed, live, VerdictSkip, ReasonPolicyNone},
		{"removed already disabled", "disable", removed, disabled, VerdictSkip, ReasonAlreadyDone},
		{"removed disabled, policy delete", "delete", removed, disabled, VerdictDeprovision, ReasonDeleted},
		{"left scope linked", "disable", disabledUser, live, VerdictDeprovision, ReasonLeftScope + ReasonDisabled},
		{"out of scope unlinked", "disable", disabledUser, nil, VerdictSkip, ReasonDisabled},
		{"out of scope, guest deleted", "delete", disabledUser, deleted, VerdictSkip, ReasonDisabled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustCompile(t, galsync.Direction{Name: "d", Deprovision: galsync.Deprovision{Action: tt.policy}})
			got := r.Decide(tt.u, tt.link)
			if got.Verdict != tt.verdict || got.Reason != tt.reason {
				t.Fatalf("Decide = %s (%q), want %s (%q)", got.Verdict, got.Reason, tt.verdict, tt.reason)
			}
			switch got.Verdict {
			case VerdictInvite, VerdictUpdate:
				if got.Item.Kind != galsync.WorkUpsert || got.Item.Source["mail"] != "a@contoso.com" || got.Item.Source["displayName"] != "A" {
					t.Errorf("item = %+v", got.Item)
				}
			case VerdictDeprovision:
				if got.Item.Kind != galsync.WorkDeprovision || got.Item.Reason != tt.reason || got.Item.SourceUserID != "s1" {
					t.Errorf("item = %+v", got.Item)
				}
			}
		})
	}
}

func TestDiff(t *testing.T) {
	applied := galsync.Snapshot{"displayName": "A", "jobTitle": "Eng", "businessPhones": []string{"1"}, "city": nil, "country": ""}
	tests := []struct {
		name    string
		desired galsync.Snapshot
		want    map[string]any
	}{
		{"same", galsync.Snapshot{"displayName": "A", "jobTitle": "Eng", "businessPhones": []string{"1"}, "city": "", "country": nil}, map[string]any{}},
		{"one change", galsync.Snapshot{"displayName": "A", "jobTitle": "Lead"}, map[string]any{"jobTitle": "Lead"}},
		{"clear", galsync.Snapshot{"jobTitle": nil}, map[string]any{"jobTitle": nil}},
		{"list change", galsync.Snapshot{"businessPhones": []string{"1", "2"}}, map[string]any{"businessPhones": []string{"1", "2"}}},
		{"new attribute", galsync.Snapshot{"department": "R&D"}, map[string]any{"department": "R&D"}},
		{"type change", galsync.Snapshot{"jobTitle": true}, map[string]any{"jobTitle": true}},
	}
	for _, tt := range tests {
		if got := Diff(applied, tt.desired); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Diff = %#v, want %#v", tt.name, got, tt.want)
		}
	}
}

func TestThreshold(t *testing.T) {
	tests := []struct {
		th      galsync.Threshold
		n, live int
		want    bool
	}{
		{galsync.Threshold{}, 1000, 1000, false},
		{galsync.Threshold{Count: 10}, 10, 100, false},
		{galsync.Threshold{Count: 10}, 11, 100, true},
		{galsync.Threshold{Percent: 10}, 10, 100, false},
		{galsync.Threshold{Percent: 10}, 30, 100, true},
		{galsync.Threshold{Percent: 10, Count: 50}, 20, 100, true},
		{galsync.Threshold{Percent: 10}, 5, 0, false},
	}
	for _, tt := range tests {
		if got := tt.th.Exceeded(tt.n, tt.live); got != tt.want {
			t.Errorf("%+v.Exceeded(%d, %d) = %v", tt.th, tt.n, tt.live, got)
		}
	}
}
