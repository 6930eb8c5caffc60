package session

// The connection lifecycle, as the actor runs it: dial (startDial, dial,
// upgrade in websocket.go, onDialed), handshake (HELLO, AUTH, AUTH_OK,
// goLive, the handshake deadline), liveness (the tick: HEARTBEATs, pings,
// and dropping a connection silent for two heartbeat intervals), and the
// loss of a connection with the back-off before the next dial
// (connectionLost, scheduleRedial). Every function here except dial and
// upgrade, which run on the dial goroutine, runs on the actor.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/sodp-go/client/internal/wire"
)

// startDial starts a dial goroutine for the next endpoint.
func (s *Session) startDial() {
	s.ph = phDialing
	if s.link.everLive {
		s.setState(StateReconnecting, nil)
	} else {
		s.setState(StateConnecting, nil)
	}
	ctx, attempt, endpoint := s.link.dial(s.cfg.Endpoints)
	s.obs.attemptStart(attempt, endpoint)
	s.wg.Add(1)
	go s.dial(ctx, attempt, endpoint)
}

// dialResult is what a dial goroutine reports to the actor.
type dialResult struct {
	attempt  uint64
	endpoint string
	ws       transport
	token    string
	deadline time.Time // the end of the handshake: HELLO (and AUTH_OK) must come by then
	err      error
}

// dial connects to endpoint; it runs in its own goroutine.
func (s *Session) dial(ctx context.Context, attempt uint64, endpoint string) {
	defer s.wg.Done()
	token := s.cfg.Token
	if s.cfg.TokenProvider != nil {
		t, err := s.cfg.TokenProvider(ctx)
		if err != nil {
			err = &withCause{msg: "sodp: token provider: " + Detail(err), primary: ErrConnectFailed, cause: err}
		} else if t == "" {
			err = fmt.Errorf("%w: the token provider returned an empty token", ErrUnauthorized)
		}
		if err != nil {
			select {
			case s.in <- dialResult{attempt: attempt, endpoint: endpoint, err: err}:
			case <-s.quit:
			}
			return
		}
		token = t
	}
	deadline := time.Now().Add(s.cfg.HandshakeTime)
	ws, err := s.upgrade(ctx, deadline, endpoint)
	if err != nil {
		err = &withCause{msg: "sodp: dial " + RedactURL(endpoint) + ": " + Detail(err), primary: ErrConnectFailed, cause: err}
	}
	select {
	case s.in <- dialResult{attempt: attempt, endpoint: endpoint, ws: ws, token: token, deadline: deadline, err: err}:
	case <-s.quit:
		if ws != nil {
			ws.Close()
		}
	}
}

