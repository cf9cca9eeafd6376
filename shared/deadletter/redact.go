package deadletter

import (
	"regexp"
)

// address matches what looks like a mail address or a user principal name,
// guest ones (alice_contoso.com#EXT#@fabrikam.onmicrosoft.com) included.
var address = regexp.MustCompile(`[A-Za-z0-9._%+\-#']+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+`)

// Redacted replaces an address in text shown to operators.
const Redacted = "<address>"

// Redact replaces every address in s: error texts can quote the address a
// call was about, and galsync never prints one unless asked to.
func Redact(s string) string {
	return address.ReplaceAllString(s, Redacted)
}

func redactedProperties(p map[string]string) map[string]string {
	if len(p) == 0 {
		return nil
	}
	out := make(map[string]string, len(p))
	for k, v := range p {
		out[k] = Redact(v)
	}
	return out
}
