package session

import (
	"errors"
	"fmt"
	"time"

	"github.com/sodp-go/client/internal/wire"
)

// onFrame dispatches one frame read from the current connection.
func (s *Session) onFrame(f wire.Frame, err error) {
	if err != nil {
		switch f.Body.(type) {
		case *wire.Error, *wire.Result:
			// A field had the wrong type; what could be read still
			// answers the request it belongs to.
			s.stats.decodeErrors.Add(1)
			s.reportErr(fmt.Errorf("%w: %w", ErrProtocol, err))
		default:
			s.onDecodeError(f, err)
			return
		}
	}
	switch b := f.Body.(type) {
	case *wire.Hello:
		s.onHello(b)
		return
	case *wire.AuthOK:
		s.onAuthOK(b)
		return
	case *wire.Error:
		s.onError(f, b)
		return
	case nil:
		if f.Type == wire.TypeHeartbeat {
			s.onHeartbeat()
			return
		}
	}
	if s.ph != phLive {
		if f.Type != wire.TypeHeartbeat {
			s.log.Debug("sodp: frame before the session is live", "type", f.Type)
		}
		return
	}
	switch b := f.Body.(type) {
	case *wire.StateInit:
		s.onStateInit(f, b)
	case *wire.Delta:
		s.onDelta(f, b)
	case *wire.Result:
		s.onResult(b)
	case nil:
		err := fmt.Errorf("%w: %s frame without a body", ErrProtocol, f.Type)
		s.reportErr(err)
		if f.Type == wire.TypeDelta || f.Type == wire.TypeStateInit {
			// The key's copy may have missed what the frame carried.
			if ks := s.keys[s.streams[f.Stream]]; ks != nil {
				if f.Type == wire.TypeStateInit {
					s.answer(ks.key)
				}
				s.resync(ks, err)
			}
		}
	default:
		s.reportErr(fmt.Errorf("%w: unexpected %s frame from the server", ErrProtocol, f.Type))
	}
}

// onDecodeError reports a frame that could not be decoded and, when it
// belonged to a key, re-synchronises that key: its copy may have missed a
// change.
func (s *Session) onDecodeError(f wire.Frame, err error) {
	s.stats.decodeErrors.Add(1)
	var de *wire.DecodeError
	if errors.As(err, &de) && errors.Is(err, wire.ErrUnknownType) {
		s.reportErr(fmt.Errorf("%w: %w", ErrProtocol, err))
		return
	}
	s.reportErr(fmt.Errorf("%w: %w", ErrProtocol, err))
	if s.ph != phLive || de == nil {
		return
	}
	if de.Type == wire.TypeDelta || de.Type == wire.TypeStateInit {
		key := s.keyFor(de.Key, de.Stream)
		if ks := s.keys[key]; ks != nil {
			if de.Type == wire.TypeStateInit {
				s.answer(key)
			}
			s.resync(ks, err)
		}
	}
}

// recognise tells the server family from its HELLO: the TypeScript server
// names itself "sodp-server-ts"; the Rust server "SODP-RS", or sends
// version "0.1" without a protocol field; the Go server sends a server_id,
// or capabilities with both max_sessions and backpressure. Anything else
// is taken to follow the specification.
func recognise(h *wire.Hello) Dialect {
	switch {
	case h.Server == "sodp-server-ts":
		return DialectTS
	case h.Server == "SODP-RS" || h.Protocol == "" && h.Version == "0.1":
		return DialectRust
	case h.ServerID != "":
		return DialectGo
	}
	if h.Capabilities != nil {
		_, a := h.Capabilities["max_sessions"]
		_, b := h.Capabilities["backpressure"]
		if a && b {
			return DialectGo
		}
	}
	return DialectSpec
}

