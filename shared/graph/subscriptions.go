package graph

import (
	"context"
	"fmt"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/subscriptions"

	"github.com/galsync/galsync/shared/galsync"
)

// Change-notification subscriptions, after the subscription resource
// (https://learn.microsoft.com/graph/api/resources/subscription) and its
// methods: create (POST /subscriptions, 201), get, update (PATCH with a new
// expirationDateTime renews it, and reauthorizes it too), delete (204) and
// reauthorize (POST /subscriptions/{id}/reauthorize, 204;
// https://learn.microsoft.com/graph/api/subscription-reauthorize). A
// subscription Graph no longer has answers 404, which wraps
// galsync.ErrNotFound.

// subscriptionBody is what galsync sends when creating a subscription.
type subscriptionBody struct {
	ChangeType               string `json:"changeType"`
	NotificationURL          string `json:"notificationUrl"`
	LifecycleNotificationURL string `json:"lifecycleNotificationUrl,omitempty"`
	Resource                 string `json:"resource"`
	ExpirationDateTime       string `json:"expirationDateTime"`
	ClientState              string `json:"clientState,omitempty"`
}

// subscriptionAnswer is the part of a subscription galsync reads.
type subscriptionAnswer struct {
	ID                       string `json:"id"`
	Resource                 string `json:"resource"`
	ChangeType               string `json:"changeType"`
	NotificationURL          string `json:"notificationUrl"`
	LifecycleNotificationURL string `json:"lifecycleNotificationUrl"`
	ExpirationDateTime       string `json:"expirationDateTime"`
	ClientState              string `json:"clientState"`
}

// graphDateTime is how galsync writes a DateTimeOffset to Graph: UTC with
// up to seven fraction digits, as Graph's own examples do.
const graphDateTime = "2006-01-02T15:04:05.9999999Z"

// CreateSubscription creates sub (Resource, ChangeType, NotificationURL,
// LifecycleURL, ClientState, ExpiresAt) in tenant. Graph validates the
// notification URLs before it answers; an endpoint that fails validation
// makes this a permanent error (400). The answer's id and expiry come back
// in a copy of sub.
func (c *Client) CreateSubscription(ctx context.Context, tenant string, sub galsync.Subscription) (galsync.Subscription, error) {
	const op = "create subscription"
	tc, err := c.tenant(tenant)
	if err != nil {
		return sub, err
	}
	if sub.Resource == "" || sub.ChangeType == "" || sub.NotificationURL == "" || sub.ExpiresAt.IsZero() {
		return sub, galsync.Permanent(fmt.Errorf("graph: %s in tenant %s: resource, changeType, notificationUrl and expiry are required", op, tenant))
	}
	b := subscriptions.NewSubscriptionsRequestBuilderInternal(map[string]string{}, tc.adapter)
	ri := abs.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abs.POST, b.UrlTemplate, b.PathParameters)
	ri.Headers.TryAdd("Accept", "application/json")
	rep, err := tc.sendJSON(ctx, op, ri, subscriptionBody{
		ChangeType: sub.ChangeType, NotificationURL: sub.NotificationURL, LifecycleNotificationURL: sub.LifecycleURL,
		Resource: sub.Resource, ExpirationDateTime: sub.ExpiresAt.UTC().Format(graphDateTime), ClientState: sub.ClientState,
	})
	if err != nil {
		return sub, err
	}
	return tc.decodeSubscription(op, rep, sub)
}

// GetSubscription reads subscription id of tenant: its id, resource,
// change types, URLs and expiry (galsync keeps the clientState itself).
func (c *Client) GetSubscription(ctx context.Context, tenant, id string) (galsync.Subscription, error) {
	const op = "get subscription"
	tc, b, err := c.subscription(op, tenant, id)
	if err != nil {
		return galsync.Subscription{}, err
	}
	ri := abs.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abs.GET, b.UrlTemplate, b.PathParameters)
	ri.Headers.TryAdd("Accept", "application/json")
	rep, err := tc.send(ctx, op, ri)
	if err != nil {
		return galsync.Subscription{}, err
	}
	return tc.decodeSubscription(op, rep, galsync.Subscription{Tenant: tenant})
}

