package session

import "time"

// stableLive is how long a connection must have been live, with its
// resume finished, for the reconnect back-off to start over.
const stableLive = time.Second

// resumeRound follows the resume that follows going live (the RESUMEs
// and WATCHes of every key kept across the reconnect) and how resumes
// fared across connections. It is the actor's.
//
// A connection lost during its resume (a server evicting the client for
// the burst of replays, say) makes the next resumes more cautious: after
// one such loss, replays go one at a time; after two, none is asked for
// and every key gets a fresh STATE_INIT. A resume that finishes forgets
// the losses.
type resumeRound struct {
	replaying []*keyState // keys whose replay may be under way, in request order
	n         int         // of them, still replaying
	active    bool        // the resume that followed going live is not finished
	fails     int         // across connections: connections lost during their resume
	watchOnly bool        // send WATCH instead of RESUME (frames may have been dropped)
	liveSince time.Time   // when the session went live on this connection
}

// live starts a connection that went live at now.
func (r *resumeRound) live(now time.Time) {
	r.liveSince = now
	r.watchOnly = r.fails >= 2
}

// cautious reports whether replays go one at a time.
func (r *resumeRound) cautious() bool { return r.fails > 0 }

// add records the replay of ks asked for (ks.replay is set).
func (r *resumeRound) add(ks *keyState) {
	r.n++
	r.replaying = append(r.replaying, ks)
}

// ended records the end of one replay recorded by add.
func (r *resumeRound) ended() { r.n-- }

// front returns the oldest key whose replay may be under way.
func (r *resumeRound) front() (*keyState, bool) {
	if len(r.replaying) == 0 {
		return nil, false
	}
	return r.replaying[0], true
}

// pop takes the oldest key out of the replays.
func (r *resumeRound) pop() {
	r.replaying[0] = nil
	r.replaying = r.replaying[1:]
	if len(r.replaying) == 0 {
		r.replaying = nil
	}
}

// dropReplays forgets the replays: the connection is gone.
func (r *resumeRound) dropReplays() {
	clear(r.replaying)
	r.replaying, r.n = nil, 0
}

// finished reports, once, that the resume under way is over; the losses
// before it are forgotten.
func (r *resumeRound) finished() bool {
	if !r.active {
		return false
	}
	r.active, r.fails = false, 0
	return true
}

// lost records the loss at now of a connection that was live (wasLive):
// it reports whether the connection had been live and stable long enough
// for the back-off to start over. A connection lost during its resume
// counts against the next resumes.
func (r *resumeRound) lost(wasLive bool, now time.Time) (stable bool) {
	switch {
	case wasLive && r.active:
		r.fails++
		r.active = false
	case wasLive && now.Sub(r.liveSince) >= stableLive:
		return true
	}
	return false
}
