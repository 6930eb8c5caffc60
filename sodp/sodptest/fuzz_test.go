package sodptest

import (
	"testing"

	"github.com/sodp-go/client/internal/delta"
	"github.com/sodp-go/client/internal/wire"

	"github.com/sodp-go/client/sodp"
)

// FuzzServerFrame sends arbitrary bytes as one message to live servers of
// the dialects that survive every input (the TypeScript dialect drops all
// connections on a nil-body WATCH by design) and checks that each still
// answers a WATCH on the same connection afterwards.
func FuzzServerFrame(f *testing.F) {
	seeds := []wire.Frame{
		{Type: wire.TypeHeartbeat},
		{Type: wire.TypeWatch, Stream: 10, Body: &wire.Watch{State: "a.b", Params: map[string]any{"x": 1}}},
		{Type: wire.TypeWatch, Stream: 10, Body: &wire.Watch{States: []string{"a", "bad key", "c"}}},
		{Type: wire.TypeWatch, Stream: 10},
		{Type: wire.TypeResume, Stream: 11, Body: &wire.Resume{State: "a", SinceVersion: 3}},
		{Type: wire.TypeUnwatch, Stream: 11, Body: &wire.Unwatch{States: []string{"a"}}},
		{Type: wire.TypeUnwatch},
		{Type: wire.TypeAuth, Body: &wire.Auth{Token: "x.y.z"}},
		{Type: wire.TypeCall, Body: &wire.Call{CallID: "1", Method: "state.set", Args: map[string]any{"state": "a", "value": []any{1, "x"}}}},
		{Type: wire.TypeCall, Body: &wire.Call{CallID: "2", Method: "state.patch", Args: map[string]any{"state": "a", "patch": map[string]any{"k": nil}}}},
		{Type: wire.TypeCall, Body: &wire.Call{CallID: "3", Method: "state.set_in", Args: map[string]any{"state": "a", "path": "/x/-/~1", "value": 1}}},
		{Type: wire.TypeCall, Body: &wire.Call{CallID: "4", Method: "state.presence", Args: map[string]any{"state": "a", "path": "/p", "value": 1}}},
		{Type: wire.TypeCall, Body: &wire.Call{CallID: "5", Method: "state.append", Args: map[string]any{"state": "a", "value": 1}}},
		{Type: wire.TypeCall, Body: &wire.Call{CallID: "6", Method: "state.delete", Args: map[string]any{"state": "a"}}},
		{Type: wire.TypeDelta, Body: &wire.Delta{Version: 1, Ops: []delta.Op{{Op: "ADD", Path: "/", Value: 1}}}},
		{Type: 0x40, Stream: 3, Body: map[string]any{"z": 1}},
	}
	for _, s := range seeds {
		b, err := wire.Encode(nil, s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0xc1})
	f.Add([]byte{0x94, 0x02, 0x00, 0x01, 0xdf, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x94, 0x05, 0x00, 0x01, 0x81, 0xa4, 'a', 'r', 'g', 's', 0x81, 0xc0, 0x01})

	// A RESUME with since_version 0 of a key with a full log (which the
	// servers build up over a long run) is answered by a 1,000-DELTA
	// replay. The queue bounds (Go drops past 256 frames, spec and Rust
	// evict past 1,024) have their own tests; here the queue is large
	// enough for a replay and the barrier's answer, so the check is about
	// how the server handles the frame. The servers start with that full
	// log, so the seeds meet it from the first iteration.
	f.Add([]byte("\x94\n00\x82\xa5state\xa1a00"))
	var servers []*Server
	for _, d := range []sodp.Dialect{sodp.DialectSpec, sodp.DialectGo, sodp.DialectRust} {
		srv := NewServer(WithDialect(d), WithSendBuffer(4096))
		f.Cleanup(srv.Close)
		for i := range 1000 {
			srv.Set("a", i)
		}
		servers = append(servers, srv)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 60<<10 {
			t.Skip("over the smallest message limit")
		}
		for _, srv := range servers {
			c := dial(t, srv)
			c.sendRaw(data)
			c.barrier()
			c.close()
		}
	})
}
