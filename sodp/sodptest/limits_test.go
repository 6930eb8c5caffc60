package sodptest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sodp-go/client/internal/wire"
	"github.com/sodp-go/client/sodp"
)

func TestSendBufferByDialect(t *testing.T) {
	forDialects(t, func(t *testing.T, d sodp.Dialect) {
		const buf = 40
		srv := newServer(t, WithDialect(d), WithSendBuffer(buf))
		c := dial(t, srv)
		if d == sodp.DialectGo {
			caps, _ := c.hello.body()["capabilities"].(map[string]any)
			if bp, _ := caps["backpressure"].(int64); bp != buf {
				t.Fatalf("HELLO backpressure %v, want %d", caps["backpressure"], buf)
			}
		}
		c.watch(10, "k")
		c.expect(wire.TypeStateInit)
		conn := connOf(t, srv)
		conn.Pause()
		const writes = buf + 10
		for i := range writes {
			srv.Set("k", i)
		}
		st := srv.Stats()
		switch d {
		case sodp.DialectSpec, sodp.DialectRust:
			c.expectAbruptClose()
			if st.Evictions != 1 || st.Dropped != 0 {
				t.Fatalf("Evictions %d, Dropped %d", st.Evictions, st.Dropped)
			}
		case sodp.DialectGo:
			if st.Dropped != writes-buf || st.Evictions != 0 {
				t.Fatalf("Dropped %d, Evictions %d", st.Dropped, st.Evictions)
			}
			// Even answers are dropped while the buffer is full.
			c.watch(11, "other")
			deadline := time.Now().Add(waitTimeout)
			for srv.Stats().Dropped != writes-buf+1 {
				if time.Now().After(deadline) {
					t.Fatalf("Dropped %d after a WATCH, want %d", srv.Stats().Dropped, writes-buf+1)
				}
				time.Sleep(time.Millisecond)
			}
		case sodp.DialectTS:
			if q := conn.Queued(); q != writes || st.Dropped+st.Evictions != 0 {
				t.Fatalf("queued %d, stats %+v", q, st)
			}
		}
	})
}

func TestGoSendBufferDefault(t *testing.T) {
	srv := newServer(t, WithDialect(sodp.DialectGo))
	c := dial(t, srv)
	caps, _ := c.hello.body()["capabilities"].(map[string]any)
	if bp, _ := caps["backpressure"].(int64); bp != goSendBuffer {
		t.Fatalf("HELLO backpressure %v, want %d", caps["backpressure"], goSendBuffer)
	}
}

func TestMaxWatches(t *testing.T) {
	forDialects(t, func(t *testing.T, d sodp.Dialect) {
		srv := newServer(t, WithDialect(d), WithMaxWatches(2))
		c := dial(t, srv)
		caps, _ := c.hello.body()["capabilities"].(map[string]any)
		if mw, ok := caps["max_watches"].(int64); (d == sodp.DialectGo) != ok || ok && mw != 2 {
			t.Fatalf("HELLO max_watches %v", caps["max_watches"])
		}
		// A multi-key WATCH past the limit: the third key is refused and
		// the fourth dropped without an answer.
		c.send(wire.TypeWatch, 10, &wire.Watch{States: []string{"a", "b", "c", "d"}})
		c.expect(wire.TypeStateInit)
		c.expect(wire.TypeStateInit)
		e := c.expectError(errStreamFor(d, 10), 429)
		if e.Message != "watch limit reached" {
			t.Fatalf("message %q", e.Message)
		}
		c.send(wire.TypeResume, 20, &wire.Resume{State: "e", SinceVersion: 1})
		c.expectError(errStreamFor(d, 20), 429)
		if st := srv.Stats(); st.WatchLimited != 2 || st.Subscriptions != 2 {
			t.Fatalf("stats %+v", st)
		}
		// UNWATCH frees a slot.
		c.send(wire.TypeUnwatch, 0, &wire.Unwatch{State: "a"})
		c.watch(30, "e")
		c.expect(wire.TypeStateInit)
	})
}

// The inbound limit applies only to what a client sends: a value grown
// past it (and past a client's 1 MiB) by writes that each fit goes out
// whole, in a STATE_INIT to a new watcher and in a DELTA to a live one,
// and the writer's connection stays open.
func TestValuesGrowPastTheInboundLimit(t *testing.T) {
	forDialects(t, func(t *testing.T, d sodp.Dialect) {
		srv := newServer(t, WithDialect(d))
		const chunk = 60_000 // under the Go dialect's 64 KiB
		w := dial(t, srv)
		live := dial(t, srv)
		live.watch(10, "big")
		live.expect(wire.TypeStateInit)
		pad := strings.Repeat("x", chunk)
		const writes = 20
		for i := range writes {
			path := fmt.Sprintf("/p%d", i)
			if d == sodp.DialectGo {
				path = path[1:] // that server takes dotted paths
			}
			w.callOK("state.set_in", map[string]any{"state": "big", "path": path, "value": pad})
			if r := live.expect(wire.TypeDelta); len(r.raw) > 2*chunk {
				t.Fatalf("DELTA of set_in %d is %d bytes", i, len(r.raw))
			}
		}
		value, _, _ := srv.Get("big")
		if m, _ := value.(map[string]any); len(m) != writes {
			t.Fatalf("server holds %d fields, want %d", len(m), writes)
		}
		fresh := dial(t, srv)
		fresh.watch(10, "big")
		r := fresh.expect(wire.TypeStateInit)
		if len(r.raw) <= writes*chunk || len(r.raw) <= 1<<20 {
			t.Fatalf("STATE_INIT is %d bytes, want the whole value, over 1 MiB", len(r.raw))
		}
		if m, _ := r.f.Body.(*wire.StateInit).Value.(map[string]any); len(m) != writes {
			t.Fatalf("STATE_INIT holds %d fields", len(m))
		}
		// A server-side replacement of the whole value: one DELTA as large.
		repl := map[string]any{}
		for i := range writes {
			repl[fmt.Sprintf("p%d", i)] = strings.Repeat("y", chunk)
		}
		srv.Set("big", repl)
		if r := live.expect(wire.TypeDelta); len(r.raw) <= 1<<20 {
			t.Fatalf("DELTA replacing the value is %d bytes, want over 1 MiB", len(r.raw))
		}
		w.expectNothing() // the writer's connection is still open and answering
	})
}
