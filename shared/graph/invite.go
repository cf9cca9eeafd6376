package graph

import (
	"context"
	"fmt"

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
	rep, err := tc.sendJSON(ctx, op, ri, invitationBody{
		InvitedUserEmailAddress: inv.EmailAddress,
		InviteRedirectURL:       inv.RedirectURL,
		InvitedUserDisplayName:  inv.DisplayName,
		InvitedUserType:         inv.UserType,
		SendInvitationMessage:   inv.SendInvitationMessage,
	})
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
