package sim

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// groups/delta, after graph/api/group-delta and graph/delta-query-groups:
// rounds and tokens as for users/delta; "You can use $select=members to get
// membership changes" (members are tracked too when $select is absent, and
// with $expand=members); members@delta lists members added and, marked
// "@removed": {"reason": "deleted"}, members removed "either by removing
// the membership or by deleting the user object itself"; a group with
// many members comes back as several objects, each with part of its
// members@delta ("you may receive a response again containing the same
// group object ... the expanded members@delta property now contains a
// different list of users"), here at most PageSize members per object.

type groupDeltaState struct {
	Res     string    `json:"r"` // "groupdelta"
	Tenant  string    `json:"t"`
	Epoch   uint64    `json:"e"`
	Issued  int64     `json:"i"`
	Phase   string    `json:"p"` // full, changes, link
	From    uint64    `json:"f,omitempty"`
	To      uint64    `json:"u"`
	Cursor  int       `json:"c,omitempty"` // group (full) or pending change (changes)
	MCursor int       `json:"m,omitempty"` // member offset within it
	Select  groupMask `json:"s"`
	IDs     []string  `json:"ids,omitempty"`
}

type memberOp struct {
	m       Member
	removed bool
}

// groupEntry is one group object of a page.
type groupEntry struct {
	rec  *groupRecord
	mask groupMask
	ops  []memberOp
}

func (s *Server) handleGroupDelta(w http.ResponseWriter, r *http.Request) {
	n := noteOf(r)
	t := n.tenant
	base := graphBase(r, t)
	st, latest, gerr := s.groupDeltaRequest(r, t)
	if gerr != nil {
		s.writeGraphError(w, r, gerr)
		return
	}
	minimal := preferMinimal(r)
	t.mu.RLock()
	var entries []groupEntry
	var next *groupDeltaState
	switch {
	case latest:
	case st.Phase == "full":
		entries, next = s.groupFullPage(t, st)
	default:
		entries, next = s.groupChangesPage(t, st, minimal)
	}
	link := groupDeltaState{Res: "groupdelta", Tenant: t.id, Epoch: t.epoch, Issued: s.now().UnixMilli(), Phase: "link",
		To: st.To, Select: st.Select, IDs: st.IDs}
	if latest {
		link.To = t.seq
	}
	b := append([]byte(`{"@odata.context":`), appendString(nil, base+"/$metadata#groups("+strings.Join(groupSelectNames(st.Select), ",")+")")...)
	if next != nil {
		b = append(b, `,"@odata.nextLink":`...)
		b = appendString(b, base+"/groups/delta()?$skiptoken="+url.QueryEscape(s.seal(next)))
	}
	b = append(b, `,"value":[`...)
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendGroupEntry(b, e)
	}
	t.mu.RUnlock()
	b = append(b, ']')
	if next == nil {
		b = append(b, `,"@odata.deltaLink":`...)
		b = appendString(b, base+"/groups/delta()?$deltatoken="+url.QueryEscape(s.seal(link)))
	}
	n.items = len(entries)
	if minimal {
		w.Header().Set("Preference-Applied", "return=minimal")
	}
	writeRawJSON(w, http.StatusOK, append(b, '}'))
}

