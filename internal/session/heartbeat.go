package session

// HEARTBEATs both ways. The client sends its own (onTick, and the replay
// barrier) and answers the server's; servers echo the client's — except
// the TypeScript server, which never does, and whatever sits in front of
// a server may echo where the server would not. An inbound HEARTBEAT is
// therefore either the echo of one of ours or the server's own, and the
// two look the same: it is taken as an echo while one of ours waits for
// its echo, and answered otherwise. Answering an echo would start a
// ping-pong with a server that echoes: each answer is echoed, and each
// echo answered, as fast as the connection carries them.
//
// Every HEARTBEAT the client sends waits for its echo, on every dialect.
// A server that does not echo would then make every later HEARTBEAT of
// its own look like an echo, never answered; so the ones sent are given
// up on once no echo came for half a heartbeat interval (echoWait) after
// the last of them went out. Meanwhile a HEARTBEAT the server sends on its
// own goes unanswered: the client's own HEARTBEAT went out less than half
// an interval before, which keeps the connection alive for any server.
// Not while the replay barrier is out: its echo may come late, behind a
// long replay, and the barrier has its own deadline (barrier.go).

import (
	"time"

	"github.com/sodp-go/client/internal/wire"
)

// echoWait is how long the client expects the echo of its last HEARTBEAT.
func (s *Session) echoWait() time.Duration { return s.cfg.Heartbeat / 2 }

// beats counts the HEARTBEATs the client sent on one connection and
// their echoes. It is the actor's.
type beats struct {
	sent   uint64    // HEARTBEATs sent on this connection
	echoed uint64    // of them, echoed or given up on
	at     time.Time // when the last of them went out
}

// onSent counts a HEARTBEAT sent at now.
func (b *beats) onSent(now time.Time) { b.sent, b.at = b.sent+1, now }

// giveUp stops waiting for the echoes of those sent.
func (b *beats) giveUp() { b.echoed = b.sent }

// isEcho reports whether a HEARTBEAT arriving at now is taken as the echo
// of one sent: one waits, and the last went out at most wait before, or
// the barrier is out (its echo may come late, behind a long replay).
// When not, those still waiting are given up on.
func (b *beats) isEcho(now time.Time, wait time.Duration, barrierOut bool) bool {
	if b.echoed >= b.sent {
		return false
	}
	if !barrierOut && now.Sub(b.at) > wait {
		b.giveUp()
		return false
	}
	return true
}

// sendHeartbeat sends a HEARTBEAT; it waits for its echo.
func (s *Session) sendHeartbeat() {
	if s.send(wire.TypeHeartbeat, wire.ControlStream, nil) {
		s.hb.onSent(time.Now())
	}
}

// isEcho reports whether a HEARTBEAT arriving at now is taken as the echo
// of one the client sent; when not, the HEARTBEATs still waiting for an
// echo are given up on.
func (s *Session) isEcho(now time.Time) bool {
	return s.hb.isEcho(now, s.echoWait(), s.bar.out())
}

// onHeartbeat counts an echo of our own HEARTBEAT, or answers the
// server's. Only the echo of the replay barrier ends replays; a HEARTBEAT
// the server sends on its own is answered, not taken for it (a server that
// sends both gets more than one barrier, see barrierEcho).
func (s *Session) onHeartbeat() {
	if s.isEcho(time.Now()) {
		s.hb.echoed++
		if s.bar.out() && s.hb.echoed >= s.bar.at {
			s.barrierEcho()
		}
		return
	}
	s.sendHeartbeat()
}
