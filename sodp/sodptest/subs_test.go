package sodptest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/sodp-go/client/internal/delta"
	"github.com/sodp-go/client/internal/wire"

	"github.com/sodp-go/client/sodp"
)

func TestWatchAndDelta(t *testing.T) {
	forDialects(t, func(t *testing.T, d sodp.Dialect) {
		srv := newServer(t, WithDialect(d))
		c := dial(t, srv)
		c.send(wire.TypeWatch, 42, &wire.Watch{State: "game.score", Params: map[string]any{"x": int64(1)}})
		r := c.expect(wire.TypeStateInit)
		si := r.f.Body.(*wire.StateInit)
		wantStream := uint32(42)
		if d == sodp.DialectTS || d == sodp.DialectRust {
			wantStream = 10
		}
		if r.f.Stream != wantStream || si.State != "game.score" || si.Version != 0 || si.Initialized ||
			si.Value != nil || !deltaEqual(si.Params, map[string]any{"x": int64(1)}) {
			t.Fatalf("STATE_INIT stream %d %+v", r.f.Stream, si)
		}
		escaped := "/a~1b~0c"
		if d == sodp.DialectGo || d == sodp.DialectRust {
			escaped = "/a/b~c"
		}
		first := firstOp(d)
		steps := []struct {
			value any
			ops   string
		}{
			{map[string]any{"home": 1}, first + " / map[home:1]"},
			{map[string]any{"home": 2, "away": 1}, "ADD /away 1; UPDATE /home 2"},
			{map[string]any{"home": 2}, "REMOVE /away"},
			{map[string]any{"home": nil}, "UPDATE /home <nil>"},
			{map[string]any{"a/b~c": 1}, "ADD " + escaped + " 1; REMOVE /home"},
			{[]any{1, 2}, "UPDATE / [1 2]"},
		}
		seq := r.f.Seq
		for i, st := range steps {
			v := srv.Set("game.score", st.value)
			r := c.expect(wire.TypeDelta)
			dl := deltaOf(t, r)
			if got := opsString(dl.Ops); got != st.ops || dl.Version != v || r.f.Stream != wantStream {
				t.Errorf("step %d: DELTA v%d stream %d ops %q; want v%d stream %d ops %q",
					i, dl.Version, r.f.Stream, got, v, wantStream, st.ops)
			}
			if r.f.Seq != seq+1 {
				t.Errorf("step %d: seq %d after %d", i, r.f.Seq, seq)
			}
			seq = r.f.Seq
			body := r.body()
			_, hasState := body["state"]
			_, hasKey := body["key"]
			switch d {
			case sodp.DialectGo:
				if hasState || body["key"] != "game.score" {
					t.Errorf("Go DELTA body %v: want the key in \"key\"", body)
				}
			case sodp.DialectRust:
				if hasState || hasKey {
					t.Errorf("Rust DELTA body %v names its key", body)
				}
			default:
				if hasKey || body["state"] != "game.score" {
					t.Errorf("DELTA body %v: want the key in \"state\"", body)
				}
			}
			if i == 3 {
				op := body["ops"].([]any)[0].(map[string]any)
				_, hasValue := op["value"]
				if hasValue == (d == sodp.DialectGo) {
					t.Errorf("nil op value present=%v in %s", hasValue, d)
				}
			}
		}
		v := srv.Delete("game.score")
		if dl := deltaOf(t, c.next()); opsString(dl.Ops) != "REMOVE /" || dl.Version != v {
			t.Errorf("delete DELTA %+v", dl)
		}
		srv.Set("game.score", "again")
		if dl := deltaOf(t, c.next()); opsString(dl.Ops) != first+" / again" {
			t.Errorf("write after delete: %s", opsString(dl.Ops))
		}
		// A new watcher gets the current value.
		c2 := dial(t, srv)
		c2.watch(10, "game.score")
		si = c2.expect(wire.TypeStateInit).f.Body.(*wire.StateInit)
		if si.Value != "again" || !si.Initialized {
			t.Errorf("STATE_INIT %+v", si)
		}
	})
}

