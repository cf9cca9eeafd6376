package queue

import (
	"context"
	"strings"
	"time"
)

// Depther is a backend that knows a queue's depth without reading its
// messages (the embedded queue): active counts locked messages too, as
// Service Bus's active message count does, and leaves out scheduled
// messages, which Service Bus counts apart.
type Depther interface {
	Depth(ctx context.Context, queue string) (active, deadLettered int, err error)
}

// ScheduledDepther is a backend that knows how many of a queue's messages
// wait for their scheduled time (Service Bus's scheduled message count)
// without reading them.
type ScheduledDepther interface {
	ScheduledDepth(ctx context.Context, queue string) (int, error)
}

// Count counts a queue's active messages, locked ones included and
// scheduled ones left out, stopping at limit. A name with DeadLetterSuffix
// counts the dead-letter subqueue. A backend that is a Depther answers at
// once; any other is peeked page by page.
func Count(ctx context.Context, p Peeker, name string, limit int) (int, error) {
	if d, ok := p.(Depther); ok {
		main, dead := strings.CutSuffix(name, DeadLetterSuffix)
		active, deadLettered, err := d.Depth(ctx, main)
		if err != nil {
			return 0, err
		}
		if dead {
			return min(deadLettered, limit), nil
		}
		return min(active, limit), nil
	}
	now := time.Now()
	return countPeeked(ctx, p, name, limit, func(d Delivery) bool { return !d.Scheduled(now) })
}

// CountScheduled counts a queue's messages that wait for their scheduled
// time, stopping at limit. A backend that is a ScheduledDepther answers at
// once; any other is peeked page by page (Service Bus's peek returns a
// queue's scheduled messages:
// https://learn.microsoft.com/azure/service-bus-messaging/message-browsing).
func CountScheduled(ctx context.Context, p Peeker, name string, limit int) (int, error) {
	if d, ok := p.(ScheduledDepther); ok {
		n, err := d.ScheduledDepth(ctx, name)
		return min(n, limit), err
	}
	now := time.Now()
	return countPeeked(ctx, p, name, limit, func(d Delivery) bool { return d.Scheduled(now) })
}

// countPeeked peeks name page by page and counts the messages that match,
// stopping at limit.
func countPeeked(ctx context.Context, p Peeker, name string, limit int, match func(Delivery) bool) (int, error) {
	n := 0
	var from int64
	for n < limit {
		page, err := p.Peek(ctx, name, from, min(250, limit-n))
		if err != nil {
			return n, err
		}
		if len(page) == 0 {
			break
		}
		for _, d := range page {
			if match(d) && n < limit {
				n++
			}
		}
		from = page[len(page)-1].SequenceNumber + 1
	}
	return n, nil
}
