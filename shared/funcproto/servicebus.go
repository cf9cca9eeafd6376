package funcproto

import (
	"encoding/json"
	"fmt"
	"time"
)

// ServiceBusMessage is a Service Bus trigger input and its metadata.
type ServiceBusMessage struct {
	Body           []byte
	MessageID      string
	ContentType    string
	CorrelationID  string
	Subject        string
	SessionID      string
	DeliveryCount  int
	SequenceNumber int64
	// EnqueuedTime and ExpiresAt are UTC, to the second (the host drops the
	// fraction). ExpiresAt is zero for a message that never expires.
	EnqueuedTime          time.Time
	ExpiresAt             time.Time
	LockToken             string
	ApplicationProperties map[string]any
}

// ServiceBus reads the Service Bus trigger input named binding. The body
// may be a JSON object or array (taken as is), a JSON string holding the
// body text, or a JSON string holding the JSON text of that string (the
// host's encoding of a string input with no dataType).
func (inv *Invocation) ServiceBus(binding string) (ServiceBusMessage, error) {
	raw, err := inv.input(binding)
	if err != nil {
		return ServiceBusMessage{}, err
	}
	body, err := unwrap(raw)
	if err != nil {
		return ServiceBusMessage{}, fmt.Errorf("%w: Data.%s: %v", ErrMalformed, binding, err)
	}
	m := ServiceBusMessage{Body: []byte(body)}
	if err := inv.serviceBusMetadata(&m); err != nil {
		return ServiceBusMessage{}, err
	}
	return m, nil
}

func (inv *Invocation) serviceBusMetadata(m *ServiceBusMessage) error {
	var err error
	strs := []struct {
		dst  *string
		keys []string
	}{
		{&m.MessageID, []string{"MessageId"}},
		{&m.ContentType, []string{"ContentType"}},
		{&m.CorrelationID, []string{"CorrelationId"}},
		// Extension 5.x sends Subject and, for older code, Label.
		{&m.Subject, []string{"Subject", "Label"}},
		{&m.SessionID, []string{"SessionId"}},
		{&m.LockToken, []string{"LockToken"}},
	}
	for _, f := range strs {
		for _, k := range f.keys {
			if *f.dst, err = inv.metaString(k); err != nil {
				return err
			}
			if *f.dst != "" {
				break
			}
		}
	}
	count, err := inv.metaInt("DeliveryCount")
	if err != nil {
		return err
	}
	m.DeliveryCount = int(count)
	if m.SequenceNumber, err = inv.metaInt("SequenceNumber"); err != nil {
		return err
	}
	if m.EnqueuedTime, err = inv.metaTime("EnqueuedTimeUtc"); err != nil {
		return err
	}
	if m.ExpiresAt, err = inv.expiry(); err != nil {
		return err
	}
	m.ApplicationProperties, err = inv.applicationProperties()
	return err
}

func (inv *Invocation) expiry() (time.Time, error) {
	if s, err := inv.metaString("ExpiresAtUtc"); err != nil || s == netMaxValue {
		return time.Time{}, err
	}
	return inv.metaTime("ExpiresAtUtc")
}

// applicationProperties reads ApplicationProperties, or UserProperties (its
// older name), as an object or as the JSON text of one.
func (inv *Invocation) applicationProperties() (map[string]any, error) {
	for _, key := range []string{"ApplicationProperties", "UserProperties"} {
		raw, ok := lookup(inv.Metadata, key)
		if !ok {
			continue
		}
		text, err := unwrap(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: metadata %s: %v", ErrMalformed, key, err)
		}
		var props map[string]any
		if err := json.Unmarshal([]byte(text), &props); err != nil {
			return nil, fmt.Errorf("%w: metadata %s is not an object", ErrMalformed, key)
		}
		return props, nil
	}
	return nil, nil
}
