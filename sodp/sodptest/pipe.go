package sodptest

import (
	"context"
	"errors"
	"net"
	"sync"
)

// PipeListener is a net.Listener without a socket: each DialContext makes
// a net.Pipe, returns its client end and hands the other end to Accept.
// A server started WithInMemory listens on one; a test can serve its own
// handler on another (http.Server.Serve, or Accept directly) and make a
// client reach it with sodp.WithNetDialContext(l.DialContext). In a testing/synctest bubble everything such a
// connection does runs on the bubble's clock.
type PipeListener struct {
	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

// NewPipeListener returns an open PipeListener.
func NewPipeListener() *PipeListener {
	return &PipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

// Accept waits for the next DialContext and returns the server end of its
// pipe; after Close it returns net.ErrClosed.
func (l *PipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close makes Accept and DialContext fail. Connections already made stay
// open. It always returns nil.
func (l *PipeListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

// Addr returns an address whose String is "sodptest.pipe".
func (l *PipeListener) Addr() net.Addr { return pipeAddr{} }

// DialContext makes a connection to the listener: the client end of a
// net.Pipe whose server end Accept returns. network and addr are ignored.
// It fails with ctx's error when ctx ends before Accept takes the
// connection, and with net.ErrClosed once the listener is closed.
func (l *PipeListener) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
	case <-ctx.Done():
	}
	client.Close()
	server.Close()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return nil, net.ErrClosed
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return pipeHost }

// pipeHost is the host of the URL of a server started WithInMemory.
const pipeHost = "sodptest.pipe"

// errNotInMemory is returned by DialContext on a server that listens on
// TCP.
var errNotInMemory = errors.New("sodptest: DialContext needs a server started WithInMemory")

// DialContext connects to a server started WithInMemory without a socket:
// it returns the client end of a net.Pipe whose other end the server
// serves like an accepted TCP connection. network and addr are ignored, so
// it fits sodp.WithNetDialContext (Dial and ClientOptions use it). It fails when
// ctx ends before the server accepts, when the server is closed, and on a
// server that was not started WithInMemory.
//
// Everything such a connection does happens in memory and on timers, so a
// client and a server started inside a testing/synctest bubble run on the
// bubble's clock: a test can wait out heartbeats, deadlines and token
// expiry in no real time and observe exactly when each happens.
func (s *Server) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	l, ok := s.ln.(*PipeListener)
	if !ok {
		return nil, errNotInMemory
	}
	return l.DialContext(ctx, network, addr)
}
