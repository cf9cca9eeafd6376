package funcproto

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/galsync/galsync/shared/queue"
)

// EncodeServiceBus encodes the invocation of a function whose Service Bus
// trigger binding is named binding, as the host does with extension 5.x and
// a string input (no dataType): the body double-encoded in Data, the
// message's properties in Metadata (strings double-encoded, numbers as
// strings, DateTimes without fraction and zone, absent values left out),
// and, when the body is a JSON object, its top-level scalar properties
// copied over Metadata case-insensitively.
func EncodeServiceBus(binding string, m queue.Delivery, sys Sys) ([]byte, error) {
	if binding == "" {
		return nil, errors.New("funcproto: encode service bus invocation: no binding name")
	}
	data := object{{binding, doubleEncoded(string(m.Body))}}
	meta := serviceBusMetadata(m)
	meta.add("sys", sys.object().json())
	copyBodyScalars(&meta, m.Body)
	return envelope(data, meta), nil
}

func serviceBusMetadata(m queue.Delivery) object {
	var o object
	o.add("DeliveryCount", numberText(int64(m.DeliveryCount)))
	addString(&o, "LockToken", m.LockToken)
	if m.ExpiresAt.IsZero() {
		o.add("ExpiresAtUtc", jsonText(netMaxValue)) // no time to live
	} else {
		o.add("ExpiresAtUtc", dateTimeText(m.ExpiresAt))
	}
	o.add("EnqueuedTimeUtc", dateTimeText(m.EnqueuedAt))
	addString(&o, "MessageId", m.ID)
	addString(&o, "ContentType", m.ContentType)
	o.add("SequenceNumber", numberText(m.SequenceNumber))
	// Extension 5.x keeps Label (the 4.x name) beside Subject.
	addString(&o, "Label", m.Subject)
	addString(&o, "Subject", m.Subject)
	addString(&o, "CorrelationId", m.CorrelationID)
	props := stringObject(m.Properties).json()
	o.add("ApplicationProperties", props)
	o.add("UserProperties", props)
	addString(&o, "SessionId", m.SessionID)
	return o
}

// addString adds a double-encoded string; the host leaves null values out,
// and an unset message property is null.
func addString(o *object, key, value string) {
	if value != "" {
		o.add(key, doubleEncoded(value))
	}
}

// copyBodyScalars copies the top-level scalar properties of a JSON object
// body into meta, in document order, replacing keys case-insensitively:
// the host adds them to the trigger's binding data, so a body property
// named like a system key overwrites it.
func copyBodyScalars(meta *object, body []byte) {
	if !isObject(body) {
		return
	}
	_ = eachMember(body, func(key string, raw json.RawMessage) {
		if v, ok := scalarText(raw); ok {
			meta.put(key, v)
		}
	})
}

// scalarText encodes a scalar JSON value as the host sends binding data:
// a string double-encoded, a number or boolean as its text in a string.
// Objects, arrays and nulls are not copied.
func scalarText(raw json.RawMessage) (json.RawMessage, bool) {
	switch raw[0] {
	case '"':
		s, err := unquoteJSON(raw)
		if err != nil {
			return nil, false
		}
		return doubleEncoded(s), true
	case '{', '[', 'n':
		return nil, false
	default:
		return jsonText(string(raw)), true
	}
}

// isObject reports whether b is a JSON object (the body shape whose scalar
// properties the host copies into Metadata).
func isObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}
