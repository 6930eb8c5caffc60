package sodptest

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sodp-go/client/internal/wire"
)

const (
	controlTimeout = 5 * time.Second // bound on writing one control frame
	closeLinger    = time.Second     // wait for the client's close reply
)

// Conn is one client connection as the server sees it. Its methods are safe
// for concurrent use and do nothing harmful after the connection closed.
type Conn struct {
	s      *Server
	id     uint64
	ws     *websocket.Conn
	remote string

	// Guarded by s.mu.
	subs       []*subscription
	presence   []presenceEntry
	nextStream uint32

	// Owned by the writer goroutine.
	closeSent bool

	// Owned by the reader goroutine.
	authed      bool
	writeBucket *bucket
	watchBucket *bucket

	mu      sync.Mutex
	sub     string
	queue   []outItem
	paused  bool
	pong    *string   // pending pong payload
	closing bool      // a close is queued: nothing more is queued or handled
	dead    bool      // the socket is closed
	expiry  time.Time // token expiry to enforce, zero for none
	recv    []Frame

	wake       chan struct{}
	done       chan struct{} // the reader stopped
	writerDone chan struct{}
	finished   chan struct{} // clean-up complete
}

type outItem struct {
	frame wire.Frame
	raw   []byte // written as is when non-nil
	close *closeReq
}

type closeReq struct {
	abrupt bool
	code   int
	text   string
}

// ID returns the connection's number: 1 for the first connection the server
// accepted, then 2, 3, …
func (c *Conn) ID() uint64 { return c.id }

// Sub returns the subject of the last accepted AUTH, or "" when the
// connection has not authenticated.
func (c *Conn) Sub() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sub
}

// Pause stops all outbound traffic on the connection — frames, HEARTBEATs,
// pings and pong replies — until Resume. Frames produced meanwhile are
// queued under the dialect's queue policy (a full queue evicts the
// connection, drops the frame, or keeps growing); periodic HEARTBEATs and
// pings due while paused are skipped, and only the latest pong is kept.
// The liveness check is suspended while paused (a client cannot answer
// pings it does not get) and restarts with a full window on Resume.
func (c *Conn) Pause() {
	c.mu.Lock()
	c.paused = true
	if !c.closing && !c.dead {
		_ = c.ws.SetReadDeadline(time.Time{})
	}
	c.mu.Unlock()
	c.signal()
}

// Resume undoes Pause: queued frames are written in order. Resume on a
// connection that is not paused does nothing.
func (c *Conn) Resume() {
	c.mu.Lock()
	was := c.paused
	c.paused = false
	c.mu.Unlock()
	if was {
		c.extendLiveness()
	}
	c.signal()
}

// Queued returns the number of frames waiting in the outbound queue.
func (c *Conn) Queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}

// Close closes the connection abruptly (no close frame) and returns once it
// has been cleaned up: its subscriptions are gone and its presence entries
// removed, with the removal broadcast to other watchers. Closing a closed
// connection does nothing. It must not be called from a WithACL function.
func (c *Conn) Close() {
	c.kill()
	<-c.finished
}

// Inject queues raw as one binary WebSocket message, written as is, in
// order with the connection's other frames (subject to Pause). It does not
// take an outbound seq number. Nothing happens on a closed connection.
func (c *Conn) Inject(raw []byte) {
	c.enqueue(outItem{raw: append([]byte{}, raw...)})
}

// Send queues a frame of type typ on stream with the given body, encoded in
// the dialect's integer widths and numbered with the connection's next seq.
// body is nil or any value the wire encoder accepts — normally a
// map[string]any — and is written as given, so the frame may be anything a
// test wants a client to see. Send panics if body cannot be encoded.
func (c *Conn) Send(typ uint8, stream uint32, body any) {
	f := wire.Frame{Type: wire.Type(typ), Stream: stream}
	if body != nil {
		b, err := wire.AppendValue(nil, body)
		if err != nil {
			panic(fmt.Sprintf("sodptest: Conn.Send: cannot encode body: %v", err))
		}
		f.Body = wire.Raw(b)
	}
	c.enqueue(outItem{frame: f})
}

// Received returns the messages received on this connection, in order.
func (c *Conn) Received() []Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Frame(nil), c.recv...)
}

func (c *Conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// kill closes the socket without a close frame. The reader then fails and
// cleans up.
func (c *Conn) kill() {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return
	}
	c.dead = true
	c.mu.Unlock()
	_ = c.ws.Close()
	c.signal()
}

// sendFrame queues a frame.
func (c *Conn) sendFrame(f wire.Frame) { c.enqueue(outItem{frame: f}) }

