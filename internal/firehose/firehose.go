// Package firehose is a minimal SODP server for benchmarks: HELLO, one
// STATE_INIT (version 1) for the first WATCH of a connection, then DELTA
// frames of one UPDATE op each, as fast as the socket takes them. Frames
// are encoded on the fly into a reused buffer and the op values are
// pre-boxed, so the server allocates nothing per frame and a profile or an
// allocation count shows the readers alone. With Batch > 1 frames are
// framed by hand and written Batch at a time, so one write system call
// carries many frames and the server stays cheaper than any reader.
//
// The examples/bench program and the sodp package's benchmarks share it.
package firehose

import (
	"encoding/binary"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/gorilla/websocket"

	"github.com/sodp-go/client/internal/delta"
	"github.com/sodp-go/client/internal/wire"
)

// Shape is a value and the field its DELTAs update: Path, or, when Paths
// is set, Paths[version % len(Paths)]; the last DELTA of a stream of
// Options.Count updates Path.
type Shape struct {
	Initial map[string]any
	Path    string
	Paths   []string
}

// Options shape the stream of every connection.
type Options struct {
	// Batch is the number of frames per write; 0 or 1 writes each frame
	// as one WebSocket message.
	Batch int
	// Window, when > 0, runs a closed loop: each connection stays at most
	// Window frames ahead of the consumption of the reader registered
	// (with Reader) for its key.
	Window int
	// Count, when > 0, is the number of DELTAs per connection (versions 2
	// to Count+1); 0 streams until Halt or Close.
	Count int
}

// Acks is a closed-loop reader's consumption: N counts the frames it took
// (the STATE_INIT included), and the reader sends on Kick (capacity 1,
// without blocking) every so often, so that a stream waiting for room
// wakes up.
type Acks struct {
	N    *atomic.Uint64
	Kick <-chan struct{}
}

// Server is a running firehose.
type Server struct {
	// URL is the server's address, "ws://127.0.0.1:PORT".
	URL string

	shape Shape
	opts  Options

	readersMu sync.Mutex
	readers   map[string]Acks // closed loop: key → the consumption of the reader watching it

	hs        *http.Server
	up        websocket.Upgrader
	serveDone chan struct{}

	gate     chan struct{} // closed by Release: streaming begins
	gateOnce sync.Once
	halt     chan struct{} // closed by Halt: streaming ends
	haltOnce sync.Once

	mu     sync.Mutex
	conns  map[*websocket.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// Start starts a server on a free loopback port streaming sh. Until
// Release, a connection stops after its STATE_INIT, so that setting up
// many readers does not compete with the streams of the first ones.
func Start(sh Shape, o Options) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &Server{
		URL:       "ws://" + ln.Addr().String(),
		shape:     sh,
		opts:      o,
		readers:   map[string]Acks{},
		serveDone: make(chan struct{}),
		gate:      make(chan struct{}),
		halt:      make(chan struct{}),
		conns:     map[*websocket.Conn]struct{}{},
		up:        websocket.Upgrader{WriteBufferSize: 64 << 10},
	}
	f.hs = &http.Server{Handler: http.HandlerFunc(f.handle), ErrorLog: log.New(io.Discard, "", 0)}
	go func() {
		defer close(f.serveDone)
		_ = f.hs.Serve(ln)
	}()
	return f, nil
}

// Reader registers acks as the consumption of whoever watches key, for the
// closed loop.
func (f *Server) Reader(key string, acks Acks) {
	f.readersMu.Lock()
	f.readers[key] = acks
	f.readersMu.Unlock()
}

// Release lets every connection, present and future, stream its DELTAs.
func (f *Server) Release() { f.gateOnce.Do(func() { close(f.gate) }) }

// Halt ends the streams (the connections stay open), so that tearing
// readers down does not compete with them.
func (f *Server) Halt() { f.haltOnce.Do(func() { close(f.halt) }) }

// Close stops the server and waits for every connection's goroutines.
func (f *Server) Close() {
	f.Release()
	f.Halt()
	_ = f.hs.Close()
	<-f.serveDone
	f.mu.Lock()
	f.closed = true
	for ws := range f.conns {
		ws.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

func (f *Server) handle(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		http.Error(w, "closed", http.StatusServiceUnavailable)
		return
	}
	f.wg.Add(1)
	f.mu.Unlock()
	defer f.wg.Done()
	ws, err := f.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		ws.Close()
		return
	}
	f.conns[ws] = struct{}{}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.conns, ws)
		f.mu.Unlock()
		ws.Close()
	}()
	_ = f.serve(ws)
}

