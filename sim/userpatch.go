package sim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

type patchMode int

const (
	// patchGraph is PATCH /users/{id}: only what "Update user" accepts.
	patchGraph patchMode = iota
	// patchControl is the control API: read-only properties too, and empty
	// strings clear.
	patchControl
)

// patch validates a whole update body, then applies it; a body with one bad
// property changes nothing, as Graph rejects the request as a whole.
func (t *tenant) patch(rec *userRecord, body map[string]json.RawMessage, mode patchMode) *graphError {
	u := rec.user.clone()
	extra := map[string]json.RawMessage{}
	for name, raw := range body {
		if strings.HasPrefix(name, "@") || strings.Contains(name, "@odata.") {
			continue // instance annotations such as "@odata.type" that SDKs send
		}
		if i, ok := lookupProp(name); ok {
			p := userProps[i]
			if p.name == "id" || !p.updatable && mode == patchGraph {
				return readOnly(p.name)
			}
			if err := setValue(p, &u, raw, mode); err != nil {
				return err
			}
			continue
		}
		up, ok := lookupUnmodelled(name)
		if !ok {
			return badRequest("Invalid property '%s'. The property does not exist on type 'microsoft.graph.user'.", name)
		}
		if mode == patchGraph {
			if err := checkUnmodelled(up, raw); err != nil {
				return err
			}
		}
		extra[up.name] = slices.Clone(raw)
	}
	if mode == patchGraph {
		if err := t.checkGraphUpdate(rec, &u); err != nil {
			return err
		}
	}
	if _, err := t.replace(rec, u); err != nil {
		return badRequest("Another object with the same value for property userPrincipalName already exists.")
	}
	if len(extra) > 0 && rec.extra == nil {
		rec.extra = map[string]json.RawMessage{}
	}
	for k, v := range extra {
		rec.extra[k] = v
	}
	return nil
}

// readOnly is Graph's answer to a property a PATCH may not set, e.g.
// "Property 'isSipEnabled' is read-only and cannot be set."
func readOnly(name string) *graphError {
	return badRequest("Property '%s' is read-only and cannot be set.", name)
}

