package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Change-notification subscriptions on users, after the subscription
// resource and its methods (graph/api/resources/subscription,
// subscription-post-subscriptions, subscription-update, subscription-delete,
// subscription-reauthorize) and "Receive change notifications through
// webhooks" (graph/change-notifications-delivery-webhooks):
//
//   - create validates the notificationUrl and the lifecycleNotificationUrl
//     with a POST ?validationToken=..., which must answer 200 text/plain
//     with the decoded token within 10 s, else 400;
//   - users support the changeTypes updated and deleted only; a created or
//     soft-deleted user is notified as updated, a permanently deleted one
//     as deleted;
//   - a users subscription lives at most 41,760 minutes; once expired,
//     Graph deletes it (get answers 404, nothing is notified);
//   - notifications go to the URL by POST, batched, with clientState,
//     tenantId, subscriptionId and the resource.

// MaxUserSubscriptionLifetime is the longest expiry Graph allows for a
// subscription on users ("user, group, other directory resources: 41760
// minutes (under 29 days)").
const MaxUserSubscriptionLifetime = 41760 * time.Minute

// maxClientState is the documented limit of clientState.
const maxClientState = 128

// Subscription is a change-notification subscription as the control API
// shows it. The clientState is a secret and never shown.
type Subscription struct {
	ID                       string    `json:"id"`
	TenantID                 string    `json:"tenantId"`
	ApplicationID            string    `json:"applicationId"`
	Resource                 string    `json:"resource"`
	ChangeType               string    `json:"changeType"`
	NotificationURL          string    `json:"notificationUrl"`
	LifecycleNotificationURL string    `json:"lifecycleNotificationUrl,omitempty"`
	ExpirationDateTime       time.Time `json:"expirationDateTime"`
	CreatedDateTime          time.Time `json:"createdDateTime"`
	// Reauthorized counts POST /subscriptions/{id}/reauthorize calls;
	// Renewed counts PATCH calls.
	Reauthorized int `json:"reauthorized"`
	Renewed      int `json:"renewed"`
}

// subscription is a live subscription with its secret.
type subscription struct {
	Subscription
	clientState string
	changeTypes []string
}

func (sub *subscription) wants(changeType string) bool {
	return slices.Contains(sub.changeTypes, changeType)
}

// subscriptionResource is the subscription JSON Graph answers.
type subscriptionResource struct {
	Context                   string  `json:"@odata.context,omitempty"`
	ID                        string  `json:"id"`
	Resource                  string  `json:"resource"`
	ApplicationID             string  `json:"applicationId"`
	ChangeType                string  `json:"changeType"`
	ClientState               *string `json:"clientState"`
	NotificationURL           string  `json:"notificationUrl"`
	NotificationQueryOptions  *string `json:"notificationQueryOptions"`
	LifecycleNotificationURL  *string `json:"lifecycleNotificationUrl"`
	ExpirationDateTime        string  `json:"expirationDateTime"`
	CreatorID                 string  `json:"creatorId"`
	IncludeResourceData       *bool   `json:"includeResourceData"`
	LatestSupportedTLSVersion string  `json:"latestSupportedTlsVersion"`
	EncryptionCertificate     *string `json:"encryptionCertificate"`
	EncryptionCertificateID   *string `json:"encryptionCertificateId"`
	NotificationURLAppID      *string `json:"notificationUrlAppId"`
}

// graphDateTime formats a DateTimeOffset as Graph writes subscription
// expiries (seven fraction digits at most).
func graphDateTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.9999999Z") }

func (sub *subscription) resource(context string) subscriptionResource {
	res := subscriptionResource{
		Context: context, ID: sub.ID, Resource: sub.Resource, ApplicationID: sub.ApplicationID, ChangeType: sub.ChangeType,
		NotificationURL: sub.NotificationURL, ExpirationDateTime: graphDateTime(sub.ExpirationDateTime),
		CreatorID: sub.ApplicationID, LatestSupportedTLSVersion: "v1_2",
	}
	if sub.clientState != "" {
		cs := sub.clientState
		res.ClientState = &cs
	}
	if sub.LifecycleNotificationURL != "" {
		u := sub.LifecycleNotificationURL
		res.LifecycleNotificationURL = &u
	}
	return res
}

func subscriptionNotFound(id string) *graphError {
	return newGraphError(http.StatusNotFound, "ResourceNotFound", "The object was not found: subscription '%s'.", id)
}

// subscriptionRequest is the body of create and update.
type subscriptionRequest struct {
	ChangeType               *string `json:"changeType"`
	NotificationURL          *string `json:"notificationUrl"`
	LifecycleNotificationURL *string `json:"lifecycleNotificationUrl"`
	Resource                 *string `json:"resource"`
	ExpirationDateTime       *string `json:"expirationDateTime"`
	ClientState              *string `json:"clientState"`
	IncludeResourceData      *bool   `json:"includeResourceData"`
}

