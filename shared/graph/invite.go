package graph

import (
	"context"
	"fmt"
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/invitations"

	"github.com/galsync/galsync/shared/galsync"
)

// invitationBody is POST /invitations. invitedUserType and
// invitedUserDisplayName are left out when empty, so Graph's defaults apply.
type invitationBody struct {
	InvitedUserEmailAddress string `json:"invitedUserEmailAddress"`
	InviteRedirectURL       string `json:"inviteRedirectUrl"`
	InvitedUserDisplayName  string `json:"invitedUserDisplayName,omitempty"`
	InvitedUserType         string `json:"invitedUserType,omitempty"`
	SendInvitationMessage   bool   `json:"sendInvitationMessage"`
	// InvitedUser names an existing internal user to convert into an
	// external user in place ("Invite internal users to B2B collaboration",
	// learn.microsoft.com/entra/external-id/invite-internal-users: "pass
	// both the internal user object and the guest user's email address").
	InvitedUser *invitedUserRef `json:"invitedUser,omitempty"`
}

type invitedUserRef struct {
	ID string `json:"id"`
}

// invitationAnswer is the part of the created invitation galsync reads.
type invitationAnswer struct {
	InvitedUserType string `json:"invitedUserType"`
	InvitedUser     struct {
		ID                string `json:"id"`
		UserPrincipalName string `json:"userPrincipalName"`
	} `json:"invitedUser"`
}

// Invite invites inv.EmailAddress into tenant as an external user and
// returns the user Graph created (or found: inviting an existing guest
// again answers with that guest).
func (c *Client) Invite(ctx context.Context, tenant string, inv galsync.Invitation) (galsync.TargetUser, error) {
	const op = "invite"
	tc, err := c.tenant(tenant)
	if err != nil {
		return galsync.TargetUser{}, err
	}
	if inv.EmailAddress == "" || inv.RedirectURL == "" {
		return galsync.TargetUser{}, galsync.Permanent(fmt.Errorf("graph: %s in tenant %s: an invitation needs an address and a redirect URL", op, tenant))
	}
	b := invitations.NewInvitationsRequestBuilderInternal(map[string]string{}, tc.adapter)
	ri := abs.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abs.POST, b.UrlTemplate, b.PathParameters)
	ri.Headers.TryAdd("Accept", "application/json")
	body := invitationBody{
		InvitedUserEmailAddress: inv.EmailAddress,
		InviteRedirectURL:       inv.RedirectURL,
		InvitedUserDisplayName:  inv.DisplayName,
		InvitedUserType:         inv.UserType,
		SendInvitationMessage:   inv.SendInvitationMessage,
	}
	if inv.InvitedUserID != "" {
		// A conversion keeps the user's name: it is not renamed here.
		body.InvitedUser, body.InvitedUserDisplayName = &invitedUserRef{ID: inv.InvitedUserID}, ""
	}
	rep, err := tc.sendJSON(ctx, op, ri, body)
	if err != nil {
		return galsync.TargetUser{}, err
	}
	var ans invitationAnswer
	if err := tc.decode(op, rep, &ans); err != nil {
		return galsync.TargetUser{}, err
	}
	if ans.InvitedUser.ID == "" {
		return galsync.TargetUser{}, fmt.Errorf("graph: %s in tenant %s: the answer names no invited user", op, tenant)
	}
	if inv.InvitedUserID != "" {
		if !strings.EqualFold(ans.InvitedUser.ID, inv.InvitedUserID) {
			return galsync.TargetUser{}, fmt.Errorf("graph: %s in tenant %s: converting user %s answered with another user", op, tenant, inv.InvitedUserID)
		}
		// A converted member keeps its userType and creationType
		// ("This feature doesn't change the UserType"); it is external
		// from now on (externalUserState PendingAcceptance).
		return galsync.TargetUser{ID: ans.InvitedUser.ID, UserPrincipalName: ans.InvitedUser.UserPrincipalName,
			ExternalUserState: "PendingAcceptance"}, nil
	}
	userType := ans.InvitedUserType
	if userType == "" {
		userType = inv.UserType
	}
	return galsync.TargetUser{
		ID:                ans.InvitedUser.ID,
		UserPrincipalName: ans.InvitedUser.UserPrincipalName,
		UserType:          userType,
		CreationType:      "Invitation",
	}, nil
}
