package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The group endpoints: create, list, get, update and delete groups
// (graph/api/group-post-groups, group-list, group-get, group-update,
// group-delete), list members (group-list-members), add and remove a
// member (group-post-members, group-delete-members).

// maxBind is the documented limit of members@odata.bind: "up to 20 members
// can be added in a single request" (group-post-members).
const maxBind = 20

func alreadyMember() *graphError {
	return badRequest("One or more added object references already exist for the following modified properties: 'members'.")
}

// groupSelection reads $select for groups; empty means every modelled
// property. members is a relationship: groups/delta only.
func parseGroupSelect(v string, delta bool) (groupMask, *graphError) {
	if strings.TrimSpace(v) == "" {
		if delta {
			return allGroupProps | membersBit, nil
		}
		return allGroupProps, nil
	}
	m := groupMask(1) // id
	for _, name := range strings.Split(v, ",") {
		name = strings.TrimSpace(name)
		if i, ok := lookupGroupProp(name); ok {
			m |= 1 << i
			continue
		}
		if strings.EqualFold(name, "members") && delta {
			m |= membersBit
			continue
		}
		return m, newGraphError(http.StatusBadRequest, "BadRequest",
			"Parsing OData Select and Expand failed: Could not find a property named '%s' on type 'microsoft.graph.group'.", name)
	}
	return m, nil
}

func groupSelectNames(m groupMask) []string {
	var out []string
	for i, p := range groupProps {
		if m&(1<<i) != 0 {
			out = append(out, p.name)
		}
	}
	if m&membersBit != 0 {
		out = append(out, "members")
	}
	return out
}

// appendGroup writes a group with the selected properties, null where a
// string property is unset.
func appendGroup(b []byte, g *Group, m groupMask) []byte {
	b = append(b, '{')
	first := true
	for i, p := range groupProps {
		if m&(1<<i) == 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, p.name)
		b = append(b, ':')
		switch v := p.get(g).(type) {
		case string:
			if v == "" {
				b = append(b, "null"...)
			} else {
				b = appendString(b, v)
			}
		case bool:
			b = strconv.AppendBool(b, v)
		case []string:
			b = append(b, '[')
			for j, s := range v {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendString(b, s)
			}
			b = append(b, ']')
		}
	}
	return append(b, '}')
}

// refID reads the object id an "@odata.id" names: the last segment after
// users, groups or directoryObjects in an absolute Graph URL.
func refID(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return "", false
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i := len(segs) - 2; i >= 0; i-- {
		switch strings.ToLower(segs[i]) {
		case "users", "groups", "directoryobjects":
			id, err := url.PathUnescape(segs[i+1])
			return id, err == nil && id != ""
		}
	}
	return "", false
}

func invalidReference(raw string) *graphError {
	return badRequest("Invalid object identifier '%s'.", raw)
}