// RenewSubscription moves subscription id's expiry to expiresAt (PATCH
// expirationDateTime) and returns the expiry Graph set.
func (c *Client) RenewSubscription(ctx context.Context, tenant, id string, expiresAt time.Time) (time.Time, error) {
	const op = "renew subscription"
	tc, b, err := c.subscription(op, tenant, id)
	if err != nil {
		return time.Time{}, err
	}
	ri := abs.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abs.PATCH, b.UrlTemplate, b.PathParameters)
	ri.Headers.TryAdd("Accept", "application/json")
	rep, err := tc.sendJSON(ctx, op, ri, map[string]string{"expirationDateTime": expiresAt.UTC().Format(graphDateTime)})
	if err != nil {
		return time.Time{}, err
	}
	if len(rep.body) == 0 { // a 204 says nothing: the request stands
		return expiresAt, nil
	}
	s, err := tc.decodeSubscription(op, rep, galsync.Subscription{})
	if err != nil {
		return time.Time{}, err
	}
	return s.ExpiresAt, nil
}

// ReauthorizeSubscription answers a reauthorizationRequired challenge
// without changing the expiry.
func (c *Client) ReauthorizeSubscription(ctx context.Context, tenant, id string) error {
	const op = "reauthorize subscription"
	tc, b, err := c.subscription(op, tenant, id)
	if err != nil {
		return err
	}
	rb := subscriptions.NewItemReauthorizeRequestBuilderInternal(b.PathParameters, tc.adapter)
	ri := abs.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abs.POST, rb.UrlTemplate, rb.PathParameters)
	ri.Headers.TryAdd("Accept", "application/json")
	_, err = tc.send(ctx, op, ri)
	return err
}

// DeleteSubscription deletes subscription id of tenant.
func (c *Client) DeleteSubscription(ctx context.Context, tenant, id string) error {
	const op = "delete subscription"
	tc, b, err := c.subscription(op, tenant, id)
	if err != nil {
		return err
	}
	ri := abs.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abs.DELETE, b.UrlTemplate, b.PathParameters)
	ri.Headers.TryAdd("Accept", "application/json")
	_, err = tc.send(ctx, op, ri)
	return err
}

// subscription returns the tenant's client and a fresh builder for
// /subscriptions/{id}; an empty id would address the collection.
func (c *Client) subscription(op, tenant, id string) (*tenantClient, *subscriptions.SubscriptionItemRequestBuilder, error) {
	tc, err := c.tenant(tenant)
	if err != nil {
		return nil, nil, err
	}
	if id == "" {
		return nil, nil, galsync.Permanent(fmt.Errorf("graph: %s in tenant %s: no subscription id", op, tenant))
	}
	b := subscriptions.NewSubscriptionsRequestBuilderInternal(map[string]string{}, tc.adapter).BySubscriptionId(id)
	return tc, b, nil
}

// decodeSubscription reads a subscription answer over base.
func (tc *tenantClient) decodeSubscription(op string, rep reply, base galsync.Subscription) (galsync.Subscription, error) {
	var ans subscriptionAnswer
	if err := tc.decode(op, rep, &ans); err != nil {
		return base, err
	}
	if ans.ID == "" {
		return base, fmt.Errorf("graph: %s in tenant %s: the answer has no subscription id", op, tc.name)
	}
	exp, err := time.Parse(time.RFC3339Nano, ans.ExpirationDateTime)
	if err != nil {
		return base, fmt.Errorf("graph: %s in tenant %s: expirationDateTime %q: %w", op, tc.name, ans.ExpirationDateTime, err)
	}
	base.ID, base.ExpiresAt = ans.ID, exp.UTC()
	for _, f := range []struct {
		dst *string
		v   string
	}{{&base.Resource, ans.Resource}, {&base.ChangeType, ans.ChangeType},
		{&base.NotificationURL, ans.NotificationURL}, {&base.LifecycleURL, ans.LifecycleNotificationURL}} {
		if *f.dst == "" {
			*f.dst = f.v
		}
	}
	return base, nil
}
