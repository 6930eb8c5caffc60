package sodptest

import (
	"fmt"
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
	late        []func() // handlings of accepted requests held to the end of a burst (late.go)
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

func (c *Conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing || c.dead
}