func decodeSubscriptionRequest(r *http.Request) (subscriptionRequest, map[string]json.RawMessage, *graphError) {
	var req subscriptionRequest
	var fields map[string]json.RawMessage
	raw, err := io.ReadAll(r.Body)
	if err != nil || json.Unmarshal(raw, &fields) != nil || fields == nil || json.Unmarshal(raw, &req) != nil {
		return req, nil, newGraphError(http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
	}
	return req, fields, nil
}

// handleCreateSubscription is POST /subscriptions.
func (s *Server) handleCreateSubscription(w http.ResponseWriter, r *http.Request) {
	n := noteOf(r)
	req, fields, gerr := decodeSubscriptionRequest(r)
	if gerr != nil {
		s.writeGraphError(w, r, gerr)
		return
	}
	// The request log keeps write bodies; the clientState is a secret.
	if _, ok := fields["clientState"]; ok {
		fields["clientState"] = json.RawMessage(`"[redacted]"`)
		n.body, _ = json.Marshal(fields)
	}
	sub, gerr := s.newSubscription(n, req)
	if gerr != nil {
		s.writeGraphError(w, r, gerr)
		return
	}
	// Graph validates every endpoint before it creates the subscription.
	for _, u := range endpointsOf(sub) {
		if err := s.notif.validate(r.Context(), n.tenant.id, u); err != nil {
			s.writeGraphError(w, r, newGraphError(http.StatusBadRequest, "ValidationError",
				"Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request. %v", err))
			return
		}
	}
	s.notif.add(sub)
	n.items = 1
	writeJSON(w, http.StatusCreated, sub.resource(graphBase(r, n.tenant)+"/$metadata#subscriptions/$entity"))
}

// endpointsOf lists the subscription's distinct endpoints.
func endpointsOf(sub *subscription) []string {
	urls := []string{sub.NotificationURL}
	if u := sub.LifecycleNotificationURL; u != "" && u != sub.NotificationURL {
		urls = append(urls, u)
	}
	return urls
}

// newSubscription checks a create request; the subscription is not stored.
func (s *Server) newSubscription(n *requestNote, req subscriptionRequest) (*subscription, *graphError) {
	now := s.now()
	sub := &subscription{Subscription: Subscription{ID: s.subIDs.guid(), TenantID: n.tenant.id, ApplicationID: n.app, CreatedDateTime: now}}
	if req.Resource == nil || req.ChangeType == nil || req.NotificationURL == nil || req.ExpirationDateTime == nil {
		return nil, badRequest("changeType, notificationUrl, resource and expirationDateTime are required.")
	}
	if res := strings.Trim(strings.ToLower(*req.Resource), "/"); res != "users" {
		return nil, newGraphError(http.StatusBadRequest, "InvalidRequest",
			"Resource '%s' is not supported by the simulator; it serves subscriptions on 'users'.", *req.Resource)
	}
	sub.Resource = *req.Resource
	types, gerr := userChangeTypes(*req.ChangeType)
	if gerr != nil {
		return nil, gerr
	}
	sub.ChangeType, sub.changeTypes = *req.ChangeType, types
	if sub.NotificationURL, gerr = endpointURL("notificationUrl", *req.NotificationURL); gerr != nil {
		return nil, gerr
	}
	if req.LifecycleNotificationURL != nil && *req.LifecycleNotificationURL != "" {
		if sub.LifecycleNotificationURL, gerr = endpointURL("lifecycleNotificationUrl", *req.LifecycleNotificationURL); gerr != nil {
			return nil, gerr
		}
	}
	if sub.ExpirationDateTime, gerr = expiry(*req.ExpirationDateTime, now); gerr != nil {
		return nil, gerr
	}
	if req.ClientState != nil {
		if len(*req.ClientState) > maxClientState {
			return nil, badRequest("clientState is longer than %d characters.", maxClientState)
		}
		sub.clientState = *req.ClientState
	}
	if req.IncludeResourceData != nil && *req.IncludeResourceData {
		return nil, badRequest("includeResourceData is not supported for the resource 'users'.")
	}
	return sub, nil
}

// userChangeTypes parses a changeType list: "User and group change
// notifications support updated and deleted changeType."
func userChangeTypes(list string) ([]string, *graphError) {
	var out []string
	for _, ct := range strings.Split(list, ",") {
		ct = strings.TrimSpace(ct)
		switch ct {
		case "updated", "deleted":
			if !slices.Contains(out, ct) {
				out = append(out, ct)
			}
		default:
			return nil, newGraphError(http.StatusBadRequest, "InvalidRequest",
				"The changeType '%s' is not supported for the resource 'users': use updated and deleted.", ct)
		}
	}
	return out, nil
}

// endpointURL checks a notification endpoint: Graph requires HTTPS; the
// simulator also takes http on loopback, where a local host listens.
func endpointURL(name, raw string) (string, *graphError) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return "", badRequest("%s must be an absolute URL.", name)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname())) {
		return "", badRequest("%s must use the HTTPS protocol.", name)
	}
	return raw, nil
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// expiry parses an expirationDateTime: in the future and at most 41,760
// minutes away.
func expiry(raw string, now time.Time) (time.Time, *graphError) {
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return time.Time{}, badRequest("expirationDateTime '%s' is not a DateTimeOffset.", raw)
	}
	if !t.After(now) {
		return time.Time{}, newGraphError(http.StatusBadRequest, "InvalidRequest",
			"Subscription expiration must be in the future: '%s' is not after '%s'.", raw, graphDateTime(now))
	}
	if t.Sub(now) > MaxUserSubscriptionLifetime {
		return time.Time{}, newGraphError(http.StatusBadRequest, "InvalidRequest",
			"Subscription expiration can only be %d minutes in the future.", int(MaxUserSubscriptionLifetime/time.Minute))
	}
	return t.UTC(), nil
}

