package sodptest

import (
	"fmt"
	"io"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sodp-go/client/internal/wire"
)

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
	c.writeBucket = newBucket(s.cfg.writeRate, s.tr.windowLimit)
	c.watchBucket = newBucket(s.cfg.watchRate, s.tr.windowLimit)
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
	if c.s.tr.lateAnswers {
		return c.readLoopLate()
	}
	for {
		mt, data, err := c.readMessage()
		if err != nil {
			return err
		}
		c.received(mt, data)
	}
}

// readMessage reads the next message, up to one byte past the limit.
func (c *Conn) readMessage() (int, []byte, error) {
	mt, r, err := c.ws.NextReader()
	if err != nil {
		return 0, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(r, c.s.maxMessage+1))
	return mt, data, err
}

// received handles one message read from the connection.
func (c *Conn) received(mt int, data []byte) {
	if c.isClosing() {
		return
	}
	if int64(len(data)) > c.s.maxMessage {
		c.tooBig()
		return
	}
	if c.s.tr.live == liveAnyTraffic {
		c.extendLiveness()
	}
	c.handleMessage(mt, data)
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
