package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sodp-go/client/internal/wire"
)

// writeBufferPool lends write buffers to connections only while they
// write, so idle clients hold none.
var writeBufferPool = &sync.Pool{}

// writeWait bounds one WebSocket write; a peer that takes longer is dead.
const writeWait = 10 * time.Second

// outFrame is one frame queued for the writer. A ping asks for a WebSocket
// ping instead of a frame.
type outFrame struct {
	typ    wire.Type
	stream uint32
	body   any
	ping   bool
}

// conn is one WebSocket connection with its reader and writer goroutines.
// Only the actor calls its methods, except where noted.
type conn struct {
	epoch    uint64
	endpoint string
	token    string
	ws       *websocket.Conn
	outMu    sync.Mutex
	out      []outFrame    // frames waiting for the writer; grows on demand
	outLimit int           // more waiting frames than this: the connection is stalled
	outReady chan struct{} // signalled when out becomes non-empty
	done     chan struct{}
	lastIn   atomic.Int64 // unix nanoseconds of the last inbound sign of life
	stop     sync.Once
}

// NormalizeURL maps the sodp:// and sodps:// schemes to ws:// and wss://
// and checks that the URL is a WebSocket URL.
func NormalizeURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's error repeats the URL, credentials included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("%w: %w", ErrInvalidURL, err)
	}
	shown := redactURL(raw)
	scheme := strings.ToLower(u.Scheme)
	switch scheme {
	case "sodp", "ws":
		u.Scheme = "ws"
	case "sodps", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("%w %q: scheme must be ws, wss, sodp or sodps", ErrInvalidURL, shown)
	}
	if u.Host == "" {
		return "", fmt.Errorf("%w %q: no host", ErrInvalidURL, shown)
	}
	if u.User != nil {
		// The WebSocket dialer refuses such URLs on every attempt.
		return "", fmt.Errorf("%w %q: user information is not allowed in a WebSocket URL (use WithToken or WithHeader)", ErrInvalidURL, shown)
	}
	if (scheme == "sodp" || scheme == "sodps") && u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), "7777")
	}
	return u.String(), nil
}

// dialResult is what a dial goroutine reports to the actor.
type dialResult struct {
	attempt  uint64
	endpoint string
	ws       *websocket.Conn
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
		err = &withCause{msg: "sodp: dial " + redactURL(endpoint) + ": " + Detail(err), primary: ErrConnectFailed, cause: err}
	}
	select {
	case s.in <- dialResult{attempt: attempt, endpoint: endpoint, ws: ws, token: token, deadline: deadline, err: err}:
	case <-s.quit:
		if ws != nil {
			ws.Close()
		}
	}
}

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
func (s *Session) upgrade(ctx context.Context, deadline time.Time, endpoint string) (*websocket.Conn, error) {
	var dc websocket.Dialer
	if s.cfg.Dialer != nil {
		dc = *s.cfg.Dialer
	} else {
		dc = websocket.Dialer{
			Proxy:           http.ProxyFromEnvironment,
			ReadBufferSize:  2048,
			WriteBufferPool: writeBufferPool,
		}
	}
	dc.HandshakeTimeout = 0 // the deadline below bounds it
	dc.EnableCompression = false
	if s.cfg.TLSConfig != nil {
		dc.TLSClientConfig = s.cfg.TLSConfig
	}
	// What the client reads before the upgrade completes: the response,
	// plus what the reader buffered beyond it, plus the TLS handshake.
	budget := int64(MaxUpgradeResponse) + int64(max(dc.ReadBufferSize, 4096))
	if strings.HasPrefix(endpoint, "wss:") {
		budget += 64 << 10
	}
	var mu sync.Mutex
	var opened []*upgradeConn
	wrap := func(dial func(context.Context, string, string) (net.Conn, error)) func(context.Context, string, string) (net.Conn, error) {
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			uc := &upgradeConn{Conn: c, left: budget}
			mu.Lock()
			opened = append(opened, uc)
			mu.Unlock()
			return uc, nil
		}
	}
	switch {
	case dc.NetDialContext != nil:
	case dc.NetDial != nil:
		nd := dc.NetDial
		dc.NetDialContext = func(_ context.Context, network, addr string) (net.Conn, error) { return nd(network, addr) }
	default:
		var nd net.Dialer
		dc.NetDialContext = nd.DialContext
	}
	dc.NetDial = nil
	dc.NetDialContext = wrap(dc.NetDialContext)
	if dc.NetDialTLSContext != nil {
		dc.NetDialTLSContext = wrap(dc.NetDialTLSContext)
	}
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	// The dialer reads the upgrade response without watching ctx; closing
	// the connection ends that read.
	stop := context.AfterFunc(dctx, func() {
		mu.Lock()
		defer mu.Unlock()
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
	return ws, nil
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

// RedactURL drops user information and the query (where credentials may
// hide) from a URL for logs and errors.
func RedactURL(raw string) string { return redactURL(raw) }

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "invalid-url"
	}
	u.User = nil
	u.RawQuery = ""
	return u.String()
}

