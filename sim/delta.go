package sim

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// users/delta, after graph/api/user-delta and graph/delta-query-overview.
// A round starts without a token and pages through every live user with
// @odata.nextLink; the last page carries @odata.deltaLink. Its token holds a
// position in the tenant's change log; the next round returns the users
// changed since then (latest state, one entry per user) and deleted ones as
// {"id":..,"@removed":{"reason":..}}. Changes made while a round is being
// read may show up again in the next round: Graph calls these replays.

// deltaState is what skip and delta tokens carry.
type deltaState struct {
	Tenant string   `json:"t"`
	Epoch  uint64   `json:"e"`
	Issued int64    `json:"i"` // unix ms: when the link was issued or the round began
	Phase  string   `json:"p"` // "full" or "changes" in skip tokens, "link" in delta tokens
	From   uint64   `json:"f,omitempty"`
	To     uint64   `json:"u"`
	Cursor int      `json:"c,omitempty"`
	Select propMask `json:"s"`
	IDs    []string `json:"ids,omitempty"`
}

// deltaPage is one answer: users or removals, and what comes next.
type deltaPage struct {
	items   []deltaItem
	next    *deltaState // nil on the last page
	link    deltaState
	minimal bool
}

type deltaItem struct {
	rec         *userRecord
	mask        propMask
	prevManager string // the manager a change took away, for manager@delta
}

func syncStateNotFound(base string, st deltaState) *graphError {
	e := newGraphError(http.StatusGone, "syncStateNotFound",
		"The sync state generation is not found. The delta token is expired and data must be synchronized again.")
	// "Delta query can return a response code of 410 (gone) and a Location
	// header containing a request URL with an empty $deltaToken (same as the
	// initial query)."
	q := "$deltatoken="
	if st.Select != defaultProps {
		q += "&$select=" + strings.Join(selectNames(st.Select), ",")
	}
	e.headers = map[string]string{"Location": base + "/users/delta?" + q}
	return e
}

func (s *Server) handleDelta(w http.ResponseWriter, r *http.Request) {
	n := noteOf(r)
	t := n.tenant
	base := graphBase(r, t)
	st, latest, gerr := s.deltaRequest(r, t)
	if gerr != nil {
		s.writeGraphError(w, r, gerr)
		return
	}
	// Encode under the read lock: records change in place under the write lock.
	t.mu.RLock()
	var page deltaPage
	switch {
	case latest:
		// $deltatoken=latest: "sync from now", a deltaLink and no data.
		page = deltaPage{link: s.linkState(t, t.seq, st.Select, st.IDs)}
	case st.Phase == "full":
		page = s.fullPage(t, st)
	default:
		page = s.changesPage(t, st, preferMinimal(r))
	}
	body := s.encodeDeltaPage(base, st.Select, page)
	t.mu.RUnlock()
	n.items = len(page.items)
	if page.minimal {
		w.Header().Set("Preference-Applied", "return=minimal")
	}
	writeRawJSON(w, http.StatusOK, body)
}

// deltaRequest reads the token or the initial query into the state of the
// page to serve.
func (s *Server) deltaRequest(r *http.Request, t *tenant) (deltaState, bool, *graphError) {
	q := r.URL.Query()
	for _, p := range []string{"$orderby", "$expand"} {
		if q.Has(p) {
			return deltaState{}, false, unsupportedFilter("%s is not supported with users/delta.", p)
		}
	}
	now := s.now()
	var st deltaState
	if skip := q.Get("$skiptoken"); skip != "" {
		if s.unseal(skip, &st) != nil || st.Phase == "link" {
			return st, false, badRequest("The $skiptoken is not valid.")
		}
		return st, false, s.checkDeltaState(r, t, st, now)
	}
	tok := q.Get("$deltatoken")
	sel, gerr := parseSelect(q.Get("$select"), false)
	if gerr != nil {
		return st, false, gerr
	}
	if strings.EqualFold(tok, "latest") {
		ids, gerr := filterIDs(q.Get("$filter"))
		return deltaState{Select: sel.mask, IDs: ids}, true, gerr
	}
	t.mu.RLock()
	seq, epoch := t.seq, t.epoch
	t.mu.RUnlock()
	if tok == "" {
		ids, gerr := filterIDs(q.Get("$filter"))
		return deltaState{Tenant: t.id, Epoch: epoch, Issued: now.UnixMilli(), Phase: "full", To: seq,
			Select: sel.mask, IDs: ids}, false, gerr
	}
	var link deltaState
	if s.unseal(tok, &link) != nil || link.Phase != "link" {
		return st, false, badRequest("The $deltatoken is not valid.")
	}
	if gerr := s.checkDeltaState(r, t, link, now); gerr != nil {
		return st, false, gerr
	}
	st = deltaState{Tenant: t.id, Epoch: link.Epoch, Issued: now.UnixMilli(), Phase: "changes",
		From: link.To, To: seq, Select: link.Select, IDs: link.IDs}
	// The overview lets a deltaLink request change the tracked properties
	// with $select.
	if q.Get("$select") != "" {
		st.Select = sel.mask
	}
	return st, false, nil
}