func TestWatchTwice(t *testing.T) {
	forDialects(t, func(t *testing.T, d sodp.Dialect) {
		srv := newServer(t, WithDialect(d))
		c := dial(t, srv)
		c.watch(11, "k")
		s1 := c.expect(wire.TypeStateInit).f.Stream
		c.watch(12, "k")
		s2 := c.expect(wire.TypeStateInit).f.Stream
		srv.Set("k", 1)
		got := c.barrier()
		doubled := d == sodp.DialectGo || d == sodp.DialectRust
		want := 1
		if doubled {
			want = 2
		}
		if len(got) != want {
			t.Fatalf("%d frames after one write, want %d: %v", len(got), want, got)
		}
		switch d {
		case sodp.DialectSpec:
			if s1 != 11 || s2 != 12 || got[0].f.Stream != 12 {
				t.Errorf("streams %d %d, DELTA on %d", s1, s2, got[0].f.Stream)
			}
		case sodp.DialectTS:
			if s1 != 10 || s2 != 10 {
				t.Errorf("TS streams %d %d, want 10 twice", s1, s2)
			}
		case sodp.DialectRust:
			if s1 != 10 || s2 != 11 {
				t.Errorf("Rust streams %d %d, want 10 and 11", s1, s2)
			}
		}
		wantSubs := 2 // k and the barrier
		if doubled {
			wantSubs = 3
		}
		if n := srv.Stats().Subscriptions; n != wantSubs {
			t.Errorf("%d subscriptions, want %d", n, wantSubs)
		}
	})
}

func TestMultiWatch(t *testing.T) {
	acl := WithACL(func(sub, key string, write bool) bool { return key != "secret.x" && key != "secret.y" })
	forDialects(t, func(t *testing.T, d sodp.Dialect) {
		for _, bad := range []struct {
			key, msg string
			code     int
		}{
			{"secret.x", map[sodp.Dialect]string{sodp.DialectSpec: "forbidden: secret.x", sodp.DialectGo: "access denied",
				sodp.DialectTS: "access denied: secret.x", sodp.DialectRust: "forbidden: secret.x"}[d], 403},
			{"bad key!", "invalid key: bad key!", 400},
		} {
			srv := newServer(t, WithDialect(d), acl)
			c := dial(t, srv)
			c.send(wire.TypeWatch, 50, &wire.Watch{States: []string{"a", bad.key, "b"}})
			got := c.barrier()
			var streams []uint32
			var names []string
			for _, r := range got {
				streams = append(streams, r.f.Stream)
				switch b := r.f.Body.(type) {
				case *wire.StateInit:
					names = append(names, b.State)
				case *wire.Error:
					if b.Code != bad.code || b.Message != bad.msg {
						t.Errorf("%s: ERROR %d %q, want %d %q", bad.key, b.Code, b.Message, bad.code, bad.msg)
					}
					names = append(names, "ERROR")
				}
			}
			want := map[sodp.Dialect]string{
				sodp.DialectSpec: "[a ERROR b] [10 11 12]",
				sodp.DialectGo:   "[a ERROR] [50 50]",
				sodp.DialectTS:   "[a ERROR b] [10 0 11]",
				sodp.DialectRust: "[a ERROR b] [10 0 11]",
			}[d]
			if s := fmt.Sprint(names, " ", streams); s != want {
				t.Errorf("%s: got %s, want %s", bad.key, s, want)
			}
		}
		// A refused single-key WATCH.
		srv := newServer(t, WithDialect(d), acl)
		c := dial(t, srv)
		c.watch(60, "secret.y")
		wantStream := map[sodp.Dialect]uint32{sodp.DialectSpec: 60, sodp.DialectGo: 60, sodp.DialectTS: 0, sodp.DialectRust: 0}[d]
		c.expectError(wantStream, 403)
		// Two keys on one frame: each gets its DELTAs on its own stream.
		c.send(wire.TypeWatch, 70, &wire.Watch{States: []string{"m", "n"}})
		sm := c.expect(wire.TypeStateInit).f.Stream
		sn := c.expect(wire.TypeStateInit).f.Stream
		srv.Set("n", 1)
		srv.Set("m", 1)
		if r := c.expect(wire.TypeDelta); r.f.Stream != sn {
			t.Errorf("DELTA of n on %d, want %d", r.f.Stream, sn)
		}
		if r := c.expect(wire.TypeDelta); r.f.Stream != sm {
			t.Errorf("DELTA of m on %d, want %d", r.f.Stream, sm)
		}
	})
}

