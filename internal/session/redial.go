package session

import "time"

// redial is the reconnect back-off: the failures that decide the wait
// before the next dial, and the timer that starts it. It is the actor's.
type redial struct {
	timer        *time.Timer // fires when the next dial is due
	failures     int         // consecutive failed connection attempts
	unauthorized int         // consecutive 401s
}

// newRedial returns a redial whose timer is stopped.
func newRedial() redial {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return redial{timer: t}
}

// C is the channel the timer fires on.
func (r *redial) C() <-chan time.Time { return r.timer.C }

// after starts the next dial after d.
func (r *redial) after(d time.Duration) { r.timer.Reset(d) }

// stop stops the timer.
func (r *redial) stop() { r.timer.Stop() }

// lastAttempt reports whether the next failed attempt is the last one of
// a dial that fails fast: one attempt on each of n endpoints, none of
// which was ever live.
func (r *redial) lastAttempt(n int) bool { return r.failures+1 >= n }

// refusedAgain counts a 401 and reports whether the client may dial again
// for a fresh token: it has a token provider, and this is the first 401
// in a row.
func (r *redial) refusedAgain(provider bool) bool {
	r.unauthorized++
	return provider && r.unauthorized < 2
}