// checkDeltaState answers 410 for a token of an older generation (the
// control API invalidated it) or older than the delta token lifetime.
func (s *Server) checkDeltaState(r *http.Request, t *tenant, st deltaState, now time.Time) *graphError {
	if st.Tenant != t.id {
		return badRequest("The token belongs to another tenant.")
	}
	t.mu.RLock()
	epoch := t.epoch
	t.mu.RUnlock()
	age := now.Sub(time.UnixMilli(st.Issued))
	if st.Epoch != epoch || age > s.opts.DeltaTokenLifetime {
		return syncStateNotFound(graphBase(r, t), st)
	}
	return nil
}

func (s *Server) linkState(t *tenant, seq uint64, sel propMask, ids []string) deltaState {
	return deltaState{Tenant: t.id, Epoch: t.epoch, Issued: s.now().UnixMilli(), Phase: "link", To: seq, Select: sel, IDs: ids}
}

func idWanted(ids []string, rec *userRecord) bool {
	return len(ids) == 0 || slices.Contains(ids, strings.ToLower(rec.user.ID))
}

// fullPage walks live users in creation order from the cursor.
func (s *Server) fullPage(t *tenant, st deltaState) deltaPage {
	var page deltaPage
	i := st.Cursor
	if t.faults.RepeatDeltaUsers && i > 0 {
		for j := i - 1; j >= 0; j-- {
			if rec := t.records[j]; !rec.deleted && idWanted(st.IDs, rec) {
				page.items = append(page.items, deltaItem{rec: rec, mask: st.Select})
				break
			}
		}
	}
	taken := 0
	for ; i < len(t.records) && taken < s.opts.PageSize; i++ {
		if rec := t.records[i]; !rec.deleted && idWanted(st.IDs, rec) {
			page.items = append(page.items, deltaItem{rec: rec, mask: st.Select})
			taken++
		}
	}
	for i < len(t.records) && (t.records[i].deleted || !idWanted(st.IDs, t.records[i])) {
		i++
	}
	if i < len(t.records) {
		next := st
		next.Cursor = i
		page.next = &next
		return page
	}
	page.link = s.linkState(t, st.To, st.Select, st.IDs)
	return page
}

type pendingChange struct {
	rec     *userRecord
	mask    propMask
	created bool
	last    uint64
	// prevManager is the manager at the round's start, when it changed.
	prevManager string
	managerSeen bool
}

// foldCache keeps the last folded change list: every page of an
// incremental round folds the same, immutable stretch of the log.
type foldCache struct {
	mu   sync.Mutex
	key  string
	list []*pendingChange
}

// changedUsers folds the log between From and To into one entry per user,
// ordered by each user's latest change. A change only to properties the
// round does not track is left out, as the overview says of $select.
// Callers hold t.mu for reading.
func changedUsers(t *tenant, st deltaState) []*pendingChange {
	key := fmt.Sprintf("%d|%d|%d|%s", st.From, st.To, st.Select, strings.Join(st.IDs, ","))
	t.fold.mu.Lock()
	defer t.fold.mu.Unlock()
	if t.fold.key == key {
		return t.fold.list
	}
	list := foldChanges(t, st)
	t.fold.key, t.fold.list = key, list
	return list
}