func TestWatchErrors(t *testing.T) {
	forDialects(t, func(t *testing.T, d sodp.Dialect) {
		srv := newServer(t, WithDialect(d))
		c := dial(t, srv)
		c.send(wire.TypeWatch, 20, &wire.Watch{})
		c.expectError(errStreamFor(d, 20), 400)
		c.send(wire.TypeResume, 21, &wire.Resume{State: "bad key"})
		c.expectError(errStreamFor(d, 21), 400)
	})
}

// errStreamFor is the stream a dialect puts a request-level WATCH error on.
func errStreamFor(d sodp.Dialect, stream uint32) uint32 {
	if d == sodp.DialectTS || d == sodp.DialectRust {
		return 0
	}
	return stream
}

func TestUnwatch(t *testing.T) {
	forDialects(t, func(t *testing.T, d sodp.Dialect) {
		srv := newServer(t, WithDialect(d))
		c := dial(t, srv)
		c.watch(20, "a")
		c.expect(wire.TypeStateInit)
		c.watch(21, "b")
		c.expect(wire.TypeStateInit)
		c.watch(22, "c")
		c.expect(wire.TypeStateInit)
		c.send(wire.TypeUnwatch, 0, &wire.Unwatch{State: "a"})
		c.expectNothing() // UNWATCH has no answer: wait until it was handled
		srv.Set("a", 1)
		srv.Set("b", 1)
		got := c.barrier()
		if len(got) != 1 || (d != sodp.DialectRust && got[0].f.Body.(*wire.Delta).State != "b") {
			t.Fatalf("after UNWATCH a: %v", got)
		}
		if d == sodp.DialectGo {
			// By stream: the body is ignored.
			c.send(wire.TypeUnwatch, 21, &wire.Unwatch{State: "c"})
		} else {
			c.send(wire.TypeUnwatch, 0, &wire.Unwatch{States: []string{"b"}})
		}
		c.expectNothing()
		srv.Set("b", 2)
		srv.Set("c", 2)
		got = c.barrier()
		if len(got) != 1 || (d != sodp.DialectRust && got[0].f.Body.(*wire.Delta).State != "c") {
			t.Fatalf("after the second UNWATCH: %v", got)
		}
		if d != sodp.DialectTS {
			c.send(wire.TypeUnwatch, 0, nil)
			if d == sodp.DialectGo {
				c.expectNothing()
			} else {
				c.expectError(0, 400)
			}
		}
	})
}

func TestNilBodies(t *testing.T) {
	forDialects(t, func(t *testing.T, d sodp.Dialect) {
		srv := newServer(t, WithDialect(d))
		for _, typ := range []wire.Type{wire.TypeWatch, wire.TypeResume, wire.TypeUnwatch} {
			c := dial(t, srv)
			other := dial(t, srv)
			c.send(typ, 0, nil)
			switch {
			case d == sodp.DialectTS:
				// The TypeScript server crashes: every connection goes.
				c.expectAbruptClose()
				other.expectAbruptClose()
				waitFor(t, "no live connections", func() bool { return srv.Stats().Live == 0 })
			case d == sodp.DialectGo && typ == wire.TypeUnwatch:
				c.expectNothing()
			default:
				c.expectError(0, 400)
				c.expectNothing()
			}
		}
		c := dial(t, srv)
		c.send(wire.TypeCall, 0, nil)
		c.expectError(0, 400)
	})
}

