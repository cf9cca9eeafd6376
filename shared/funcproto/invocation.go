package funcproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// Header names the Functions host sets on every invocation
// (DefaultHttpWorkerService.AddHeaders).
const (
	HeaderInvocationID = "X-Azure-Functions-InvocationId"
	HeaderHostVersion  = "X-Azure-Functions-HostVersion"
	// UserAgentPrefix is followed by "/<host version>".
	UserAgentPrefix = "Azure-Functions-Host"
)

// Errors Decode wraps, so a handler can tell a malformed invocation from an
// oversized one.
var (
	ErrBodyTooLarge = errors.New("funcproto: invocation body too large")
	ErrMalformed    = errors.New("funcproto: malformed invocation")
)

// Invocation is one decoded invocation: Data holds one entry per input
// binding, Metadata the trigger metadata, both as the raw JSON the host sent.
type Invocation struct {
	InvocationID string
	Data         map[string]json.RawMessage
	Metadata     map[string]json.RawMessage
}

// Decode reads and validates the invocation body of r, refusing bodies over
// maxBytes. The envelope keys Data and Metadata match case-insensitively,
// as the host's own deserialisation does.
func Decode(r *http.Request, maxBytes int64) (*Invocation, error) {
	if r.ContentLength > maxBytes {
		return nil, fmt.Errorf("%w: Content-Length %d exceeds %d bytes", ErrBodyTooLarge, r.ContentLength, maxBytes)
	}
	if r.Body == nil {
		return nil, fmt.Errorf("%w: empty body", ErrMalformed)
	}
	// The host sends the invocation chunked, so the length is only known
	// once read: read one byte past the limit to tell.
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("funcproto: read invocation body: %w", err)
	}
	if int64(len(b)) > maxBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, maxBytes)
	}
	inv, err := decodeEnvelope(b)
	if err != nil {
		return nil, err
	}
	inv.InvocationID = r.Header.Get(HeaderInvocationID)
	return inv, nil
}

func decodeEnvelope(b []byte) (*Invocation, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrMalformed)
	}
	// The host's envelope holds objects only: read it in one pass. An
	// envelope with anything else at its top level is read member by
	// member, to say what is wrong with it.
	var objects map[string]map[string]json.RawMessage
	if json.Unmarshal(b, &objects) == nil && objects != nil {
		data := objectNamed(objects, "Data")
		if data == nil {
			return nil, fmt.Errorf("%w: missing Data", ErrMalformed)
		}
		meta := objectNamed(objects, "Metadata")
		if meta == nil {
			meta = map[string]json.RawMessage{}
		}
		return &Invocation{Data: data, Metadata: meta}, nil
	}
	return decodeMembers(b)
}

// decodeMembers reads the envelope member by member.
func decodeMembers(b []byte) (*Invocation, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object: %v", ErrMalformed, err)
	}
	if top == nil {
		return nil, fmt.Errorf("%w: body is null", ErrMalformed)
	}
	data, err := objectField(top, "Data")
	if err != nil {
		return nil, err
	}
	if data == nil {
		return nil, fmt.Errorf("%w: missing Data", ErrMalformed)
	}
	meta, err := objectField(top, "Metadata")
	if err != nil {
		return nil, err
	}
	if meta == nil {
		meta = map[string]json.RawMessage{}
	}
	return &Invocation{Data: data, Metadata: meta}, nil
}

// objectNamed is objects[name], matched as lookup matches; nil when absent
// or null.
func objectNamed(objects map[string]map[string]json.RawMessage, name string) map[string]json.RawMessage {
	k, ok := foldKey(objects, name)
	if !ok {
		return nil
	}
	return objects[k]
}

// objectField returns top[name] (matched case-insensitively) as an object,
// nil when absent or null.
func objectField(top map[string]json.RawMessage, name string) (map[string]json.RawMessage, error) {
	raw, ok := lookup(top, name)
	if !ok {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%w: %s is not a JSON object", ErrMalformed, name)
	}
	return m, nil
}

// lookup finds key exactly, else case-insensitively; a JSON null counts as
// absent. Among several case variants the smallest key wins, so the choice
// does not depend on map order.
func lookup(m map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	k, ok := foldKey(m, key)
	if !ok {
		return nil, false
	}
	v := m[k]
	return v, !isNull(v)
}

// foldKey is the key of m that lookup takes for key: key itself if m has
// it, else the smallest of its case variants in m.
func foldKey[V any](m map[string]V, key string) (string, bool) {
	if _, ok := m[key]; ok {
		return key, true
	}
	found, ok := "", false
	for k := range m {
		if strings.EqualFold(k, key) && (!ok || k < found) {
			found, ok = k, true
		}
	}
	return found, ok
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// input returns the Data entry of an input binding (nil when it is null),
// naming the bindings that are there when it is missing.
func (inv *Invocation) input(binding string) (json.RawMessage, error) {
	if !hasKeyFold(inv.Data, binding) {
		names := make([]string, 0, len(inv.Data))
		for k := range inv.Data {
			names = append(names, k)
		}
		slices.Sort(names)
		return nil, fmt.Errorf("%w: no input binding %q in Data (have %q)", ErrMalformed, binding, names)
	}
	if raw, ok := lookup(inv.Data, binding); ok {
		return raw, nil
	}
	return nil, nil
}

func hasKeyFold(m map[string]json.RawMessage, key string) bool {
	for k := range m {
		if strings.EqualFold(k, key) {
			return true
		}
	}
	return false
}
