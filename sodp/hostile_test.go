package sodp_test

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sodp-go/client/internal/wire"
	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// rawServer is a scripted, possibly malicious, server on a raw TCP
// listener: every accepted connection runs script, which may answer the
// HTTP upgrade (or not) however it likes.
type rawServer struct {
	URL      string
	ln       net.Listener
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{} // open connections; each leaves when its script ends
	accepted chan net.Conn
}

func newRawServer(t testing.TB, script func(c net.Conn)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveRaw(t, ln, script)
}

// newPipeRawServer is newRawServer on a sodptest.PipeListener, for tests
// in a synctest bubble; clients reach it with viaRawPipe.
func newPipeRawServer(t testing.TB, script func(c net.Conn)) *rawServer {
	t.Helper()
	return serveRaw(t, sodptest.NewPipeListener(), script)
}

// viaRawPipe makes a client reach s (a newPipeRawServer) in memory.
func viaRawPipe(s *rawServer) sodp.Option {
	return sodp.WithNetDialContext(s.ln.(*sodptest.PipeListener).DialContext)
}

func serveRaw(t testing.TB, ln net.Listener, script func(c net.Conn)) *rawServer {
	s := &rawServer{URL: "ws://" + ln.Addr().String() + "/", ln: ln, accepted: make(chan net.Conn, 64), conns: make(map[net.Conn]struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = struct{}{}
			s.mu.Unlock()
			select {
			case s.accepted <- c:
			default:
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer func() {
					c.Close()
					s.mu.Lock()
					delete(s.conns, c)
					s.mu.Unlock()
				}()
				script(c)
			}()
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *rawServer) close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// waitAccept returns the next accepted connection.
func (s *rawServer) waitAccept(t testing.TB) net.Conn {
	t.Helper()
	select {
	case c := <-s.accepted:
		return c
	case <-time.After(wait):
		t.Fatal("no connection accepted")
		return nil
	}
}

// readUpgrade reads the client's upgrade request and returns its
// Sec-WebSocket-Accept value.
func readUpgrade(c net.Conn) (*bufio.Reader, string, error) {
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, "", err
	}
	h := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return br, base64.StdEncoding.EncodeToString(h[:]), nil
}

// acceptUpgrade answers the upgrade with 101 and the extra header lines.
func acceptUpgrade(c net.Conn, extra string) (*bufio.Reader, error) {
	br, accept, err := readUpgrade(c)
	if err != nil {
		return nil, err
	}
	_, err = fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n", accept, extra)
	return br, err
}

// wsMessage frames payload as one unmasked binary WebSocket message.
func wsMessage(payload []byte) []byte {
	b := []byte{0x82}
	switch n := len(payload); {
	case n <= 125:
		b = append(b, byte(n))
	case n <= 0xffff:
		b = append(b, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, payload...)
}

// frameBytes encodes one SODP frame.
func frameBytes(t testing.TB, typ wire.Type, stream uint32, body any) []byte {
	t.Helper()
	f := wire.Frame{Type: typ, Stream: stream, Seq: 1}
	if body != nil {
		raw, err := wire.AppendValue(nil, body)
		if err != nil {
			t.Fatal(err)
		}
		f.Body = wire.Raw(raw)
	}
	b, err := wire.Encode(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// untilClosed reads from c until the client closes it.
func untilClosed(c net.Conn) { _, _ = io.Copy(io.Discard, c) }

// dialWithin dials url with a context of d and returns how long Dial
// took and its error.
func dialWithin(d time.Duration, url string, opts ...sodp.Option) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	c, err := sodp.Dial(ctx, url, opts...)
	took := time.Since(start)
	if err == nil {
		c.Close()
	}
	return took, err
}

// A server that turns on permessage-deflate, which the client never
// offers, is refused: the client would inflate what it reads.
func TestCompressionRefused(t *testing.T) {
	var hello []byte
	srv := newRawServer(t, func(c net.Conn) {
		if _, err := acceptUpgrade(c, "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n"); err != nil {
			return
		}
		c.Write(wsMessage(hello))
		untilClosed(c)
	})
	hello = frameBytes(t, wire.TypeHello, 0, map[string]any{"protocol": "sodp", "version": "1.0"})
	_, err := dialWithin(time.Second, srv.URL, sodp.WithBackoff(time.Hour, time.Hour))
	if err == nil || !errors.Is(err, sodp.ErrProtocol) || !strings.Contains(err.Error(), "permessage-deflate") {
		t.Fatalf("Dial: %v, want a protocol error naming permessage-deflate", err)
	}
}

// An upgrade response with endless headers fails once it passes 64 KiB;
// one just under 64 KiB is fine.
func TestUpgradeResponseBounded(t *testing.T) {
	hello := frameBytes(t, wire.TypeHello, 0, map[string]any{"protocol": "sodp", "version": "1.0"})
	pad := "X-Pad: " + strings.Repeat("a", 1000) + "\r\n"
	t.Run("endless", func(t *testing.T) {
		srv := newRawServer(t, func(c net.Conn) {
			if _, _, err := readUpgrade(c); err != nil {
				return
			}
			if _, err := io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\n"); err != nil {
				return
			}
			for range 64 << 10 { // 64 MiB unless the client hangs up
				if _, err := io.WriteString(c, pad); err != nil {
					return
				}
			}
		})
		_, err := dialWithin(3*time.Second, srv.URL, sodp.WithBackoff(time.Hour, time.Hour))
		if err == nil || !errors.Is(err, sodp.ErrProtocol) || !strings.Contains(err.Error(), "64 KiB") {
			t.Fatalf("Dial: %v, want a protocol error about the 64 KiB limit", err)
		}
	})
	t.Run("under the limit", func(t *testing.T) {
		srv := newRawServer(t, func(c net.Conn) {
			if _, err := acceptUpgrade(c, strings.Repeat(pad, 60)); err != nil {
				return
			}
			c.Write(wsMessage(hello))
			untilClosed(c)
		})
		if _, err := dialWithin(wait, srv.URL); err != nil {
			t.Fatalf("Dial: %v", err)
		}
	})
}

// Dial returns soon after its context ends, and Close soon after it is
// called, even while the server holds the HTTP upgrade unanswered.
func TestDialAndCloseDuringSilentUpgrade(t *testing.T) {
	srv := newRawServer(t, untilClosed)
	const ctxTime = 300 * time.Millisecond
	took, err := dialWithin(ctxTime, srv.URL)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial: %v", err)
	}
	// The handshake timeout (10 s by default) used to bound it.
	if took > ctxTime+time.Second {
		t.Fatalf("Dial returned %s after its context ended", took-ctxTime)
	}
	t.Logf("Dial returned %s after its context ended", (took - ctxTime).Round(time.Millisecond))

	c, err := sodp.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	srv.waitAccept(t) // the first from Dial, maybe
	srv.waitAccept(t)
	start := time.Now()
	c.Close()
	if took := time.Since(start); took > time.Second {
		t.Fatalf("Close took %s during the upgrade", took)
	} else {
		t.Logf("Close took %s during the upgrade", took.Round(time.Millisecond))
	}
}

// Close soon after it is called also when the attempt is given up while
// its connection is being opened: the connection that opens after that is
// closed at once, instead of waiting for the upgrade until the handshake
// timeout.
func TestCloseWhileConnectionOpens(t *testing.T) {
	srv := newRawServer(t, untilClosed)
	dialing := make(chan struct{})
	var once sync.Once
	d := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		once.Do(func() { close(dialing) })
		<-ctx.Done() // the connection comes back after the attempt was given up
		return c, nil
	}
	c, err := sodp.New(srv.URL, sodp.WithNetDialContext(d))
	if err != nil {
		t.Fatal(err)
	}
	<-dialing
	start := time.Now()
	c.Close()
	if took := time.Since(start); took > time.Second {
		t.Fatalf("Close took %s while the connection was being opened", took)
	}
}