func TestVersions(t *testing.T) {
	forDialects(t, func(t *testing.T, d sodp.Dialect) {
		srv := newServer(t, WithDialect(d))
		got := []uint64{srv.Set("a", 1), srv.Set("b", 1), srv.Set("a", 2), srv.Delete("a"), srv.Set("a", 3), srv.Set("b", 2)}
		want := []uint64{1, 2, 3, 4, 5, 6}
		if d == sodp.DialectTS {
			want = []uint64{1, 1, 2, 3, 1, 2}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("versions %v, want %v", got, want)
		}
		c := dial(t, srv)
		c.watch(10, "a")
		si := c.expect(wire.TypeStateInit).f.Body.(*wire.StateInit)
		if si.Version != want[4] {
			t.Errorf("STATE_INIT version %d, want %d", si.Version, want[4])
		}
	})
}

func TestResume(t *testing.T) {
	forDialects(t, func(t *testing.T, d sodp.Dialect) {
		srv := newServer(t, WithDialect(d), WithDeltaLog(3))
		for i := 1; i <= 5; i++ {
			srv.Set("k", map[string]any{"n": i})
		}
		resume := func(since uint64) string {
			c := dial(t, srv)
			c.send(wire.TypeResume, 30, &wire.Resume{State: "k", SinceVersion: since})
			var out []string
			for _, r := range c.barrier() {
				switch b := r.f.Body.(type) {
				case *wire.Delta:
					out = append(out, fmt.Sprintf("D%d", b.Version))
				case *wire.StateInit:
					out = append(out, fmt.Sprintf("S%d", b.Version))
				default:
					out = append(out, r.f.Type.String())
				}
				if d == sodp.DialectGo && r.f.Stream != 30 {
					t.Errorf("Go replay on stream %d, want the client's 30", r.f.Stream)
				}
			}
			// The RESUME registered the subscription.
			v := srv.Set("k", map[string]any{"n": 0})
			if dl := deltaOf(t, c.next()); dl.Version != v {
				t.Errorf("live DELTA v%d, want v%d", dl.Version, v)
			}
			srv.Set("k", map[string]any{"n": 5}) // back to five writes' worth of log
			return fmt.Sprint(out)
		}
		// Each resume adds two versions; compute expectations relative to
		// the current version.
		_, cur, _ := srv.Get("k")
		covered := resume(cur - 2)
		want := map[sodp.Dialect]string{
			sodp.DialectSpec: fmt.Sprintf("[D%d D%d S%d]", cur-1, cur, cur),
			sodp.DialectGo:   fmt.Sprintf("[D%d D%d]", cur-1, cur),
			sodp.DialectTS:   fmt.Sprintf("[D%d D%d S%d]", cur-1, cur, cur),
			sodp.DialectRust: fmt.Sprintf("[D%d D%d S%d]", cur-1, cur, cur),
		}[d]
		if covered != want {
			t.Errorf("covered: %s, want %s", covered, want)
		}
		_, cur, _ = srv.Get("k")
		if got, want := resume(cur), fmt.Sprintf("[S%d]", cur); got != want {
			t.Errorf("nothing missed: %s, want %s", got, want)
		}
		_, cur, _ = srv.Get("k")
		gap := resume(cur - 4) // the log holds the last 3 only
		want = fmt.Sprintf("[S%d]", cur)
		if d == sodp.DialectRust {
			want = fmt.Sprintf("[D%d D%d D%d S%d]", cur-2, cur-1, cur, cur)
		}
		if gap != want {
			t.Errorf("gap: %s, want %s", gap, want)
		}
	})
}

