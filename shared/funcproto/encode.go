package funcproto

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Time layouts of the host's output.
const (
	// newtonsoftUTC is how Newtonsoft writes a UTC DateTime inside an object
	// (sys.UtcNow): seven fraction digits at most, trailing zeros trimmed.
	newtonsoftUTC = "2006-01-02T15:04:05.9999999Z"
	// newtonsoftLocal is how it writes a local DateTime (the timer's
	// ScheduleStatus), with a numeric offset.
	newtonsoftLocal = "2006-01-02T15:04:05.9999999-07:00"
)

// netTicks truncates t to .NET's 100 ns resolution.
func netTicks(t time.Time) time.Time { return t.Truncate(100 * time.Nanosecond) }

// object is a JSON object that keeps its members in insertion order, as the
// host's dictionaries do, so encoded payloads are byte-for-byte stable.
type object []member

type member struct {
	key string
	val json.RawMessage
}

// add appends a member.
func (o *object) add(key string, val json.RawMessage) { *o = append(*o, member{key, val}) }

// put replaces the member whose key matches case-insensitively, keeping its
// key, or appends one: the host's metadata dictionary is case-insensitive.
func (o *object) put(key string, val json.RawMessage) {
	for i := range *o {
		if strings.EqualFold((*o)[i].key, key) {
			(*o)[i].val = val
			return
		}
	}
	o.add(key, val)
}

// json encodes the object; its values are already JSON.
func (o object) json() json.RawMessage {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(jsonText(m.key))
		buf.WriteByte(':')
		buf.Write(m.val)
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

// jsonText encodes s as a JSON string without HTML escaping: Newtonsoft
// leaves <, > and & alone, and so must a payload meant to match it byte for
// byte.
func jsonText(s string) json.RawMessage { return appendJSONString(nil, s) }

// jsonArray encodes strings as a JSON array.
func jsonArray(values []string) json.RawMessage {
	parts := make([][]byte, len(values))
	for i, v := range values {
		parts[i] = jsonText(v)
	}
	return append(append([]byte{'['}, bytes.Join(parts, []byte{','})...), ']')
}

// stringObject encodes m as an object of strings, keys sorted.
func stringObject(m map[string]string) object {
	keys := slices.Sorted(maps.Keys(m))
	o := make(object, 0, len(keys))
	for _, k := range keys {
		o.add(k, jsonText(m[k]))
	}
	return o
}

// doubleEncoded is a string value as the host sends it: the JSON text of
// the string (SerializeObject), itself a JSON string in the envelope.
func doubleEncoded(s string) json.RawMessage {
	inner := appendJSONString(make([]byte, 0, len(s)+16), s)
	return appendJSONString(make([]byte, 0, len(inner)+len(inner)/4+16), string(inner))
}

// numberText is a number as the host sends it: SerializeObject of the
// number, a JSON string.
func numberText(n int64) json.RawMessage { return jsonText(strconv.FormatInt(n, 10)) }

// dateTimeText is a DateTime after the host's DateTime.Parse(ToString()):
// UTC wall clock, no fraction, no zone, as a plain JSON string.
func dateTimeText(t time.Time) json.RawMessage {
	return jsonText(t.UTC().Format(netDateTime))
}

// envelope assembles {"Data": data, "Metadata": meta}.
func envelope(data, meta object) []byte {
	top := object{{"Data", data.json()}, {"Metadata", meta.json()}}
	return top.json()
}
