package status

import (
	"context"
	"fmt"
	"time"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

// sampleReport is a populated deployment: contoso-to-fabrikam running
// (with queued work and a day of activity), contoso-to-gcchigh paused by
// the threshold with dead letters and failures.
func sampleReport() Report {
	st := healthy()
	st.states[dirAC] = galsync.DirectionState{Direction: dirAC, Paused: true, PausedAt: now.Add(-47 * time.Minute),
		PauseReason: "40 deprovisions in one round exceed the accidental-deletion threshold (count 25, percent 5 of 800 live guests); approve to release them",
		HeldCount:   40}
	c := st.cursors[dirAC]
	c.UpdatedAt, c.DeltaObtainedAt, c.RoundStartedAt = now.Add(-47*time.Minute), now.Add(-52*time.Minute), now.Add(-52*time.Minute)
	c.LastResyncAt, c.ResyncReason = now.Add(-30*time.Hour), "graph: delta in tenant contoso: 410 Gone: token expired"
	st.cursors[dirAC] = c
	actions := []struct {
		action, outcome string
		every           int
	}{
		{"invite", "success", 3}, {"update", "success", 2}, {"update", "nochange", 5}, {"skip", "skipped", 4},
		{"join", "success", 11}, {"disable", "success", 13}, {"invite", "failed", 17},
	}
	for i := range 24 * 12 {
		at := now.Add(-time.Duration(i) * 5 * time.Minute)
		for _, a := range actions {
			// Busy in the morning (UTC), quiet at night.
			if i%a.every == 0 && (at.Hour() > 6 || i%2 == 0) {
				for _, dir := range []string{dirAB, dirAC} {
					if dir == dirAB && a.outcome == "failed" {
						continue
					}
					st.log = append(st.log, galsync.LogEntry{Time: at, Direction: dir, Action: a.action, Outcome: a.outcome,
						SourceUserID: fmt.Sprintf("u%d", i)})
				}
			}
		}
	}
	q := &fakeQueue{}
	q.add(galsync.QueuePulls, dirAB, 1)
	q.add(galsync.QueueInvites, dirAB, 3)
	q.add(galsync.QueueUpdates, dirAB, 12)
	q.add(galsync.QueueUpdates, dirAC, 10_001)
	q.add(queue.DeadLetterQueue(galsync.QueueInvites), dirAC, 2)
	return reporter(st, q).Report(context.Background())
}