func (f *Server) serve(ws *websocket.Conn) error {
	var seq uint64
	buf := make([]byte, 0, 4096)
	send := func(fr wire.Frame) error {
		seq++
		fr.Seq = seq
		var err error
		if buf, err = wire.Encode(buf[:0], fr); err != nil {
			return err
		}
		return ws.WriteMessage(websocket.BinaryMessage, buf)
	}
	if err := send(wire.Frame{Type: wire.TypeHello, Body: &wire.Hello{Protocol: "sodp", Version: "1.0"}}); err != nil {
		return err
	}
	var key string
	var stream uint32
	for key == "" {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return err
		}
		fr, err := wire.Decode(data)
		if err != nil {
			continue
		}
		if w, ok := fr.Body.(*wire.Watch); ok {
			key, stream = w.State, fr.Stream
			if key == "" && len(w.States) > 0 {
				key = w.States[0]
			}
		}
	}
	version := uint64(1)
	err := send(wire.Frame{Type: wire.TypeStateInit, Stream: stream,
		Body: &wire.StateInit{State: key, Version: version, Value: f.shape.Initial, Initialized: true}})
	if err != nil {
		return err
	}

	// From here on the socket is written without gorilla's framing, so
	// nothing else may write to it: pings and close frames from the client
	// are read and dropped.
	ws.SetPingHandler(func(string) error { return nil })
	ws.SetCloseHandler(func(int, string) error { return nil })
	nc := ws.NetConn()
	readDone := make(chan struct{})
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer close(readDone)
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				nc.Close()
				return
			}
		}
	}()
	select {
	case <-f.gate:
	case <-readDone:
		return nil
	}

	var acks Acks
	if f.opts.Window > 0 {
		f.readersMu.Lock()
		acks = f.readers[key]
		f.readersMu.Unlock()
		if acks.N == nil {
			return fmt.Errorf("closed loop: no reader registered for %s", key)
		}
	}
	// sent counts the frames of this key so far: the STATE_INIT and the
	// DELTAs, as the reader counts the updates it takes.
	sent := uint64(1)
	count := uint64(f.opts.Count)

	d := &wire.Delta{Ops: []delta.Op{{Op: delta.OpUpdate, Path: f.shape.Path}}, State: key}
	fr := wire.Frame{Type: wire.TypeDelta, Stream: stream, Body: d}
	next := func() {
		version++
		seq++
		sent++
		d.Version = version
		d.Ops[0].Value = opValues[version%uint64(len(opValues))]
		if p := f.shape.Paths; p != nil {
			d.Ops[0].Path = p[version%uint64(len(p))]
			if version == count+1 {
				d.Ops[0].Path = f.shape.Path
			}
		}
		fr.Seq = seq
		buf, _ = wire.Encode(buf[:0], fr)
	}
	// more reports whether the stream goes on: not halted, not past
	// Count, and, in the closed loop, once batch more frames keep it
	// within the window of the reader's consumption. When it ends it
	// waits for the client to go (or Close).
	batch := max(f.opts.Batch, 1)
	more := func() bool {
		if count > 0 && version > count {
			<-readDone
			return false
		}
		select {
		case <-f.halt:
			<-readDone
			return false
		default:
		}
		if acks.N == nil {
			return true
		}
		for sent+uint64(batch) > acks.N.Load()+uint64(f.opts.Window) {
			select {
			case <-acks.Kick:
			case <-f.halt:
				<-readDone
				return false
			case <-readDone:
				return false
			}
		}
		return true
	}
	if batch <= 1 {
		for more() {
			next()
			if err := ws.WriteMessage(websocket.BinaryMessage, buf); err != nil {
				return err
			}
		}
		return nil
	}
	out := make([]byte, 0, batch*64)
	for more() {
		out = out[:0]
		for range batch {
			if count > 0 && version > count {
				break
			}
			next()
			out = appendServerFrame(out, buf)
		}
		if _, err := nc.Write(out); err != nil {
			return err
		}
	}
	return nil
}

// opValues are pre-boxed op values, so that the server allocates nothing
// per frame.
var opValues = func() []any {
	v := make([]any, 1024)
	for i := range v {
		v[i] = int64(1000 + i)
	}
	return v
}()

// appendServerFrame appends an unmasked binary WebSocket frame (RFC 6455).
func appendServerFrame(dst, payload []byte) []byte {
	dst = append(dst, 0x82)
	switch n := len(payload); {
	case n < 126:
		dst = append(dst, byte(n))
	case n < 1<<16:
		dst = append(dst, 126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	default:
		dst = append(dst, 127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return append(dst, payload...)
}
