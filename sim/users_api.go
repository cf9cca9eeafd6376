package sim

import (
	"encoding/json"
	"fmt"
	"strings"
)

// UpsertUser creates a user, or replaces every property of the live user
// with the same id. An empty id gets a new GUID; an empty
// userPrincipalName is made from mail (or the id) in the tenant's domain.
// A created user replicates like an invited one (DirectorySettings);
// SeedUsers' users do not: they stand for a tenant that already exists.
func (s *Server) UpsertUser(tenantID string, u User) (User, error) {
	t, err := s.tenant(tenantID)
	if err != nil {
		return User{}, err
	}
	u = u.clone()
	t.mu.Lock()
	defer t.mu.Unlock()
	if rec := t.byID[strings.ToLower(u.ID)]; u.ID != "" && rec != nil {
		if _, err := t.replace(rec, u); err != nil {
			return User{}, fmt.Errorf("sim: upsert user: %w", err)
		}
		return rec.user.clone(), nil
	}
	if u.ID == "" {
		u.ID = s.ids.guid()
	}
	if u.UserPrincipalName == "" {
		local := u.ID
		if at := strings.IndexByte(u.Mail, '@'); at > 0 {
			local = u.Mail[:at]
		}
		u.UserPrincipalName = local + "@" + t.domain
	}
	rec, err := t.insert(u, s.now())
	if err != nil {
		return User{}, fmt.Errorf("sim: upsert user: %w", err)
	}
	rec.visibleAt = s.replicatedAt()
	return rec.user.clone(), nil
}

// UpdateUser applies a partial update as the control API does: any
// property, read-only ones included (creationType, externalUserState), so
// tests can stage states Graph reaches by other means, such as redemption.
func (s *Server) UpdateUser(tenantID, idOrUPN string, patch map[string]any) (User, error) {
	raw, err := json.Marshal(patch)
	if err != nil {
		return User{}, fmt.Errorf("sim: update user: %w", err)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(raw, &body); err != nil {
		return User{}, fmt.Errorf("sim: update user: %w", err)
	}
	t, err := s.tenant(tenantID)
	if err != nil {
		return User{}, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	rec := t.lookup(idOrUPN)
	if rec == nil {
		return User{}, fmt.Errorf("sim: user %s: %w", idOrUPN, ErrNotFound)
	}
	if gerr := t.patch(rec, body, patchControl); gerr != nil {
		return User{}, fmt.Errorf("sim: update user: %w", gerr)
	}
	return rec.user.clone(), nil
}

// DeleteUser deletes a live user; soft reports it in delta as "changed"
// (restorable), otherwise as "deleted".
func (s *Server) DeleteUser(tenantID, idOrUPN string, soft bool) error {
	t, err := s.tenant(tenantID)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	rec := t.lookup(idOrUPN)
	if rec == nil {
		return fmt.Errorf("sim: user %s: %w", idOrUPN, ErrNotFound)
	}
	reason := "deleted"
	if soft {
		reason = "changed"
	}
	t.remove(rec, reason)
	return nil
}

// User returns one live user by id or userPrincipalName.
func (s *Server) User(tenantID, idOrUPN string) (User, error) {
	t, err := s.tenant(tenantID)
	if err != nil {
		return User{}, err
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	rec := t.lookup(idOrUPN)
	if rec == nil {
		return User{}, fmt.Errorf("sim: user %s: %w", idOrUPN, ErrNotFound)
	}
	return rec.user.clone(), nil
}

// Users lists a tenant's live users in creation order.
func (s *Server) Users(tenantID string) ([]User, error) {
	t, err := s.tenant(tenantID)
	if err != nil {
		return nil, err
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.liveUsers(), nil
}
