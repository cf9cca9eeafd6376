package pipeline

import (
	"context"
	"fmt"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/syncplan"
)

// Converting existing members, as "Invite internal users to B2B
// collaboration" documents it
// (https://learn.microsoft.com/entra/external-id/invite-internal-users):
// an invitation that names the internal user (invitedUser {id}) with the
// external address makes it a B2B user in place, keeping its object id,
// UPN, group memberships and app assignments; "This feature doesn't change
// the UserType", so the update worker sets the direction's afterwards. The
// page names what cannot be converted:
//   - "we block internal-to-external conversions for user objects with
//     this attribute" (onPremisesUserPrincipalName, which Microsoft Entra
//     Connect writes by default);
//   - "make sure the User.Mail property of the internal user object ... is
//     set to the external email address" before inviting.
// galsync checks both before it asks, and takes any other refusal of the
// invitation (a 400) the same way: a conflict with the reason, logged once,
// not a retry. Other failures (a 403 for a permission the app lacks) are
// not the member's: they are retried or parked like any other.

// Conversion refusals, as the provisioning log and the status page give
// them.
const (
	reasonOnPremisesUPN = "the target member cannot be converted to an external user: it has an onPremisesUserPrincipalName " +
		"(Microsoft Entra Connect writes it by default, and Microsoft blocks internal-to-external conversions for users " +
		"with it; learn.microsoft.com/entra/external-id/invite-internal-users). Change the Connect sync rule so it is not " +
		"written, or remove the member"
	reasonMemberNoMail = "the target member cannot be converted to an external user: its mail is not set (Microsoft requires " +
		"the member's mail to hold the external address before it is invited; learn.microsoft.com/entra/external-id/invite-internal-users)"
	reasonConvertRefused = "the target member could not be converted to an external user: Graph refused the invitation: "
)

// conversionRefused is a member galsync will not or cannot convert.
type conversionRefused struct {
	member galsync.TargetUser
	reason string
}

func (e *conversionRefused) Error() string { return e.reason }

// conversionSelect is what the lookup by address reads of a user beyond
// the base list (which has userType and creationType): externalUserState,
// which a member converted in place to B2B carries while keeping its own
// UPN and userType (learn.microsoft.com/graph/api/user-convertexternaltointernalmemberuser
// and invitation-post "invitedUser"), so such a user is joined, not taken
// for a member; and, when members may be converted, the property that
// blocks a conversion. Graph returns none of these unless asked
// (learn.microsoft.com/graph/api/user-get: "only a subset").
func conversionSelect(d *Direction) []string {
	if d.ExistingMembers == galsync.ExistingMembersConvert {
		return []string{"externalUserState", "onPremisesUserPrincipalName"}
	}
	return []string{"externalUserState"}
}

// convert turns member, which holds addr, into an external user in place.
func (w *Inviter) convert(ctx context.Context, d *Direction, addr string, member galsync.TargetUser) (galsync.TargetUser, string, error) {
	mail, _ := member.Attributes["mail"].(string)
	switch {
	case member.OnPremisesUserPrincipalName != "":
		return member, "", &conversionRefused{member: member, reason: reasonOnPremisesUPN}
	case mail == "":
		return member, "", &conversionRefused{member: member, reason: reasonMemberNoMail}
	}
	converted, err := w.Graph.Invite(ctx, d.Target.Name, galsync.Invitation{
		EmailAddress: addr, RedirectURL: d.InviteRedirectURL, UserType: d.UserType,
		SendInvitationMessage: d.SendInvitationMessage, InvitedUserID: member.ID,
	})
	switch {
	case err == nil:
		return converted, galsync.ActionConvert, nil
	case isRefusal(err):
		return member, "", &conversionRefused{member: member, reason: reasonConvertRefused + err.Error()}
	}
	return member, "", fmt.Errorf("invite worker: convert member: %w", err)
}

// memberConflictReason says why a member holding addr stays a conflict.
func memberConflictReason(d *Direction, addr string) string {
	if _, why := d.Rules.Converts(addr); why == syncplan.ReasonConvertDomain {
		return conflictReason + " (existingMembers is convert, but " + why + ")"
	}
	return conflictReason
}
