package session

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sodp-go/client/internal/wire"
)

// writeBufferPool lends write buffers to connections only while they
// write, so idle clients hold none.
var writeBufferPool = &sync.Pool{}

// writeWait bounds one WebSocket write; a peer that takes longer is dead.
const writeWait = 10 * time.Second

// transport is the WebSocket connection under a conn: the boundary
// between the session and the WebSocket library, whose one implementation
// is wsTransport (websocket.go). Only the conn's reader calls NextReader;
// only its writer and, at shutdown, the actor call Write (the writer is
// stopped by then); Close may be called from any goroutine.
type transport interface {
	// OnControl sets what is told of each ping (pong false) and pong the
	// server sends, from inside NextReader; a ping is answered with a pong
	// by the transport itself. Called once, before the first NextReader.
	OnControl(func(pong bool, data string))
	// NextReader waits for the next data message and returns whether it is
	// binary and a reader of it, valid until the next call. A close frame
	// from the server ends it with a *CloseError.
	NextReader() (binary bool, r io.Reader, err error)
	// Write writes one message of kind m, giving up at deadline. Once a
	// close frame was sent (by the session, or in answer to the server's)
	// it fails with errCloseSent.
	Write(m message, data []byte, deadline time.Time) error
	// Close closes the connection at once; NextReader and Write fail.
	Close() error
}

// message is the kind of a message Write sends.
type message uint8

const (
	msgBinary message = iota // a data message: one frame
	msgPing                  // a WebSocket ping carrying data
	msgClose                 // a close frame, normal closure, reason data
)

// errCloseSent: a Write after a close frame was sent.
var errCloseSent = errors.New("websocket: close sent")

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
	ws       transport
	outMu    sync.Mutex
	out      []outFrame    // frames waiting for the writer; grows on demand
	outLimit int           // more waiting frames than this: the connection is stalled
	outReady chan struct{} // actor (send) → writer: out is not empty; capacity 1, a signal never blocks
	done     chan struct{} // closed by the actor (close) → reader and writer: stop
	lastIn   atomic.Int64  // unix nanoseconds of the last inbound sign of life
	stop     sync.Once
	queued   uint64 // actor only: frames (not pings) queued so far; the writer numbers them in the same order
	// Under outMu, set by the writer: the number and wire size of the
	// largest frame it has started to write (see refusedFrom).
	largestSeq, largestSize uint64
	readLimit               int64 // set before the reader starts: the largest message it reads into memory
}

// startConn wraps ws and starts its reader and writer.
func (s *Session) startConn(ws transport, endpoint, token string) *conn {
	c := &conn{
		epoch:    s.link.newEpoch(),
		endpoint: endpoint,
		token:    token,
		ws:       ws,
		outLimit: s.cfg.OutboundQueue,
		outReady: make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	c.touch()
	s.pub.conn.Store(c)
	// No read limit on ws: one over it would close the connection. The
	// reader bounds each message itself (see oversize.go).
	c.readLimit = s.readLimit()
	ws.OnControl(func(pong bool, data string) {
		c.touch()
		if pong {
			s.rtt.pong(data)
		}
	})
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
	if !f.ping {
		c.queued++
	}
	c.outMu.Unlock()
	select {
	case c.outReady <- struct{}{}:
	default:
	}
	return true
}

// noteWritten records the frame numbered seq, of size bytes, as written
// (or about to be: a server may refuse a frame from its header alone).
// Called by the writer.
func (c *conn) noteWritten(seq uint64, size int) {
	c.outMu.Lock()
	if uint64(size) > c.largestSize {
		c.largestSeq, c.largestSize = seq, uint64(size)
	}
	c.outMu.Unlock()
}

// refusedFrom tells, after the server closed the connection with 1009
// (message too big), from which frame on nothing was read. The server
// stops at the first frame over its limit, F. The largest frame written,
// M, is over the limit too (it is at least as large as F), so M is F or
// came after it: neither M nor any frame after it was read. Zero means no
// frame was written.
func (c *conn) refusedFrom() uint64 {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	return c.largestSeq
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
	// One limited reader too, made once rather than per message.
	lr := new(io.LimitedReader)
	limit := c.readLimit
	for {
		binary, r, err := c.ws.NextReader()
		if err == nil {
			buf.Reset()
			lr.R, lr.N = r, limit+1
			_, err = buf.ReadFrom(lr)
			lr.R = nil
		}
		var tl *frameTooLarge
		if err == nil && int64(buf.Len()) > limit {
			tl, err = readTooLarge(buf.Bytes(), r, limit)
		}
		if err != nil {
			if ce, ok := err.(*CloseError); ok {
				ce.Text = redact(ce.Text, s.cfg.Token, c.token)
			}
			s.report(c, connLost{epoch: c.epoch, err: err})
			return
		}
		data := buf.Bytes()
		if buf.Cap() > 256<<10 {
			buf = bytes.Buffer{}
		}
		c.touch()
		var in frameIn
		switch {
		case !binary:
			in = frameIn{err: fmt.Errorf("%w: text message received", ErrProtocol)}
		case tl != nil:
			in = frameIn{size: int(tl.size), err: tl}
		default:
			in.frame, in.err = wire.DecodeWithin(data, costFactor*limit)
			in.size = len(data)
			if de, ok := in.err.(*wire.DecodeError); ok && errors.Is(de, wire.ErrTooCostly) {
				in = frameIn{size: len(data), err: tooCostly(data, de, limit)}
			}
		}
		in.epoch = c.epoch
		if !s.report(c, in) {
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
				err = c.ws.Write(msgPing, s.rtt.payload(), time.Now().Add(writeWait))
			} else {
				seq++
				buf, err = wire.Encode(buf[:0], wire.Frame{Type: f.typ, Stream: f.stream, Seq: seq, Body: f.body})
				if err == nil {
					c.noteWritten(seq, len(buf))
					err = c.ws.Write(msgBinary, buf, time.Now().Add(writeWait))
					s.stats.framesOut.Add(1)
					s.stats.bytesOut.Add(uint64(len(buf)))
				}
			}
			batch[i] = outFrame{}
			if err != nil {
				if err == errCloseSent {
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
