package sodptest

import (
	"time"

	"github.com/gorilla/websocket"

	"github.com/sodp-go/client/internal/wire"
)

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