// The handshake timeout is honoured on time, whether the server sends
// nothing after the upgrade or trickles its HELLO.
func TestHandshakeTimeoutOnTime(t *testing.T) {
	hello := wsMessage(frameBytes(t, wire.TypeHello, 0, map[string]any{"protocol": "sodp", "version": "1.0"}))
	const trickleGap = 100 * time.Millisecond
	scripts := map[string]func(c net.Conn){
		"silent": func(c net.Conn) {
			if _, err := acceptUpgrade(c, ""); err == nil {
				untilClosed(c)
			}
		},
		"trickle": func(c net.Conn) {
			if _, err := acceptUpgrade(c, ""); err != nil {
				return
			}
			for _, b := range hello[:len(hello)-1] {
				if _, err := c.Write([]byte{b}); err != nil {
					return
				}
				time.Sleep(trickleGap)
			}
			untilClosed(c)
		},
	}
	for name, script := range scripts {
		t.Run(name, func(t *testing.T) {
			// In a synctest bubble over an in-memory connection: the
			// handshake ends on the bubble's clock, at an exact time.
			synctest.Test(t, func(t *testing.T) {
				const hs = 500 * time.Millisecond
				ended := make(chan time.Duration, 8)
				srv := newPipeRawServer(t, func(c net.Conn) {
					start := time.Now()
					script(c)
					ended <- time.Since(start)
				})
				c, err := sodp.New(srv.URL, viaRawPipe(srv), sodp.WithHandshakeTimeout(hs), sodp.WithBackoff(time.Hour, time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				select {
				case took := <-ended:
					// It used to be checked on the heartbeat ticker: up to
					// 6.25 s with the default heartbeat.
					if took > hs+time.Second {
						t.Fatalf("the handshake was given up after %s (timeout %s)", took, hs)
					}
					// The silent server sees the close at once; the
					// trickling one when its next byte fails.
					if took < hs || (name == "silent" && took != hs) || took > hs+trickleGap {
						t.Fatalf("the handshake was given up after %s, its timeout is %s", took, hs)
					}
				case <-time.After(wait):
					t.Fatal("the handshake was never given up")
				}
			})
		})
	}
}

// AUTH_OK is the answer to AUTH: without a HELLO asking for a token it
// is a protocol error and the session does not go live.
func TestAuthOKWithoutHello(t *testing.T) {
	var authOK []byte
	srv := newRawServer(t, func(c net.Conn) {
		if _, err := acceptUpgrade(c, ""); err != nil {
			return
		}
		c.Write(wsMessage(authOK))
		untilClosed(c)
	})
	authOK = frameBytes(t, wire.TypeAuthOK, 0, map[string]any{"sub": "mallory"})
	_, err := dialWithin(time.Second, srv.URL, sodp.WithBackoff(time.Hour, time.Hour))
	if err == nil || !errors.Is(err, sodp.ErrProtocol) {
		t.Fatalf("Dial: %v, want a protocol error", err)
	}
}

// readClientMessage reads one (masked) message from the client.
func readClientMessage(br *bufio.Reader) ([]byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	var mask [4]byte
	if h[1]&0x80 != 0 {
		if _, err := io.ReadFull(br, mask[:]); err != nil {
			return nil, err
		}
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(br, p); err != nil {
		return nil, err
	}
	for i := range p {
		p[i] ^= mask[i%4]
	}
	return p, nil
}

// serveFrames answers the upgrade, sends HELLO and hands every frame the
// client sends to onFrame, which answers through send.
func serveFrames(t testing.TB, onFrame func(f wire.Frame, send func([]byte))) *rawServer {
	hello := frameBytes(t, wire.TypeHello, 0, map[string]any{"protocol": "sodp", "version": "1.0"})
	return newRawServer(t, func(c net.Conn) {
		br, err := acceptUpgrade(c, "")
		if err != nil {
			return
		}
		var mu sync.Mutex
		send := func(b []byte) {
			mu.Lock()
			defer mu.Unlock()
			c.Write(wsMessage(b))
		}
		send(hello)
		for {
			p, err := readClientMessage(br)
			if err != nil {
				return
			}
			if f, err := wire.Decode(p); err == nil {
				onFrame(f, send)
			}
		}
	})
}

// A STATE_INIT the client cannot decode is answered by watching the key
// again, but with back-off, not in a tight loop.
func TestUndecodableStateInitBacksOff(t *testing.T) {
	const min = 50 * time.Millisecond
	var mu sync.Mutex
	var watches []time.Time
	sixth := make(chan struct{})
	srv := serveFrames(t, func(f wire.Frame, send func([]byte)) {
		if f.Type != wire.TypeWatch {
			return
		}
		mu.Lock()
		watches = append(watches, time.Now())
		if len(watches) == 6 {
			close(sixth)
		}
		mu.Unlock()
		send(frameBytes(t, wire.TypeStateInit, f.Stream, map[string]any{"state": "k", "version": "not a number", "value": 1}))
	})
	c := dial(t, srv.URL, sodp.WithBackoff(min, 8*min))
	sub := watch[int](t, c, "k")
	select {
	case <-sixth:
	case <-time.After(2 * wait):
		t.Fatal("the key was not watched again")
	}
	mu.Lock()
	took := watches[5].Sub(watches[0])
	mu.Unlock()
	// Waits of 0, min, 2min, 4min and 8min at least.
	if took < 15*min {
		t.Fatalf("6 WATCHes in %s, want at least %s between the first and the sixth", took, 15*min)
	}
	t.Logf("6 WATCHes in %s", took.Round(time.Millisecond))
	// The client watched again after handling each of the first five
	// answers, over more than 15*min: an update any of them gave the
	// reader is in the channel by now.
	select {
	case u, ok := <-sub.Updates():
		if ok {
			t.Fatalf("unexpected update %+v", u)
		}
	default:
	}
}

// streamOf returns the stream id of the client's latest WATCH of key.
func streamOf(conn *sodptest.Conn, key string) uint32 {
	var id uint32
	for _, f := range conn.Received() {
		if f.Name == "WATCH" && f.Body["state"] == key {
			id = f.Stream
		}
	}
	return id
}

// A STATE_INIT naming another key on a watched key's stream does not take
// the stream over: the key's own keyless DELTAs still reach it.
func TestStateInitOnAnotherKeysStream(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			srv.Set("a", 0)
			c := dial(t, srv.URL)
			a := watch[int](t, c, "a")
			next(t, a)
			conn := srv.Conns()[0]
			streamA := streamOf(conn, "a")
			conn.Send(0x03, streamA, map[string]any{"state": "intruder", "version": 1, "value": 1})
			_, va, _ := srv.Get("a")
			conn.Send(0x04, streamA, map[string]any{"version": va + 1, "ops": []any{map[string]any{"op": "UPDATE", "path": "/", "value": 7}}})
			if u := next(t, a); u.Value != 7 || u.Version != va+1 {
				t.Fatalf("a update %+v", u)
			}
		})
	}
}