// enqueue adds an item to the outbound queue under the dialect's slow-client
// policy. It never blocks beyond c.mu, so it may be called with s.mu held.
func (c *Conn) enqueue(it outItem) {
	c.mu.Lock()
	if c.dead || c.closing {
		c.mu.Unlock()
		return
	}
	if c.s.tr.slow != slowUnbounded && len(c.queue) >= c.s.queueLimit {
		if c.s.tr.slow == slowDrop {
			c.mu.Unlock()
			c.s.count(func(st *Stats) { st.Dropped++ })
			return
		}
		c.mu.Unlock()
		c.s.count(func(st *Stats) { st.Evictions++ })
		c.s.log.Warn("sodptest: evicting slow connection", "conn", c.id, "queued", c.s.queueLimit)
		c.kill()
		return
	}
	c.queue = append(c.queue, it)
	c.mu.Unlock()
	c.s.countFrame(it.frame)
	c.signal()
}

// countFrame updates the counters for a queued frame.
func (s *Server) countFrame(f wire.Frame) {
	switch f.Type {
	case wire.TypeError:
		s.count(func(st *Stats) { st.Errors++ })
	case wire.TypeDelta:
		s.count(func(st *Stats) { st.Deltas++ })
	case wire.TypeHeartbeat:
		s.count(func(st *Stats) { st.HeartbeatsSent++ })
	case wire.TypeResult:
		if r, ok := f.Body.(*wire.Result); ok && !r.Success {
			s.count(func(st *Stats) { st.FailedCalls++ })
		}
	}
}

// closeAfter queues the given frames (if any) and then a close: a close
// frame with code and text, or an abrupt drop. After it nothing more is
// queued and inbound frames are ignored.
func (c *Conn) closeAfter(mode closeMode, code int, text string, frames ...wire.Frame) {
	c.mu.Lock()
	if c.dead || c.closing {
		c.mu.Unlock()
		return
	}
	for _, f := range frames {
		c.queue = append(c.queue, outItem{frame: f})
	}
	c.queue = append(c.queue, outItem{close: &closeReq{abrupt: mode == dropAbrupt, code: code, text: text}})
	c.closing = true
	c.mu.Unlock()
	for _, f := range frames {
		c.s.countFrame(f)
	}
	c.signal()
}

func (c *Conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing || c.dead
}

// extendLiveness moves the read deadline to two heartbeat intervals from
// now, unless a close is under way.
func (c *Conn) extendLiveness() {
	hb := c.s.heartbeat
	if hb <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing || c.dead || c.paused {
		return
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(2 * hb))
}

// writeLoop is the connection's only writer of data frames. It also sends
// the periodic HEARTBEATs or pings and enforces token expiry.
func (c *Conn) writeLoop() {
	defer c.s.wg.Done()
	defer close(c.writerDone)
	var tick <-chan time.Time
	if hb := c.s.heartbeat; hb > 0 {
		t := time.NewTicker(hb)
		defer t.Stop()
		tick = t.C
	}
	expTimer := time.NewTimer(time.Hour)
	expTimer.Stop()
	defer expTimer.Stop()
	var armed time.Time
	var seq uint64
	for {
		select {
		case <-c.done:
			return
		case <-c.wake:
		case <-tick:
			c.heartbeatTick()
		case <-expTimer.C:
			armed = time.Time{}
			c.checkExpiry()
		}
		c.mu.Lock()
		exp := c.expiry
		c.mu.Unlock()
		if !exp.Equal(armed) {
			expTimer.Stop()
			if !exp.IsZero() {
				expTimer.Reset(time.Until(exp))
			}
			armed = exp
		}
		if err := c.flush(&seq); err != nil {
			c.s.log.Debug("sodptest: write failed", "conn", c.id, "err", errString(err))
			c.kill()
		}
	}
}

func (c *Conn) heartbeatTick() {
	c.mu.Lock()
	skip := c.paused || c.closing || c.dead
	c.mu.Unlock()
	if skip {
		return
	}
	if c.s.tr.pings {
		if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(controlTimeout)); err != nil {
			c.kill()
		}
		return
	}
	c.sendFrame(wire.Frame{Type: wire.TypeHeartbeat})
}

func (c *Conn) checkExpiry() {
	c.mu.Lock()
	exp := c.expiry
	due := !exp.IsZero() && !time.Now().Before(exp)
	if due {
		c.expiry = time.Time{}
	}
	c.mu.Unlock()
	if due {
		c.s.log.Info("sodptest: token expired", "conn", c.id, "sub", c.Sub())
		c.closeAfter(closeGraceful, websocket.ClosePolicyViolation, "token expired",
			errorFrame(0, 401, "token expired"))
	}
}

