package session

import "time"

// The replay barrier. A server that may end a RESUME's replay without a
// STATE_INIT (the Go server, or one not recognised) gives the client no
// sign that a replay is over. Requests are answered in order, and such a
// server echoes HEARTBEATs: a HEARTBEAT sent after the last RESUME comes
// back once every replay before it has been sent. Its echo ends those
// replays; a request sent before it that still has no answer lost it.
// A spec server also sends HEARTBEATs of its own, one of which may arrive
// in the middle of a replay and look like the echo: it gets further
// rounds of the barrier until one comes back with no replay frame in
// between (at most maxBarrierRounds).

// maxBarrierRounds is how many extra barrier rounds a server that sends
// HEARTBEATs of its own gets.
const maxBarrierRounds = 4

// barrier is the state of the replay barrier on one connection. It is the
// actor's; the zero barrier is none queued and none out.
type barrier struct {
	queued   bool      // send the barrier once the request queue is empty
	at       uint64    // the HEARTBEAT count whose echo is the barrier's; 0 when none is out
	req      uint64    // the barrier covers requests up to this number
	sentAt   time.Time // when the barrier went out
	rounds   int       // extra rounds sent against a server's own HEARTBEATs
	activity bool      // a replay frame arrived since the barrier went out
}

// out reports whether a barrier waits for its echo.
func (b *barrier) out() bool { return b.at != 0 }

// pending reports whether a barrier is queued or out: replays may be
// under way that only its echo ends.
func (b *barrier) pending() bool { return b.queued || b.at != 0 }

// sent records a barrier, the HEARTBEAT numbered hb, sent at now for the
// requests up to req.
func (b *barrier) sent(hb, req uint64, now time.Time) {
	b.at, b.req, b.sentAt, b.activity = hb, req, now, false
}

// replayFrame records a frame of the replay of request seq (0: of a
// request not known to be covered) arriving.
func (b *barrier) replayFrame(seq uint64) {
	if seq <= b.req {
		b.activity = true
	}
}

// echoed reports whether the echo of the barrier, just arrived, must be
// followed by another round (the server sends HEARTBEATs of its own, and
// this echo may be one of them): the first echo always, and any later one
// that had replay frames before it, up to maxBarrierRounds.
func (b *barrier) echoed(ownBeats bool) bool {
	if ownBeats && b.rounds < maxBarrierRounds && (b.rounds == 0 || b.activity) {
		b.rounds++
		return true
	}
	return false
}

// end ends the barrier and returns the last request it covers.
func (b *barrier) end() uint64 {
	b.at, b.rounds = 0, 0
	return b.req
}

// cancel drops the barrier, queued or out: the replays it would have
// ended end otherwise.
func (b *barrier) cancel() { b.at, b.rounds, b.queued = 0, 0, false }

// deadline is when a barrier out gives up on its echo; zero when none is
// out.
func (b *barrier) deadline(timeout time.Duration) time.Time {
	if b.at == 0 {
		return time.Time{}
	}
	return b.sentAt.Add(timeout)
}

// needsBarrier reports whether the server may end a replay without a
// STATE_INIT and echoes HEARTBEATs: the Go server, or an unknown one.
func (s *Session) needsBarrier() bool {
	return s.peer.info.Dialect == DialectGo || s.peer.info.Dialect == DialectSpec
}

// sendBarrier sends a HEARTBEAT after the last RESUME: requests are
// answered in order, so once its echo is back every replay has been sent,
// even by a server that ends a replay without a STATE_INIT.
func (s *Session) sendBarrier() { s.sendBarrierFor(s.reqs.seq) }

// sendBarrierFor sends a barrier round for the requests up to req.
func (s *Session) sendBarrierFor(req uint64) {
	s.sendHeartbeat()
	now := time.Now()
	s.bar.sent(s.hb.sent, req, now)
	s.armWake(now.Add(s.cfg.CallTimeout))
}

// barrierEcho handles the echo of the barrier. A server that also sends
// HEARTBEATs of its own may have sent one in the middle of a replay, which
// counts as an echo of ours: such a server gets another barrier until one
// comes back with no replay frame in between.
func (s *Session) barrierEcho() {
	if s.bar.echoed(s.peer.info.Dialect == DialectSpec) {
		s.sendBarrierFor(s.bar.req)
		return
	}
	s.endBarrier()
}

// endBarrier ends every replay of a request sent before the barrier; such
// a request still without any answer lost it.
func (s *Session) endBarrier() {
	q := s.bar.end()
	i := 0
	for i < len(s.reqs.list) && s.reqs.list[i].seq <= q {
		i++
	}
	s.loseWatches(i, "no answer before the barrier")
	s.completeBefore(q + 1)
	s.checkRoundDone()
}
