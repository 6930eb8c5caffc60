package session

// The WebSocket library behind the transport boundary (see transport in
// conn.go): upgrade opens a connection and wsTransport carries its
// messages. No other file of the session names the library.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// MaxUpgradeResponse bounds the HTTP response to the WebSocket upgrade
// (status line and headers); a longer one fails the attempt.
const MaxUpgradeResponse = 64 << 10

// upgrade opens the WebSocket connection. It gives up when ctx ends, at
// once, whatever the dial is doing: the connection is closed under the
// HTTP upgrade. It refuses an upgrade response longer than
// MaxUpgradeResponse and one that turns on an extension: the client
// offers none, so a server answering with permessage-deflate (which would
// make the read limit count compressed bytes) is not speaking the
// protocol.
func (s *Session) upgrade(ctx context.Context, deadline time.Time, endpoint string) (transport, error) {
	// No HandshakeTimeout (the deadline below bounds the handshake), no
	// compression.
	dc := websocket.Dialer{
		Proxy:           s.cfg.Proxy,
		ReadBufferSize:  2048,
		WriteBufferPool: writeBufferPool,
		TLSClientConfig: s.cfg.TLSConfig,
		NetDialContext:  s.cfg.NetDialContext,
	}
	// What the client reads before the upgrade completes: the response,
	// plus what the reader buffered beyond it, plus the TLS handshake.
	budget := int64(MaxUpgradeResponse) + int64(max(dc.ReadBufferSize, 4096))
	if strings.HasPrefix(endpoint, "wss:") {
		budget += 64 << 10
	}
	var mu sync.Mutex
	var opened []*upgradeConn
	var stopped bool // the attempt was given up: every connection is closed
	wrap := func(dial func(context.Context, string, string) (net.Conn, error)) func(context.Context, string, string) (net.Conn, error) {
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			uc := &upgradeConn{Conn: c, left: budget}
			mu.Lock()
			opened = append(opened, uc)
			if stopped {
				// Given up while this connection was being opened: the
				// upgrade would otherwise wait on it until the deadline.
				c.Close()
			}
			mu.Unlock()
			return uc, nil
		}
	}
	if dc.NetDialContext == nil {
		var nd net.Dialer
		dc.NetDialContext = nd.DialContext
	}
	dc.NetDialContext = wrap(dc.NetDialContext)
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	// The dialer reads the upgrade response without watching ctx; closing
	// the connection ends that read.
	stop := context.AfterFunc(dctx, func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		for _, uc := range opened {
			uc.Conn.Close()
		}
	})
	ws, resp, err := dc.DialContext(dctx, endpoint, s.cfg.Header)
	cancelled := !stop()
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	mu.Lock()
	over := false
	for _, uc := range opened {
		over = over || uc.over.Load()
		uc.done.Store(true)
	}
	mu.Unlock()
	switch {
	case over:
		err = fmt.Errorf("%w: the upgrade response is longer than %d KiB", ErrProtocol, MaxUpgradeResponse>>10)
	case err != nil && cancelled && dctx.Err() != nil:
		if ctx.Err() == nil {
			err = fmt.Errorf("%w: no WebSocket upgrade within %s", context.DeadlineExceeded, s.cfg.HandshakeTime)
		} else {
			err = ctx.Err()
		}
	case err == nil && cancelled:
		err = dctx.Err()
	case err == nil && resp != nil && resp.Header.Get("Sec-WebSocket-Extensions") != "":
		err = fmt.Errorf("%w: the server turned on the WebSocket extension %q, which the client did not offer (compressed messages are refused)",
			ErrProtocol, resp.Header.Get("Sec-WebSocket-Extensions"))
	}
	if err != nil {
		if ws != nil {
			ws.Close()
		}
		return nil, err
	}
	return &wsTransport{ws: ws}, nil
}

// upgradeConn counts what is read from a connection until the WebSocket
// upgrade completes, and fails the reads once more than its budget has
// been read.
type upgradeConn struct {
	net.Conn
	left int64
	over atomic.Bool
	done atomic.Bool
}

var errUpgradeTooLong = errors.New("upgrade response too long")

func (c *upgradeConn) Read(p []byte) (int, error) {
	if c.done.Load() {
		return c.Conn.Read(p)
	}
	if c.left <= 0 {
		c.over.Store(true)
		return 0, errUpgradeTooLong
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.Conn.Read(p)
	c.left -= int64(n)
	return n, err
}

// wsTransport is a transport over a gorilla/websocket connection.
type wsTransport struct{ ws *websocket.Conn }

func (t *wsTransport) OnControl(control func(pong bool, data string)) {
	t.ws.SetPingHandler(func(data string) error {
		control(false, data)
		err := t.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeWait))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
	t.ws.SetPongHandler(func(data string) error { control(true, data); return nil })
}

func (t *wsTransport) NextReader() (bool, io.Reader, error) {
	mt, r, err := t.ws.NextReader()
	if err != nil {
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return false, nil, &CloseError{Code: ce.Code, Text: ce.Text}
		}
		return false, nil, err
	}
	return mt == websocket.BinaryMessage, r, nil
}

func (t *wsTransport) Write(m message, data []byte, deadline time.Time) error {
	var err error
	switch m {
	case msgBinary:
		t.ws.SetWriteDeadline(deadline)
		err = t.ws.WriteMessage(websocket.BinaryMessage, data)
	case msgPing:
		err = t.ws.WriteControl(websocket.PingMessage, data, deadline)
	case msgClose:
		err = t.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, string(data)), deadline)
	}
	if errors.Is(err, websocket.ErrCloseSent) {
		return errCloseSent
	}
	return err
}

func (t *wsTransport) Close() error { return t.ws.Close() }
