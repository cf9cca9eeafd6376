package deadletter

import (
	"context"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

type fakeLog []galsync.LogEntry

func (f fakeLog) QueryLog(_ context.Context, q galsync.LogQuery) ([]galsync.LogEntry, error) {
	var out []galsync.LogEntry
	for _, e := range f {
		if e.Direction == q.Direction && e.SourceUserID == q.SourceUserID {
			out = append(out, e)
		}
	}
	return out, nil
}

// TestExplainFromTheLog: a dead letter the Functions host left without a
// last error gets the latest failure of its user and sequence number from
// the provisioning log, redacted; others stay as they were.
func TestExplainFromTheLog(t *testing.T) {
	at := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	log := fakeLog{
		{Time: at, Direction: "a-to-b", SourceUserID: "u1", Seq: 7, Action: galsync.ActionInvite, Outcome: galsync.OutcomeFailed, Reason: "graph: 503 first"},
		{Time: at.Add(time.Minute), Direction: "a-to-b", SourceUserID: "u1", Seq: 7, Action: galsync.ActionInvite, Outcome: galsync.OutcomeFailed, Reason: "internal user ada@contoso.com holds the address"},
		{Time: at.Add(2 * time.Minute), Direction: "a-to-b", SourceUserID: "u1", Seq: 8, Action: galsync.ActionInvite, Outcome: galsync.OutcomeFailed, Reason: "another item"},
	}
	letters := []Letter{
		{Direction: "a-to-b", SourceUser: "u1", Properties: map[string]string{queue.PropSeq: "7"}},
		{Direction: "a-to-b", SourceUser: "u1", LastError: "kept", Properties: map[string]string{queue.PropSeq: "7"}},
		{Direction: "a-to-b", Properties: map[string]string{}}, // a pull: nothing to match
	}
	if err := Explain(context.Background(), log, letters); err != nil {
		t.Fatal(err)
	}
	if want := "internal user <address> holds the address (provisioning log, 2026-11-26T03:01:00Z)"; letters[0].LastError != want {
		t.Errorf("LastError = %q, want %q", letters[0].LastError, want)
	}
	if letters[1].LastError != "kept" || letters[2].LastError != "" {
		t.Errorf("letters changed that should not: %+v", letters[1:])
	}
}