// checkUnmodelled refuses what "Update user" says an application cannot
// set, and values outside a documented enumeration.
func checkUnmodelled(up unmodelledProp, raw json.RawMessage) *graphError {
	if !up.updatable {
		return readOnly(up.name)
	}
	if slices.Contains(appOnlyRefused, up.name) {
		// "The following properties cannot be updated by an app with only
		// application permissions" (user-update). The answer is not
		// documented; the directory's usual one for a missing privilege.
		return newGraphError(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	}
	allowed := map[string][]string{
		// user resource: "Allowed values: null, Minor, NotAdult, and Adult";
		// "null, Granted, Denied, and NotRequired".
		"ageGroup":                {"Minor", "NotAdult", "Adult"},
		"consentProvidedForMinor": {"Granted", "Denied", "NotRequired"},
	}[up.name]
	if allowed == nil {
		return nil
	}
	var v *string
	if json.Unmarshal(raw, &v) != nil || v != nil && !slices.ContainsFunc(allowed, func(a string) bool { return strings.EqualFold(a, *v) }) {
		return invalidValue(up.name)
	}
	return nil
}

// checkGraphUpdate applies the rules that span properties: the
// userPrincipalName's domain, and a mail no other object holds.
func (t *tenant) checkGraphUpdate(rec *userRecord, u *User) *graphError {
	if !strings.HasSuffix(strings.ToLower(u.UserPrincipalName), "@"+t.domain) {
		return badRequest("The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.")
	}
	// Entra keeps proxy addresses unique across the directory, and a new
	// mail becomes one ("Changes to this property also update the user's
	// proxyAddresses collection", user-update). The answer is the one the
	// directory gives for a taken proxy address.
	if u.Mail != "" && !strings.EqualFold(u.Mail, rec.user.Mail) {
		if other := t.holderOf(u.Mail); other != nil && other != rec {
			return badRequest("Another object with the same value for property proxyAddresses already exists.")
		}
	}
	return nil
}

// holderOf is the live user whose mail or proxyAddresses hold addr.
func (t *tenant) holderOf(addr string) *userRecord {
	for r := range t.byAddress[strings.ToLower(addr)] {
		if r.deleted {
			continue
		}
		if strings.EqualFold(r.user.Mail, addr) || slices.ContainsFunc(r.user.ProxyAddresses, func(p string) bool {
			_, a, ok := strings.Cut(p, ":")
			return ok && strings.EqualFold(a, addr)
		}) {
			return r
		}
	}
	return nil
}

func invalidValue(name string) *graphError {
	return badRequest("Invalid value specified for property '%s' of resource 'User'.", name)
}

// notNullable are properties Graph will not clear: displayName "can't be
// cleared during updates", mail "Can't be updated to null", usageLocation
// is "Not nullable", and a user cannot lose its userPrincipalName
// (user-update, user resource).
var notNullable = []string{"displayName", "mail", "usageLocation", "userPrincipalName", "accountEnabled"}

// setValue decodes one property. Graph refuses an empty string for a user
// property ("Invalid value specified for property ..."); null clears it.
func setValue(p property, u *User, raw json.RawMessage, mode patchMode) *graphError {
	isNull := bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
	if isNull && slices.Contains(notNullable, p.name) {
		return invalidValue(p.name)
	}
	switch p.kind {
	case kindString:
		var v *string
		if json.Unmarshal(raw, &v) != nil {
			return invalidValue(p.name)
		}
		if v == nil {
			*p.str(u) = ""
			return nil
		}
		if mode == patchGraph && (*v == "" || tooLong(p, *v)) || !validString(p.name, *v) {
			return invalidValue(p.name)
		}
		*p.str(u) = *v
	case kindBool:
		var v bool
		if json.Unmarshal(raw, &v) != nil {
			return invalidValue(p.name)
		}
		*p.flag(u) = v
	case kindNullableBool:
		var v *bool
		if json.Unmarshal(raw, &v) != nil {
			return invalidValue(p.name)
		}
		*p.nflag(u) = v
	default:
		var v []string
		if isNull || json.Unmarshal(raw, &v) != nil {
			return invalidValue(p.name)
		}
		// "Although this is a string collection, only one number can be set
		// for this property." (user-update, businessPhones)
		if p.name == "businessPhones" && len(v) > 1 {
			return invalidValue(p.name)
		}
		if mode == patchGraph && !validStrings(p, v) {
			return invalidValue(p.name)
		}
		*p.strs(u) = v
	}
	return nil
}

func tooLong(p property, v string) bool {
	return p.maxLen > 0 && utf8.RuneCountInString(v) > p.maxLen
}

// validStrings checks a collection: each value as its property allows,
// and otherMails "up to 250 values" without accent characters.
func validStrings(p property, vs []string) bool {
	if p.name == "otherMails" && len(vs) > 250 {
		return false
	}
	for _, v := range vs {
		if v == "" || tooLong(p, v) || p.name == "otherMails" && !validString("mail", v) {
			return false
		}
	}
	return true
}

var (
	// usageLocation: "A two-letter country code (ISO standard 3166)".
	countryCode = regexp.MustCompile(`^[A-Za-z]{2}$`)
	// preferredLanguage: "an ISO 639 two-letter lowercase culture code
	// ... and an ISO 3166 two-letter uppercase subculture code", e.g.
	// en-US (user resource); a bare language code is taken too.
	languageTag = regexp.MustCompile(`^[a-z]{2,3}(-[A-Z]{2})?$`)
	// userPrincipalName: "Only the following characters are allowed A - Z,
	// a - z, 0 - 9, ' . - _ ! # ^ ~" before the @ (user-update).
	upnLocal = regexp.MustCompile(`^[A-Za-z0-9'.\-_!#^~]+$`)
)

// validString checks a value's form. mail, otherMails and
// userPrincipalName "can't contain accent characters" (user resource).
func validString(name, v string) bool {
	if v == "" {
		return true
	}
	switch name {
	case "userType":
		// Member and Guest are the only values Graph accepts.
		return strings.EqualFold(v, "Member") || strings.EqualFold(v, "Guest")
	case "mail":
		return strings.Count(v, "@") == 1 && !strings.HasPrefix(v, "@") && !strings.HasSuffix(v, "@") && isASCII(v)
	case "userPrincipalName":
		local, domain, ok := strings.Cut(v, "@")
		return ok && upnLocal.MatchString(local) && domain != "" && !strings.Contains(domain, "@") && isASCII(domain)
	case "usageLocation":
		return countryCode.MatchString(v)
	case "preferredLanguage":
		return languageTag.MatchString(v)
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
