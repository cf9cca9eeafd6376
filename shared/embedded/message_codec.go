package embedded

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// A stored message is encoded in binary: a version byte, then its fields
// in a fixed order, strings and the body length-prefixed (uvarint), times
// as Unix nanoseconds (varint, with a flag for the zero time). JSON, which
// files written before held, doubled the work of every send and receive
// and stored a body a third larger (base64); a message that starts with
// '{' is such a one and still decodes.

const messageV1 = 1

// encodeMessage appends m's encoding to buf.
func encodeMessage(buf []byte, m storedMessage) []byte {
	buf = append(buf, messageV1)
	buf = binary.AppendUvarint(buf, uint64(max(m.DeliveryCount, 0)))
	buf = appendTime(buf, m.EnqueuedAt)
	buf = appendTime(buf, m.ScheduledAt)
	for _, s := range []string{m.ID, m.ContentType, m.Subject, m.CorrelationID, m.SessionID, m.DeadLetterReason, m.DeadLetterDescription} {
		buf = appendString(buf, s)
	}
	buf = binary.AppendUvarint(buf, uint64(len(m.Properties)))
	for k, v := range m.Properties {
		buf = appendString(buf, k)
		buf = appendString(buf, v)
	}
	buf = binary.AppendUvarint(buf, uint64(len(m.Body)))
	return append(buf, m.Body...)
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

func appendTime(buf []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(buf, 0)
	}
	buf = append(buf, 1)
	return binary.AppendVarint(buf, t.UnixNano())
}

var errTruncated = errors.New("truncated")

// decodeMessageBytes decodes raw, binary or (older files) JSON. The body
// and strings are copied out of raw, which bbolt owns.
func decodeMessageBytes(raw []byte) (storedMessage, error) {
	var m storedMessage
	if len(raw) > 0 && raw[0] == '{' {
		err := json.Unmarshal(raw, &m)
		return m, err
	}
	if len(raw) == 0 || raw[0] != messageV1 {
		return m, fmt.Errorf("unknown message encoding")
	}
	r := reader{b: raw[1:]}
	m.DeliveryCount = int(r.uvarint())
	m.EnqueuedAt = r.time()
	m.ScheduledAt = r.time()
	for _, s := range []*string{&m.ID, &m.ContentType, &m.Subject, &m.CorrelationID, &m.SessionID, &m.DeadLetterReason, &m.DeadLetterDescription} {
		*s = r.string()
	}
	if n := r.uvarint(); n > 0 && r.err == nil {
		m.Properties = make(map[string]string, min(n, 64))
		for range n {
			k := r.string()
			m.Properties[k] = r.string()
			if r.err != nil {
				break
			}
		}
	}
	if body := r.bytes(); len(body) > 0 {
		m.Body = append([]byte(nil), body...)
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = fmt.Errorf("%d bytes left over", len(r.b))
	}
	return m, r.err
}

// reader reads the binary encoding; the first error sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errTruncated
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errTruncated
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errTruncated
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) string() string { return string(r.bytes()) }

func (r *reader) time() time.Time {
	if r.err != nil {
		return time.Time{}
	}
	if len(r.b) == 0 {
		r.err = errTruncated
		return time.Time{}
	}
	set := r.b[0]
	r.b = r.b[1:]
	if set == 0 {
		return time.Time{}
	}
	return time.Unix(0, r.varint()).UTC()
}