func (s *Session) onHello(h *wire.Hello) {
	if s.ph != phHandshake {
		s.log.Debug("sodp: unexpected HELLO ignored")
		return
	}
	name := h.Server
	if name == "" {
		name = h.ServerID
	}
	s.server0.Name, s.server0.Version, s.server0.Capabilities = name, h.Version, h.Capabilities
	s.server0.Dialect = recognise(h)
	s.helloID = h.ServerID
	if !h.Auth {
		s.goLive()
		return
	}
	token := s.conn.token
	if token == "" {
		s.fail(fmt.Errorf("%w: the server requires a token and none is configured (WithToken or WithTokenProvider)", ErrUnauthorized))
		return
	}
	s.authSent = true
	s.send(wire.TypeAuth, wire.ControlStream, &wire.Auth{Token: token})
}

func (s *Session) onAuthOK(b *wire.AuthOK) {
	if s.ph != phHandshake {
		return
	}
	if !s.authSent {
		// Only an answer to AUTH makes a session live; AUTH goes out after
		// a HELLO that asks for it.
		err := fmt.Errorf("%w: AUTH_OK before HELLO asked for a token", ErrProtocol)
		s.reportErr(err)
		s.dropConn(err)
		return
	}
	s.unauthorized = 0
	s.server0.Subject = b.Sub
	s.goLive()
}

// onHeartbeat counts an echo of our own HEARTBEAT, or echoes the
// server's. Only the echo of the replay barrier ends replays; a HEARTBEAT
// the server sends on its own is answered, not taken for it (a server that
// sends both gets more than one barrier, see barrierEcho).
func (s *Session) onHeartbeat() {
	if s.server0.Dialect != DialectTS && s.hbEchoed < s.hbSent {
		s.hbEchoed++
		if s.barrierAt != 0 && s.hbEchoed >= s.barrierAt {
			s.barrierEcho()
		}
		return
	}
	s.sendHeartbeat()
}

// goLive starts the session on a connection: RESUME for every key with a
// version, WATCH for the rest, presence re-sent, queued calls sent.
func (s *Session) goLive() {
	s.ph = phLive
	if s.everLive {
		s.stats.reconnects.Add(1)
	}
	s.everLive = true
	s.stats.connects.Add(1)
	info := s.server0
	s.server.Store(&info)
	s.requests = nil
	s.reqQueue = nil
	s.keysInFlight = 0
	clear(s.streams)
	s.nextStream = wire.FirstSubscriptionStream
	// Versions are comparable only within one server's counter: a key is
	// resumed only on the server (same endpoint and, where HELLO names it,
	// the same server identity) that gave it its version; anywhere else it
	// is watched afresh and the STATE_INIT is authoritative.
	s.source = s.conn.endpoint + "\x00" + s.helloID
	s.liveSince = time.Now()
	s.setWindow()
	if s.server0.Dialect == DialectTS {
		s.hbEchoed = s.hbSent // that server never echoes
	}
	// After connections lost while resuming, replays are sent one at a
	// time, then not at all: each key gets a fresh STATE_INIT.
	s.watchOnly = s.resumeFails >= 2
	var fresh []string
	resumed := false
	for _, ks := range s.keys {
		ks.retryAt, ks.retries = time.Time{}, 0
		switch {
		case ks.have && ks.version > 0 && ks.src == s.source:
			s.resume(ks)
			resumed = true
		case ks.params != nil:
			s.watch([]string{ks.key})
		default:
			fresh = append(fresh, ks.key)
		}
	}
	if len(fresh) > 0 {
		s.watch(fresh)
	}
	// Servers answer in order: once a HEARTBEAT sent after the last RESUME
	// comes back, every replay has been sent, even by a server that ends
	// its replay without a STATE_INIT (the Go server, or an unknown one).
	// The TypeScript server never echoes; it and the Rust server end every
	// replay with a STATE_INIT.
	s.roundActive = resumed
	s.barrierQueued = resumed && s.needsBarrier()
	s.pumpRequests()
	s.resendPresence()
	s.pumpCalls()
	s.publishGauges()
	s.setState(StateLive, nil)
}
