package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// listState is what a users page's $skiptoken carries.
type listState struct {
	Tenant string `json:"t"`
	Filter string `json:"f,omitempty"`
	Select string `json:"s,omitempty"`
	Top    int    `json:"n"`
	Cursor int    `json:"c"`
	Count  bool   `json:"k,omitempty"` // the first page asked $count=true
}

// handleListUsers serves GET /users with $filter, $select, $top (1 to 999,
// default 100) and @odata.nextLink paging.
func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request) {
	n := noteOf(r)
	t := n.tenant
	st, gerr := s.listRequest(r, t)
	if gerr != nil {
		s.writeGraphError(w, r, gerr)
		return
	}
	sel, gerr := parseSelect(st.Select, true)
	if gerr != nil {
		s.writeGraphError(w, r, gerr)
		return
	}
	f, needs, gerr := parseUserFilter(st.Filter)
	if gerr == nil {
		gerr = needs.check(advancedQuery(r, st), r.URL.RawQuery)
	}
	if gerr != nil {
		s.writeGraphError(w, r, gerr)
		return
	}
	count := advancedQuery(r, st) && r.URL.Query().Get("$skiptoken") == ""
	base := graphBase(r, t)
	b := append([]byte(`{"@odata.context":`), appendString(nil, base+"/$metadata#users")...)
	now := s.now()
	listed := func(rec *userRecord) bool { return rec.visible(now) && (f == nil || f.match(&rec.user)) }
	t.mu.RLock()
	recs := t.candidates(f)
	if count {
		b = append(b, `,"@odata.count":`...)
		b = strconv.AppendInt(b, int64(countMatching(recs, listed)), 10)
	}
	var items []byte
	// The cursor is a creation order (a record's ord), so it holds whether
	// the index narrowed the records or not.
	i, _ := slices.BinarySearchFunc(recs, st.Cursor, func(r *userRecord, ord int) int { return r.ord - ord })
	for ; i < len(recs) && n.items < st.Top; i++ {
		rec := recs[i]
		if !listed(rec) {
			continue
		}
		if n.items > 0 {
			items = append(items, ',')
		}
		items = appendUser(items, rec, sel)
		n.items++
	}
	for i < len(recs) && !listed(recs[i]) {
		i++
	}
	more := i < len(recs) // read under the lock: invitations append records
	if more {
		st.Cursor = recs[i].ord
	}
	t.mu.RUnlock()
	if more {
		b = append(b, `,"@odata.nextLink":`...)
		b = appendString(b, base+"/users?$skiptoken="+url.QueryEscape(s.seal(st)))
	}
	b = append(b, `,"value":[`...)
	b = append(b, items...)
	writeRawJSON(w, http.StatusOK, append(b, "]}"...))
}

// advancedQuery reports whether the request carries the advanced query
// parameters: the header ConsistencyLevel: eventual and $count=true
// (https://learn.microsoft.com/graph/aad-advanced-queries). Without the
// header Graph "silently ignores the $count query parameter"; a nextLink
// page keeps its first page's $count but needs the header again.
func advancedQuery(r *http.Request, st listState) bool {
	return strings.EqualFold(r.Header.Get("ConsistencyLevel"), "eventual") &&
		(st.Count || r.URL.Query().Get("$count") == "true")
}

func countMatching(recs []*userRecord, listed func(*userRecord) bool) int {
	n := 0
	for _, rec := range recs {
		if listed(rec) {
			n++
		}
	}
	return n
}

func (s *Server) listRequest(r *http.Request, t *tenant) (listState, *graphError) {
	q := r.URL.Query()
	if skip := q.Get("$skiptoken"); skip != "" {
		var st listState
		if s.unseal(skip, &st) != nil || st.Tenant != t.id {
			return st, badRequest("The $skiptoken is not valid.")
		}
		return st, nil
	}
	st := listState{Tenant: t.id, Filter: q.Get("$filter"), Select: q.Get("$select"), Top: 100, Count: q.Get("$count") == "true"}
	if v := q.Get("$top"); v != "" {
		top, err := strconv.Atoi(v)
		if err != nil || top < 1 || top > 999 {
			return st, newGraphError(http.StatusBadRequest, "Request_UnsupportedQuery",
				"Invalid page size specified: '%s'. Must be between 1 and 999 inclusive.", v)
		}
		st.Top = top
	}
	return st, nil
}

func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request) {
	n := noteOf(r)
	t := n.tenant
	sel, gerr := parseSelect(r.URL.Query().Get("$select"), true)
	if gerr != nil {
		s.writeGraphError(w, r, gerr)
		return
	}
	b := append([]byte(`{"@odata.context":`), appendString(nil, graphBase(r, t)+"/$metadata#users/$entity")...)
	t.mu.RLock()
	rec := t.lookupVisible(r.PathValue("id"), s.now())
	if rec != nil {
		b = append(b, ',')
		b = append(b, appendUser(nil, rec, sel)[1:]...) // splice the object's members after @odata.context
	}
	t.mu.RUnlock()
	if rec == nil {
		s.writeGraphError(w, r, notFound(r.PathValue("id")))
		return
	}
	n.items = 1
	writeRawJSON(w, http.StatusOK, b)
}

// handlePatchUser is "Update user": 204 on success; the whole request is
// refused if any property is unknown, read-only or has an invalid value.
func (s *Server) handlePatchUser(w http.ResponseWriter, r *http.Request) {
	t := noteOf(r).tenant
	raw, err := io.ReadAll(r.Body)
	var body map[string]json.RawMessage
	if err != nil || json.Unmarshal(raw, &body) != nil || body == nil {
		s.writeGraphError(w, r, newGraphError(http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."))
		return
	}
	addressListReadOnly := s.settings.get().MailUserAddressListReadOnly
	t.mu.Lock()
	rec := t.lookupVisible(r.PathValue("id"), s.now())
	var gerr *graphError
	switch {
	case rec == nil:
		gerr = notFound(r.PathValue("id"))
	case addressListReadOnly && rec.user.Mail != "" && hasKey(body, "showInAddressList"):
		gerr = addressListManagedByExchange()
	default:
		gerr = t.patch(rec, body, patchGraph)
	}
	t.mu.Unlock()
	s.writeNoContent(w, r, gerr)
}

func hasKey(body map[string]json.RawMessage, name string) bool {
	for k := range body {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// addressListManagedByExchange refuses showInAddressList for a mail user
// (DirectorySettings.MailUserAddressListReadOnly). The known issue says
// only that the update fails; the answer is the directory's for a
// property another service masters, naming the property.
func addressListManagedByExchange() *graphError {
	return badRequest("Unable to update the specified properties for objects that have originated within an external service: " +
		"'showInAddressList' is managed by Exchange Online for a mail-enabled user (Set-MailUser -HiddenFromAddressListsEnabled).")
}

// handleDeleteUser soft-deletes: Graph moves a deleted user to deleted
// items for 30 days, so delta reports it with reason "changed".
func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request) {
	t := noteOf(r).tenant
	t.mu.Lock()
	rec := t.lookupVisible(r.PathValue("id"), s.now())
	if rec != nil {
		t.remove(rec, "changed")
	}
	t.mu.Unlock()
	if rec == nil {
		s.writeGraphError(w, r, notFound(r.PathValue("id")))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleUnknownGraph(w http.ResponseWriter, r *http.Request) {
	s.writeGraphError(w, r, newGraphError(http.StatusBadRequest, "BadRequest",
		"Resource not found for the segment '%s'; the simulator serves users, users/delta, manager, groups, groups/delta, invitations, subscriptions and $batch.", r.URL.Path))
}
