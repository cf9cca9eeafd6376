package funcproto

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// TimerInfo is a timer trigger input.
type TimerInfo struct {
	IsPastDue bool
	// ScheduleStatus is nil unless the host's schedule monitor is on.
	ScheduleStatus *ScheduleStatus
}

// ScheduleStatus is what the schedule monitor recorded.
type ScheduleStatus struct {
	Last, Next, LastUpdated time.Time
}

// wireTimer is the timer input as the host sends it (JObject.FromObject of
// the TimerInfo); encoding/json matches its keys case-insensitively.
type wireTimer struct {
	Schedule       json.RawMessage `json:"Schedule"`
	ScheduleStatus *struct {
		Last        string `json:"Last"`
		Next        string `json:"Next"`
		LastUpdated string `json:"LastUpdated"`
	} `json:"ScheduleStatus"`
	IsPastDue json.RawMessage `json:"IsPastDue"`
}

// Timer reads the timer trigger input named binding.
func (inv *Invocation) Timer(binding string) (TimerInfo, error) {
	raw, err := inv.input(binding)
	if err != nil {
		return TimerInfo{}, err
	}
	text, err := unwrap(raw)
	if err != nil || raw == nil {
		return TimerInfo{}, fmt.Errorf("%w: Data.%s is not a timer object", ErrMalformed, binding)
	}
	var w wireTimer
	if err := json.Unmarshal([]byte(text), &w); err != nil {
		return TimerInfo{}, fmt.Errorf("%w: Data.%s is not a timer object: %v", ErrMalformed, binding, err)
	}
	var info TimerInfo
	if info.IsPastDue, err = parseBool(w.IsPastDue); err != nil {
		return TimerInfo{}, fmt.Errorf("%w: Data.%s.IsPastDue: %v", ErrMalformed, binding, err)
	}
	if s := w.ScheduleStatus; s != nil {
		var st ScheduleStatus
		for _, f := range []struct {
			dst  *time.Time
			text string
		}{{&st.Last, s.Last}, {&st.Next, s.Next}, {&st.LastUpdated, s.LastUpdated}} {
			if f.text == "" {
				continue
			}
			if *f.dst, err = parseHostTime(f.text); err != nil {
				return TimerInfo{}, fmt.Errorf("%w: Data.%s.ScheduleStatus: %v", ErrMalformed, binding, err)
			}
		}
		info.ScheduleStatus = &st
	}
	return info, nil
}

// parseBool accepts true/false as JSON booleans or as strings; absent is
// false.
func parseBool(raw json.RawMessage) (bool, error) {
	if isNull(raw) {
		return false, nil
	}
	s, err := unwrap(raw)
	if err != nil {
		return false, err
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("%q is not a boolean", s)
	}
	return b, nil
}
