// Package notify reads the POST bodies Microsoft Graph sends to a
// subscription's notificationUrl and lifecycleNotificationUrl, and checks
// each notification against the subscriptions galsync keeps. It is pure:
// bytes and a lookup in, a verdict out; the handlers do the I/O.
//
// The shapes follow Microsoft's documentation:
//   - changeNotificationCollection and changeNotification
//     (https://learn.microsoft.com/graph/api/resources/changenotificationcollection,
//     https://learn.microsoft.com/graph/api/resources/changenotification):
//     {"value":[{subscriptionId, subscriptionExpirationDateTime, clientState,
//     changeType, resource, tenantId, resourceData, lifecycleEvent}]}.
//   - user notifications carry no resource data beyond the id
//     (resourceData {"@odata.type":"#Microsoft.Graph.User","@odata.id":"Users/{id}",
//     "id", "organizationId"}), so a notification only says "pull this tenant".
//   - lifecycle notifications share the collection shape with lifecycleEvent
//     set to reauthorizationRequired, subscriptionRemoved or missed
//     (https://learn.microsoft.com/graph/change-notifications-lifecycle-events).
//   - the receiver must check clientState against the value it gave the
//     subscription (https://learn.microsoft.com/graph/change-notifications-delivery-webhooks,
//     "Processing the change notification").
package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// MaxBodyBytes bounds a notification POST. Graph batches notifications,
// but a batch of users changes is a few hundred bytes per item; a megabyte
// is thousands of them.
const MaxBodyBytes = 1 << 20

// Errors Parse wraps: the handler answers 400 for ErrEmpty and
// ErrMalformed, 413 for ErrTooLarge.
var (
	ErrEmpty     = errors.New("notify: empty body")
	ErrTooLarge  = errors.New("notify: body too large")
	ErrMalformed = errors.New("notify: malformed body")
)

// Lifecycle events (lifecycleEvent).
const (
	EventReauthorizationRequired = "reauthorizationRequired"
	EventSubscriptionRemoved     = "subscriptionRemoved"
	EventMissed                  = "missed"
)

// Notification is one item of the "value" array: a change notification,
// or a lifecycle notification when LifecycleEvent is set. Fields Graph may
// add later are ignored.
type Notification struct {
	ID                             string        `json:"id,omitempty"`
	SubscriptionID                 string        `json:"subscriptionId"`
	SubscriptionExpirationDateTime string        `json:"subscriptionExpirationDateTime,omitempty"`
	ClientState                    string        `json:"clientState,omitempty"`
	TenantID                       string        `json:"tenantId"`
	ChangeType                     string        `json:"changeType,omitempty"`
	Resource                       string        `json:"resource,omitempty"`
	LifecycleEvent                 string        `json:"lifecycleEvent,omitempty"`
	ResourceData                   *ResourceData `json:"resourceData,omitempty"`
}

// ResourceData is what a users notification says about the user.
type ResourceData struct {
	ODataType      string `json:"@odata.type,omitempty"`
	ODataID        string `json:"@odata.id,omitempty"`
	ID             string `json:"id,omitempty"`
	OrganizationID string `json:"organizationId,omitempty"`
}

// IsLifecycle reports whether n is a lifecycle notification.
func (n Notification) IsLifecycle() bool { return n.LifecycleEvent != "" }

// Batch is a parsed POST body. Malformed counts the items of "value" that
// were not notification objects (a number, a subscriptionId that is not a
// string): the rest of the batch still counts.
type Batch struct {
	Notifications []Notification
	Malformed     int
}

// Parse reads a POST body. The body must be a JSON object whose "value"
// is an array; an item that cannot be read is counted, not fatal, so one
// odd item does not make Graph resend the whole batch.
func Parse(body []byte) (Batch, error) {
	if len(body) > MaxBodyBytes {
		return Batch{}, fmt.Errorf("%w: %d bytes, more than %d", ErrTooLarge, len(body), MaxBodyBytes)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return Batch{}, ErrEmpty
	}
	var top struct {
		Value *[]json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(body, &top); err != nil {
		return Batch{}, fmt.Errorf("%w: %s", ErrMalformed, describe(err))
	}
	if top.Value == nil {
		return Batch{}, fmt.Errorf("%w: no \"value\" array", ErrMalformed)
	}
	b := Batch{Notifications: make([]Notification, 0, len(*top.Value))}
	for _, raw := range *top.Value {
		var n Notification
		if json.Unmarshal(raw, &n) != nil || isNull(raw) {
			b.Malformed++
			continue
		}
		b.Notifications = append(b.Notifications, n)
	}
	return b, nil
}

// describe says what is wrong with a body without quoting it: a body may
// hold a clientState or addresses.
func describe(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("not JSON (offset %d)", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("%s is a JSON %s", field(typ.Field), typ.Value)
	default:
		return "not a JSON object"
	}
}

func field(name string) string {
	if name == "" {
		return "the body"
	}
	return fmt.Sprintf("%q", name)
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }
