package sodp_test

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sodp-go/client/internal/wire"
	"github.com/sodp-go/client/sodp"
)

// fuzzHello is the HELLO the fuzz server sends when the input does not
// supply its own.
var fuzzHello = func() []byte {
	b, err := wire.Encode(nil, wire.Frame{Type: wire.TypeHello, Body: &wire.Hello{Protocol: "sodp", Version: "1.0"}})
	if err != nil {
		panic(err)
	}
	return b
}()

// splitFuzzInput reads a fuzz input: the first byte says whether the first
// message is the HELLO itself (bit 0), then come messages, each a
// big-endian uint16 length and that many bytes (a last one cut short
// takes what is left).
func splitFuzzInput(data []byte) (ownHello bool, msgs [][]byte) {
	if len(data) == 0 {
		return false, nil
	}
	ownHello = data[0]&1 == 1
	data = data[1:]
	for len(data) > 0 {
		if len(data) < 2 {
			msgs = append(msgs, data)
			break
		}
		n := int(binary.BigEndian.Uint16(data))
		data = data[2:]
		n = min(n, len(data))
		msgs = append(msgs, data[:n])
		data = data[n:]
	}
	return ownHello, msgs
}

// joinFuzzInput builds a fuzz input (the inverse of splitFuzzInput).
func joinFuzzInput(ownHello bool, msgs ...[]byte) []byte {
	b := []byte{0}
	if ownHello {
		b[0] = 1
	}
	for _, m := range msgs {
		b = binary.BigEndian.AppendUint16(b, uint16(len(m)))
		b = append(b, m...)
	}
	return b
}

// fuzzServer serves, on the first connection of each client, the fuzz
// input's messages as server frames: before its HELLO when the input
// supplies the HELLO, else right after the STATE_INIT that answers the
// first WATCH. Otherwise, and on every later connection, it behaves:
// HELLO, STATE_INIT for a WATCH or RESUME, a successful RESULT for a
// CALL, AUTH_OK for AUTH, HEARTBEAT echoed.
type fuzzServer struct {
	*rawServer
	mu     sync.Mutex
	inputs map[string][]byte // by URL path; deleted once served
}

func newFuzzServer(t testing.TB) *fuzzServer {
	fs := &fuzzServer{inputs: make(map[string][]byte)}
	fs.rawServer = newRawServer(t, fs.serve)
	return fs
}

func (fs *fuzzServer) serve(c net.Conn) {
	br, accept, err := readUpgradePath(c)
	if err != nil {
		return
	}
	fs.mu.Lock()
	input, hostile := fs.inputs[br.path]
	delete(fs.inputs, br.path)
	fs.mu.Unlock()
	if _, err := c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n\r\n")); err != nil {
		return
	}
	var wmu sync.Mutex
	send := func(b []byte) {
		wmu.Lock()
		defer wmu.Unlock()
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		c.Write(wsMessage(b))
	}
	ownHello, msgs := splitFuzzInput(input)
	sendFuzz := func() {
		for _, m := range msgs {
			send(m)
		}
		msgs = nil
	}
	if hostile && ownHello {
		// The input's first message stands for the HELLO; a real one
		// follows in case it was not one.
		sendFuzz()
	}
	send(fuzzHello)
	for {
		p, err := readClientMessage(br.Reader)
		if err != nil {
			return
		}
		f, err := wire.Decode(p)
		if err != nil {
			continue
		}
		answer := func(typ wire.Type, stream uint32, body any) {
			b, err := wire.Encode(nil, wire.Frame{Type: typ, Stream: stream, Body: body})
			if err == nil {
				send(b)
			}
		}
		switch b := f.Body.(type) {
		case *wire.Watch:
			for _, k := range append(b.States, b.State) {
				if k != "" {
					answer(wire.TypeStateInit, f.Stream, &wire.StateInit{State: k, Version: 1, Value: map[string]any{"n": int64(1)}, Initialized: true})
				}
			}
			// The input follows the key's first value, so its frames meet
			// a live key; the answers to later requests follow them.
			sendFuzz()
		case *wire.Resume:
			answer(wire.TypeStateInit, f.Stream, &wire.StateInit{State: b.State, Version: 1, Value: map[string]any{"n": int64(1)}, Initialized: true})
		case *wire.Call:
			answer(wire.TypeResult, 0, &wire.Result{CallID: b.CallID, Success: true, Data: map[string]any{"version": int64(2)}})
		case *wire.Auth:
			answer(wire.TypeAuthOK, 0, &wire.AuthOK{Sub: "fuzz"})
		case nil:
			if f.Type == wire.TypeHeartbeat {
				answer(wire.TypeHeartbeat, 0, nil)
			}
		}
	}
}

// upgradeRequest is a client's upgrade request, read.
type upgradeRequest struct {
	*bufio.Reader
	path string
}

// readUpgradePath reads the upgrade request and returns the reader, the
// request's path and the Sec-WebSocket-Accept value.
func readUpgradePath(c net.Conn) (upgradeRequest, string, error) {
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return upgradeRequest{}, "", err
	}
	h := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return upgradeRequest{Reader: br, path: req.URL.Path}, base64.StdEncoding.EncodeToString(h[:]), nil
}

