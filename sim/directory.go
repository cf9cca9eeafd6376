package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// The methods on tenant in this file change the directory; callers hold t.mu.

func (t *tenant) lookup(idOrUPN string) *userRecord {
	key := strings.ToLower(idOrUPN)
	if r := t.byID[key]; r != nil {
		return r
	}
	return t.byUPN[key]
}

// lookupVisible is lookup as a Graph request sees it: a user still
// replicating is not there yet.
func (t *tenant) lookupVisible(idOrUPN string, now time.Time) *userRecord {
	if r := t.lookup(idOrUPN); r != nil && r.visible(now) {
		return r
	}
	return nil
}

func (t *tenant) logChange(c change) {
	t.seq++
	c.seq = t.seq
	t.log = append(t.log, c)
	if t.onChange != nil {
		t.onChange(c.rec.user.ID, notificationChangeType(c))
	}
}

// notificationChangeType is how Graph notifies a user change: "updated"
// for a created, updated or soft-deleted user, "deleted" for a permanent
// delete (subscription resource, changeType note; Entra events).
func notificationChangeType(c change) string {
	if c.removed && c.rec.reason == "deleted" {
		return "deleted"
	}
	return "updated"
}

// insert adds a user whose id is set and free.
func (t *tenant) insert(u User, now time.Time) (*userRecord, error) {
	if t.byID[strings.ToLower(u.ID)] != nil || t.groupsByID[strings.ToLower(u.ID)] != nil {
		return nil, fmt.Errorf("sim: object id %s: %w", u.ID, ErrConflict)
	}
	if err := t.checkUPN(u.UserPrincipalName, nil); err != nil {
		return nil, err
	}
	if u.CreatedDateTime == "" {
		u.CreatedDateTime = graphTime(now)
	}
	if u.ProxyAddresses == nil {
		u.deriveProxyAddresses()
	}
	rec := &userRecord{ord: len(t.records), user: u}
	t.records = append(t.records, rec)
	t.byID[strings.ToLower(u.ID)] = rec
	t.byUPN[strings.ToLower(u.UserPrincipalName)] = rec
	t.indexAddresses(rec)
	t.live++
	t.logChange(change{rec: rec, mask: allProps, created: true})
	return rec, nil
}

// replace sets a live user's properties and logs what changed.
func (t *tenant) replace(rec *userRecord, u User) (propMask, error) {
	if err := t.checkUPN(u.UserPrincipalName, rec); err != nil {
		return 0, err
	}
	u.ID = rec.user.ID
	if u.Mail != rec.user.Mail {
		u.deriveProxyAddresses()
	}
	mask := diffMask(&rec.user, &u)
	if mask == 0 {
		return 0, nil
	}
	delete(t.byUPN, strings.ToLower(rec.user.UserPrincipalName))
	t.byUPN[strings.ToLower(u.UserPrincipalName)] = rec
	t.unindexAddresses(rec)
	rec.user = u
	t.indexAddresses(rec)
	t.logChange(change{rec: rec, mask: mask})
	return mask, nil
}

// remove deletes a live user. reason is the delta @removed reason: Graph
// reports "changed" for a soft delete (restorable from deletedItems for 30
// days) and "deleted" for a permanent one (delta-query-overview).
//
// A deleted user's links go with it: its direct reports lose their manager
// and it leaves every group ("The first user in the list has been removed
// from the group - either by removing the membership or by deleting the
// user object itself", delta-query-groups), so delta reports both.
func (t *tenant) remove(rec *userRecord, reason string) {
	rec.deleted, rec.reason = true, reason
	delete(t.byID, strings.ToLower(rec.user.ID))
	delete(t.byUPN, strings.ToLower(rec.user.UserPrincipalName))
	t.unindexAddresses(rec)
	t.live--
	t.logChange(change{rec: rec, removed: true})
	for _, r := range t.reportsOf(rec.user.ID) {
		t.setManager(r, "")
	}
	t.leaveGroups(rec.user.ID)
}

// reportsOf lists a user's direct reports in creation order.
func (t *tenant) reportsOf(id string) []*userRecord {
	set := t.reports[strings.ToLower(id)]
	out := make([]*userRecord, 0, len(set))
	for r := range set {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *userRecord) int { return a.ord - b.ord })
	return out
}

// setManager points a live user at its manager ("" for none) and logs the
// change for manager@delta; it reports whether anything changed.
func (t *tenant) setManager(rec *userRecord, managerID string) bool {
	if strings.EqualFold(rec.manager, managerID) {
		return false
	}
	prev := rec.manager
	rec.manager = managerID
	if prev != "" {
		delete(t.reports[strings.ToLower(prev)], rec)
	}
	if managerID != "" {
		key := strings.ToLower(managerID)
		if t.reports[key] == nil {
			t.reports[key] = map[*userRecord]struct{}{}
		}
		t.reports[key][rec] = struct{}{}
	}
	t.logChange(change{rec: rec, mask: managerBit, prevManager: prev})
	return true
}

func (t *tenant) checkUPN(upn string, self *userRecord) error {
	if upn == "" {
		return fmt.Errorf("sim: userPrincipalName is required")
	}
	if other := t.byUPN[strings.ToLower(upn)]; other != nil && other != self {
		return fmt.Errorf("sim: userPrincipalName %s: %w", upn, ErrConflict)
	}
	return nil
}

// liveUsers copies the live users in creation order.
func (t *tenant) liveUsers() []User {
	out := make([]User, 0, t.live)
	for _, r := range t.records {
		if !r.deleted {
			out = append(out, r.user.clone())
		}
	}
	return out
}
