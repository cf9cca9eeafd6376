package funcproto

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"
)

// Sys is the system binding data the host adds to every invocation's
// Metadata as "sys".
type Sys struct {
	MethodName string
	UtcNow     time.Time
	RandGuid   string
}

// NewSys returns the sys data of one invocation of function at now.
func NewSys(function string, now time.Time) Sys {
	return Sys{MethodName: function, UtcNow: now, RandGuid: NewGUID()}
}

// NewGUID returns a random (version 4) GUID in the lower-case form .NET
// prints; the host uses such GUIDs for invocation ids and sys.RandGuid.
func NewGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (s Sys) object() object {
	var o object
	o.add("MethodName", jsonText(s.MethodName))
	o.add("UtcNow", jsonText(netTicks(s.UtcNow).UTC().Format(newtonsoftUTC)))
	o.add("RandGuid", jsonText(s.RandGuid))
	return o
}

// Sys reads the sys metadata of an invocation.
func (inv *Invocation) Sys() (Sys, error) {
	raw, ok := lookup(inv.Metadata, "sys")
	if !ok {
		return Sys{}, fmt.Errorf("%w: no sys metadata", ErrMalformed)
	}
	var w struct{ MethodName, UtcNow, RandGuid string }
	if err := json.Unmarshal(raw, &w); err != nil {
		return Sys{}, fmt.Errorf("%w: sys metadata is not an object", ErrMalformed)
	}
	s := Sys{MethodName: w.MethodName, RandGuid: w.RandGuid}
	if w.UtcNow != "" {
		t, err := parseHostTime(w.UtcNow)
		if err != nil {
			return Sys{}, fmt.Errorf("%w: sys.UtcNow: %v", ErrMalformed, err)
		}
		s.UtcNow = t
	}
	return s, nil
}
