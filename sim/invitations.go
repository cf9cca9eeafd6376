package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// POST /invitations, after graph/api/invitation-post and the invitation
// resource. The invited user is created at once with creationType
// Invitation, externalUserState PendingAcceptance and a userPrincipalName
// of the form mail_domain#EXT#@initialdomain; it is hidden from the address
// list until someone shows it.

type invitationRequest struct {
	InvitedUserEmailAddress string          `json:"invitedUserEmailAddress"`
	InviteRedirectURL       string          `json:"inviteRedirectUrl"`
	InvitedUserDisplayName  string          `json:"invitedUserDisplayName"`
	InvitedUserType         string          `json:"invitedUserType"`
	SendInvitationMessage   bool            `json:"sendInvitationMessage"`
	InvitedUserMessageInfo  json.RawMessage `json:"invitedUserMessageInfo"`
	InvitedUserSponsors     json.RawMessage `json:"invitedUserSponsors"`
	InvitedUser             *struct {
		ID string `json:"id"`
	} `json:"invitedUser"`
	ResetRedemption bool `json:"resetRedemption"`
	// Read-only on the resource, but SDKs may echo them back.
	ID              string `json:"id"`
	Status          string `json:"status"`
	InviteRedeemURL string `json:"inviteRedeemUrl"`
}

type invitationResponse struct {
	Context                 string          `json:"@odata.context"`
	ID                      string          `json:"id"`
	InviteRedeemURL         string          `json:"inviteRedeemUrl"`
	InvitedUserDisplayName  string          `json:"invitedUserDisplayName"`
	InvitedUserType         string          `json:"invitedUserType"`
	InvitedUserEmailAddress string          `json:"invitedUserEmailAddress"`
	SendInvitationMessage   bool            `json:"sendInvitationMessage"`
	ResetRedemption         bool            `json:"resetRedemption"`
	InviteRedirectURL       string          `json:"inviteRedirectUrl"`
	Status                  string          `json:"status"`
	InvitedUserMessageInfo  json.RawMessage `json:"invitedUserMessageInfo"`
	InvitedUser             struct {
		ID string `json:"id"`
	} `json:"invitedUser"`
}

func (s *Server) handleInvitation(w http.ResponseWriter, r *http.Request) {
	n := noteOf(r)
	t := n.tenant
	req, gerr := decodeInvitation(r.Body)
	if gerr != nil {
		s.writeGraphError(w, r, gerr)
		return
	}
	t.mu.Lock()
	rec, gerr := s.invite(t, req)
	var resp invitationResponse
	if gerr == nil {
		rec.ticket, rec.redirectURL = randomToken(16), req.InviteRedirectURL
		resp = s.invitationAnswer(r, t, rec, req)
	}
	t.mu.Unlock()
	if gerr != nil {
		s.writeGraphError(w, r, gerr)
		return
	}
	n.items = 1
	writeJSON(w, http.StatusCreated, resp)
}

func decodeInvitation(body io.Reader) (invitationRequest, *graphError) {
	var req invitationRequest
	var fields map[string]json.RawMessage
	raw, err := io.ReadAll(body)
	if err != nil || json.Unmarshal(raw, &fields) != nil || fields == nil {
		return req, newGraphError(http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload.")
	}
	for k := range fields {
		if strings.Contains(k, "@") { // instance annotations such as @odata.type
			delete(fields, k)
		}
	}
	clean, _ := json.Marshal(fields)
	dec := json.NewDecoder(bytes.NewReader(clean))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, newGraphError(http.StatusBadRequest, "BadRequest", "Invalid invitation: %v.", err)
	}
	if !plausibleMail(req.InvitedUserEmailAddress) {
		return req, newGraphError(http.StatusBadRequest, "BadRequest", "The invited user email address is missing or invalid.")
	}
	if u, err := url.Parse(req.InviteRedirectURL); req.InviteRedirectURL == "" || err != nil || !u.IsAbs() {
		return req, newGraphError(http.StatusBadRequest, "BadRequest", "InviteRedirectUrl is required and must be an absolute URL.")
	}
	switch {
	case req.InvitedUserType == "" || strings.EqualFold(req.InvitedUserType, "Guest"):
		req.InvitedUserType = "Guest"
	case strings.EqualFold(req.InvitedUserType, "Member"):
		req.InvitedUserType = "Member"
	default:
		return req, newGraphError(http.StatusBadRequest, "BadRequest", "invitedUserType must be Guest or Member.")
	}
	return req, nil
}

