package queue

import (
	"context"
	"strings"
)

// Depther is a backend that knows a queue's depth without reading its
// messages (the embedded queue): active counts locked messages too, as
// Service Bus's active message count does.
type Depther interface {
	Depth(ctx context.Context, queue string) (active, deadLettered int, err error)
}

// Count counts a queue's messages, locked ones included, stopping at
// limit. A name with DeadLetterSuffix counts the dead-letter subqueue. A
// backend that is a Depther answers at once; any other is peeked page by
// page.
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
		n += len(page)
		from = page[len(page)-1].SequenceNumber + 1
	}
	return n, nil
}
