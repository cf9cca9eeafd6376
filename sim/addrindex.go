package sim

import (
	"slices"
	"strings"
)

// The address index finds the users an equality lookup can match without
// scanning the tenant: every lower-cased id, userPrincipalName, mail,
// otherMails value and proxy address (with and without its prefix) points
// at the users holding it. It gives candidates only; the filter itself
// still decides, so a superset is harmless. It keeps the lookups galsync
// makes before every invitation flat at 100,000 users, as Graph's indexed
// lookups are.

// addressKeys are the index keys of a user.
func addressKeys(u *User) []string {
	keys := []string{u.ID, u.UserPrincipalName, u.Mail}
	keys = append(keys, u.OtherMails...)
	for _, p := range u.ProxyAddresses {
		keys = append(keys, p)
		if _, addr, ok := strings.Cut(p, ":"); ok {
			keys = append(keys, addr)
		}
	}
	return keys
}

func (t *tenant) indexAddresses(rec *userRecord) {
	for _, k := range addressKeys(&rec.user) {
		if k == "" {
			continue
		}
		k = strings.ToLower(k)
		if t.byAddress[k] == nil {
			t.byAddress[k] = map[*userRecord]struct{}{}
		}
		t.byAddress[k][rec] = struct{}{}
	}
}

func (t *tenant) unindexAddresses(rec *userRecord) {
	for _, k := range addressKeys(&rec.user) {
		k = strings.ToLower(k)
		if set := t.byAddress[k]; set != nil {
			delete(set, rec)
			if len(set) == 0 {
				delete(t.byAddress, k)
			}
		}
	}
}

// indexKeys are the values a filter can only match through the index, or
// false when some branch of it could match a user the index does not name.
func indexKeys(e filterExpr) ([]string, bool) {
	switch x := e.(type) {
	case cmpExpr:
		if !x.neg && x.value != nil && slices.Contains([]string{"id", "mail", "userPrincipalName"}, x.prop.name) {
			return []string{*x.value}, true
		}
	case inExpr:
		if slices.Contains([]string{"id", "mail", "userPrincipalName"}, x.prop.name) {
			return x.values, true
		}
	case anyExpr:
		if x.op == "eq" && (x.prop.name == "otherMails" || x.prop.name == "proxyAddresses") {
			return []string{x.value}, true
		}
	case orExpr:
		l, lok := indexKeys(x.l)
		r, rok := indexKeys(x.r)
		return append(l, r...), lok && rok
	case andExpr:
		if l, ok := indexKeys(x.l); ok {
			return l, true
		}
		return indexKeys(x.r)
	}
	return nil, false
}

// candidates are the users a filter may match, in creation order: all of
// them unless the index narrows it. Callers hold t.mu.
func (t *tenant) candidates(f filterExpr) []*userRecord {
	if f == nil {
		return t.records
	}
	keys, ok := indexKeys(f)
	if !ok {
		return t.records
	}
	seen := map[*userRecord]bool{}
	var out []*userRecord
	for _, k := range keys {
		for rec := range t.byAddress[strings.ToLower(k)] {
			if !seen[rec] {
				seen[rec] = true
				out = append(out, rec)
			}
		}
	}
	slices.SortFunc(out, func(a, b *userRecord) int { return a.ord - b.ord })
	return out
}
