package session

import (
	"context"
	"time"
)

// link is the actor's account of its connection attempts and of the
// current connection's handshake and liveness: the endpoint dialled next,
// the attempt a dial result must belong to, the epoch that tells the
// current connection's frames from an earlier one's, whether a connection
// ever went live, the handshake's deadline and its timer, and when the
// last periodic HEARTBEAT went out. It is the actor's.
type link struct {
	attempt   uint64             // dial attempts so far; the number of the one under way
	endpoints int                // endpoints dialled so far: the next is the following one, round robin
	epoch     uint64             // connections started so far; the number of the current one
	cancel    context.CancelFunc // ends the dial attempt under way; nil before the first
	everLive  bool               // a connection went live once
	deadline  time.Time          // the end of the current handshake
	timer     *time.Timer        // fires at deadline
	lastBeat  time.Time          // when the last periodic HEARTBEAT and ping went out
}

// newLink returns a link whose handshake timer is stopped.
func newLink() link {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return link{timer: t}
}

// dial starts the next attempt: it picks the next of endpoints (round
// robin), numbers the attempt and returns the context that stopDial ends.
func (l *link) dial(endpoints []string) (ctx context.Context, attempt uint64, endpoint string) {
	endpoint = endpoints[l.endpoints%len(endpoints)]
	l.endpoints++
	l.attempt++
	ctx, l.cancel = context.WithCancel(context.Background())
	return ctx, l.attempt, endpoint
}

// current reports whether attempt is the attempt under way: a dial result
// of any other is stale.
func (l *link) current(attempt uint64) bool { return attempt == l.attempt }

// stopDial ends the context of the dial attempt under way, if one was
// started; calling it again does nothing more.
func (l *link) stopDial() {
	if l.cancel != nil {
		l.cancel()
	}
}

// newEpoch numbers a connection that starts.
func (l *link) newEpoch() uint64 {
	l.epoch++
	return l.epoch
}

// connected starts the handshake of a connection that upgraded at now:
// it must end by deadline, when the timer fires; the heartbeat interval
// counts from now.
func (l *link) connected(now, deadline time.Time) {
	l.lastBeat = now
	l.deadline = deadline
	l.timer.Reset(deadline.Sub(now))
}

// handshakeOver reports whether the handshake's deadline has come at now.
func (l *link) handshakeOver(now time.Time) bool { return !now.Before(l.deadline) }

// beatDue reports whether the periodic HEARTBEAT and ping are due at now,
// every heartbeat less an eighth, judged by the time elapsed since the
// last ones (so a late tick does not stretch the interval); when they
// are, they count as sent at now.
func (l *link) beatDue(now time.Time, heartbeat time.Duration) bool {
	if now.Sub(l.lastBeat) < heartbeat-heartbeat/8 {
		return false
	}
	l.lastBeat = now
	return true
}

// live records that a connection went live and reports whether one had
// before: this one is a reconnection.
func (l *link) live() (again bool) {
	again = l.everLive
	l.everLive = true
	return again
}

// C is the channel the handshake timer fires on.
func (l *link) C() <-chan time.Time { return l.timer.C }

// stop stops the handshake timer.
func (l *link) stop() { l.timer.Stop() }
