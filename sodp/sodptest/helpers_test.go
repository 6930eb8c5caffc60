package sodptest

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/sodp-go/client/internal/delta"
	"github.com/sodp-go/client/internal/testutil"
	"github.com/sodp-go/client/internal/wire"

	"github.com/sodp-go/client/sodp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const waitTimeout = 5 * time.Second

var allDialects = testutil.Dialects()

// forDialects runs f as a parallel subtest per dialect.
func forDialects(t *testing.T, f func(t *testing.T, d sodp.Dialect)) {
	t.Helper()
	for _, d := range allDialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			f(t, d)
		})
	}
}

// forDialectsInBubble is forDialects with each dialect's test in a
// testing/synctest bubble: start its server WithInMemory, and every wait
// runs on the bubble's clock.
func forDialectsInBubble(t *testing.T, f func(t *testing.T, d sodp.Dialect)) {
	t.Helper()
	forDialects(t, func(t *testing.T, d sodp.Dialect) {
		synctest.Test(t, func(t *testing.T) { f(t, d) })
	})
}

// newServer starts a server closed at the end of the test.
func newServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	srv := NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

// rframe is one message a test client received.
type rframe struct {
	f   wire.Frame
	raw []byte
	err error // decode error
}

// body returns the frame's body decoded generically (field names as sent).
func (r rframe) body() map[string]any { return decodeRecord(websocket.BinaryMessage, r.raw).Body }

func (r rframe) String() string {
	return fmt.Sprintf("%s stream=%d seq=%d %v", r.f.Type, r.f.Stream, r.f.Seq, r.body())
}

// tclient is a raw SODP client over gorilla/websocket for tests.
type tclient struct {
	t      testing.TB
	ws     *websocket.Conn
	frames chan rframe
	quit   chan struct{}
	done   chan struct{}
	err    error // read error; valid once done is closed
	wmu    sync.Mutex
	pings  atomic.Int64
	pongs  chan string
	seq    uint64
	hello  rframe
}

type dialOpts struct {
	path    string
	noPong  bool
	noHello bool
}

type dialOpt func(*dialOpts)

func withPath(p string) dialOpt { return func(o *dialOpts) { o.path = p } }
func noPong() dialOpt           { return func(o *dialOpts) { o.noPong = true } }

// dial connects to srv and reads HELLO.
func dial(t testing.TB, srv *Server, opts ...dialOpt) *tclient {
	t.Helper()
	var o dialOpts
	for _, f := range opts {
		f(&o)
	}
	d := websocket.Dialer{HandshakeTimeout: waitTimeout}
	if _, ok := srv.ln.(*PipeListener); ok {
		d.NetDialContext = srv.DialContext
	}
	ws, resp, err := d.Dial(srv.URL+o.path, nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		t.Fatalf("dial %s: %v", srv.URL+o.path, err)
	}
	c := &tclient{
		t:      t,
		ws:     ws,
		frames: make(chan rframe, 4096),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
		pongs:  make(chan string, 16),
	}
	def := ws.PingHandler()
	ws.SetPingHandler(func(data string) error {
		c.pings.Add(1)
		if o.noPong {
			return nil
		}
		return def(data)
	})
	ws.SetPongHandler(func(data string) error {
		select {
		case c.pongs <- data:
		default:
		}
		return nil
	})
	go c.readLoop()
	t.Cleanup(c.close)
	if !o.noHello {
		c.hello = c.expect(wire.TypeHello)
	}
	return c
}

func (c *tclient) readLoop() {
	defer close(c.done)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			c.err = err
			return
		}
		f, derr := wire.Decode(data)
		select {
		case c.frames <- rframe{f: f, raw: data, err: derr}:
		case <-c.quit:
			return
		}
	}
}

func (c *tclient) close() {
	select {
	case <-c.quit:
	default:
		close(c.quit)
	}
	_ = c.ws.Close()
	<-c.done
}

// closeNormally sends a close frame and waits for the connection to end.
func (c *tclient) closeNormally() {
	c.wmu.Lock()
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.wmu.Unlock()
	select {
	case <-c.done:
	case <-time.After(waitTimeout):
		c.t.Fatalf("connection did not close after the close handshake")
	}
}