// startConn wraps ws and starts its reader and writer.
func (s *Session) startConn(ws *websocket.Conn, endpoint, token string) *conn {
	s.epoch++
	c := &conn{
		epoch:    s.epoch,
		endpoint: endpoint,
		token:    token,
		ws:       ws,
		outLimit: s.cfg.OutboundQueue,
		outReady: make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	c.touch()
	if s.cfg.MaxMessageSize > 0 {
		ws.SetReadLimit(s.cfg.MaxMessageSize)
	}
	ws.SetPingHandler(func(data string) error {
		c.touch()
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeWait))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
	ws.SetPongHandler(func(string) error { c.touch(); return nil })
	s.wg.Add(2)
	go s.reader(c)
	go s.writer(c)
	return c
}

func (c *conn) touch() { c.lastIn.Store(time.Now().UnixNano()) }

// close tears the connection down; safe to call more than once.
func (c *conn) close() {
	c.stop.Do(func() {
		close(c.done)
		c.ws.Close()
	})
}

// send queues a frame without blocking; false means the queue is full.
func (c *conn) send(f outFrame) bool {
	c.outMu.Lock()
	if len(c.out) >= c.outLimit {
		c.outMu.Unlock()
		return false
	}
	c.out = append(c.out, f)
	c.outMu.Unlock()
	select {
	case c.outReady <- struct{}{}:
	default:
	}
	return true
}

// take swaps the queued frames for spare (emptied), so queue memory is
// reused between the two.
func (c *conn) take(spare []outFrame) []outFrame {
	c.outMu.Lock()
	batch := c.out
	c.out = spare[:0]
	c.outMu.Unlock()
	return batch
}

// frameIn is a frame (or a decode failure) read from a connection.
type frameIn struct {
	epoch uint64
	frame wire.Frame
	size  int // bytes of the message on the wire
	err   error
}

// connLost reports that a connection's reader or writer failed.
type connLost struct {
	epoch uint64
	err   error
}

func (s *Session) reader(c *conn) {
	defer s.wg.Done()
	// One buffer for every message: Decode copies what it keeps.
	var buf bytes.Buffer
	for {
		mt, r, err := c.ws.NextReader()
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(r)
		}
		if err != nil {
			s.report(c, connLost{epoch: c.epoch, err: readErr(err)})
			return
		}
		data := buf.Bytes()
		if buf.Cap() > 256<<10 {
			buf = bytes.Buffer{}
		}
		c.touch()
		if mt != websocket.BinaryMessage {
			s.report(c, frameIn{epoch: c.epoch, err: fmt.Errorf("%w: text message received", ErrProtocol)})
			continue
		}
		f, err := wire.Decode(data)
		if !s.report(c, frameIn{epoch: c.epoch, frame: f, size: len(data), err: err}) {
			return
		}
	}
}

// report hands a message to the actor unless the connection or the session
// is gone.
func (s *Session) report(c *conn, msg any) bool {
	// Most of the time the queue has room: a plain send then costs much
	// less than the select below.
	select {
	case s.in <- msg:
		return true
	default:
	}
	select {
	case s.in <- msg:
		return true
	case <-c.done:
		return false
	case <-s.quit:
		return false
	}
}

func readErr(err error) error {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return &CloseError{Code: ce.Code, Text: ce.Text}
	}
	if errors.Is(err, websocket.ErrReadLimit) {
		return fmt.Errorf("%w: an incoming message exceeded the read limit", ErrTooLarge)
	}
	return err
}

func (s *Session) writer(c *conn) {
	defer s.wg.Done()
	var seq uint64
	var buf []byte
	var batch, spare []outFrame
	for {
		select {
		case <-c.done:
			return
		case <-c.outReady:
		}
		batch = c.take(spare)
		for i, f := range batch {
			var err error
			if f.ping {
				err = c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait))
			} else {
				seq++
				buf, err = wire.Encode(buf[:0], wire.Frame{Type: f.typ, Stream: f.stream, Seq: seq, Body: f.body})
				if err == nil {
					c.ws.SetWriteDeadline(time.Now().Add(writeWait))
					err = c.ws.WriteMessage(websocket.BinaryMessage, buf)
					s.stats.framesOut.Add(1)
				}
			}
			batch[i] = outFrame{}
			if err != nil {
				if errors.Is(err, websocket.ErrCloseSent) {
					// The reader answered the server's close frame; it
					// reports the close with its code (1009: too big).
					return
				}
				s.report(c, connLost{epoch: c.epoch, err: fmt.Errorf("sodp: write: %w", err)})
				return
			}
			if cap(buf) > 64<<10 {
				buf = nil
			}
		}
		// Keep a modest queue buffer for the next round; let a burst's go.
		if cap(batch) > 256 {
			batch = nil
		}
		spare = batch
	}
}