func foldChanges(t *tenant, st deltaState) []*pendingChange {
	start := sort.Search(len(t.log), func(k int) bool { return t.log[k].seq > st.From })
	byRec := map[*userRecord]*pendingChange{}
	var out []*pendingChange
	for _, c := range t.log[start:] {
		if c.seq > st.To {
			break
		}
		if !c.created && !c.removed && c.mask&st.Select == 0 || !idWanted(st.IDs, c.rec) {
			continue
		}
		p := byRec[c.rec]
		if p == nil {
			p = &pendingChange{rec: c.rec}
			byRec[c.rec] = p
			out = append(out, p)
		}
		p.mask |= c.mask
		p.created = p.created || c.created
		p.last = c.seq
		if c.mask&managerBit != 0 && !p.managerSeen {
			p.prevManager, p.managerSeen = c.prevManager, true
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].last < out[j].last })
	return out
}

// changesPage serves one page of an incremental round. With Prefer:
// return=minimal an updated user carries only the properties that changed
// (user-delta, "Alternative: return only the changed properties").
func (s *Server) changesPage(t *tenant, st deltaState, minimal bool) deltaPage {
	all := changedUsers(t, st)
	page := deltaPage{minimal: minimal}
	from := min(st.Cursor, len(all))
	if t.faults.RepeatDeltaUsers && from > 0 {
		from--
	}
	end := min(st.Cursor+s.opts.PageSize, len(all))
	for _, p := range all[from:end] {
		mask := st.Select
		if minimal && !p.created {
			mask = p.mask&st.Select | 1
		}
		page.items = append(page.items, deltaItem{rec: p.rec, mask: mask, prevManager: p.prevManager})
	}
	if end < len(all) {
		next := st
		next.Cursor = end
		page.next = &next
		return page
	}
	page.link = s.linkState(t, st.To, st.Select, st.IDs)
	return page
}

func preferMinimal(r *http.Request) bool {
	for _, v := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(v, ",") {
			if strings.EqualFold(strings.ReplaceAll(strings.TrimSpace(p), " ", ""), "return=minimal") {
				return true
			}
		}
	}
	return false
}

func graphBase(r *http.Request, t *tenant) string {
	return "https://" + r.Host + "/graph/" + t.id + "/v1.0"
}

func (s *Server) encodeDeltaPage(base string, sel propMask, page deltaPage) []byte {
	b := make([]byte, 0, 256+len(page.items)*512)
	b = append(b, `{"@odata.context":`...)
	b = appendString(b, base+"/$metadata#users("+strings.Join(selectNames(sel), ",")+")")
	if page.next != nil {
		b = append(b, `,"@odata.nextLink":`...)
		b = appendString(b, base+"/users/delta()?$skiptoken="+url.QueryEscape(s.seal(page.next)))
	}
	b = append(b, `,"value":[`...)
	for i, it := range page.items {
		if i > 0 {
			b = append(b, ',')
		}
		if it.rec.deleted {
			b = append(b, `{"id":`...)
			b = appendString(b, it.rec.user.ID)
			b = append(b, `,"@removed":{"reason":`...)
			b = appendString(b, it.rec.reason)
			b = append(b, `}}`...)
			continue
		}
		b = appendUser(b, it.rec, selection{mask: it.mask})
		if it.mask&managerBit != 0 {
			b = appendManagerDelta(b[:len(b)-1], it.rec.manager, it.prevManager)
			b = append(b, '}')
		}
	}
	b = append(b, ']')
	if page.next == nil {
		b = append(b, `,"@odata.deltaLink":`...)
		b = appendString(b, base+"/users/delta()?$deltatoken="+url.QueryEscape(s.seal(page.link)))
	}
	return append(b, '}')
}

// appendManagerDelta writes the manager relationship as users/delta does
// when $select names it: "manager@delta": [{"@odata.type":
// "#microsoft.graph.user", "id": ...}] for the manager in force, or the one
// taken away marked "@removed": {"reason": "deleted"}, the form groups/delta
// documents for members@delta (delta-query-groups; the user-delta page shows
// only the added form). Nothing when there is no manager and none was
// removed.
func appendManagerDelta(b []byte, current, prev string) []byte {
	id, removed := current, false
	if id == "" {
		id, removed = prev, true
	}
	if id == "" {
		return b
	}
	b = append(b, `,"manager@delta":[{"@odata.type":"#microsoft.graph.user","id":`...)
	b = appendString(b, id)
	if removed {
		b = append(b, `,"@removed":{"reason":"deleted"}`...)
	}
	return append(b, "}]"...)
}
