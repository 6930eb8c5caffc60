package sodptest

import (
	"context"
	"errors"
	"net"
	"sync"
)

// pipeListener is a net.Listener whose connections are the server ends of
// net.Pipe pairs made by Server.DialContext.
type pipeListener struct {
	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

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
// it fits websocket.Dialer.NetDialContext (sodp.WithDialer). It fails when
// ctx ends before the server accepts, when the server is closed, and on a
// server that was not started WithInMemory.
//
// Everything such a connection does happens in memory and on timers, so a
// client and a server started inside a testing/synctest bubble run on the
// bubble's clock: a test can wait out heartbeats, deadlines and token
// expiry in no real time and observe exactly when each happens.
func (s *Server) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	l, ok := s.ln.(*pipeListener)
	if !ok {
		return nil, errNotInMemory
	}
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