// A DELTA without a body on a key's stream re-synchronises the key.
func TestNilDeltaResyncs(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			srv.Set("a", 1)
			c := dial(t, srv.URL)
			a := watch[int](t, c, "a")
			next(t, a)
			conn := srv.Conns()[0]
			conn.Send(0x04, streamOf(conn, "a"), nil)
			eventually(t, "the key is watched again", func() bool {
				n := 0
				for _, f := range conn.Received() {
					if f.Name == "WATCH" && f.Body["state"] == "a" {
						n++
					}
				}
				return n == 2
			})
		})
	}
}

// An ERROR or a failed RESULT with a mistyped field still reaches the
// waiting call with what could be read.
func TestMistypedErrorFieldsReachTheCall(t *testing.T) {
	answers := map[string]func(callID string) []byte{
		"RESULT": func(id string) []byte {
			return frameBytes(t, wire.TypeResult, 0, map[string]any{"call_id": id, "success": false, "code": "403", "message": 12345})
		},
		"ERROR": func(string) []byte {
			return frameBytes(t, wire.TypeError, 0, map[string]any{"code": "403", "message": 12345})
		},
	}
	for name, answer := range answers {
		t.Run(name, func(t *testing.T) {
			srv := serveFrames(t, func(f wire.Frame, send func([]byte)) {
				if call, ok := f.Body.(*wire.Call); ok {
					send(answer(call.CallID))
				}
			})
			c := dial(t, srv.URL)
			events := collectEvents(c)
			_, err := c.Call(ctxT(t), "state.set", map[string]any{"state": "k", "value": 1})
			var se *sodp.ServerError
			if !errors.As(err, &se) || se.Code != 403 || se.Message != "12345" || !errors.Is(err, sodp.ErrForbidden) {
				t.Fatalf("Call: %v, want the server's 403", err)
			}
			eventually(t, "a protocol error reported for the mistyped fields", func() bool {
				for _, ev := range events.snapshot() {
					if errors.Is(ev.Err, sodp.ErrProtocol) {
						return true
					}
				}
				return false
			})
		})
	}
}

