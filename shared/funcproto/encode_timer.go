package funcproto

import (
	"encoding/json"
	"errors"
	"time"
)

// EncodeTimer encodes the invocation of a function whose timer trigger
// binding is named binding: Data holds the TimerInfo object (Schedule,
// ScheduleStatus or null, IsPastDue) and Metadata only sys.
func EncodeTimer(binding string, info TimerInfo, sys Sys) ([]byte, error) {
	if binding == "" {
		return nil, errors.New("funcproto: encode timer invocation: no binding name")
	}
	var t object
	t.add("Schedule", object{{"AdjustForDST", json.RawMessage("true")}}.json())
	status := json.RawMessage("null")
	if s := info.ScheduleStatus; s != nil {
		status = object{
			{"Last", scheduleTime(s.Last)},
			{"Next", scheduleTime(s.Next)},
			{"LastUpdated", scheduleTime(s.LastUpdated)},
		}.json()
	}
	t.add("ScheduleStatus", status)
	pastDue := json.RawMessage("false")
	if info.IsPastDue {
		pastDue = json.RawMessage("true")
	}
	t.add("IsPastDue", pastDue)
	data := object{{binding, t.json()}}
	meta := object{{"sys", sys.object().json()}}
	return envelope(data, meta), nil
}

// scheduleTime writes a schedule monitor time as Newtonsoft writes a local
// DateTime (the host's zone is UTC in Azure).
func scheduleTime(t time.Time) json.RawMessage {
	return jsonText(netTicks(t).UTC().Format(newtonsoftLocal))
}
