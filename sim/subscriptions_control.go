package sim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// The control API of subscriptions and notification delivery, and the Go
// methods behind it.

// Subscriptions lists the live subscriptions of a tenant (id or domain;
// "" for every tenant), in creation order, without their clientState.
func (s *Server) Subscriptions(tenantID string) ([]Subscription, error) {
	id := ""
	if tenantID != "" {
		t, err := s.tenant(tenantID)
		if err != nil {
			return nil, err
		}
		id = t.id
	}
	subs := s.notif.live(id)
	out := make([]Subscription, len(subs))
	for i, sub := range subs {
		out[i] = sub.Subscription
	}
	return out, nil
}

// RemoveSubscription deletes a subscription without telling anyone, as
// when Graph drops one and the lifecycle notification is lost.
func (s *Server) RemoveSubscription(id string) error {
	if !s.notif.remove("", "", id) {
		return fmt.Errorf("sim: subscription %s: %w", id, ErrNotFound)
	}
	return nil
}

// SendLifecycleEvent posts a lifecycle notification (reauthorizationRequired,
// subscriptionRemoved or missed) for a subscription to its
// lifecycleNotificationUrl and returns the endpoint's status.
// subscriptionRemoved removes the subscription first.
func (s *Server) SendLifecycleEvent(ctx context.Context, id, event string) (int, error) {
	return s.notif.lifecycle(ctx, id, event)
}

// SetNotificationSettings changes when notifications go out, from the
// next batch on.
func (s *Server) SetNotificationSettings(ns NotificationSettings) error {
	if ns.DelayMS < 0 || ns.BatchMS < 0 {
		return errors.New("sim: notification delay and batch interval must not be negative")
	}
	s.notif.setSettings(ns)
	return nil
}

// NotificationSettings returns when notifications go out.
func (s *Server) NotificationSettings() NotificationSettings { return s.notif.currentSettings() }

// DrainNotifications waits until every notification of the changes made
// so far has been delivered (or has failed), or ctx ends.
func (s *Server) DrainNotifications(ctx context.Context) error { return waitFor(ctx, s.notif.idle) }

func (s *Server) ctlListSubscriptions(w http.ResponseWriter, r *http.Request) {
	subs, err := s.Subscriptions(r.URL.Query().Get("tenant"))
	if err != nil {
		ctlError(w, err)
		return
	}
	if subs == nil {
		subs = []Subscription{}
	}
	writeJSON(w, http.StatusOK, subs)
}

func (s *Server) ctlRemoveSubscription(w http.ResponseWriter, r *http.Request) {
	if err := s.RemoveSubscription(r.PathValue("id")); err != nil {
		ctlError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ctlLifecycle: {"event": "reauthorizationRequired"}; answers the
// endpoint's status.
func (s *Server) ctlLifecycle(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Event string `json:"event"`
	}
	if err := decodeControl(r, &body); err != nil {
		ctlError(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	status, err := s.SendLifecycleEvent(ctx, r.PathValue("id"), body.Event)
	if errors.Is(err, ErrNotFound) || errors.Is(err, errLifecycleRefused) {
		ctlError(w, err)
		return
	}
	out := map[string]any{"status": status}
	if err != nil {
		out["error"] = err.Error()
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) ctlGetNotificationSettings(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.NotificationSettings())
}

func (s *Server) ctlSetNotificationSettings(w http.ResponseWriter, r *http.Request) {
	var ns NotificationSettings
	if err := decodeControl(r, &ns); err != nil {
		ctlError(w, err)
		return
	}
	if err := s.SetNotificationSettings(ns); err != nil {
		ctlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ns)
}
