package pipeline

import (
	"errors"
	"strings"
	"time"

	"github.com/galsync/galsync/shared/galsync"
)

// isRefusal reports whether the target refused a write as invalid (a 400,
// naming an attribute or not): what it refused is recorded and the rest
// written. Every other failure is returned for the retrier, which parks a
// permanent one (a 403 for a permission the app lacks, a 409) with Graph's
// code and retries a transient one: none of them says anything about the
// attribute, and a refusal would stop it until its value changed.
func isRefusal(err error) bool {
	var re *galsync.RefusedError
	return errors.As(err, &re) || errors.Is(err, galsync.ErrInvalid)
}

// refusal is what galsync keeps of Graph's refusal to write value to attr:
// the fingerprint of what was refused, and the reason without the value.
func refusal(d *Direction, attr string, value any, err error, now time.Time) galsync.Refusal {
	return galsync.Refusal{Fingerprint: d.Rules.AttributeFingerprint(attr, value), Message: refusalText(attr, err), At: now}
}

// graphCoded is a failure Graph answered, with its error code and message
// (the Graph adapter's errors).
type graphCoded interface {
	GraphCode() string
	GraphMessage() string
}

// refusalText is the reason a refusal of attr is recorded with, in the
// link, the provisioning log and the status page: Graph's error code and
// its message with the values taken out, since Graph's messages may quote
// what was refused ("Another object with the same value for property
// proxyAddresses already exists: SMTP:..."). The message stays because it
// is what tells an operator what to do (read-only, on-premises mastered,
// invalid value); a value never does.
func refusalText(attr string, err error) string {
	var ge graphCoded
	if !errors.As(err, &ge) {
		return "Graph refused " + attr
	}
	msg := withoutValues(ge.GraphMessage(), attr)
	if msg == "" {
		return ge.GraphCode() + ": Graph refused " + attr
	}
	return ge.GraphCode() + ": " + msg
}

// withoutValues takes out of a Graph message what may be a value: what
// follows its first ": " (where Graph puts the offending value), each
// quoted span that names neither attr nor the User resource, and every word
// with an '@'.
func withoutValues(msg, attr string) string {
	if i := strings.Index(msg, ": "); i >= 0 {
		msg = strings.TrimSpace(msg[:i]) + "."
	}
	var b strings.Builder
	for len(msg) > 0 {
		i := openingQuote(msg)
		if i < 0 {
			b.WriteString(msg)
			break
		}
		end := strings.IndexByte(msg[i+1:], msg[i])
		if end < 0 {
			b.WriteString(msg[:i])
			break // an unclosed quote: what follows may be a value
		}
		quoted := msg[i+1 : i+1+end]
		b.WriteString(msg[:i+1])
		if strings.EqualFold(quoted, attr) || quoted == "User" {
			b.WriteString(quoted)
		} else {
			b.WriteString("…")
		}
		b.WriteByte(msg[i])
		msg = msg[i+2+end:]
	}
	words := strings.Fields(b.String())
	for i, w := range words {
		if strings.Contains(w, "@") {
			words[i] = "[redacted]"
		}
	}
	return strings.Join(words, " ")
}

// openingQuote is the index of the first quote that opens a span (not an
// apostrophe within a word, as in "doesn't"), or -1.
func openingQuote(s string) int {
	for i := 0; i < len(s); i++ {
		if (s[i] == '\'' || s[i] == '"') && (i == 0 || !isWordByte(s[i-1])) {
			return i
		}
	}
	return -1
}

func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_'
}