func (c *tclient) writeMessage(mt int, b []byte) {
	c.t.Helper()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(waitTimeout))
	if err := c.ws.WriteMessage(mt, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// send encodes and sends a frame, numbering it with the next seq.
func (c *tclient) send(typ wire.Type, stream uint32, body any) {
	c.t.Helper()
	c.wmu.Lock()
	c.seq++
	seq := c.seq
	c.wmu.Unlock()
	b, err := wire.Encode(nil, wire.Frame{Type: typ, Stream: stream, Seq: seq, Body: body})
	if err != nil {
		c.t.Fatalf("encode: %v", err)
	}
	c.writeMessage(websocket.BinaryMessage, b)
}

// sendRaw sends bytes as one binary message.
func (c *tclient) sendRaw(b []byte) {
	c.t.Helper()
	c.writeMessage(websocket.BinaryMessage, b)
}

// rawBody encodes a body map generically (compact ints everywhere).
func rawBody(t testing.TB, m map[string]any) wire.Raw {
	t.Helper()
	b, err := wire.AppendValue(nil, m)
	if err != nil {
		t.Fatalf("encode body: %v", err)
	}
	return wire.Raw(b)
}

var callSeq atomic.Int64

// call sends a CALL and returns its call id.
func (c *tclient) call(method string, args map[string]any) string {
	c.t.Helper()
	id := fmt.Sprintf("call-%d", callSeq.Add(1))
	c.send(wire.TypeCall, 0, &wire.Call{CallID: id, Method: method, Args: args})
	return id
}

func (c *tclient) watch(stream uint32, key string) {
	c.t.Helper()
	c.send(wire.TypeWatch, stream, &wire.Watch{State: key})
}

// next returns the next frame, failing the test after waitTimeout or when
// the connection ends.
func (c *tclient) next() rframe {
	c.t.Helper()
	select {
	case r := <-c.frames:
		return r
	case <-time.After(waitTimeout):
		c.t.Fatalf("timed out waiting for a frame")
	case <-c.done:
		select {
		case r := <-c.frames:
			return r
		default:
		}
		c.t.Fatalf("connection ended while waiting for a frame: %v", c.err)
	}
	return rframe{}
}

// expect returns the next frame, which must be of type typ.
func (c *tclient) expect(typ wire.Type) rframe {
	c.t.Helper()
	r := c.next()
	if r.f.Type != typ {
		c.t.Fatalf("got %v, want %s", r, typ)
	}
	return r
}

// expectError returns the next frame's ERROR body, checking code and stream.
func (c *tclient) expectError(stream uint32, code int) *wire.Error {
	c.t.Helper()
	r := c.expect(wire.TypeError)
	e := r.f.Body.(*wire.Error)
	if e.Code != code || r.f.Stream != stream {
		c.t.Fatalf("got ERROR %d %q on stream %d, want %d on stream %d", e.Code, e.Message, r.f.Stream, code, stream)
	}
	return e
}

const barrierKey = "zz.barrier"

// barrier sends a WATCH of barrierKey and returns every frame received
// before its STATE_INIT. Requests are answered in order, so whatever the
// server was going to send for earlier requests is in the result.
func (c *tclient) barrier() []rframe {
	c.t.Helper()
	c.watch(999, barrierKey)
	var got []rframe
	for {
		r := c.next()
		if si, ok := r.f.Body.(*wire.StateInit); ok && si.State == barrierKey {
			return got
		}
		got = append(got, r)
	}
}

// expectNothing asserts that the barrier finds no frame.
func (c *tclient) expectNothing() {
	c.t.Helper()
	if got := c.barrier(); len(got) != 0 {
		c.t.Fatalf("unexpected frames: %v", got)
	}
}

// waitClosed waits for the connection to end and returns the read error.
func (c *tclient) waitClosed() error {
	c.t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case <-c.done:
			return c.err
		case <-c.frames:
		case <-deadline:
			c.t.Fatalf("connection still open")
			return nil
		}
	}
}

// expectGracefulClose waits for a close frame with code.
func (c *tclient) expectGracefulClose(code int) {
	c.t.Helper()
	err := c.waitClosed()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != code {
		c.t.Fatalf("connection ended with %v, want close code %d", err, code)
	}
}

// expectAbruptClose waits for the connection to end without a close frame.
func (c *tclient) expectAbruptClose() {
	c.t.Helper()
	err := c.waitClosed()
	var ce *websocket.CloseError
	if errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure {
		c.t.Fatalf("connection ended with close code %d, want an abrupt drop", ce.Code)
	}
}

// isOpen reports whether the connection is still up.
func (c *tclient) isOpen() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// waitFor polls cond until it holds or the wait times out.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, waitTimeout, what, cond)
}

// answer reads until the RESULT for callID or an ERROR on stream 0 and
// returns it with the frames seen before it.
func (c *tclient) answer(callID string) (rframe, []rframe) {
	c.t.Helper()
	var before []rframe
	for {
		r := c.next()
		if res, ok := r.f.Body.(*wire.Result); ok && res.CallID == callID {
			return r, before
		}
		if r.f.Type == wire.TypeError && r.f.Stream == 0 {
			return r, before
		}
		before = append(before, r)
	}
}

// callOK sends a CALL and checks that it succeeded.
func (c *tclient) callOK(method string, args map[string]any) *wire.Result {
	c.t.Helper()
	id := c.call(method, args)
	r, _ := c.answer(id)
	res, ok := r.f.Body.(*wire.Result)
	if !ok || !res.Success {
		c.t.Fatalf("%s failed: %v", method, r)
	}
	return res
}

// connOf returns the server side of the newest connection.
func connOf(t testing.TB, srv *Server) *Conn {
	t.Helper()
	cs := srv.Conns()
	if len(cs) == 0 {
		t.Fatalf("no live connection")
	}
	return cs[len(cs)-1]
}

// deltaOf checks a frame is a DELTA and returns its body.
func deltaOf(t testing.TB, r rframe) *wire.Delta {
	t.Helper()
	d, ok := r.f.Body.(*wire.Delta)
	if !ok {
		t.Fatalf("got %v, want DELTA", r)
	}
	return d
}

// opsString renders ops compactly for comparisons.
func opsString(ops []delta.Op) string {
	var b strings.Builder
	for i, op := range ops {
		if i > 0 {
			b.WriteString("; ")
		}
		if op.Op == delta.OpRemove {
			fmt.Fprintf(&b, "%s %s", op.Op, op.Path)
		} else {
			fmt.Fprintf(&b, "%s %s %v", op.Op, op.Path, op.Value)
		}
	}
	return b.String()
}

// firstOp is the op a dialect uses for the first write of a key.
func firstOp(d sodp.Dialect) string {
	if d == sodp.DialectGo || d == sodp.DialectTS {
		return delta.OpUpdate
	}
	return delta.OpAdd
}

// httpStatus returns the HTTP status of a failed upgrade.
func httpStatus(t testing.TB, url string) int {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: waitTimeout}
	ws, resp, err := d.Dial(url, nil)
	if err == nil {
		ws.Close()
		return http.StatusSwitchingProtocols
	}
	if resp == nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func deltaEqual(a, b any) bool { return delta.Equal(a, b) }
