package deadletter

import (
	"context"
	"fmt"
	"time"
)

// Options are what every operation takes.
type Options struct {
	Filter
	// Limit stops after this many letters (listed, replayed or purged);
	// zero means no limit.
	Limit int
	// Now is the clock for the age filters (default time.Now).
	Now func() time.Time
	// Progress, if set, is called as the operation goes.
	Progress func(Progress)
}

// Progress reports how far an operation has got. Total is zero while it is
// not known (scanning).
type Progress struct {
	Op          string // "scan", "replay" or "purge"
	Queue       string
	Done, Total int
}

// Operation names in Progress.
const (
	OpScan   = "scan"
	OpReplay = "replay"
	OpPurge  = "purge"
)

// peekPage is how many dead letters one Peek asks for.
const peekPage = 250

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o Options) progress(p Progress) {
	if o.Progress != nil {
		o.Progress(p)
	}
}

// List returns the dead letters the filter selects, queue by queue in the
// filter's order, oldest first within a queue. It locks and changes nothing.
func List(ctx context.Context, p Peeker, o Options) ([]Letter, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	var out []Letter
	err := scan(ctx, p, o, func(l Letter) bool {
		out = append(out, l)
		return o.Limit <= 0 || len(out) < o.Limit
	})
	return out, err
}

// scan peeks every dead letter of the filter's queues and hands the ones it
// selects to keep, until keep returns false.
func scan(ctx context.Context, p Peeker, o Options, keep func(Letter) bool) error {
	now := o.now()
	read := 0
	for _, q := range o.Queues {
		var from int64
		for {
			page, err := p.Peek(ctx, Source(q), from, peekPage)
			if err != nil {
				return fmt.Errorf("deadletter: read the dead letters of %s: %w", q, err)
			}
			if len(page) == 0 {
				break
			}
			read += len(page)
			o.progress(Progress{Op: OpScan, Queue: q, Done: read})
			for _, d := range page {
				if l := newLetter(q, d); o.Match(l, now) && !keep(l) {
					return nil
				}
			}
			from = page[len(page)-1].SequenceNumber + 1
		}
	}
	return nil
}
