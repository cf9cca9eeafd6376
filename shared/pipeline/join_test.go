package pipeline

import (
	"testing"

	"github.com/galsync/galsync/shared/galsync"
)

// A B2B user that has no #EXT# in its user principal name (a member
// converted in place keeps its UPN and, until told, its userType: see
// convert.go) is external by its externalUserState or creationType. The
// lookup asks for externalUserState (conversionSelect), so such a user
// holding the address is joined, even beside a member holding it too,
// never taken for a conflict, and never converted again.
func TestJoinFindsB2BUsersWithoutEXTInTheirUPN(t *testing.T) {
	for _, tc := range []struct {
		name string
		user galsync.TargetUser
	}{
		{"converted member", galsync.TargetUser{UserType: "Member", ExternalUserState: "Accepted"}},
		{"converted, userType set to Guest", galsync.TargetUser{UserType: "Guest", ExternalUserState: "PendingAcceptance"}},
		{"invited as member", galsync.TargetUser{UserType: "Member", CreationType: "Invitation"}},
	} {
		for _, existing := range []string{galsync.ExistingMembersSkip, galsync.ExistingMembersConvert} {
			t.Run(tc.name+"/"+existing, func(t *testing.T) {
				topo := testTopology(galsync.DeprovisionDisable, galsync.Threshold{})
				topo.Directions[0].ExistingMembers = existing
				r := newRig(t, topo)
				// The member sorts first: a lookup taking the first user
				// holding the address would find it.
				r.g.target["a-member"] = &galsync.TargetUser{ID: "a-member", UserType: "Member", UserPrincipalName: "a.member@tgt.onmicrosoft.com",
					Attributes: map[string]any{"mail": "a@src.example", "displayName": "Member", "accountEnabled": true}}
				b2b := tc.user
				b2b.ID, b2b.UserPrincipalName = "b2b-1", "ada@tgt.onmicrosoft.com"
				b2b.Attributes = map[string]any{"otherMails": []string{"a@src.example"}, "displayName": "Ada", "accountEnabled": true}
				r.g.target[b2b.ID] = &b2b
				r.syncOne()
				if l := r.link("a"); l.TargetUserID != "b2b-1" || l.State != galsync.LinkActive {
					t.Fatalf("link = %+v, want joined to b2b-1", l)
				}
				if es := r.logOf("a", galsync.ActionConflict); len(es) != 0 {
					t.Errorf("conflict entries = %+v", es)
				}
				if es := r.logOf("a", galsync.ActionJoin); len(es) != 1 {
					t.Errorf("join entries = %d, want 1", len(es))
				}
				for _, op := range []string{"invite", "convert"} {
					if n := r.g.writeCount(op); n != 0 {
						t.Errorf("%d %s writes, want 0", n, op)
					}
				}
				if g := r.g.guests()["b2b-1"]; g.Attributes["jobTitle"] != "Engineer" {
					t.Errorf("joined user not reconciled: %v", g.Attributes)
				}
				if g := r.g.guests()["a-member"]; g.Attributes["displayName"] != "Member" || len(g.Attributes) != 3 {
					t.Errorf("the member was written to: %v", g.Attributes)
				}
			})
		}
	}
}
