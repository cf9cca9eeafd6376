package funcproto

import (
	"errors"
	"testing"
	"time"
)

func TestTimerForms(t *testing.T) {
	last := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name, data string
		want       TimerInfo
	}{
		{"host shape, no monitor", `{"Schedule":{"AdjustForDST":true},"ScheduleStatus":null,"IsPastDue":false}`, TimerInfo{}},
		{"past due", `{"Schedule":{"AdjustForDST":true},"ScheduleStatus":null,"IsPastDue":true}`, TimerInfo{IsPastDue: true}},
		{"lower-case keys, string bool", `{"isPastDue":"true"}`, TimerInfo{IsPastDue: true}},
		{"as JSON text", `"{\"IsPastDue\":true}"`, TimerInfo{IsPastDue: true}},
		{"with monitor", `{"ScheduleStatus":{"Last":"2026-11-02T10:00:00+00:00","Next":"2026-11-02T10:05:00+00:00","LastUpdated":"2026-11-02T10:00:00.1234567+00:00"},"IsPastDue":false}`,
			TimerInfo{ScheduleStatus: &ScheduleStatus{Last: last, Next: last.Add(5 * time.Minute), LastUpdated: last.Add(123456700)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeString(t, `{"Data":{"timer":`+tt.data+`},"Metadata":{}}`).Timer("timer")
			if err != nil {
				t.Fatal(err)
			}
			if got.IsPastDue != tt.want.IsPastDue || (got.ScheduleStatus == nil) != (tt.want.ScheduleStatus == nil) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			if s, w := got.ScheduleStatus, tt.want.ScheduleStatus; s != nil && (!s.Last.Equal(w.Last) || !s.Next.Equal(w.Next) || !s.LastUpdated.Equal(w.LastUpdated)) {
				t.Errorf("ScheduleStatus = %+v, want %+v", *s, *w)
			}
		})
	}
}

func TestTimerBadInput(t *testing.T) {
	for name, data := range map[string]string{
		"not an object": `[1]`,
		"null":          `null`,
		"bad bool":      `{"IsPastDue":"perhaps"}`,
		"bad time":      `{"ScheduleStatus":{"Last":"soon"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := decodeString(t, `{"Data":{"timer":`+data+`}}`).Timer("timer")
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error = %v, want ErrMalformed", err)
			}
		})
	}
}