// However many distinct codes a server sends, ErrorsByCode stays small.
func TestErrorsByCodeBounded(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	conn := srv.Conns()[0]
	const n = 2000
	for i := range n {
		conn.Send(0x07, 0, map[string]any{"code": 1000 + i, "message": "odd"})
		if i%200 == 199 { // within the server's queue limit
			eventually(t, "errors counted", func() bool { return c.Stats().Errors == uint64(i+1) })
		}
	}
	conn.Send(0x07, 0, map[string]any{"code": 403, "message": "forbidden"})
	eventually(t, "errors counted", func() bool { return c.Stats().Errors == n+1 })
	by := c.Stats().ErrorsByCode
	if len(by) != 2 || by[sodp.OtherErrorCode] != n || by[403] != 1 {
		t.Fatalf("ErrorsByCode has %d entries: 403: %d, other: %d", len(by), by[403], by[sodp.OtherErrorCode])
	}
}

// A buffered subscription that falls behind delivers what it had
// buffered, ends with ErrSlowConsumer and is released: the key is
// unwatched, Stats no longer counts it, and a later subscription of the
// key unwatches it when it closes.
func TestSlowConsumerReleased(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			srv.Set("n", 0)
			c := dial(t, srv.URL)
			const buf = 3
			sub := watch[int](t, c, "n", sodp.WithBuffer(buf))
			first := next(t, sub) // the pump now waits to hand over the next one
			var versions []uint64
			for i := 1; i <= 10; i++ {
				versions = append(versions, srv.Set("n", i))
			}
			// Released while the reader is not reading.
			eventually(t, "the slow subscription released", func() bool { return c.Stats().Subscriptions == 0 })
			var got []uint64
			for u := range sub.Updates() {
				got = append(got, u.Version)
			}
			if !errors.Is(sub.Err(), sodp.ErrSlowConsumer) {
				t.Fatalf("Err = %v", sub.Err())
			}
			// buf updates were buffered, and one more may have been with
			// the goroutine handing them over.
			if n := len(got); n < buf || n > buf+1 || fmt.Sprint(got) != fmt.Sprint(versions[:n]) {
				t.Fatalf("delivered %v after %d, want the first %d or %d of %v", got, first.Version, buf, buf+1, versions)
			}
			conn := srv.Conns()[0]
			unwatches := func() int {
				n := 0
				for _, f := range conn.Received() {
					if f.Name == "UNWATCH" {
						n++
					}
				}
				return n
			}
			eventually(t, "the key unwatched", func() bool { return unwatches() == 1 })
			if st := c.Stats(); st.Subscriptions != 0 || st.WatchedKeys != 0 {
				t.Fatalf("%d subscriptions, %d keys after the slow one ended", st.Subscriptions, st.WatchedKeys)
			}
			again := watch[int](t, c, "n")
			next(t, again)
			again.Close()
			eventually(t, "the key unwatched again", func() bool { return unwatches() == 2 })
		})
	}
}

