package pace

import "time"

// bucket is a token bucket kept as the time it will next be full (the
// "theoretical arrival time" of the generic cell rate algorithm), so it
// needs no refill ticks and no floating-point token counts:
//
//	tokens(now) = capacity - max(0, full-now) × rate
//
// A cost larger than the capacity is still granted, later, as a debt.
type bucket struct {
	capacity float64
	perUnit  time.Duration // 1 / rate
	full     time.Time
}

func newBucket(s bucketSize) bucket {
	return bucket{capacity: s.Capacity, perUnit: time.Duration(float64(time.Second) / s.Rate)}
}

func (b *bucket) units(n float64) time.Duration {
	return time.Duration(n * float64(b.perUnit))
}

// earliest is the first instant at or after now at which cost units fit.
func (b *bucket) earliest(now time.Time, cost float64) time.Time {
	if cost <= 0 {
		return now
	}
	t := b.full.Add(b.units(cost - b.capacity))
	if t.Before(now) {
		return now
	}
	return t
}

// take spends cost units at now (which earliest allowed).
func (b *bucket) take(now time.Time, cost float64) {
	if cost <= 0 {
		return
	}
	if b.full.Before(now) {
		b.full = now
	}
	b.full = b.full.Add(b.units(cost))
}

// leaveAt makes the bucket hold at most tokens units at instant at (and
// fewer before it). It only ever takes tokens away.
func (b *bucket) leaveAt(at time.Time, tokens float64) {
	if full := at.Add(b.units(b.capacity - tokens)); full.After(b.full) {
		b.full = full
	}
}

// adjust adds (or, negative, returns) units already spent.
func (b *bucket) adjust(units float64) {
	b.full = b.full.Add(b.units(units))
}