// handleListSubscriptions lists the live subscriptions the calling app
// created in the tenant.
func (s *Server) handleListSubscriptions(w http.ResponseWriter, r *http.Request) {
	n := noteOf(r)
	var items []subscriptionResource
	for _, sub := range s.notif.live(n.tenant.id) {
		if sub.ApplicationID == n.app {
			items = append(items, sub.resource(""))
		}
	}
	if items == nil {
		items = []subscriptionResource{}
	}
	n.items = len(items)
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": graphBase(r, n.tenant) + "/$metadata#subscriptions", "value": items})
}

func (s *Server) handleGetSubscription(w http.ResponseWriter, r *http.Request) {
	n := noteOf(r)
	sub, ok := s.notif.get(n.tenant.id, n.app, r.PathValue("id"))
	if !ok {
		s.writeGraphError(w, r, subscriptionNotFound(r.PathValue("id")))
		return
	}
	n.items = 1
	writeJSON(w, http.StatusOK, sub.resource(graphBase(r, n.tenant)+"/$metadata#subscriptions/$entity"))
}

// handleUpdateSubscription is PATCH /subscriptions/{id}: a new
// expirationDateTime renews (and reauthorizes) it; notificationUrl may
// change too, after validation. Nothing else is updatable.
func (s *Server) handleUpdateSubscription(w http.ResponseWriter, r *http.Request) {
	n := noteOf(r)
	id := r.PathValue("id")
	req, fields, gerr := decodeSubscriptionRequest(r)
	if gerr != nil {
		s.writeGraphError(w, r, gerr)
		return
	}
	for name := range fields {
		if name != "expirationDateTime" && name != "notificationUrl" && !strings.HasPrefix(name, "@odata.") {
			s.writeGraphError(w, r, badRequest("Property '%s' cannot be updated; only expirationDateTime and notificationUrl can.", name))
			return
		}
	}
	var exp time.Time
	if req.ExpirationDateTime != nil {
		if exp, gerr = expiry(*req.ExpirationDateTime, s.now()); gerr != nil {
			s.writeGraphError(w, r, gerr)
			return
		}
	}
	notifyURL := ""
	if req.NotificationURL != nil {
		if notifyURL, gerr = endpointURL("notificationUrl", *req.NotificationURL); gerr != nil {
			s.writeGraphError(w, r, gerr)
			return
		}
		if err := s.notif.validate(r.Context(), n.tenant.id, notifyURL); err != nil {
			s.writeGraphError(w, r, newGraphError(http.StatusBadRequest, "ValidationError",
				"Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request. %v", err))
			return
		}
	}
	sub, ok := s.notif.update(n.tenant.id, n.app, id, func(sub *subscription) {
		if !exp.IsZero() {
			sub.ExpirationDateTime = exp
			sub.Renewed++
		}
		if notifyURL != "" {
			sub.NotificationURL = notifyURL
		}
	})
	if !ok {
		s.writeGraphError(w, r, subscriptionNotFound(id))
		return
	}
	n.items = 1
	writeJSON(w, http.StatusOK, sub.resource(graphBase(r, n.tenant)+"/$metadata#subscriptions/$entity"))
}

func (s *Server) handleDeleteSubscription(w http.ResponseWriter, r *http.Request) {
	n := noteOf(r)
	if !s.notif.remove(n.tenant.id, n.app, r.PathValue("id")) {
		s.writeGraphError(w, r, subscriptionNotFound(r.PathValue("id")))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleReauthorizeSubscription answers a reauthorizationRequired
// challenge: 204, the expiry unchanged.
func (s *Server) handleReauthorizeSubscription(w http.ResponseWriter, r *http.Request) {
	n := noteOf(r)
	if _, ok := s.notif.update(n.tenant.id, n.app, r.PathValue("id"), func(sub *subscription) { sub.Reauthorized++ }); !ok {
		s.writeGraphError(w, r, subscriptionNotFound(r.PathValue("id")))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// validationToken is an opaque token shaped like Graph's, which is text
// with spaces and colons, so that the endpoint must URL-decode it.
func validationToken() string {
	return fmt.Sprintf("Validation: Testing client application reachability for subscription Request-Id: %s", requestID())
}