// readRef reads the {"@odata.id": ...} body of a $ref request.
func readRef(r *http.Request) (string, *graphError) {
	var body map[string]json.RawMessage
	raw, err := io.ReadAll(r.Body)
	if err != nil || json.Unmarshal(raw, &body) != nil || body == nil {
		return "", newGraphError(http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload.")
	}
	var ref string
	for k, v := range body {
		if strings.EqualFold(k, "@odata.id") && json.Unmarshal(v, &ref) == nil {
			break
		}
	}
	id, ok := refID(ref)
	if !ok {
		return "", invalidReference(ref)
	}
	return id, nil
}

// bindIDs reads members@odata.bind.
func bindIDs(raw json.RawMessage) ([]string, *graphError) {
	var refs []string
	if json.Unmarshal(raw, &refs) != nil {
		return nil, badRequest("Invalid value specified for property 'members@odata.bind' of resource 'Group'.")
	}
	if len(refs) > maxBind {
		return nil, badRequest("members@odata.bind adds at most %d members in one request; this one adds %d.", maxBind, len(refs))
	}
	ids := make([]string, 0, len(refs))
	for _, ref := range refs {
		id, ok := refID(ref)
		if !ok {
			return nil, invalidReference(ref)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// resolveMembers checks every id of a bind before any is added: a bad one
// changes nothing ("If an error condition exists in the request body, no
// members are added").
func (t *tenant) resolveMembers(rec *groupRecord, ids []string, s *Server) ([]Member, *graphError) {
	var out []Member
	now := s.now()
	for _, id := range ids {
		m, ok := t.member(id, now)
		switch {
		case !ok:
			return nil, notFound(id)
		case rec != nil && strings.EqualFold(m.ID, rec.group.ID):
			return nil, badRequest("A group cannot be a member of itself.")
		case rec != nil && rec.memberIndex(m.ID) >= 0,
			slices.ContainsFunc(out, func(o Member) bool { return strings.EqualFold(o.ID, m.ID) }):
			return nil, alreadyMember()
		}
		out = append(out, m)
	}
	return out, nil
}

// mailNicknameForbidden are the characters "Update group"/"Create group"
// exclude from mailNickname: "ASCII character set 0 - 127 except the
// following: @ () \ [] " ; : <> , SPACE".
const mailNicknameForbidden = "@()\\[]\";:<>, "

func validMailNickname(v string) bool {
	if v == "" || len(v) > 64 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] >= utf8.RuneSelf || strings.IndexByte(mailNicknameForbidden, v[i]) >= 0 {
			return false
		}
	}
	return true
}

// groupFields reads a create or update body into g; binds are returned
// apart. Unknown or read-only properties are Graph's 400.
func groupFields(body map[string]json.RawMessage, g *Group, create bool) ([]string, *graphError) {
	var binds []string
	for name, raw := range body {
		switch {
		case strings.EqualFold(name, "members@odata.bind"):
			ids, err := bindIDs(raw)
			if err != nil {
				return nil, err
			}
			binds = ids
			continue
		case strings.EqualFold(name, "owners@odata.bind") && create:
			continue // owners are not modelled
		case strings.HasPrefix(name, "@"):
			continue
		}
		i, ok := lookupGroupProp(name)
		if !ok {
			return nil, badRequest("Invalid property '%s'. The property does not exist on type 'microsoft.graph.group'.", name)
		}
		p := groupProps[i]
		creatable := p.updatable || p.name == "mailEnabled" || p.name == "securityEnabled" || p.name == "groupTypes"
		if !p.updatable && !(create && creatable) {
			return nil, readOnly(p.name)
		}
		bad := badRequest("Invalid value specified for property '%s' of resource 'Group'.", p.name)
		switch p.name {
		case "mailEnabled", "securityEnabled":
			var v bool
			if json.Unmarshal(raw, &v) != nil {
				return nil, bad
			}
			if p.name == "mailEnabled" {
				g.MailEnabled = v
			} else {
				g.SecurityEnabled = v
			}
		case "groupTypes":
			if json.Unmarshal(raw, &g.GroupTypes) != nil {
				return nil, bad
			}
		default:
			var v *string
			if json.Unmarshal(raw, &v) != nil {
				return nil, bad
			}
			val := ""
			if v != nil {
				val = *v
			}
			switch p.name {
			case "displayName":
				// "Maximum length is 256 characters"; required, not nullable.
				if val == "" || utf8.RuneCountInString(val) > 256 {
					return nil, bad
				}
				g.DisplayName = val
			case "description":
				if utf8.RuneCountInString(val) > 1024 {
					return nil, bad
				}
				g.Description = val
			case "mailNickname":
				if !validMailNickname(val) {
					return nil, bad
				}
				g.MailNickname = val
			}
		}
	}
	return binds, nil
}

func (s *Server) handleCreateGroup(w http.ResponseWriter, r *http.Request) {
	t := noteOf(r).tenant
	body, gerr := readObject(r)
	if gerr != nil {
		s.writeGraphError(w, r, gerr)
		return
	}
	g := Group{}
	binds, gerr := groupFields(body, &g, true)
	if gerr == nil {
		gerr = checkNewGroup(body, &g)
	}
	if gerr != nil {
		s.writeGraphError(w, r, gerr)
		return
	}
	if slices.ContainsFunc(g.GroupTypes, func(v string) bool { return strings.EqualFold(v, "Unified") }) {
		g.Mail = g.MailNickname + "@" + t.domain
	}
	g.ID = s.ids.guid()
	t.mu.Lock()
	members, gerr := t.resolveMembers(nil, binds, s)
	var rec *groupRecord
	if gerr == nil {
		var err error
		if rec, err = t.insertGroup(g, s.now()); err != nil {
			gerr = newGraphError(http.StatusBadRequest, "BadRequest", "The group could not be created: %v.", err)
		}
	}
	var b []byte
	if gerr == nil {
		for _, m := range members {
			t.addMember(rec, m)
		}
		rec.visibleAt = s.replicatedAt()
		b = groupEntity(graphBase(r, t), &rec.group, allGroupProps)
	}
	t.mu.Unlock()
	if gerr != nil {
		s.writeGraphError(w, r, gerr)
		return
	}
	noteOf(r).items = 1
	writeRawJSON(w, http.StatusCreated, b)
}

// checkNewGroup applies "Create group": displayName, mailEnabled,
// mailNickname and securityEnabled are required, and Graph creates
// security groups and Microsoft 365 groups only: "Creating mail-enabled
// security groups or distribution groups" is not supported
// (graph/api/group-post-groups).
func checkNewGroup(body map[string]json.RawMessage, g *Group) *graphError {
	for _, req := range []string{"displayName", "mailEnabled", "mailNickname", "securityEnabled"} {
		if !hasKey(body, req) {
			return badRequest("Required property '%s' is missing for resource 'Group'.", req)
		}
	}
	unified := slices.ContainsFunc(g.GroupTypes, func(v string) bool { return strings.EqualFold(v, "Unified") })
	if g.MailEnabled && !unified {
		return badRequest("Creating mail-enabled security groups or distribution groups is not supported through Microsoft Graph.")
	}
	if unified && !g.MailEnabled || !unified && !g.SecurityEnabled {
		return badRequest("A group must be a security group (securityEnabled true, mailEnabled false) or a Microsoft 365 group (groupTypes Unified, mailEnabled true).")
	}
	return nil
}

func readObject(r *http.Request) (map[string]json.RawMessage, *graphError) {
	var body map[string]json.RawMessage
	raw, err := io.ReadAll(r.Body)
	if err != nil || json.Unmarshal(raw, &body) != nil || body == nil {
		return nil, newGraphError(http.StatusBadRequest, "BadRequest",
			"Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
	}
	return body, nil
}

func groupEntity(base string, g *Group, m groupMask) []byte {
	b := append([]byte(`{"@odata.context":`), appendString(nil, base+"/$metadata#groups/$entity")...)
	b = append(b, ',')
	return append(b, appendGroup(nil, g, m)[1:]...)
}

func (s *Server) handleGetGroup(w http.ResponseWriter, r *http.Request) {
	t := noteOf(r).tenant
	m, gerr := parseGroupSelect(r.URL.Query().Get("$select"), false)
	if gerr != nil {
		s.writeGraphError(w, r, gerr)
		return
	}
	t.mu.RLock()
	rec := t.lookupGroupVisible(r.PathValue("id"), s.now())
	var b []byte
	if rec != nil {
		b = groupEntity(graphBase(r, t), &rec.group, m)
	}
	t.mu.RUnlock()
	if rec == nil {
		s.writeGraphError(w, r, notFound(r.PathValue("id")))
		return
	}
	noteOf(r).items = 1
	writeRawJSON(w, http.StatusOK, b)
}

func (s *Server) handlePatchGroup(w http.ResponseWriter, r *http.Request) {
	t := noteOf(r).tenant
	body, gerr := readObject(r)
	if gerr != nil {
		s.writeGraphError(w, r, gerr)
		return
	}
	t.mu.Lock()
	rec := t.lookupGroupVisible(r.PathValue("id"), s.now())
	if rec == nil {
		gerr = notFound(r.PathValue("id"))
	} else {
		g := rec.group.clone()
		var binds []string
		var members []Member
		binds, gerr = groupFields(body, &g, false)
		if gerr == nil {
			members, gerr = t.resolveMembers(rec, binds, s)
		}
		if gerr == nil {
			t.replaceGroup(rec, g)
			for _, m := range members {
				t.addMember(rec, m)
			}
		}
	}
	t.mu.Unlock()
	s.writeNoContent(w, r, gerr)
}

// handleDeleteGroup soft-deletes, as for users: delta reports "changed".
func (s *Server) handleDeleteGroup(w http.ResponseWriter, r *http.Request) {
	t := noteOf(r).tenant
	t.mu.Lock()
	rec := t.lookupGroupVisible(r.PathValue("id"), s.now())
	if rec != nil {
		t.removeGroup(rec, "changed")
	}
	t.mu.Unlock()
	if rec == nil {
		s.writeGraphError(w, r, notFound(r.PathValue("id")))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// groupListState is what a groups or members page's $skiptoken carries.
type groupListState struct {
	Res    string `json:"r"` // "groups" or "members"
	Tenant string `json:"t"`
	Group  string `json:"g,omitempty"`
	Filter string `json:"f,omitempty"`
	Select string `json:"s,omitempty"`
	Top    int    `json:"n"`
	Cursor int    `json:"c"`
	Count  bool   `json:"k,omitempty"`
}

func (s *Server) groupListRequest(r *http.Request, t *tenant, res string) (groupListState, *graphError) {
	q := r.URL.Query()
	if skip := q.Get("$skiptoken"); skip != "" {
		var st groupListState
		if s.unseal(skip, &st) != nil || st.Tenant != t.id || st.Res != res || (res == "members" || res == "reports") && !strings.EqualFold(st.Group, r.PathValue("id")) {
			return st, badRequest("The $skiptoken is not valid.")
		}
		return st, nil
	}
	st := groupListState{Res: res, Tenant: t.id, Group: r.PathValue("id"), Filter: q.Get("$filter"), Select: q.Get("$select"),
		Top: 100, Count: q.Get("$count") == "true"}
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

func (s *Server) handleListGroups(w http.ResponseWriter, r *http.Request) {
	n := noteOf(r)
	t := n.tenant
	st, gerr := s.groupListRequest(r, t, "groups")
	var m groupMask
	var f groupFilter
	var needs filterNeeds
	if gerr == nil {
		m, gerr = parseGroupSelect(st.Select, false)
	}
	if gerr == nil {
		f, needs, gerr = parseGroupFilter(st.Filter)
	}
	advancedQ := strings.EqualFold(r.Header.Get("ConsistencyLevel"), "eventual") && (st.Count || r.URL.Query().Get("$count") == "true")
	if gerr == nil {
		gerr = needs.check(advancedQ, r.URL.RawQuery)
	}
	if gerr != nil {
		s.writeGraphError(w, r, gerr)
		return
	}
	base := graphBase(r, t)
	now := s.now()
	listed := func(g *groupRecord) bool { return g.visible(now) && (f == nil || f(&g.group)) }
	b := append([]byte(`{"@odata.context":`), appendString(nil, base+"/$metadata#groups")...)
	t.mu.RLock()
	if advancedQ && r.URL.Query().Get("$skiptoken") == "" {
		count := 0
		for _, g := range t.groups {
			if listed(g) {
				count++
			}
		}
		b = append(b, `,"@odata.count":`...)
		b = strconv.AppendInt(b, int64(count), 10)
	}
	var items []byte
	i := st.Cursor
	for ; i < len(t.groups) && n.items < st.Top; i++ {
		if !listed(t.groups[i]) {
			continue
		}
		if n.items > 0 {
			items = append(items, ',')
		}
		items = appendGroup(items, &t.groups[i].group, m)
		n.items++
	}
	for i < len(t.groups) && !listed(t.groups[i]) {
		i++
	}
	more := i < len(t.groups)
	t.mu.RUnlock()
	s.finishList(w, b, items, more, st, i, base+"/groups")
}

// finishList writes a page with its nextLink.
func (s *Server) finishList(w http.ResponseWriter, b, items []byte, more bool, st groupListState, cursor int, path string) {
	if more {
		st.Cursor = cursor
		b = append(b, `,"@odata.nextLink":`...)
		b = appendString(b, path+"?$skiptoken="+url.QueryEscape(s.seal(st)))
	}
	b = append(b, `,"value":[`...)
	b = append(b, items...)
	writeRawJSON(w, http.StatusOK, append(b, "]}"...))
}

// handleListMembers serves GET /groups/{id}/members: directory objects
// with their @odata.type, paged with $top and @odata.nextLink. Selected
// properties a member type lacks are left out.
func (s *Server) handleListMembers(w http.ResponseWriter, r *http.Request) {
	n := noteOf(r)
	t := n.tenant
	st, gerr := s.groupListRequest(r, t, "members")
	var usel selection
	if gerr == nil {
		usel, gerr = parseSelect(st.Select, true)
	}
	if gerr != nil {
		s.writeGraphError(w, r, gerr)
		return
	}
	gsel := allGroupProps
	if st.Select != "" {
		gsel = 1
		for _, name := range strings.Split(st.Select, ",") {
			if i, ok := lookupGroupProp(strings.TrimSpace(name)); ok {
				gsel |= 1 << i
			}
		}
	}
	base := graphBase(r, t)
	t.mu.RLock()
	rec := t.lookupGroupVisible(r.PathValue("id"), s.now())
	if rec == nil {
		t.mu.RUnlock()
		s.writeGraphError(w, r, notFound(r.PathValue("id")))
		return
	}
	b := append([]byte(`{"@odata.context":`), appendString(nil, base+"/$metadata#directoryObjects")...)
	var items []byte
	i := st.Cursor
	for ; i < len(rec.members) && n.items < st.Top; i++ {
		if n.items > 0 {
			items = append(items, ',')
		}
		items = appendMember(items, t, rec.members[i], usel, gsel)
		n.items++
	}
	more := i < len(rec.members)
	t.mu.RUnlock()
	s.finishList(w, b, items, more, st, i, base+"/groups/"+url.PathEscape(rec.group.ID)+"/members")
}

func appendMember(b []byte, t *tenant, m Member, usel selection, gsel groupMask) []byte {
	var obj []byte
	typ := "#microsoft.graph.user"
	if m.Type == "group" {
		typ = "#microsoft.graph.group"
		if g := t.lookupGroup(m.ID); g != nil {
			obj = appendGroup(nil, &g.group, gsel)
		}
	} else if u := t.byID[strings.ToLower(m.ID)]; u != nil {
		obj = appendUser(nil, u, usel)
	}
	if obj == nil {
		obj = append(appendString([]byte(`{"id":`), m.ID), '}')
	}
	b = append(b, `{"@odata.type":`...)
	b = appendString(b, typ)
	b = append(b, ',')
	return append(b, obj[1:]...)
}

func (s *Server) handleAddMemberRef(w http.ResponseWriter, r *http.Request) {
	t := noteOf(r).tenant
	id, gerr := readRef(r)
	if gerr != nil {
		s.writeGraphError(w, r, gerr)
		return
	}
	t.mu.Lock()
	rec := t.lookupGroupVisible(r.PathValue("id"), s.now())
	if rec == nil {
		gerr = notFound(r.PathValue("id"))
	} else {
		var ms []Member
		if ms, gerr = t.resolveMembers(rec, []string{id}, s); gerr == nil {
			t.addMember(rec, ms[0])
		}
	}
	t.mu.Unlock()
	s.writeNoContent(w, r, gerr)
}

func (s *Server) handleRemoveMemberRef(w http.ResponseWriter, r *http.Request) {
	t := noteOf(r).tenant
	t.mu.Lock()
	rec := t.lookupGroupVisible(r.PathValue("id"), s.now())
	var gerr *graphError
	switch {
	case rec == nil:
		gerr = notFound(r.PathValue("id"))
	case !t.removeMember(rec, r.PathValue("member")):
		gerr = notFound(r.PathValue("member"))
	}
	t.mu.Unlock()
	s.writeNoContent(w, r, gerr)
}