// An update whose value does not convert carries the zero T, not a value
// converted in part.
func TestConversionErrorGivesZeroValue(t *testing.T) {
	type pair struct {
		A int
		B int
	}
	srv := newServer(t)
	srv.Set("p", map[string]any{"A": 1, "B": "not a number"})
	c := dial(t, srv.URL)
	sub := watch[pair](t, c, "p")
	u := next(t, sub)
	if u.Err == nil || u.Value != (pair{}) {
		t.Fatalf("update %+v, want an error and the zero value", u)
	}
}

// heapInUse returns the live heap after a collection.
func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// A DELTA whose path runs through nothing for many segments does not
// make the client build an object per segment: a path deeper than 512
// segments, or one that would create more objects than the frame's size
// allows, does not apply, and the key is re-synchronised.
func TestDeepDeltaPathsBounded(t *testing.T) {
	srv := newServer(t)
	srv.Set("k", map[string]any{})
	c := dial(t, srv.URL)
	k := watch[any](t, c, "k")
	next(t, k)
	conn := srv.Conns()[0]
	watches := func() int {
		n := 0
		for _, f := range conn.Received() {
			if f.Name == "WATCH" && f.Body["state"] == "k" {
				n++
			}
		}
		return n
	}
	cases := []struct {
		name string
		segs int
	}{
		{"deeper than 512", 200_000},
		{"more objects than the frame allows", 500},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := "/x" + strings.Repeat("/a", tc.segs-1)
			_, v, _ := srv.Get("k")
			body := map[string]any{"version": v + 1, "ops": []any{map[string]any{"op": "ADD", "path": path, "value": 1}}}
			size := len(frameBytes(t, wire.TypeDelta, streamOf(conn, "k"), body))
			before := heapInUse()
			applyErrors := c.Stats().ApplyErrors
			conn.Send(0x04, streamOf(conn, "k"), body)
			eventually(t, "the delta refused", func() bool { return c.Stats().ApplyErrors == applyErrors+1 })
			eventually(t, "the key watched again", func() bool { return watches() == i+2 })
			// Live again: a change reaches the subscription.
			srv.Set("k", map[string]any{"n": i})
			nextUntil(t, k, func(u sodp.Update[any]) bool {
				m, _ := u.Value.(map[string]any)
				return m != nil && fmt.Sprint(m["n"]) == fmt.Sprint(i)
			})
			after := heapInUse()
			grew := int64(after) - int64(before)
			// 32 KiB of slack for what the rest of the process allocates.
			if grew > int64(16*size+32<<10) {
				t.Fatalf("the heap grew by %d bytes for a %d-byte frame", grew, size)
			}
			t.Logf("%d-byte frame: heap grew by %d bytes", size, grew)
		})
	}
}

// The scripted server forgets a connection once its script has ended, so
// a long fuzz run does not keep every connection it served.
func TestRawServerForgetsEndedConnections(t *testing.T) {
	srv := newRawServer(t, func(c net.Conn) {})
	addr := strings.TrimSuffix(strings.TrimPrefix(srv.URL, "ws://"), "/")
	for range 20 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		srv.waitAccept(t)
		c.Close()
	}
	eventually(t, "every ended connection forgotten", func() bool {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return len(srv.conns) == 0
	})
}