func (s *Session) onDialed(r dialResult) {
	if !s.link.current(r.attempt) || s.ph != phDialing {
		if r.ws != nil {
			r.ws.Close()
		}
		return
	}
	s.link.stopDial()
	if r.err != nil {
		s.obs.attemptFailed(r.err)
		s.setLastErr(r.err)
		if !s.failsFast() {
			// Otherwise the failure is the session's terminal error,
			// logged and sent on Events once by fail.
			s.log.Info("sodp: connect failed", "endpoint", RedactURL(r.endpoint), "err", r.err)
			s.emit(Event{Time: time.Now(), State: s.State(), Err: r.err}, false)
		}
		s.scheduleRedial()
		return
	}
	s.conn = s.startConn(r.ws, r.endpoint, r.token)
	s.ph = phHandshake
	s.link.connected(time.Now(), r.deadline)
	s.peer.dialed(RedactURL(r.endpoint))
	s.hb = beats{}
	s.bar = barrier{}
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

// onHello handles a frame of type HELLO: h is its body, nil when it had
// none or could not be decoded (err), and err what decoding it found.
func (s *Session) onHello(h *wire.Hello, err error) {
	if err != nil {
		s.stats.decodeErrors.Add(1)
	}
	if s.ph != phHandshake {
		if err != nil {
			s.reportErr(fmt.Errorf("%w: %w", ErrProtocol, err))
		}
		s.log.Debug("sodp: unexpected HELLO ignored")
		return
	}
	fatal, note := helloProblems(h, err)
	if fatal != nil {
		s.reportErr(fatal)
		s.dropConn(fatal)
		return
	}
	if note != nil {
		s.reportErr(note)
	}
	name := h.Server
	if name == "" {
		name = h.ServerID
	}
	s.peer.info.Name, s.peer.info.Version, s.peer.info.Capabilities = name, h.Version, h.Capabilities
	s.peer.info.Dialect = recognise(h)
	s.peer.helloID = h.ServerID
	if !h.Auth {
		s.goLive()
		return
	}
	token := s.conn.token
	if token == "" {
		s.fail(fmt.Errorf("%w: the server requires a token and none is configured (WithToken or WithTokenProvider)", ErrUnauthorized))
		return
	}
	s.peer.authSent = true
	s.send(wire.TypeAuth, wire.ControlStream, &wire.Auth{Token: token})
}

func (s *Session) onAuthOK(b *wire.AuthOK) {
	if s.ph != phHandshake {
		return
	}
	if !s.peer.authSent {
		// Only an answer to AUTH makes a session live; AUTH goes out after
		// a HELLO that asks for it.
		err := fmt.Errorf("%w: AUTH_OK before HELLO asked for a token", ErrProtocol)
		s.reportErr(err)
		s.dropConn(err)
		return
	}
	s.redial.unauthorized = 0
	s.peer.info.Subject = b.Sub
	s.goLive()
}

// checkHandshake drops a connection whose server has not finished the
// handshake (HELLO, and AUTH_OK when asked for a token) by its deadline;
// it reports whether it did.
func (s *Session) checkHandshake(now time.Time) bool {
	if s.conn == nil || s.ph != phHandshake || !s.link.handshakeOver(now) {
		return false
	}
	s.dropConn(fmt.Errorf("%w: no HELLO/AUTH_OK within %s", ErrConnectionLost, s.cfg.HandshakeTime))
	return true
}

// goLive starts the session on a connection: RESUME for every key with a
// version, WATCH for the rest, presence re-sent, queued calls sent.
func (s *Session) goLive() {
	s.ph = phLive
	if s.link.live() {
		s.stats.reconnects.Add(1)
	}
	s.stats.connects.Add(1)
	info := s.peer.info
	s.pub.server.Store(&info)
	s.reqs.reset()
	s.calls.abandoned = 0
	s.reqQueue.reset()
	s.streams.reset()
	// Versions are comparable only within one server's counter: a key is
	// resumed only on the server (same endpoint and, where HELLO names it,
	// the same server identity) that gave it its version; anywhere else it
	// is watched afresh and the STATE_INIT is authoritative.
	s.peer.live(s.conn.endpoint)
	// After connections lost while resuming, replays are sent one at a
	// time, then not at all: each key gets a fresh STATE_INIT.
	s.round.live(time.Now())
	s.obs.live(s)
	s.win.reset(s.peer.info.Dialect, s.peer.info.Capabilities)
	s.startPacing(s.round.liveSince)
	var fresh []string
	resumed := false
	for _, ks := range s.keys {
		ks.noRetry()
		switch {
		case ks.have && ks.version > 0 && ks.src == s.peer.source:
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
	s.round.active = resumed
	s.bar.queued = resumed && s.needsBarrier()
	s.pumpRequests()
	s.resendPresence()
	s.pumpCalls()
	s.publishGauges()
	s.setState(StateLive, nil)
}

func (s *Session) onTick() {
	now := time.Now()
	s.retryKeys(now)
	if s.conn == nil {
		return
	}
	if s.checkHandshake(now) {
		return
	}
	idle := now.Sub(time.Unix(0, s.conn.lastIn.Load()))
	if idle > 2*s.cfg.Heartbeat {
		s.dropConn(fmt.Errorf("%w: no traffic from the server for %s", ErrConnectionLost, idle.Round(time.Millisecond)))
		return
	}
	if s.link.beatDue(now, s.cfg.Heartbeat) {
		s.sendHeartbeat()
		s.conn.send(outFrame{ping: true})
	}
}

// dropConn closes the current connection and reacts as to a lost one.
func (s *Session) dropConn(err error) {
	if s.conn == nil {
		return
	}
	s.connectionLost(err)
}

// connectionLost handles the end of the current connection.
func (s *Session) connectionLost(err error) {
	c := s.conn
	s.conn = nil
	c.close()
	wasLive := s.ph == phLive
	s.obs.lost(s, wasLive, err)
	s.stats.disconnects.Add(1)
	if err != nil && !errors.Is(err, ErrConnectionLost) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrProtocol) {
		// A read or write failure: say what it means.
		s.setLastErr(&withCause{msg: "sodp: connection lost: " + Detail(err), primary: ErrConnectionLost, cause: err})
	} else {
		s.setLastErr(err)
	}
	var ce *CloseError
	if errors.As(err, &ce) || errors.Is(err, ErrTooLarge) {
		s.reportErr(err, "endpoint", RedactURL(c.endpoint))
	} else if wasLive || !s.failsFast() {
		// (A Dial failing fast logs its error once, in fail.)
		s.log.Info("sodp: connection lost", "endpoint", RedactURL(c.endpoint), "err", err)
	}
	var refused uint64 // from this frame on the server read nothing
	if ce != nil && ce.Code == 1009 {
		refused = c.refusedFrom()
	}
	for id, pc := range s.calls.sent {
		if refused > 0 && pc.seq >= refused {
			pc.finish(nil, callRefused(pc.method, err))
		} else {
			pc.finish(nil, callLost(pc.method, err))
		}
		delete(s.calls.sent, id)
	}
	s.reqs.reset()
	s.calls.abandoned = 0
	s.reqQueue.reset()
	s.win.drop()
	s.refused = refusals{}
	s.bar.queued, s.bar.at = false, 0
	s.round.dropReplays()
	s.streams.clear()
	for _, ks := range s.keys {
		ks.phase, ks.queued = kpIdle, nil
		ks.replay, ks.charge = false, 0
		s.dropHeld(ks)
	}
	s.publishGauges()
	if s.ph == phFailed || s.ph == phClosed {
		return
	}
	// Lost while resuming (a server evicting the client for the burst
	// of replays, say), the back-off goes on growing and the next
	// connection resumes more cautiously.
	if s.round.lost(wasLive, time.Now()) {
		s.redial.failures = 0
	}
	s.scheduleRedial()
}

// failsFast reports whether the next failed attempt ends the session: a
// Dial that fails fast, before any session was live, when one attempt on
// each endpoint will have failed.
func (s *Session) failsFast() bool {
	return s.cfg.FailFast && !s.link.everLive && s.redial.lastAttempt(len(s.cfg.Endpoints))
}

// scheduleRedial waits with jittered exponential back-off, then dials.
func (s *Session) scheduleRedial() {
	if s.cfg.NoReconnect && s.link.everLive {
		s.fail(fmt.Errorf("%w: reconnecting is disabled", ErrConnectionLost))
		return
	}
	fast := s.failsFast()
	s.redial.failures++
	if fast {
		err := s.pub.last()
		if err == nil {
			err = ErrConnectionLost
		}
		s.fail(err)
		return
	}
	if s.cfg.FailFast && !s.link.everLive {
		// One attempt on each endpoint first, without waiting.
		s.ph = phBackoff
		s.redial.after(0)
		return
	}
	d := s.retryDelay(s.redial.failures)
	s.ph = phBackoff
	if s.link.everLive {
		s.setState(StateReconnecting, nil)
	}
	s.obs.backoff(d)
	s.redial.after(d)
}

// jitter adds up to a quarter of d, at most 500 ms.
func jitter(d time.Duration) time.Duration {
	if j := min(d/4, 500*time.Millisecond); j > 0 {
		d += rand.N(j)
	}
	return d
}

// retryDelay is the back-off before the n-th retry (n >= 1) of anything
// that failed again (a dial, a key the server refused for a passing
// reason, a key re-synchronised once more): the client's back-off
// settings, doubled per retry, with jitter.
func (s *Session) retryDelay(n int) time.Duration {
	d := s.cfg.BackoffMin
	for i := 1; i < n && d < s.cfg.BackoffMax; i++ {
		d *= 2
	}
	return jitter(min(d, s.cfg.BackoffMax))
}
