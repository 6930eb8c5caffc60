package session

import "time"

// alarm is one of the actor's timers that serve many deadlines (request
// and barrier deadlines, held refusals; keys' retries): it is set for the
// earliest of them and, once it fired, set again for the next. It is the
// actor's; its channel is received on in the actor's loop only.
type alarm struct {
	t  *time.Timer
	at time.Time // when t fires; zero when stopped or fired
}

// newAlarm returns a stopped alarm.
func newAlarm() alarm {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return alarm{t: t}
}

// C is the channel the alarm fires on.
func (a *alarm) C() <-chan time.Time { return a.t.C }

// set makes the alarm fire after d, meant as the time at, unless it is set
// to fire at at or earlier already.
func (a *alarm) set(at time.Time, d time.Duration) {
	if !a.at.IsZero() && !at.Before(a.at) {
		return
	}
	a.at = at
	a.t.Reset(d)
}

// fired records that the alarm fired: the next set sets it.
func (a *alarm) fired() { a.at = time.Time{} }

// stop stops the timer for good.
func (a *alarm) stop() { a.t.Stop() }
