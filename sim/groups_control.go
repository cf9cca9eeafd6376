package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// The control API of groups, and the Go methods behind it: stage source
// groups and their memberships as an administrator would, and read what
// galsync made of the target's.

// GroupSpec is a group to create through the control API.
type GroupSpec struct {
	ID              string   `json:"id,omitempty"`
	DisplayName     string   `json:"displayName"`
	Description     string   `json:"description,omitempty"`
	MailNickname    string   `json:"mailNickname,omitempty"`
	SecurityEnabled *bool    `json:"securityEnabled,omitempty"` // default true
	MailEnabled     bool     `json:"mailEnabled,omitempty"`
	GroupTypes      []string `json:"groupTypes,omitempty"`
	// Members are ids of users or groups, added in order.
	Members []string `json:"members,omitempty"`
}

// GroupView is a group with its members, as the control API shows it.
type GroupView struct {
	Group
	Members []Member `json:"members"`
}

// CreateGroup adds a group (a security group unless the spec says
// otherwise) with its members. An empty id gets a new GUID, an empty
// mailNickname one made from the display name. Like a user created this
// way it replicates (DirectorySettings).
func (s *Server) CreateGroup(tenantID string, spec GroupSpec) (GroupView, error) {
	t, err := s.tenant(tenantID)
	if err != nil {
		return GroupView{}, err
	}
	if spec.DisplayName == "" {
		return GroupView{}, fmt.Errorf("sim: create group: displayName is required")
	}
	g := Group{ID: spec.ID, DisplayName: spec.DisplayName, Description: spec.Description, MailNickname: spec.MailNickname,
		SecurityEnabled: spec.SecurityEnabled == nil || *spec.SecurityEnabled, MailEnabled: spec.MailEnabled, GroupTypes: spec.GroupTypes}
	if g.ID == "" {
		g.ID = s.ids.guid()
	}
	if g.MailNickname == "" {
		g.MailNickname = strings.Map(func(r rune) rune {
			if r > 127 || strings.ContainsRune(mailNicknameForbidden, r) {
				return -1
			}
			return r
		}, g.DisplayName)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	members := make([]Member, 0, len(spec.Members))
	for _, id := range spec.Members {
		m, ok := t.controlMember(id)
		if !ok {
			return GroupView{}, fmt.Errorf("sim: member %s: %w", id, ErrNotFound)
		}
		members = append(members, m)
	}
	rec, err := t.insertGroup(g, s.now())
	if err != nil {
		return GroupView{}, fmt.Errorf("sim: create group: %w", err)
	}
	for _, m := range members {
		t.addMember(rec, m)
	}
	rec.visibleAt = s.replicatedAt()
	return rec.view(), nil
}

func (r *groupRecord) view() GroupView {
	return GroupView{Group: r.group.clone(), Members: append([]Member{}, r.members...)}
}

// controlMember resolves any live user or group, replicated or not.
func (t *tenant) controlMember(id string) (Member, bool) {
	if u := t.byID[strings.ToLower(id)]; u != nil {
		return Member{ID: u.user.ID, Type: "user"}, true
	}
	if g := t.lookupGroup(id); g != nil {
		return Member{ID: g.group.ID, Type: "group"}, true
	}
	return Member{}, false
}

// Groups lists a tenant's live groups with their members, in creation order.
func (s *Server) Groups(tenantID string) ([]GroupView, error) {
	t, err := s.tenant(tenantID)
	if err != nil {
		return nil, err
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := []GroupView{}
	for _, g := range t.groups {
		if !g.deleted {
			out = append(out, g.view())
		}
	}
	return out, nil
}

// GroupByID returns one live group with its members.
func (s *Server) GroupByID(tenantID, id string) (GroupView, error) {
	t, err := s.tenant(tenantID)
	if err != nil {
		return GroupView{}, err
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	g := t.lookupGroup(id)
	if g == nil {
		return GroupView{}, fmt.Errorf("sim: group %s: %w", id, ErrNotFound)
	}
	return g.view(), nil
}

// AddGroupMember adds a user or group to a group; adding a member twice
// is ErrConflict.
func (s *Server) AddGroupMember(tenantID, groupID, memberID string) error {
	return s.withGroup(tenantID, groupID, func(t *tenant, g *groupRecord) error {
		m, ok := t.controlMember(memberID)
		switch {
		case !ok:
			return fmt.Errorf("sim: member %s: %w", memberID, ErrNotFound)
		case strings.EqualFold(m.ID, g.group.ID):
			return fmt.Errorf("sim: group %s cannot be a member of itself", groupID)
		case !t.addMember(g, m):
			return fmt.Errorf("sim: %s is already a member: %w", memberID, ErrConflict)
		}
		return nil
	})
}

// RemoveGroupMember takes a member out of a group.
func (s *Server) RemoveGroupMember(tenantID, groupID, memberID string) error {
	return s.withGroup(tenantID, groupID, func(t *tenant, g *groupRecord) error {
		if !t.removeMember(g, memberID) {
			return fmt.Errorf("sim: %s is not a member: %w", memberID, ErrNotFound)
		}
		return nil
	})
}

// UpdateGroup changes displayName, description or mailNickname.
func (s *Server) UpdateGroup(tenantID, groupID string, patch map[string]any) (GroupView, error) {
	raw, err := json.Marshal(patch)
	if err != nil {
		return GroupView{}, fmt.Errorf("sim: update group: %w", err)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(raw, &body); err != nil {
		return GroupView{}, fmt.Errorf("sim: update group: %w", err)
	}
	var out GroupView
	err = s.withGroup(tenantID, groupID, func(t *tenant, g *groupRecord) error {
		ng := g.group.clone()
		binds, gerr := groupFields(body, &ng, false)
		if gerr != nil {
			return fmt.Errorf("sim: update group: %w", gerr)
		}
		if len(binds) > 0 {
			return fmt.Errorf("sim: update group: add members one by one")
		}
		t.replaceGroup(g, ng)
		out = g.view()
		return nil
	})
	return out, err
}

// DeleteGroup deletes a live group; soft reports it in groups/delta as
// "changed" (restorable), otherwise as "deleted".
func (s *Server) DeleteGroup(tenantID, groupID string, soft bool) error {
	return s.withGroup(tenantID, groupID, func(t *tenant, g *groupRecord) error {
		reason := "deleted"
		if soft {
			reason = "changed"
		}
		t.removeGroup(g, reason)
		return nil
	})
}

func (s *Server) withGroup(tenantID, groupID string, f func(*tenant, *groupRecord) error) error {
	t, err := s.tenant(tenantID)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.lookupGroup(groupID)
	if g == nil {
		return fmt.Errorf("sim: group %s: %w", groupID, ErrNotFound)
	}
	return f(t, g)
}

func (s *Server) ctlListGroups(w http.ResponseWriter, r *http.Request) {
	gs, err := s.Groups(r.PathValue("tenant"))
	if err != nil {
		ctlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, gs)
}

func (s *Server) ctlCreateGroup(w http.ResponseWriter, r *http.Request) {
	var spec GroupSpec
	if err := decodeControl(r, &spec); err != nil {
		ctlError(w, err)
		return
	}
	g, err := s.CreateGroup(r.PathValue("tenant"), spec)
	if err != nil {
		ctlError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, g)
}

func (s *Server) ctlGetGroup(w http.ResponseWriter, r *http.Request) {
	g, err := s.GroupByID(r.PathValue("tenant"), r.PathValue("id"))
	if err != nil {
		ctlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, g)
}

func (s *Server) ctlPatchGroup(w http.ResponseWriter, r *http.Request) {
	var patch map[string]any
	if err := decodeControl(r, &patch); err != nil {
		ctlError(w, err)
		return
	}
	g, err := s.UpdateGroup(r.PathValue("tenant"), r.PathValue("id"), patch)
	if err != nil {
		ctlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, g)
}

// ctlDeleteGroup deletes permanently unless ?soft=true.
func (s *Server) ctlDeleteGroup(w http.ResponseWriter, r *http.Request) {
	soft, _ := strconv.ParseBool(r.URL.Query().Get("soft"))
	if err := s.DeleteGroup(r.PathValue("tenant"), r.PathValue("id"), soft); err != nil {
		ctlError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ctlAddGroupMember: POST {"id": "<user or group id>"}.
func (s *Server) ctlAddGroupMember(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ID string `json:"id"`
	}
	if err := decodeControl(r, &body); err != nil {
		ctlError(w, err)
		return
	}
	if err := s.AddGroupMember(r.PathValue("tenant"), r.PathValue("id"), body.ID); err != nil {
		ctlError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) ctlRemoveGroupMember(w http.ResponseWriter, r *http.Request) {
	if err := s.RemoveGroupMember(r.PathValue("tenant"), r.PathValue("id"), r.PathValue("member")); err != nil {
		ctlError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