// flush writes queued items until the queue is empty, the connection is
// paused or a close was written.
func (c *Conn) flush(seq *uint64) error {
	for {
		c.mu.Lock()
		if c.paused || c.dead || c.closeSent {
			c.mu.Unlock()
			return nil
		}
		if c.pong != nil {
			p := *c.pong
			c.pong = nil
			c.mu.Unlock()
			if err := c.ws.WriteControl(websocket.PongMessage, []byte(p), time.Now().Add(controlTimeout)); err != nil {
				return err
			}
			continue
		}
		if len(c.queue) == 0 {
			c.mu.Unlock()
			return nil
		}
		it := c.queue[0]
		c.queue[0] = outItem{}
		c.queue = c.queue[1:]
		c.mu.Unlock()

		switch {
		case it.close != nil && it.close.abrupt:
			c.kill()
			return nil
		case it.close != nil:
			msg := websocket.FormatCloseMessage(it.close.code, it.close.text)
			c.closeSent = true
			if err := c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(controlTimeout)); err != nil {
				return err
			}
			// Wait briefly for the client's close reply, then give up.
			_ = c.ws.SetReadDeadline(time.Now().Add(closeLinger))
			return nil
		case it.raw != nil:
			if err := c.write(it.raw); err != nil {
				return err
			}
		default:
			*seq++
			it.frame.Seq = *seq
			b, err := c.s.encodeFrame(it.frame)
			if err != nil {
				c.s.log.Error("sodptest: cannot encode frame", "conn", c.id, "type", it.frame.Type.String(), "err", err)
				continue
			}
			if err := c.write(b); err != nil {
				return err
			}
		}
	}
}

// write writes one data message. It has no deadline: a client that stops
// reading blocks the writer, and the dialect's queue policy (evict, drop or
// buffer) decides what happens to the frames behind it; closing the
// connection unblocks it.
func (c *Conn) write(b []byte) error {
	return c.ws.WriteMessage(websocket.BinaryMessage, b)
}

// serveConn runs one connection on the handler's goroutine: it registers
// the connection, starts its writer, reads until the connection ends and
// cleans up.
func (s *Server) serveConn(ws *websocket.Conn, remote string) {
	c := &Conn{
		s:          s,
		ws:         ws,
		remote:     remote,
		nextStream: wire.FirstSubscriptionStream,
		wake:       make(chan struct{}, 1),
		done:       make(chan struct{}),
		writerDone: make(chan struct{}),
		finished:   make(chan struct{}),
	}
	c.writeBucket = newBucket(s.cfg.writeRate)
	c.watchBucket = newBucket(s.cfg.watchRate)
	// HELLO goes first, before anyone can queue anything else.
	c.queue = append(c.queue, outItem{frame: wire.Frame{Type: wire.TypeHello, Body: s.hello()}})

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	s.nextConnID++
	c.id = s.nextConnID
	s.conns = append(s.conns, c)
	s.notifyConnsLocked()
	s.wg.Add(1)
	s.mu.Unlock()
	s.count(func(st *Stats) { st.Connections++ })
	s.log.Info("sodptest: connection opened", "conn", c.id, "remote", remote)

	ws.SetPingHandler(func(data string) error {
		c.mu.Lock()
		if !c.closing {
			c.pong = &data
		}
		c.mu.Unlock()
		c.signal()
		if s.tr.live == liveAnyTraffic {
			c.extendLiveness()
		}
		return nil
	})
	ws.SetPongHandler(func(string) error {
		if s.tr.live != liveClientHeartbeat {
			c.extendLiveness()
		}
		return nil
	})
	ws.SetCloseHandler(func(code int, _ string) error {
		c.mu.Lock()
		reply := !c.paused && !c.closing
		c.mu.Unlock()
		if reply {
			_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(controlTimeout))
		}
		return nil
	})

	go c.writeLoop()
	c.extendLiveness()
	c.signal()

	err := c.readLoop()

	c.kill()
	close(c.done)
	<-c.writerDone
	s.mu.Lock()
	s.dropConnLocked(c)
	s.mu.Unlock()
	s.log.Info("sodptest: connection closed", "conn", c.id, "reason", errString(err))
	close(c.finished)
}

// readLoop reads messages until the connection fails and returns the error.
func (c *Conn) readLoop() error {
	limit := c.s.maxMessage
	for {
		mt, r, err := c.ws.NextReader()
		if err != nil {
			return err
		}
		data, err := io.ReadAll(io.LimitReader(r, limit+1))
		if err != nil {
			return err
		}
		if c.isClosing() {
			continue
		}
		if int64(len(data)) > limit {
			c.tooBig()
			continue
		}
		if c.s.tr.live == liveAnyTraffic {
			c.extendLiveness()
		}
		c.handleMessage(mt, data)
	}
}

func (c *Conn) tooBig() {
	c.s.log.Info("sodptest: message too big", "conn", c.id, "limit", c.s.maxMessage)
	text := fmt.Sprintf("message larger than %d bytes", c.s.maxMessage)
	if c.s.tr.tooBig413 {
		c.closeAfter(closeGraceful, websocket.CloseMessageTooBig, text, errorFrame(0, 413, text))
		return
	}
	c.closeAfter(closeGraceful, websocket.CloseMessageTooBig, text)
}

// errorFrame builds an ERROR frame.
func errorFrame(stream uint32, code int, msg string) wire.Frame {
	return wire.Frame{Type: wire.TypeError, Stream: stream, Body: &wire.Error{Code: code, Message: msg}}
}