// FuzzClient feeds arbitrary bytes to a live client as server frames
// (after a HELLO, or as the HELLO itself), then checks that the client
// did not panic, that its heap stayed bounded, and that it still serves
// calls, on the same connection or after reconnecting, unless the input
// made it fail for a reason that ends a session (a token refused).
// fuzzTyped is what FuzzClient's typed subscription converts the value
// into.
type fuzzTyped struct {
	M int64   `msgpack:"m"`
	L []int64 `msgpack:"l"`
}

func FuzzClient(f *testing.F) {
	enc := func(typ wire.Type, stream uint32, body any) []byte {
		raw, err := wire.AppendValue(nil, body)
		if err != nil {
			f.Fatal(err)
		}
		b, err := wire.Encode(nil, wire.Frame{Type: typ, Stream: stream, Body: wire.Raw(raw)})
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	op := func(o, path string, v any) map[string]any { return map[string]any{"op": o, "path": path, "value": v} }
	f.Add(joinFuzzInput(false))
	f.Add(joinFuzzInput(false, enc(wire.TypeDelta, 10, map[string]any{"version": 2, "ops": []any{op("ADD", "/m", 5)}})))
	f.Add(joinFuzzInput(false,
		enc(wire.TypeStateInit, 10, map[string]any{"state": "k", "version": 3, "value": []any{1, 2}}),
		enc(wire.TypeDelta, 10, map[string]any{"version": 4, "ops": []any{op("ADD", "/-", 3), op("REMOVE", "/0", nil)}}),
		enc(wire.TypeDelta, 10, map[string]any{"version": 4, "ops": []any{op("UPDATE", "/9", 3)}})))
	f.Add(joinFuzzInput(false, enc(wire.TypeDelta, 10, map[string]any{"version": 2, "ops": []any{op("ADD", strings.Repeat("/a", 600), 1)}})))
	f.Add(joinFuzzInput(false, enc(wire.TypeError, 0, map[string]any{"code": "403", "message": 12345}),
		enc(wire.TypeError, 10, map[string]any{"code": 429, "message": "slow down k"})))
	f.Add(joinFuzzInput(false, enc(wire.TypeResult, 0, map[string]any{"call_id": "x", "success": false, "code": 500})))
	f.Add(joinFuzzInput(false, enc(wire.TypeStateInit, 11, map[string]any{"state": "other", "version": 1, "value": 1}),
		enc(wire.TypeDelta, 10, nil), enc(wire.TypeStateInit, 10, nil)))
	f.Add(joinFuzzInput(false, enc(wire.TypeHeartbeat, 0, nil), enc(0x20, 0, map[string]any{}), []byte{0xc1}, []byte{0x94, 0x04}))
	f.Add(joinFuzzInput(true, enc(wire.TypeHello, 0, map[string]any{"protocol": "sodp", "version": "1.0", "auth": true})))
	f.Add(joinFuzzInput(true, enc(wire.TypeAuthOK, 0, map[string]any{"sub": "x"})))
	f.Add(joinFuzzInput(true, []byte("not a frame")))

	fs := newFuzzServer(f)
	var iteration atomic.Uint64
	f.Fuzz(func(t *testing.T, data []byte) {
		path := fmt.Sprintf("/i%d", iteration.Add(1))
		fs.mu.Lock()
		fs.inputs[path] = data
		fs.mu.Unlock()
		c, err := sodp.New(fs.URL[:len(fs.URL)-1]+path, sodp.WithToken("token"),
			sodp.WithBackoff(time.Millisecond, 5*time.Millisecond), sodp.WithHandshakeTimeout(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		sub, err := sodp.Watch[any](ctx, c, "k", sodp.WithBuffer(4))
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		go func() {
			for range sub.Updates() {
			}
		}()
		// A buffered typed subscription of a type holding no interface
		// keeps its own copy of the value and applies the deltas to it.
		typed, err := sodp.Watch[fuzzTyped](ctx, c, "k", sodp.WithBuffer(4))
		if err != nil {
			t.Fatal(err)
		}
		defer typed.Close()
		go func() {
			for range typed.Updates() {
			}
		}()
		var callErr error
		for {
			cctx, ccancel := context.WithTimeout(ctx, time.Second)
			_, callErr = c.Call(cctx, "state.set", map[string]any{"state": "k", "value": 1})
			ccancel()
			if callErr == nil || ctx.Err() != nil {
				break
			}
			if c.State() == sodp.StateFailed {
				if errors.Is(callErr, sodp.ErrUnauthorized) {
					return // a refused token ends the session
				}
				t.Fatalf("the client failed: %v", callErr)
			}
		}
		if callErr != nil {
			t.Fatalf("the client does not serve calls any more: %v (state %v)", callErr, c.State())
		}
		// What the process retains: the heap in use counts garbage not
		// yet collected too, so a high reading is checked after a GC.
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if m.HeapInuse > 512<<20 {
			runtime.GC()
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > 512<<20 {
				t.Fatalf("heap retained %d MiB", m.HeapAlloc>>20)
			}
		}
	})
}
