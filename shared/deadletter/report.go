package deadletter

// Outcome is what an operation did, or would do, with one dead letter.
type Outcome string

// Outcomes.
const (
	Replayed    Outcome = "replayed"
	WouldReplay Outcome = "would replay"
	Purged      Outcome = "purged"
	WouldPurge  Outcome = "would purge"
	// Refused: replayed MaxReplays times already, and not forced.
	Refused Outcome = "refused"
	// Missing: selected when planned, but gone (settled by someone else) or
	// locked (by another operator) when the operation came to receive it.
	Missing Outcome = "missing"
	// Pending: selected, not reached because the operation stopped on an
	// error.
	Pending Outcome = "pending"
)

// Item is one dead letter in a Report.
type Item struct {
	Letter
	Outcome Outcome `json:"outcome"`
	// ReplayID is the message id of the copy sent (or to be sent).
	ReplayID string `json:"replayId,omitempty"`
}

// Report lists what an operation did, in the order it planned.
type Report struct {
	DryRun bool   `json:"dryRun"`
	Items  []Item `json:"items"`
}

// Count returns how many items have the outcome.
func (r Report) Count(o Outcome) int {
	n := 0
	for _, it := range r.Items {
		if it.Outcome == o {
			n++
		}
	}
	return n
}
