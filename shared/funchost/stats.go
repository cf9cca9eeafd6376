package funchost

import (
	"maps"
	"time"
)

// Outcome is how an invocation ended.
type Outcome string

const (
	// Succeeded: the handler answered 2xx with a readable body; a queue
	// message was completed.
	Succeeded Outcome = "succeeded"
	// Failed: non-2xx, an unreadable answer, or no answer; a queue message
	// was abandoned.
	Failed Outcome = "failed"
)

// Result describes one finished invocation, for progress output.
type Result struct {
	Function     string
	InvocationID string
	Outcome      Outcome
	// Status is the handler's HTTP status, 0 when it did not answer.
	Status   int
	Duration time.Duration
	// Error is the short failure text ("" on success).
	Error string
}

// Count is the number of invocations of one function by outcome.
type Count struct {
	Succeeded, Failed int
}

// Stats returns the invocation counts so far, by function name.
func (h *Host) Stats() map[string]Count {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.counts)
}

func (h *Host) record(fn Function, o outcome, started time.Time) {
	r := Result{Function: fn.Name, InvocationID: o.id, Outcome: Succeeded, Status: o.status, Duration: h.now().Sub(started)}
	if o.err != nil {
		r.Outcome, r.Error = Failed, o.lastError
	}
	h.mu.Lock()
	if h.counts == nil {
		h.counts = map[string]Count{}
	}
	c := h.counts[fn.Name]
	if r.Outcome == Succeeded {
		c.Succeeded++
	} else {
		c.Failed++
	}
	h.counts[fn.Name] = c
	h.mu.Unlock()
	if h.OnInvocation != nil {
		h.OnInvocation(r)
	}
}
