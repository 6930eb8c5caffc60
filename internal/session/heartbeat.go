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
// long replay, and the barrier has its own deadline (requests.go).

import (
	"time"

	"github.com/sodp-go/client/internal/wire"
)

// echoWait is how long the client expects the echo of its last HEARTBEAT.
func (s *Session) echoWait() time.Duration { return s.cfg.Heartbeat / 2 }

// sendHeartbeat sends a HEARTBEAT; it waits for its echo.
func (s *Session) sendHeartbeat() {
	if s.send(wire.TypeHeartbeat, wire.ControlStream, nil) {
		s.hbSent++
		s.hbAt = time.Now()
	}
}

// isEcho reports whether a HEARTBEAT arriving at now is taken as the echo
// of one the client sent; when not, the HEARTBEATs still waiting for an
// echo are given up on.
func (s *Session) isEcho(now time.Time) bool {
	if s.hbEchoed >= s.hbSent {
		return false
	}
	if s.barrierAt == 0 && now.Sub(s.hbAt) > s.echoWait() {
		s.hbEchoed = s.hbSent
		return false
	}
	return true
}

// onHeartbeat counts an echo of our own HEARTBEAT, or answers the
// server's. Only the echo of the replay barrier ends replays; a HEARTBEAT
// the server sends on its own is answered, not taken for it (a server that
// sends both gets more than one barrier, see barrierEcho).
func (s *Session) onHeartbeat() {
	if s.isEcho(time.Now()) {
		s.hbEchoed++
		if s.barrierAt != 0 && s.hbEchoed >= s.barrierAt {
			s.barrierEcho()
		}
		return
	}
	s.sendHeartbeat()
}
