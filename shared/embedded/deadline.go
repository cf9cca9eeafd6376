package embedded

import "time"

// deadline is a timer that fires fn at the soonest of a changing set of
// times (lock expiries, scheduled times): arm it with the soonest after
// every change. Its owner serialises the calls (queueState's mutex).
type deadline struct {
	fn    func()
	timer *time.Timer
	at    time.Time // when it is armed for; zero when not armed
}

// arm makes the timer fire at at (measured from now), or stops it when
// at is zero. Arming it again for the same time changes nothing.
func (d *deadline) arm(now, at time.Time) {
	if at.IsZero() {
		if d.timer != nil {
			d.timer.Stop()
		}
		d.at = time.Time{}
		return
	}
	if at.Equal(d.at) {
		return
	}
	d.at = at
	if d.timer == nil {
		d.timer = time.AfterFunc(at.Sub(now), d.fn)
		return
	}
	d.timer.Reset(at.Sub(now))
}

// fired notes that the timer went off, so the next arm sets it again.
func (d *deadline) fired() { d.at = time.Time{} }

func (d *deadline) stop() {
	if d.timer != nil {
		d.timer.Stop()
	}
}
