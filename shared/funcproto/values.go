package funcproto

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// unwrap returns a value as text. A JSON string is unquoted, and unquoted
// once more when its content is itself the JSON text of a string: the host
// double-encodes strings (SerializeObject of the string inside the JSON
// envelope). It never unwraps more than twice, so a body that is itself a
// JSON string literal survives. Any other JSON value comes back as its JSON
// text, which is how numbers and booleans read.
func unwrap(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return string(raw), nil
	}
	once, err := unquoteJSON(raw)
	if err != nil {
		return "", fmt.Errorf("not a JSON string: %w", err)
	}
	if twice, ok := unquote(once); ok {
		return twice, nil
	}
	return once, nil
}

// unquote decodes s when it is exactly the JSON text of a string.
func unquote(s string) (string, bool) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", false
	}
	out, err := unquoteJSON([]byte(s))
	return out, err == nil
}

// metaString reads a string metadata value, double-encoded or plain; an
// absent or null value reads as "".
func (inv *Invocation) metaString(key string) (string, error) {
	raw, ok := lookup(inv.Metadata, key)
	if !ok {
		return "", nil
	}
	s, err := unwrap(raw)
	if err != nil {
		return "", fmt.Errorf("%w: metadata %s: %v", ErrMalformed, key, err)
	}
	return s, nil
}

// metaInt reads a number metadata value, sent as a string ("1") by the host
// or as a plain number; absent reads as 0.
func (inv *Invocation) metaInt(key string) (int64, error) {
	s, err := inv.metaString(key)
	if err != nil || s == "" {
		return 0, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: metadata %s is not an integer", ErrMalformed, key)
	}
	return n, nil
}

// metaTime reads a DateTime metadata value; absent reads as the zero time.
func (inv *Invocation) metaTime(key string) (time.Time, error) {
	s, err := inv.metaString(key)
	if err != nil || s == "" {
		return time.Time{}, err
	}
	t, err := parseHostTime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: metadata %s: %v", ErrMalformed, key, err)
	}
	return t, nil
}

// netMaxValue is .NET's DateTime.MaxValue as the host writes it once the
// fraction is gone: Service Bus reports it as the expiry of a message
// without a time to live.
const netMaxValue = "9999-12-31T23:59:59"

// netDateTime is the layout of a DateTime the host has round-tripped through
// DateTime.Parse(value.ToString()): no fraction, no zone.
const netDateTime = "2006-01-02T15:04:05"

// parseHostTime parses the host's DateTime texts: with a zone (RFC 3339,
// as Newtonsoft writes DateTime objects) or without one (UTC, as the
// Service Bus *Utc values are).
func parseHostTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	// Parsing accepts a fraction after the seconds even though the layout
	// has none.
	t, err := time.Parse(netDateTime, strings.TrimSuffix(s, "Z"))
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date and time", s)
	}
	return t.UTC(), nil
}
