package sim

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// The manager relationship: GET /users/{id}/manager (user-list-manager:
// "If a manager isn't assigned to the user, returns 404"), PUT
// /users/{id}/manager/$ref with {"@odata.id": ".../users/{id}"}
// (user-post-manager) and DELETE /users/{id}/manager/$ref
// (user-delete-manager), both 204. Writes count against the write limits
// as any PUT or DELETE does, and show in users/delta as manager@delta.

func managerNotFound() *graphError {
	return notFound("manager")
}

func (s *Server) handleGetManager(w http.ResponseWriter, r *http.Request) {
	t := noteOf(r).tenant
	sel, gerr := parseSelect(r.URL.Query().Get("$select"), true)
	if gerr != nil {
		s.writeGraphError(w, r, gerr)
		return
	}
	now := s.now()
	t.mu.RLock()
	var b []byte
	rec := t.lookupVisible(r.PathValue("id"), now)
	switch {
	case rec == nil:
		gerr = notFound(r.PathValue("id"))
	default:
		mgr := t.lookupVisible(rec.manager, now)
		if rec.manager == "" || mgr == nil {
			gerr = managerNotFound()
			break
		}
		b = append([]byte(`{"@odata.context":`), appendString(nil, graphBase(r, t)+"/$metadata#directoryObjects/$entity")...)
		b = append(b, `,"@odata.type":"#microsoft.graph.user",`...)
		b = append(b, appendUser(nil, mgr, sel)[1:]...)
	}
	t.mu.RUnlock()
	if gerr != nil {
		s.writeGraphError(w, r, gerr)
		return
	}
	noteOf(r).items = 1
	writeRawJSON(w, http.StatusOK, b)
}

func (s *Server) handleSetManager(w http.ResponseWriter, r *http.Request) {
	t := noteOf(r).tenant
	id, gerr := readRef(r)
	if gerr != nil {
		s.writeGraphError(w, r, gerr)
		return
	}
	now := s.now()
	t.mu.Lock()
	rec := t.lookupVisible(r.PathValue("id"), now)
	mgr := t.lookupVisible(id, now)
	switch {
	case rec == nil:
		gerr = notFound(r.PathValue("id"))
	case mgr == nil || !strings.EqualFold(mgr.user.ID, id):
		gerr = notFound(id)
	case mgr == rec:
		// Not documented; a user managing itself is refused as the
		// strictest plausible answer.
		gerr = badRequest("A user cannot be assigned as its own manager.")
	default:
		t.setManager(rec, mgr.user.ID)
	}
	t.mu.Unlock()
	s.writeNoContent(w, r, gerr)
}

func (s *Server) handleDeleteManager(w http.ResponseWriter, r *http.Request) {
	t := noteOf(r).tenant
	t.mu.Lock()
	rec := t.lookupVisible(r.PathValue("id"), s.now())
	var gerr *graphError
	switch {
	case rec == nil:
		gerr = notFound(r.PathValue("id"))
	case rec.manager == "":
		gerr = managerNotFound()
	default:
		t.setManager(rec, "")
	}
	t.mu.Unlock()
	s.writeNoContent(w, r, gerr)
}

// SetManager sets (or with "" removes) a user's manager, as a directory
// administrator or Microsoft Entra Connect would.
func (s *Server) SetManager(tenantID, userID, managerID string) error {
	t, err := s.tenant(tenantID)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	rec := t.lookup(userID)
	if rec == nil {
		return fmt.Errorf("sim: user %s: %w", userID, ErrNotFound)
	}
	if managerID == "" {
		t.setManager(rec, "")
		return nil
	}
	mgr := t.lookup(managerID)
	if mgr == nil {
		return fmt.Errorf("sim: manager %s: %w", managerID, ErrNotFound)
	}
	if mgr == rec {
		return fmt.Errorf("sim: user %s cannot manage itself", userID)
	}
	t.setManager(rec, mgr.user.ID)
	return nil
}

// Manager returns the id of a user's manager ("" for none).
func (s *Server) Manager(tenantID, userID string) (string, error) {
	t, err := s.tenant(tenantID)
	if err != nil {
		return "", err
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	rec := t.lookup(userID)
	if rec == nil {
		return "", fmt.Errorf("sim: user %s: %w", userID, ErrNotFound)
	}
	return rec.manager, nil
}

type managerBody struct {
	ManagerID string `json:"managerId"`
}

func (s *Server) ctlGetManager(w http.ResponseWriter, r *http.Request) {
	id, err := s.Manager(r.PathValue("tenant"), r.PathValue("id"))
	if err != nil {
		ctlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, managerBody{ManagerID: id})
}

// ctlSetManager: PUT {"managerId": "..."}; "" removes the manager.
func (s *Server) ctlSetManager(w http.ResponseWriter, r *http.Request) {
	var body managerBody
	if err := decodeControl(r, &body); err != nil {
		ctlError(w, err)
		return
	}
	if err := s.SetManager(r.PathValue("tenant"), r.PathValue("id"), body.ManagerID); err != nil {
		ctlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) ctlDeleteManager(w http.ResponseWriter, r *http.Request) {
	if err := s.SetManager(r.PathValue("tenant"), r.PathValue("id"), ""); err != nil {
		ctlError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleListDirectReports serves GET /users/{id}/directReports
// (https://learn.microsoft.com/graph/api/user-list-directreports): the
// users whose manager is the user, as directory objects with their
// @odata.type, with $select, and paged with $top (default 100, at most
// 999) and @odata.nextLink.
func (s *Server) handleListDirectReports(w http.ResponseWriter, r *http.Request) {
	n := noteOf(r)
	t := n.tenant
	st, gerr := s.groupListRequest(r, t, "reports")
	var sel selection
	if gerr == nil {
		sel, gerr = parseSelect(st.Select, true)
	}
	if gerr != nil {
		s.writeGraphError(w, r, gerr)
		return
	}
	now := s.now()
	base := graphBase(r, t)
	t.mu.RLock()
	rec := t.lookupVisible(r.PathValue("id"), now)
	if rec == nil {
		t.mu.RUnlock()
		s.writeGraphError(w, r, notFound(r.PathValue("id")))
		return
	}
	var reports []*userRecord
	for rep := range t.reports[strings.ToLower(rec.user.ID)] {
		if !rep.deleted && rep.visible(now) {
			reports = append(reports, rep)
		}
	}
	slices.SortFunc(reports, func(a, b *userRecord) int { return a.ord - b.ord })
	b := append([]byte(`{"@odata.context":`), appendString(nil, base+"/$metadata#directoryObjects")...)
	var items []byte
	i := st.Cursor
	for ; i < len(reports) && n.items < st.Top; i++ {
		if n.items > 0 {
			items = append(items, ',')
		}
		items = appendMember(items, t, Member{ID: reports[i].user.ID, Type: "user"}, sel, 1)
		n.items++
	}
	more := i < len(reports)
	t.mu.RUnlock()
	s.finishList(w, b, items, more, st, i, base+"/users/"+url.PathEscape(rec.user.ID)+"/directReports")
}