func TestResumeSinceVersionEncoding(t *testing.T) {
	for _, d := range []sodp.Dialect{sodp.DialectSpec, sodp.DialectGo} {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, WithDialect(d))
			srv.Set("g", 1)
			srv.Set("g", 2)
			replay := func(body wire.Raw) []string {
				c := dial(t, srv)
				c.send(wire.TypeResume, 12, body)
				var out []string
				for _, r := range c.barrier() {
					out = append(out, fmt.Sprintf("%s %s", r.f.Type, opsOrVersion(r)))
				}
				return out
			}
			compact := rawBody(t, map[string]any{"state": "g", "since_version": 1})
			fixed := wire.Raw(append(append([]byte{0x82, 0xa5}, "state"...), append([]byte{0xa1, 'g', 0xad}, "since_version"...)...))
			fixed = append(fixed, 0xcf, 0, 0, 0, 0, 0, 0, 0, 1)
			got, gotFixed := fmt.Sprint(replay(compact)), fmt.Sprint(replay(fixed))
			wantCompact := "[DELTA UPDATE / 2 STATE_INIT v2]"
			wantFixed := wantCompact
			if d == sodp.DialectGo {
				// A compact since_version reads as 0: the whole log is replayed.
				wantCompact = "[DELTA UPDATE / 1 DELTA UPDATE / 2]"
				wantFixed = "[DELTA UPDATE / 2]"
			}
			if got != wantCompact || gotFixed != wantFixed {
				t.Errorf("compact %s (want %s); fixed %s (want %s)", got, wantCompact, gotFixed, wantFixed)
			}
		})
	}
}

func opsOrVersion(r rframe) string {
	switch b := r.f.Body.(type) {
	case *wire.Delta:
		return opsString(b.Ops)
	case *wire.StateInit:
		return fmt.Sprintf("v%d", b.Version)
	}
	return ""
}

func TestFanOutOrder(t *testing.T) {
	for _, d := range []sodp.Dialect{sodp.DialectSpec, sodp.DialectTS} {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, WithDialect(d))
			keys := []string{"k0", "k1", "k2"}
			var clients []*tclient
			for range 3 {
				c := dial(t, srv)
				c.send(wire.TypeWatch, 10, &wire.Watch{States: keys})
				for range keys {
					c.expect(wire.TypeStateInit)
				}
				clients = append(clients, c)
			}
			const writers, perWriter = 4, 100
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range perWriter {
						key := keys[(w+i)%len(keys)]
						if i%10 == 9 {
							srv.Patch(key, map[string]any{"w": w})
						} else {
							srv.Set(key, map[string]any{"w": w, "i": i})
						}
					}
				}()
			}
			// Clients also write, interleaved with the server-side writers.
			for i := range 30 {
				clients[i%3].call("state.set", map[string]any{"state": keys[i%3], "value": i})
			}
			wg.Wait()
			total := writers*perWriter + 30
			for ci, c := range clients {
				last := map[string]uint64{}
				n := 0
				for n < total {
					r := c.next()
					dl, ok := r.f.Body.(*wire.Delta)
					if !ok {
						continue
					}
					if dl.Version <= last[dl.State] {
						t.Fatalf("client %d: %s v%d after v%d", ci, dl.State, dl.Version, last[dl.State])
					}
					last[dl.State] = dl.Version
					n++
				}
				for _, k := range keys {
					if _, v, _ := srv.Get(k); last[k] != v {
						t.Errorf("client %d: %s ends at v%d, server at v%d", ci, k, last[k], v)
					}
				}
			}
			// Replaying a delta log reproduces the value.
			for _, k := range keys {
				val, _, _ := srv.Get(k)
				var cur any
				srv.mu.Lock()
				for _, e := range srv.keys[k].log {
					var err error
					if cur, _, err = delta.Apply(cur, e.ops); err != nil {
						t.Fatalf("replaying %s: %v", k, err)
					}
				}
				srv.mu.Unlock()
				if !deltaEqual(cur, val) {
					t.Errorf("%s: log replays to %v, value is %v", k, cur, val)
				}
			}
		})
	}
}