func plausibleMail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.ContainsAny(s, " \t<>,;") &&
		!strings.Contains(domain, "@") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// invite finds or creates the invited user. Inviting an address that
// already belongs to a user of the tenant creates no second user: Microsoft
// documents that such a user "won't receive an invitation" and suggests
// looking the address up first (external-id/customize-invitation-api,
// "Determine if a user was already invited to your directory"); the answer
// in that case is not documented, so the simulator answers 201 naming the
// existing user, as an idempotent re-invitation.
func (s *Server) invite(t *tenant, req invitationRequest) (*userRecord, *graphError) {
	if req.InvitedUser != nil && req.InvitedUser.ID != "" {
		return t.inviteInternal(req, s.replicatedAt())
	}
	if rec := t.findByAddress(req.InvitedUserEmailAddress); rec != nil {
		if req.ResetRedemption && rec.user.ExternalUserState != "" {
			u := rec.user.clone()
			u.ExternalUserState = "PendingAcceptance"
			_, _ = t.replace(rec, u) // same userPrincipalName: cannot conflict
		}
		return rec, nil
	}
	email := req.InvitedUserEmailAddress
	local := strings.ReplaceAll(email, "@", "_")
	name := req.InvitedUserDisplayName
	if name == "" {
		name, _, _ = strings.Cut(email, "@")
	}
	hidden := false
	u := User{
		ID: s.ids.guid(), UserPrincipalName: t.freeGuestUPN(local), Mail: email, MailNickname: local + "#EXT#",
		OtherMails: []string{email}, DisplayName: name, UserType: req.InvitedUserType, CreationType: "Invitation",
		ExternalUserState: "PendingAcceptance", AccountEnabled: true, ShowInAddressList: &hidden,
	}
	rec, err := t.insert(u, s.now())
	if err != nil {
		return nil, newGraphError(http.StatusBadRequest, "BadRequest", "The invited user could not be created: %v.", err)
	}
	rec.visibleAt = s.replicatedAt()
	return rec, nil
}

// inviteInternal is "Invite internal users to B2B collaboration"
// (https://learn.microsoft.com/entra/external-id/invite-internal-users):
// "Sending an invitation to an existing internal account lets you retain
// that user's object ID, UPN, group memberships, and app assignments", and
// "This feature doesn't change the UserType". The user becomes an external
// user pending acceptance. Refused, as the page says:
//   - a user with onPremisesUserPrincipalName: "we block internal-to-external
//     conversions for user objects with this attribute";
//   - a user without mail: "Before you invite the user, make sure the
//     User.Mail property of the internal user object ... is set to the
//     external email address" (the portal withholds the option; the API's
//     answer is not documented, so the simulator refuses it too).
//
// A user already external (externalUserState set) is re-invited: the page
// says the portal then offers to "Resend this B2B user's invitation or
// reset their redemption status", so nothing changes unless
// resetRedemption asks for it.
func (t *tenant) inviteInternal(req invitationRequest, visibleAt time.Time) (*userRecord, *graphError) {
	rec := t.byID[strings.ToLower(req.InvitedUser.ID)]
	switch {
	case rec == nil:
		return nil, notFound(req.InvitedUser.ID)
	case rec.user.ExternalUserState != "":
		if req.ResetRedemption {
			u := rec.user.clone()
			u.ExternalUserState = "PendingAcceptance"
			_, _ = t.replace(rec, u) // same userPrincipalName: cannot conflict
		}
		return rec, nil
	case rec.user.OnPremisesUserPrincipalName != "":
		return nil, newGraphError(http.StatusBadRequest, "BadRequest",
			"The user cannot be converted to an external user: internal-to-external conversion is blocked for users "+
				"with an onPremisesUserPrincipalName (Microsoft Entra Connect writes it by default).")
	case rec.user.Mail == "":
		return nil, newGraphError(http.StatusBadRequest, "BadRequest",
			"The user cannot be converted to an external user: set its mail property to the external email address first.")
	}
	u := rec.user.clone()
	u.ExternalUserState = "PendingAcceptance"
	if !slices.ContainsFunc(u.OtherMails, func(m string) bool { return strings.EqualFold(m, req.InvitedUserEmailAddress) }) {
		u.OtherMails = append(u.OtherMails, req.InvitedUserEmailAddress)
	}
	_, _ = t.replace(rec, u) // same userPrincipalName: cannot conflict
	rec.visibleAt = visibleAt
	return rec, nil
}

