// Package sodptest provides an in-process SODP server for tests, in the
// spirit of net/http/httptest.
//
//	srv := sodptest.NewServer()
//	defer srv.Close()
//	srv.Set("game.score", map[string]any{"home": 0})
//	client, err := sodp.Dial(ctx, srv.URL)
//
// The server implements the protocol as its specification states it: HELLO, AUTH
// with HS256 JWTs (including expiry during a session), WATCH of one or
// several keys, STATE_INIT, DELTA frames computed by a structural diff, the
// built-in methods state.set, state.patch, state.set_in, state.delete and
// state.presence (presence entries are removed when their connection ends)
// plus the custom state.append, ERROR codes, HEARTBEAT in both directions,
// RESUME from a bounded per-key delta log, UNWATCH, rate limits and access
// control. WithDialect switches to the observable behaviour of one of the
// three known servers (the Go, TypeScript and Rust server libraries), with
// the deviations from the specification that the sodp package's README
// lists in its compatibility table.
//
// Tests can also change state directly (Set, Patch, SetIn, Delete), read it
// (Get), stall or cut connections (Conn.Pause, Conn.Close, DropConnections),
// write arbitrary bytes (Conn.Inject, Conn.Send) and inspect what clients
// sent (Received, Stats).
//
// WithInMemory starts a server without a socket, reached over net.Pipe
// through Server.DialContext: inside a testing/synctest bubble, client and
// server then run on the bubble's clock, so heartbeat, liveness, timeout
// and expiry tests assert exact times and cannot flake. PipeListener does
// the same for a hand-written server.
//
// WithOutOfOrderDeltas delivers a key's DELTAs out of version order as the
// Go server does under concurrent writers, and NewCluster starts several
// servers sharing state with their own version counters, as the Go
// server's Redis backend runs them.
//
// Versions come from one counter per server (per key for sodp.DialectTS); every
// mutation, from a client or from the test, takes the next one, even when
// the value does not change, and is delivered as a DELTA — except with
// sodp.DialectGo, where a write that changes nothing takes no version, sends no
// DELTA and is answered RESULT {}. sodp.DialectGo also writes a DELTA op
// without its value when the value is nil, false, 0 or "", as the Go
// server's encoder does; its STATE_INIT carries the real values. A failed call answered by RESULT
// success:false (sodp.DialectSpec, sodp.DialectTS) carries its message string in
// "data".
package sodptest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sodp-go/client/internal/wire"
)

// Server is a running SODP test server. Create it with NewServer and stop it
// with Close. All methods are safe for concurrent use.
type Server struct {
	// URL is the server's address, "ws://127.0.0.1:PORT", or
	// "ws://sodptest.pipe" for a server started WithInMemory (reachable
	// only through DialContext). The server answers WebSocket upgrades on
	// the paths "/" and "/sodp".
	URL string

	cfg        config
	tr         *traits
	log        *slog.Logger
	heartbeat  time.Duration
	maxMessage int64
	queueLimit int // outbound queue bound of the evicting and dropping dialects

	ln        net.Listener
	hs        *http.Server
	serveDone chan struct{}
	upgrader  websocket.Upgrader
	closeOnce sync.Once

	// mu guards the state below, the subscription and presence lists of
	// every Conn, and the order of fan-out. It is taken before any Conn.mu.
	mu           sync.Mutex
	keys         map[string]*keyState
	version      uint64
	subs         map[string][]*subscription
	conns        []*Conn
	connsChanged chan struct{}
	nextConnID   uint64
	closed       bool
	frozen       bool       // a Cluster node being stopped: no more changes
	reorder      *reorderer // WithOutOfOrderDeltas
	wg           sync.WaitGroup

	statMu sync.Mutex
	stats  Stats

	recMu    sync.Mutex
	received []Frame
}

// NewServer starts a server listening on 127.0.0.1 on a free port (or on
// WithAddr's address) and returns it. Like httptest.NewServer it panics if
// it cannot listen; every other failure is reported to clients over the
// protocol.
func NewServer(opts ...Option) *Server {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	cfg.serverID, cfg.preload, cfg.applied = "", nil, nil
	return startServer(cfg)
}

func startServer(cfg config) *Server {
	s := &Server{
		cfg:          cfg,
		tr:           traitsOf(cfg.dialect),
		log:          cfg.logger,
		keys:         make(map[string]*keyState),
		subs:         make(map[string][]*subscription),
		connsChanged: make(chan struct{}),
		serveDone:    make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for key, e := range cfg.preload {
		s.keys[key] = &keyState{value: e.value, version: e.version, initialized: e.initialized}
		s.version = max(s.version, e.version)
	}
	if cfg.echoSet {
		s.tr.echo = cfg.echo
	}
	s.heartbeat = s.tr.defaultHeartbeat
	if cfg.hbSet {
		s.heartbeat = max(cfg.heartbeat, 0)
	}
	s.maxMessage = s.tr.maxMessage
	s.queueLimit = queueLimit
	if s.tr.slow == slowDrop {
		s.queueLimit = goSendBuffer
	}
	if cfg.sendBuffer > 0 {
		s.queueLimit = cfg.sendBuffer
	}
	if cfg.maxMessage > 0 {
		s.maxMessage = cfg.maxMessage
	}
	s.upgrader = websocket.Upgrader{
		CheckOrigin: func(*http.Request) bool { return true },
	}
	if cfg.inMemory {
		s.ln = NewPipeListener()
	} else {
		ln, err := net.Listen("tcp", cfg.addr)
		if err != nil {
			panic(fmt.Sprintf("sodptest: failed to listen on %s: %v", cfg.addr, err))
		}
		s.ln = ln
	}
	ln := s.ln
	s.URL = "ws://" + ln.Addr().String()
	s.hs = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() {
		defer close(s.serveDone)
		_ = s.hs.Serve(ln)
	}()
	if cfg.reorder > 0 {
		s.reorder = newReorderer(cfg.reorder)
		s.wg.Add(1)
		go s.releaseLoop()
	}
	s.log.Info("sodptest: listening", "url", s.URL, "dialect", cfg.dialect.String(), "auth", cfg.secret != nil)
	return s
}

// Close stops the server: it closes the listener and every connection
// (abruptly, without a close frame; presence entries are removed as on any
// disconnect) and returns once every goroutine the server started has
// exited. Calling Close again does nothing. Other methods keep working on
// the stored state after Close.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		conns := append([]*Conn(nil), s.conns...)
		s.mu.Unlock()
		_ = s.hs.Close()
		<-s.serveDone
		for _, c := range conns {
			c.kill()
		}
		if s.reorder != nil {
			close(s.reorder.stop)
		}
		s.wg.Wait()
		s.log.Info("sodptest: closed", "url", s.URL)
	})
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" && r.URL.Path != "/sodp" {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "sodptest: server closed", http.StatusServiceUnavailable)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.log.Debug("sodptest: upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	s.serveConn(ws, r.RemoteAddr)
}