func appendGroupEntry(b []byte, e groupEntry) []byte {
	if e.rec.deleted {
		b = append(b, `{"id":`...)
		b = appendString(b, e.rec.group.ID)
		b = append(b, `,"@removed":{"reason":`...)
		b = appendString(b, e.rec.reason)
		return append(b, `}}`...)
	}
	b = appendGroup(b, &e.rec.group, e.mask&^membersBit)
	if e.mask&membersBit == 0 || len(e.ops) == 0 {
		return b
	}
	b = append(b[:len(b)-1], `,"members@delta":[`...)
	for i, op := range e.ops {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"@odata.type":`...)
		b = appendString(b, "#microsoft.graph."+op.m.Type)
		b = append(b, `,"id":`...)
		b = appendString(b, op.m.ID)
		if op.removed {
			b = append(b, `,"@removed":{"reason":"deleted"}`...)
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

func groupSyncStateNotFound(base string) *graphError {
	e := newGraphError(http.StatusGone, "syncStateNotFound",
		"The sync state generation is not found. The delta token is expired and data must be synchronized again.")
	e.headers = map[string]string{"Location": base + "/groups/delta?$deltatoken="}
	return e
}

func (s *Server) groupDeltaRequest(r *http.Request, t *tenant) (groupDeltaState, bool, *graphError) {
	q := r.URL.Query()
	if q.Has("$orderby") {
		return groupDeltaState{}, false, unsupportedFilter("$orderby is not supported with groups/delta.")
	}
	now := s.now()
	check := func(st groupDeltaState) *graphError {
		t.mu.RLock()
		epoch := t.epoch
		t.mu.RUnlock()
		if st.Tenant != t.id || st.Res != "groupdelta" {
			return badRequest("The token is not valid.")
		}
		if st.Epoch != epoch || now.Sub(time.UnixMilli(st.Issued)) > s.opts.DeltaTokenLifetime {
			return groupSyncStateNotFound(graphBase(r, t))
		}
		return nil
	}
	if skip := q.Get("$skiptoken"); skip != "" {
		var st groupDeltaState
		if s.unseal(skip, &st) != nil || st.Phase == "link" {
			return st, false, badRequest("The $skiptoken is not valid.")
		}
		return st, false, check(st)
	}
	sel, gerr := parseGroupSelect(q.Get("$select"), true)
	if gerr != nil {
		return groupDeltaState{}, false, gerr
	}
	switch exp := q.Get("$expand"); {
	case strings.EqualFold(exp, "members"):
		sel |= membersBit
	case exp != "":
		return groupDeltaState{}, false, unsupportedFilter("groups/delta supports $expand=members only.")
	}
	ids, gerr := filterIDs(q.Get("$filter"))
	if gerr != nil {
		return groupDeltaState{}, false, gerr
	}
	tok := q.Get("$deltatoken")
	if strings.EqualFold(tok, "latest") {
		return groupDeltaState{Tenant: t.id, Select: sel, IDs: ids}, true, nil
	}
	t.mu.RLock()
	seq, epoch := t.seq, t.epoch
	t.mu.RUnlock()
	if tok == "" {
		return groupDeltaState{Res: "groupdelta", Tenant: t.id, Epoch: epoch, Issued: now.UnixMilli(), Phase: "full", To: seq,
			Select: sel, IDs: ids}, false, nil
	}
	var link groupDeltaState
	if s.unseal(tok, &link) != nil || link.Phase != "link" {
		return link, false, badRequest("The $deltatoken is not valid.")
	}
	if gerr := check(link); gerr != nil {
		return link, false, gerr
	}
	st := groupDeltaState{Res: "groupdelta", Tenant: t.id, Epoch: link.Epoch, Issued: now.UnixMilli(), Phase: "changes",
		From: link.To, To: seq, Select: link.Select, IDs: link.IDs}
	if q.Get("$select") != "" {
		st.Select = sel
	}
	return st, false, nil
}

func groupWanted(ids []string, rec *groupRecord) bool {
	return len(ids) == 0 || sliceHasFold(ids, rec.group.ID)
}

func sliceHasFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// pageEntries cuts one group's member operations into objects of at most
// chunk members, from offset on, until the page holds room entries; it
// returns the offset it stopped at (len(ops) when done).
func pageEntries(rec *groupRecord, mask groupMask, ops []memberOp, offset, chunk, room int) ([]groupEntry, int) {
	if mask&membersBit == 0 || len(ops) == 0 {
		return []groupEntry{{rec: rec, mask: mask}}, len(ops)
	}
	var out []groupEntry
	for offset < len(ops) && len(out) < room {
		end := min(offset+chunk, len(ops))
		out = append(out, groupEntry{rec: rec, mask: mask, ops: ops[offset:end]})
		offset = end
	}
	return out, offset
}

func (s *Server) groupFullPage(t *tenant, st groupDeltaState) ([]groupEntry, *groupDeltaState) {
	var out []groupEntry
	gi, mi := st.Cursor, st.MCursor
	for gi < len(t.groups) && len(out) < s.opts.PageSize {
		rec := t.groups[gi]
		if rec.deleted || !groupWanted(st.IDs, rec) {
			gi, mi = gi+1, 0
			continue
		}
		ops := make([]memberOp, len(rec.members))
		for i, m := range rec.members {
			ops[i] = memberOp{m: m}
		}
		entries, stop := pageEntries(rec, st.Select, ops, mi, s.opts.PageSize, s.opts.PageSize-len(out))
		out = append(out, entries...)
		if stop < len(ops) {
			mi = stop
			break
		}
		gi, mi = gi+1, 0
	}
	for gi < len(t.groups) && (t.groups[gi].deleted || !groupWanted(st.IDs, t.groups[gi])) {
		gi++
	}
	if gi >= len(t.groups) {
		return out, nil
	}
	next := st
	next.Cursor, next.MCursor = gi, mi
	return out, &next
}

type pendingGroup struct {
	rec     *groupRecord
	mask    groupMask
	created bool
	ops     []memberOp
	last    uint64
}

// foldGroupChanges folds the group log between From and To into one entry
// per group, ordered by its latest change; a member added then removed
// (or the reverse) counts once, as its last state.
func foldGroupChanges(t *tenant, st groupDeltaState) []*pendingGroup {
	start := sort.Search(len(t.glog), func(k int) bool { return t.glog[k].seq > st.From })
	byRec := map[*groupRecord]*pendingGroup{}
	var out []*pendingGroup
	for _, c := range t.glog[start:] {
		if c.seq > st.To {
			break
		}
		if !c.created && !c.removed && c.mask&st.Select == 0 || !groupWanted(st.IDs, c.rec) {
			continue
		}
		p := byRec[c.rec]
		if p == nil {
			p = &pendingGroup{rec: c.rec}
			byRec[c.rec] = p
			out = append(out, p)
		}
		p.mask |= c.mask
		p.created = p.created || c.created
		p.last = c.seq
		if c.member != nil {
			op := memberOp{m: *c.member, removed: !c.added}
			if i := indexOp(p.ops, c.member.ID); i >= 0 {
				p.ops[i] = op
			} else {
				p.ops = append(p.ops, op)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].last < out[j].last })
	return out
}

func indexOp(ops []memberOp, id string) int {
	for i, op := range ops {
		if strings.EqualFold(op.m.ID, id) {
			return i
		}
	}
	return -1
}

func (s *Server) groupChangesPage(t *tenant, st groupDeltaState, minimal bool) ([]groupEntry, *groupDeltaState) {
	all := foldGroupChanges(t, st)
	var out []groupEntry
	pi, mi := st.Cursor, st.MCursor
	for pi < len(all) && len(out) < s.opts.PageSize {
		p := all[pi]
		mask := st.Select
		if minimal && !p.created {
			mask = p.mask&st.Select | 1
		}
		if p.rec.deleted {
			out = append(out, groupEntry{rec: p.rec})
			pi, mi = pi+1, 0
			continue
		}
		entries, stop := pageEntries(p.rec, mask, p.ops, mi, s.opts.PageSize, s.opts.PageSize-len(out))
		out = append(out, entries...)
		if stop < len(p.ops) {
			mi = stop
			break
		}
		pi, mi = pi+1, 0
	}
	if pi >= len(all) {
		return out, nil
	}
	next := st
	next.Cursor, next.MCursor = pi, mi
	return out, &next
}