// findByAddress looks an address up the way Microsoft recommends before
// inviting: userPrincipalName, mail, proxyAddresses or otherMails.
func (t *tenant) findByAddress(addr string) *userRecord {
	if rec := t.byUPN[strings.ToLower(addr)]; rec != nil {
		return rec
	}
	same := func(v string) bool { return strings.EqualFold(v, addr) || strings.EqualFold(v, "smtp:"+addr) }
	var first *userRecord // the earliest created, as a scan would find
	for rec := range t.byAddress[strings.ToLower(addr)] {
		u := &rec.user
		if !rec.deleted && (first == nil || rec.ord < first.ord) &&
			(same(u.Mail) || slices.ContainsFunc(u.OtherMails, same) || slices.ContainsFunc(u.ProxyAddresses, same)) {
			first = rec
		}
	}
	return first
}

func (t *tenant) freeGuestUPN(local string) string {
	upn := local + "#EXT#@" + t.domain
	for i := 1; t.byUPN[strings.ToLower(upn)] != nil; i++ {
		upn = fmt.Sprintf("%s%d#EXT#@%s", local, i, t.domain)
	}
	return upn
}

func (s *Server) invitationAnswer(r *http.Request, t *tenant, rec *userRecord, req invitationRequest) invitationResponse {
	status := "PendingAcceptance"
	if rec.user.ExternalUserState == "Accepted" {
		status = "Completed"
	}
	info := req.InvitedUserMessageInfo
	if len(info) == 0 || string(info) == "null" {
		info = json.RawMessage(`{"messageLanguage":null,"customizedMessageBody":null,"ccRecipients":[]}`)
	}
	redeem := url.Values{"tenant": {t.id}, "user": {rec.user.ID}, "ticket": {rec.ticket}}
	resp := invitationResponse{
		Context: graphBase(r, t) + "/$metadata#invitations/$entity", ID: s.ids.guid(),
		InviteRedeemURL:        "https://" + r.Host + "/redeem?" + redeem.Encode(),
		InvitedUserDisplayName: rec.user.DisplayName, InvitedUserType: req.InvitedUserType,
		InvitedUserEmailAddress: req.InvitedUserEmailAddress, SendInvitationMessage: req.SendInvitationMessage,
		ResetRedemption: req.ResetRedemption, InviteRedirectURL: req.InviteRedirectURL, Status: status,
		InvitedUserMessageInfo: info,
	}
	resp.InvitedUser.ID = rec.user.ID
	return resp
}

// handleRedeem plays the guest opening inviteRedeemUrl: the invitation is
// accepted and the browser goes on to inviteRedirectUrl.
func (s *Server) handleRedeem(w http.ResponseWriter, r *http.Request) {
	n := noteOf(r)
	q := r.URL.Query()
	t, err := s.tenant(q.Get("tenant"))
	if err != nil {
		http.Error(w, "unknown tenant", http.StatusNotFound)
		return
	}
	n.tenant = t
	t.mu.Lock()
	rec := t.byID[strings.ToLower(q.Get("user"))]
	ok := rec != nil && rec.ticket != "" && rec.ticket == q.Get("ticket")
	var target string
	if ok {
		u := rec.user.clone()
		u.ExternalUserState = "Accepted"
		_, _ = t.replace(rec, u) // same userPrincipalName: cannot conflict
		target = rec.redirectURL
	}
	t.mu.Unlock()
	if !ok {
		http.Error(w, "this invitation link is not valid", http.StatusNotFound)
		return
	}
	http.Redirect(w, r, target, http.StatusFound)
}