// DropConnections closes every live connection abruptly (no close frame),
// as a crashing server or a broken network would, and returns once each has
// been cleaned up (subscriptions gone, presence entries removed and their
// removal broadcast). The server keeps accepting new connections.
func (s *Server) DropConnections() {
	for _, c := range s.dropAll() {
		<-c.finished
	}
}

// dropAll kills every live connection without waiting for the clean-up.
func (s *Server) dropAll() []*Conn {
	s.mu.Lock()
	conns := append([]*Conn(nil), s.conns...)
	s.mu.Unlock()
	for _, c := range conns {
		c.kill()
	}
	return conns
}

// Conns returns the live connections, oldest first. A connection is live
// from the moment it is accepted (before HELLO is sent) until its clean-up
// after it closed.
func (s *Server) Conns() []*Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Conn(nil), s.conns...)
}

// WaitConns waits until at least n connections are live and returns nil,
// or, if ctx ends first, an error wrapping ctx.Err().
func (s *Server) WaitConns(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		live, ch := len(s.conns), s.connsChanged
		s.mu.Unlock()
		if live >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("sodptest: waiting for %d connections (have %d): %w", n, live, ctx.Err())
		}
	}
}

// notifyConnsLocked wakes WaitConns callers; s.mu must be held.
func (s *Server) notifyConnsLocked() {
	close(s.connsChanged)
	s.connsChanged = make(chan struct{})
}

// Stats counts what the server has seen and sent since it started.
type Stats struct {
	Connections        int // connections accepted in total
	Live               int // connections live now
	Subscriptions      int // server-side subscriptions live now
	Watches            int // WATCH frames received
	Resumes            int // RESUME frames received
	Unwatches          int // UNWATCH frames received
	Calls              int // CALL frames received
	Auths              int // AUTH frames received
	AuthFailures       int // AUTH frames refused
	HeartbeatsReceived int // HEARTBEAT frames received
	HeartbeatsSent     int // HEARTBEAT frames queued by the server (echoes and its own)
	Errors             int // ERROR frames queued
	FailedCalls        int // RESULT frames with success:false queued
	Mutations          int // versions assigned (client calls and server-side changes)
	Deltas             int // DELTA frames queued, replays included
	Dropped            int // frames dropped because a connection's send buffer was full (sodp.DialectGo)
	Evictions          int // connections closed because their outbound queue was full (sodp.DialectSpec, sodp.DialectRust)
	WatchLimited       int // WATCH/RESUME keys refused with 429 "watch limit reached" (WithMaxWatches)
	RateLimited        int // WATCH/RESUME frames and CALLs refused with 429 "rate limited" (WithRateLimit)
	BadFrames          int // messages that did not decode as a request frame
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.statMu.Lock()
	st := s.stats
	s.statMu.Unlock()
	s.mu.Lock()
	st.Live = len(s.conns)
	for _, l := range s.subs {
		st.Subscriptions += len(l)
	}
	s.mu.Unlock()
	return st
}

func (s *Server) count(f func(*Stats)) {
	s.statMu.Lock()
	f(&s.stats)
	s.statMu.Unlock()
}

// Received returns every message received from clients on all connections,
// in arrival order (within one connection, in the order sent), each decoded
// as far as possible. See WithMaxRecorded for a bound.
func (s *Server) Received() []Frame {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	return append([]Frame(nil), s.received...)
}

func (s *Server) record(c *Conn, f Frame) {
	limit := s.cfg.maxRecorded
	s.recMu.Lock()
	s.received = appendBounded(s.received, f, limit)
	s.recMu.Unlock()
	c.mu.Lock()
	c.recv = appendBounded(c.recv, f, limit)
	c.mu.Unlock()
}

func appendBounded(l []Frame, f Frame, limit int) []Frame {
	l = append(l, f)
	if limit > 0 && len(l) > limit {
		n := copy(l, l[len(l)-limit:])
		clear(l[n:])
		l = l[:n]
	}
	return l
}

// errString turns a possibly nil error into a log value.
func errString(err error) string {
	if err == nil {
		return ""
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return fmt.Sprintf("close %d %s", ce.Code, ce.Text)
	}
	return err.Error()
}

// encodeFrame encodes f for the dialect.
func (s *Server) encodeFrame(f wire.Frame) ([]byte, error) {
	return wire.EncodeWith(nil, f, s.tr.enc)
}
