package sodptest

import (
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
