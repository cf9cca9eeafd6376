package deadletter

import (
	"context"
	"strconv"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

// LogReader reads the provisioning log.
type LogReader interface {
	QueryLog(ctx context.Context, q galsync.LogQuery) ([]galsync.LogEntry, error)
}

// Explain fills in LastError from the provisioning log for letters that do
// not carry it. Under the Azure Functions host a failed invocation leaves
// no trace on its message (the host abandons it unchanged, and Service Bus
// dead-letters it with MaxDeliveryCountExceeded alone), but the workers log
// every failed attempt with the item's user and sequence number; the
// latest such entry says why. Letters galsync cannot match (a pull, a
// malformed message) are left as they are.
func Explain(ctx context.Context, log LogReader, letters []Letter) error {
	type user struct{ direction, id string }
	read := map[user][]galsync.LogEntry{} // each user's log, read once
	for i := range letters {
		l := &letters[i]
		if l.LastError != "" || l.SourceUser == "" || l.Direction == "" {
			continue
		}
		seq, err := strconv.ParseInt(l.Properties[queue.PropSeq], 10, 64)
		if err != nil {
			continue
		}
		key := user{l.Direction, l.SourceUser}
		entries, ok := read[key]
		if !ok {
			if entries, err = log.QueryLog(ctx, galsync.LogQuery{Direction: l.Direction, SourceUserID: l.SourceUser}); err != nil {
				return err
			}
			read[key] = entries
		}
		for j := len(entries) - 1; j >= 0; j-- {
			if e := entries[j]; e.Outcome == galsync.OutcomeFailed && e.Seq == seq {
				l.LastError = Redact(e.Reason) + " (provisioning log, " + e.Time.UTC().Format("2006-01-02T15:04:05Z") + ")"
				break
			}
		}
	}
	return nil
}
