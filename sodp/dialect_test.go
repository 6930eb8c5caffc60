package sodp_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// The dialect suite runs the same scenarios against the four server
// behaviours sodptest reproduces and states each difference explicitly.

// calls returns the CALL frames the server received for method.
func calls(srv *sodptest.Server, method string) []sodptest.Frame {
	var out []sodptest.Frame
	for _, f := range frames(srv, "CALL") {
		if f.Body["method"] == method {
			out = append(out, f)
		}
	}
	return out
}

// watchesOf counts the keys named by the WATCH frames the server received.
func watchesOf(srv *sodptest.Server) map[string]int {
	n := map[string]int{}
	for _, f := range frames(srv, "WATCH") {
		if k, ok := f.Body["state"].(string); ok {
			n[k]++
		}
		if l, ok := f.Body["states"].([]any); ok {
			for _, k := range l {
				n[k.(string)]++
			}
		}
	}
	return n
}

// roundTrip makes sure everything the client sent before has reached the
// server: a call is answered after every earlier frame was handled.
func roundTrip(t *testing.T, c *sodp.Client) {
	t.Helper()
	if _, err := c.Set(ctxT(t), "round.trip", time.Now().UnixNano()); err != nil {
		t.Fatalf("round trip: %v", err)
	}
}

func TestDialectServerInfo(t *testing.T) {
	want := map[sodp.Dialect]struct{ name, version string }{
		sodp.DialectSpec: {"sodptest", "1.0"},
		sodp.DialectGo:   {"sodptest-go", "1.0"},
		sodp.DialectTS:   {"sodp-server-ts", "1.0"},
		sodp.DialectRust: {"SODP-RS", "0.1"},
	}
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			c := dial(t, srv.URL)
			info := c.Server()
			if info == nil {
				t.Fatal("Server() = nil on a live client")
			}
			if info.Dialect != d || info.Name != want[d].name || info.Version != want[d].version {
				t.Fatalf("server info %+v, want dialect %v name %q version %q", info, d, want[d].name, want[d].version)
			}
			if info.Capabilities == nil || info.Endpoint != srv.URL || info.Subject != "" {
				t.Fatalf("server info %+v", info)
			}
		})
	}
}

func TestDialectWatchSnapshotThenDelta(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			v0 := srv.Set("game.score", map[string]any{"home": 1, "away": 0})
			c := dial(t, srv.URL)
			sub := watch[map[string]int](t, c, "game.score")
			u := next(t, sub)
			if u.Kind != sodp.KindSnapshot || u.Version != v0 || !u.Initialized || !reflect.DeepEqual(u.Value, map[string]int{"home": 1, "away": 0}) {
				t.Fatalf("snapshot %+v (want version %d)", u, v0)
			}
			v1 := srv.Patch("game.score", map[string]any{"away": 2})
			u = next(t, sub)
			if u.Kind != sodp.KindDelta || u.Version != v1 || !reflect.DeepEqual(u.Value, map[string]int{"home": 1, "away": 2}) {
				t.Fatalf("delta %+v (want version %d)", u, v1)
			}
			// Per-key versions on the TypeScript server, one counter
			// elsewhere.
			if d == sodp.DialectTS {
				if v0 != 1 || v1 != 2 {
					t.Fatalf("ts versions %d, %d: want 1, 2", v0, v1)
				}
			} else if v1 != v0+1 {
				t.Fatalf("versions %d, %d", v0, v1)
			}
		})
	}
}

func TestDialectWrites(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			c := dial(t, srv.URL)
			ctx := ctxT(t)
			sub := watch[map[string]any](t, c, "doc")
			next(t, sub)

			// check waits until the watcher and the server hold want; a
			// write's returned version is that of the server except on the
			// TypeScript server, whose RESULT carries no data.
			check := func(step string, v uint64, err error, want map[string]any) {
				t.Helper()
				if err != nil {
					t.Fatalf("%s: %v", step, err)
				}
				got, ver, ok := srv.Get("doc")
				if !ok || !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: server holds %#v (ok %v), want %#v", step, got, ok, want)
				}
				if d == sodp.DialectTS {
					if v != 0 {
						t.Fatalf("%s: version %d from a server that sends no RESULT data", step, v)
					}
				} else if v != ver {
					t.Fatalf("%s: returned version %d, server at %d", step, v, ver)
				}
				u := nextUntil(t, sub, func(u sodp.Update[map[string]any]) bool { return u.Version == ver })
				if !reflect.DeepEqual(u.Value, want) || !u.Initialized || u.Err != nil {
					t.Fatalf("%s: watcher saw %+v, want %#v", step, u, want)
				}
			}

			v, err := c.Set(ctx, "doc", map[string]any{"a": 1, "b": map[string]any{"c": 2}})
			check("set", v, err, map[string]any{"a": int64(1), "b": map[string]any{"c": int64(2)}})

			// The Rust server merges deeply; the others merge the top level.
			v, err = c.Patch(ctx, "doc", map[string]any{"b": map[string]any{"d": 3}})
			if d == sodp.DialectRust {
				check("patch", v, err, map[string]any{"a": int64(1), "b": map[string]any{"c": int64(2), "d": int64(3)}})
			} else {
				check("patch", v, err, map[string]any{"a": int64(1), "b": map[string]any{"d": int64(3)}})
			}
			base, _, _ := srv.Get("doc")
			withField := func(m any, path []string, val any) map[string]any {
				out := deepCopy(m).(map[string]any)
				cur := out
				for _, p := range path[:len(path)-1] {
					next, ok := cur[p].(map[string]any)
					if !ok {
						next = map[string]any{}
						cur[p] = next
					}
					cur = next
				}
				cur[path[len(path)-1]] = val
				return out
			}

			// A JSON Pointer reaches the nested field on every server: the
			// Go server gets it as the dotted path "b.e".
			v, err = c.SetIn(ctx, "doc", "/b/e", "x")
			want := withField(base, []string{"b", "e"}, "x")
			check("set_in", v, err, want)
			sent := calls(srv, "state.set_in")
			if p := sent[len(sent)-1].Body["args"].(map[string]any)["path"]; d == sodp.DialectGo && p != "b.e" || d != sodp.DialectGo && p != "/b/e" {
				t.Fatalf("set_in sent path %v", p)
			}

			// A segment holding "." cannot be written as a dotted path.
			v, err = c.SetIn(ctx, "doc", "/x.y", 1)
			if d == sodp.DialectGo {
				if !errors.Is(err, sodp.ErrInvalidPath) {
					t.Fatalf("set_in /x.y on go: %v, want ErrInvalidPath", err)
				}
			} else {
				want = withField(want, []string{"x.y"}, int64(1))
				check("set_in /x.y", v, err, want)
			}

			// Presence: not supported by the Go server, refused locally.
			v, err = c.Presence(ctx, "doc", "/who/me", true)
			if d == sodp.DialectGo {
				if !errors.Is(err, sodp.ErrNotSupported) {
					t.Fatalf("presence on go: %v, want ErrNotSupported", err)
				}
				if n := c.Stats().PresenceEntries; n != 0 {
					t.Fatalf("%d presence entries remembered after a refusal", n)
				}
			} else {
				want = withField(want, []string{"who", "me"}, true)
				check("presence", v, err, want)
				if n := c.Stats().PresenceEntries; n != 1 {
					t.Fatalf("%d presence entries remembered", n)
				}
			}

			v, err = c.Delete(ctx, "doc")
			if err != nil {
				t.Fatalf("delete: %v", err)
			}
			if d != sodp.DialectTS && v == 0 {
				t.Fatal("delete returned no version")
			}
			u := nextUntil(t, sub, func(u sodp.Update[map[string]any]) bool { return !u.Initialized })
			if u.Value != nil || (d != sodp.DialectTS && u.Version != v) {
				t.Fatalf("delete update %+v (version %d)", u, v)
			}
			if _, _, ok := srv.Get("doc"); ok {
				t.Fatal("the server still holds doc")
			}
			if n := c.Stats().PresenceEntries; n != 0 {
				t.Fatalf("%d presence entries remembered after Delete", n)
			}

			// What the Go server could not take never left the client.
			roundTrip(t, c)
			if d == sodp.DialectGo {
				if n := len(calls(srv, "state.presence")); n != 0 {
					t.Fatalf("%d presence CALLs reached the go server", n)
				}
				if n := len(calls(srv, "state.set_in")); n != 1 {
					t.Fatalf("%d set_in CALLs reached the go server, want 1", n)
				}
			} else if n := len(calls(srv, "state.presence")); n != 1 {
				t.Fatalf("%d presence CALLs", n)
			}
		})
	}
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}

func TestDialectMultiWatch(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			srv.Set("m.a", "a0")
			srv.Set("m.b", "b0")
			c := dial(t, srv.URL)
			sub, err := sodp.WatchMany[string](ctxT(t), c, []string{"m.a", "m.b", "m.c"})
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			got := map[string]string{}
			for range 3 {
				u := next(t, sub)
				if u.Kind != sodp.KindSnapshot || u.Err != nil {
					t.Fatalf("first update %+v", u)
				}
				got[u.Key] = u.Value
			}
			if !reflect.DeepEqual(got, map[string]string{"m.a": "a0", "m.b": "b0", "m.c": ""}) {
				t.Fatalf("snapshots %v", got)
			}
			w := frames(srv, "WATCH")
			if len(w) != 1 || len(w[0].Body["states"].([]any)) != 3 {
				t.Fatalf("WATCH frames %+v", w)
			}
			if n := srv.Stats().Subscriptions; n != 3 {
				t.Fatalf("%d server subscriptions", n)
			}
			// The Go server puts all three keys on the WATCH frame's stream
			// and names the key in a "key" field; the Rust server names no
			// key and uses its own ids; the others name it in "state". Each
			// change must reach its own key.
			for i, k := range []string{"m.c", "m.a", "m.b", "m.c"} {
				val := fmt.Sprintf("%s!%d", k, i) // a new value each time: the Go server sends nothing for an unchanged one
				v := srv.Set(k, val)
				u := next(t, sub)
				if u.Key != k || u.Value != val || u.Version != v || u.Kind != sodp.KindDelta {
					t.Fatalf("update %+v, want %s at %d", u, k, v)
				}
			}
		})
	}
}

func TestDialectUnwatchOnLastClose(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			srv.Set("k", 1)
			c := dial(t, srv.URL)
			s1 := watch[int](t, c, "k")
			next(t, s1)
			s2 := watch[int](t, c, "k")
			if u := next(t, s2); u.Kind != sodp.KindCached {
				t.Fatalf("second subscriber's first update %+v", u)
			}
			s1.Close()
			roundTrip(t, c)
			if n := len(frames(srv, "UNWATCH")); n != 0 {
				t.Fatal("UNWATCH sent while a subscriber remains")
			}
			if n := srv.Stats().Subscriptions; n != 1 {
				t.Fatalf("%d server subscriptions", n)
			}
			s2.Close()
			eventually(t, "the server drops the subscription", func() bool { return srv.Stats().Subscriptions == 0 })
			u := frames(srv, "UNWATCH")
			if len(u) != 1 || u[0].Stream != 0 || u[0].Body["state"] != "k" {
				t.Fatalf("UNWATCH frames %+v", u)
			}
			// No DELTA reaches a client that watches nothing: the key is
			// gone from the client, and a new watcher starts from a
			// snapshot again.
			v := srv.Set("k", 2)
			s3 := watch[int](t, c, "k")
			if u := next(t, s3); u.Kind != sodp.KindSnapshot || u.Version != v || u.Value != 2 {
				t.Fatalf("new subscriber %+v", u)
			}
		})
	}
}

func TestDialectOneWatchPerKey(t *testing.T) {
	// Go and Rust double every DELTA of a key watched twice on one
	// connection; the client must watch each key once however many local
	// subscriptions share it.
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			srv.Set("k", 0)
			c := dial(t, srv.URL)
			subs := []*sodp.Subscription[int]{
				watch[int](t, c, "k", sodp.WithBuffer(100)),
				watch[int](t, c, "k", sodp.WithBuffer(100)),
			}
			many, err := sodp.WatchMany[int](ctxT(t), c, []string{"k", "other"}, sodp.WithBuffer(100))
			if err != nil {
				t.Fatal(err)
			}
			defer many.Close()
			subs = append(subs, many, watch[int](t, c, "k", sodp.WithBuffer(100)))
			last := map[*sodp.Subscription[int]]uint64{}
			for _, s := range subs {
				u := nextUntil(t, s, func(u sodp.Update[int]) bool { return u.Key == "k" })
				last[s] = u.Version
			}
			roundTrip(t, c)
			if n := watchesOf(srv); n["k"] != 1 || n["other"] != 1 {
				t.Fatalf("keys watched %v: want k and other once each", n)
			}
			if n := srv.Stats().Subscriptions; n != 2 {
				t.Fatalf("%d server subscriptions, want 2", n)
			}
			var versions []uint64
			for i := 1; i <= 20; i++ {
				versions = append(versions, srv.Set("k", i))
			}
			for _, s := range subs {
				for i, v := range versions {
					u := nextUntil(t, s, func(u sodp.Update[int]) bool { return u.Key == "k" })
					if u.Version != v || u.Value != i+1 || u.Kind != sodp.KindDelta {
						t.Fatalf("update %+v, want version %d value %d", u, v, i+1)
					}
				}
			}
			// Nothing doubled is left over.
			v := srv.Set("other", 7)
			if u := next(t, many); u.Key != "other" || u.Version != v {
				t.Fatalf("update %+v", u)
			}
			vk := srv.Set("k", 21)
			for _, s := range subs[:2] {
				onlyNext(t, s, "k", vk)
			}
		})
	}
}

func TestDialectStreamRouting(t *testing.T) {
	// A refused WATCH takes a stream id the client suggested but no id of
	// the servers that choose their own (TS, Rust): from then on the
	// server's ids differ from the client's. The Rust server's DELTAs name
	// no key, so the client must follow the ids STATE_INIT announced.
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d), sodptest.WithACL(func(_, key string, _ bool) bool {
				return !strings.HasPrefix(key, "deny")
			}))
			srv.Set("r.y", 0)
			srv.Set("r.z", 0)
			c := dial(t, srv.URL)
			denied := watch[int](t, c, "deny.x")
			if err := closed(t, denied); !errors.Is(err, sodp.ErrForbidden) {
				t.Fatalf("deny.x: %v", err)
			}
			y := watch[int](t, c, "r.y")
			next(t, y)
			z := watch[int](t, c, "r.z")
			next(t, z)
			for i := 1; i <= 3; i++ {
				vz := srv.Set("r.z", 10+i)
				vy := srv.Set("r.y", i)
				if u := next(t, z); u.Version != vz || u.Value != 10+i {
					t.Fatalf("r.z update %+v, want %d", u, vz)
				}
				if u := next(t, y); u.Version != vy || u.Value != i {
					t.Fatalf("r.y update %+v, want %d", u, vy)
				}
			}
			if n := c.Stats().Errors; n != 1 {
				t.Fatalf("%d errors, want the one refusal", n)
			}
		})
	}
}

func TestDialectKeyFieldRouting(t *testing.T) {
	// Hand-made DELTAs on a stream that belongs to another key: a "state"
	// or "key" field wins over the stream id; without either, the stream
	// decides.
	srv := newServer(t)
	srv.Set("a", 0)
	srv.Set("b", 0)
	c := dial(t, srv.URL)
	a := watch[int](t, c, "a")
	next(t, a)
	b := watch[int](t, c, "b")
	next(t, b)
	conn := srv.Conns()[0]
	var streamA, streamB uint32
	for _, f := range conn.Received() {
		if f.Name == "WATCH" {
			switch f.Body["state"] {
			case "a":
				streamA = f.Stream
			case "b":
				streamB = f.Stream
			}
		}
	}
	if streamA < 10 || streamB < 10 || streamA == streamB {
		t.Fatalf("streams %d, %d", streamA, streamB)
	}
	op := func(v int) []any { return []any{map[string]any{"op": "UPDATE", "path": "/", "value": v}} }
	_, vb, _ := srv.Get("b")
	conn.Send(0x04, streamA, map[string]any{"version": vb + 1, "ops": op(11), "key": "b"})
	if u := next(t, b); u.Value != 11 || u.Version != vb+1 {
		t.Fatalf("b update %+v", u)
	}
	conn.Send(0x04, streamA, map[string]any{"version": vb + 2, "ops": op(12), "state": "b"})
	if u := next(t, b); u.Value != 12 || u.Version != vb+2 {
		t.Fatalf("b update %+v", u)
	}
	_, va, _ := srv.Get("a")
	conn.Send(0x04, streamA, map[string]any{"version": va + 1, "ops": op(5)})
	if u := next(t, a); u.Value != 5 || u.Version != va+1 {
		t.Fatalf("a update %+v", u)
	}
	// b got nothing of a's: its next update is the next one of its own.
	conn.Send(0x04, streamA, map[string]any{"version": vb + 3, "ops": op(13), "key": "b"})
	if u := onlyNext(t, b, "b", vb+3); u.Value != 13 {
		t.Fatalf("b update %+v", u)
	}
}

func TestDialectTSVersionsRestartAfterDelete(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			c := dial(t, srv.URL)
			sub := watch[int](t, c, "k", sodp.WithBuffer(10))
			next(t, sub)
			v1 := srv.Set("k", 1)
			v2 := srv.Set("k", 2)
			vd := srv.Delete("k")
			v3 := srv.Set("k", 3)
			for _, w := range []struct {
				v    uint64
				val  int
				init bool
			}{{v1, 1, true}, {v2, 2, true}, {vd, 0, false}, {v3, 3, true}} {
				u := next(t, sub)
				if u.Version != w.v || u.Value != w.val || u.Initialized != w.init || u.Kind != sodp.KindDelta {
					t.Fatalf("update %+v, want version %d value %d initialized %v", u, w.v, w.val, w.init)
				}
			}
			if d == sodp.DialectTS {
				if v1 != 1 || v2 != 2 || vd != 3 || v3 != 1 {
					t.Fatalf("ts versions %d %d %d %d: want 1 2 3 1", v1, v2, vd, v3)
				}
			} else if v3 <= vd {
				t.Fatalf("versions went down: %d after %d", v3, vd)
			}
		})
	}
}

func TestDialectErrorCorrelation(t *testing.T) {
	// Refused WATCHes interleaved with successful and refused CALLs, some
	// on the same key: every caller gets its own answer whatever stream
	// and message the dialect puts on its ERROR frames.
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d), sodptest.WithACL(func(_, key string, write bool) bool {
				switch {
				case strings.HasPrefix(key, "deny."):
					return false
				case strings.HasPrefix(key, "ro."):
					return !write
				}
				return true
			}))
			c := dial(t, srv.URL)
			ctx := ctxT(t)
			type res struct {
				op, key string
				err     error
			}
			var wg sync.WaitGroup
			out := make(chan res, 200)
			for i := range 30 {
				wg.Add(3)
				go func() {
					defer wg.Done()
					key := fmt.Sprintf("rw.k%d", i)
					if i%3 == 0 {
						key = fmt.Sprintf("deny.k%d", i)
					}
					sub, err := sodp.Watch[int](ctx, c, key)
					if err != nil {
						out <- res{"watch", key, err}
						return
					}
					defer sub.Close()
					select {
					case u, ok := <-sub.Updates():
						if ok {
							err = u.Err
							if u.Kind != sodp.KindSnapshot {
								err = fmt.Errorf("first update %+v", u)
							}
						} else {
							err = sub.Err()
						}
					case <-ctx.Done():
						err = ctx.Err()
					}
					out <- res{"watch", key, err}
				}()
				go func() {
					defer wg.Done()
					key := fmt.Sprintf("rw.k%d", i)
					switch i % 4 {
					case 1:
						key = fmt.Sprintf("ro.k%d", i)
					case 2:
						key = fmt.Sprintf("deny.k%d", i)
					}
					_, err := c.Set(ctx, key, i)
					out <- res{"set", key, err}
				}()
				go func() {
					defer wg.Done()
					// The same key refused for a WATCH and a CALL at once.
					key := fmt.Sprintf("deny.k%d", i)
					_, err := c.Patch(ctx, key, map[string]any{"n": i})
					out <- res{"patch", key, err}
				}()
			}
			wg.Wait()
			close(out)
			forbidden := 0
			for r := range out {
				refused := strings.HasPrefix(r.key, "deny.") || r.op != "watch" && strings.HasPrefix(r.key, "ro.")
				if refused != errors.Is(r.err, sodp.ErrForbidden) || !refused && r.err != nil {
					t.Errorf("%s %s: err = %v", r.op, r.key, r.err)
					continue
				}
				if !refused {
					continue
				}
				forbidden++
				var se *sodp.ServerError
				if !errors.As(r.err, &se) || se.Key != r.key || se.Code != 403 {
					t.Errorf("%s %s: error %#v names the wrong key", r.op, r.key, r.err)
					continue
				}
				if r.op != "watch" && se.Method == "" {
					t.Errorf("%s %s: error names no method", r.op, r.key)
				}
				// How each server lets the client tell which request failed.
				var want sodp.Attribution
				switch {
				case r.op == "watch" && (d == sodp.DialectSpec || d == sodp.DialectGo):
					want = sodp.AttrStream
				case r.op == "watch":
					want = sodp.AttrKey
				case d == sodp.DialectSpec || d == sodp.DialectTS:
					want = sodp.AttrCallID
				case d == sodp.DialectGo:
					want = sodp.AttrOrder
				default:
					want = sodp.AttrKey
				}
				if se.Attribution != want {
					t.Errorf("%s %s: attribution %v, want %v", r.op, r.key, se.Attribution, want)
				}
			}
			if got := c.Stats().ErrorsByCode[403]; got != uint64(forbidden) {
				t.Errorf("ErrorsByCode[403] = %d, want %d", got, forbidden)
			}
			// Nothing was left waiting or reported as a stray error.
			if st := c.Stats(); st.PendingCalls != 0 || st.Errors != uint64(forbidden) {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestDialectAuth(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d), sodptest.WithAuth([]byte("secret")))
			c := dial(t, srv.URL, sodp.WithToken(srv.Token("alice", time.Hour)))
			if info := c.Server(); info == nil || info.Subject != "alice" || info.Dialect != d {
				t.Fatalf("server info %+v", info)
			}
			if _, err := c.Set(ctxT(t), "k", 1); err != nil {
				t.Fatal(err)
			}

			bad, err := sodp.New(srv.URL, append(fastOpts(), sodp.WithToken(srv.Token("mallory", -time.Minute)))...)
			if err != nil {
				t.Fatal(err)
			}
			defer bad.Close()
			if err := bad.Ready(ctxT(t)); !errors.Is(err, sodp.ErrUnauthorized) {
				t.Fatalf("expired token: Ready = %v", err)
			}
			if bad.State() != sodp.StateFailed {
				t.Fatalf("state %v", bad.State())
			}
			// The Go server leaves the connection open after a 401; the
			// client closes it anyway.
			eventually(t, "the refused connection closes", func() bool { return srv.Stats().Live == 1 })
			if n := srv.Stats().Connections; n != 2 {
				t.Fatalf("%d connections: a fixed token must not be retried", n)
			}
		})
	}
}

func TestDialectMissingToken(t *testing.T) {
	// The Go server answers a missing token with 400 and keeps the
	// connection open; the others with 401. The client never gets that far:
	// it refuses locally as soon as HELLO asks for a token.
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d), sodptest.WithAuth([]byte("secret")))
			start := time.Now()
			c, err := sodp.New(srv.URL, fastOpts()...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			err = c.Ready(ctxT(t))
			if !errors.Is(err, sodp.ErrUnauthorized) || !strings.Contains(err.Error(), "requires a token") {
				t.Fatalf("Ready = %v", err)
			}
			if el := time.Since(start); el > 2*time.Second {
				t.Fatalf("took %s", el)
			}
			eventually(t, "the connection closes", func() bool { return srv.Stats().Live == 0 })
			if st := srv.Stats(); st.Auths != 0 || st.Connections != 1 {
				t.Fatalf("server stats %+v", st)
			}
		})
	}
}

func TestDialectGo401KeepsConnectionOpenButIsFatal(t *testing.T) {
	srv := newServer(t, sodptest.WithDialect(sodp.DialectGo), sodptest.WithAuth([]byte("secret")))
	var mu sync.Mutex
	fetched := 0
	c, err := sodp.New(srv.URL, append(fastOpts(), sodp.WithTokenProvider(func(context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		fetched++
		return "bad-" + fmt.Sprint(fetched), nil
	}))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// First 401: a fresh token and a new connection; second 401 in a row:
	// terminal. Each time the client, not the server, ends the connection.
	if err := c.Ready(ctxT(t)); !errors.Is(err, sodp.ErrUnauthorized) {
		t.Fatalf("Ready = %v", err)
	}
	eventually(t, "connections closed", func() bool { return srv.Stats().Live == 0 })
	if st := srv.Stats(); st.Connections != 2 || st.AuthFailures != 2 {
		t.Fatalf("server stats %+v", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if fetched != 2 {
		t.Fatalf("%d tokens fetched", fetched)
	}
}

func TestDialectMultiWatchWithRefusedKey(t *testing.T) {
	// The Go server stops a multi-key WATCH at the first refused key; the
	// client watches the rest again, one by one. The others go on by
	// themselves.
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d), sodptest.WithACL(func(_, key string, _ bool) bool {
				return !strings.HasPrefix(key, "deny")
			}))
			keys := []string{"g.a", "deny.b", "g.c", "deny.d", "g.e"}
			for i, k := range keys {
				srv.Set(k, i)
			}
			c := dial(t, srv.URL)
			sub, err := sodp.WatchMany[int](ctxT(t), c, keys)
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			got := map[string]sodp.Update[int]{}
			for len(got) < len(keys) {
				u := next(t, sub)
				if _, dup := got[u.Key]; dup {
					t.Fatalf("second first-update for %s: %+v", u.Key, u)
				}
				got[u.Key] = u
			}
			for i, k := range keys {
				u := got[k]
				if strings.HasPrefix(k, "deny") {
					if !errors.Is(u.Err, sodp.ErrForbidden) {
						t.Fatalf("%s: %+v", k, u)
					}
					continue
				}
				if u.Err != nil || u.Kind != sodp.KindSnapshot || u.Value != i {
					t.Fatalf("%s: %+v", k, u)
				}
			}
			roundTrip(t, c)
			n := watchesOf(srv)
			switch d {
			case sodp.DialectGo:
				// Once in the multi-key WATCH, and again after each stop.
				if n["g.a"] != 1 || n["deny.b"] != 1 || n["g.c"] != 2 || n["deny.d"] != 2 || n["g.e"] != 2 {
					t.Fatalf("watches %v", n)
				}
			default:
				if len(frames(srv, "WATCH")) != 1 {
					t.Fatalf("watches %v: one WATCH should do", n)
				}
			}
			if s := srv.Stats().Subscriptions; s != 3 {
				t.Fatalf("%d server subscriptions, want 3", s)
			}
			for _, k := range []string{"g.e", "g.a", "g.c"} {
				v := srv.Set(k, 100)
				if u := next(t, sub); u.Key != k || u.Version != v || u.Kind != sodp.KindDelta {
					t.Fatalf("update %+v, want %s at %d", u, k, v)
				}
			}
		})
	}
}

func TestDialectPresenceRemovedAndRestored(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			srv.Set("room", map[string]any{"topic": "x"})
			owner := dial(t, srv.URL)
			observer := dial(t, srv.URL)
			sub := watch[map[string]any](t, observer, "room", sodp.WithBuffer(10))
			next(t, sub)

			_, err := owner.Presence(ctxT(t), "room", "/who/alice", "here")
			if d == sodp.DialectGo {
				// No presence on the Go server: nothing sent, nothing
				// remembered, nothing to restore.
				if !errors.Is(err, sodp.ErrNotSupported) {
					t.Fatalf("presence on go: %v", err)
				}
				roundTrip(t, owner)
				if n := len(calls(srv, "state.presence")); n != 0 || owner.Stats().PresenceEntries != 0 {
					t.Fatalf("%d presence CALLs, %d entries", n, owner.Stats().PresenceEntries)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			present := func(u sodp.Update[map[string]any]) bool {
				who, _ := u.Value["who"].(map[string]any)
				return who["alice"] == "here"
			}
			if u := next(t, sub); !present(u) {
				t.Fatalf("presence not seen: %+v", u)
			}
			// Cut the owner's connection: the server removes the entry and
			// tells the observer; the owner reconnects and sets it again.
			var ownerConn *sodptest.Conn
			for _, cn := range srv.Conns() {
				for _, f := range cn.Received() {
					if f.Name == "CALL" && f.Body["method"] == "state.presence" {
						ownerConn = cn
					}
				}
			}
			if ownerConn == nil {
				t.Fatal("no connection sent the presence CALL")
			}
			before := owner.Stats().Connects
			ownerConn.Close()
			u := next(t, sub)
			if present(u) || u.Kind != sodp.KindDelta || u.Value["topic"] != "x" {
				t.Fatalf("removal not seen: %+v", u)
			}
			u = next(t, sub)
			if !present(u) || u.Kind != sodp.KindDelta {
				t.Fatalf("restoration not seen: %+v", u)
			}
			if owner.Stats().Connects != before+1 {
				t.Fatalf("owner stats %+v", owner.Stats())
			}
			if observer.Stats().Disconnects != 0 {
				t.Fatal("the observer was disconnected")
			}
			// Setting nil removes the entry for good: not restored.
			if _, err := owner.Presence(ctxT(t), "room", "/who/alice", nil); err != nil {
				t.Fatal(err)
			}
			if owner.Stats().PresenceEntries != 0 {
				t.Fatal("entry still remembered")
			}
			nextUntil(t, sub, func(u sodp.Update[map[string]any]) bool { return !present(u) })
			dropAndWrite(t, srv, owner, func() {})
			roundTrip(t, owner)
			if n := len(calls(srv, "state.presence")); n != 3 {
				t.Fatalf("%d presence CALLs, want 3 (set, restore, clear)", n)
			}
		})
	}
}

func TestDialectIdleThroughHeartbeats(t *testing.T) {
	// Short heartbeats on both sides. Spec: HEARTBEAT frames both ways. TS:
	// HEARTBEATs but no echo, and a close two intervals after the last
	// client HEARTBEAT. Go and Rust: WebSocket pings, and a close when no
	// pong comes. An idle client must stay connected with every one.
	//
	// Client and server run in a synctest bubble over an in-memory
	// connection: the eight intervals pass on the bubble's clock, so a
	// loaded machine cannot make either side miss a deadline.
	const hb = 200 * time.Millisecond
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				if dropped, detail := idleThroughHeartbeats(t, d, hb); dropped {
					t.Fatal(detail)
				}
			})
		})
	}
}

// idleThroughHeartbeats leaves a client idle for 8 heartbeat intervals and
// reports whether its connection dropped meanwhile.
func idleThroughHeartbeats(t *testing.T, d sodp.Dialect, hb time.Duration) (dropped bool, detail string) {
	t.Helper()
	srv := newPipeServer(t, sodptest.WithDialect(d), sodptest.WithHeartbeat(hb))
	defer srv.Close()
	srv.Set("k", 1)
	c := dial(t, srv.URL, viaPipe(srv), sodp.WithHeartbeat(hb))
	defer c.Close()
	sub := watch[int](t, c, "k")
	next(t, sub)
	start := srv.Stats()
	time.Sleep(8 * hb)
	st := c.Stats()
	sst := srv.Stats()
	if st.Disconnects != 0 || st.Connects != 1 || sst.Connections != 1 {
		return true, fmt.Sprintf("connection dropped while idle: client stats %+v, server stats %+v", st, sst)
	}
	if c.State() != sodp.StateLive || sst.Live != 1 {
		t.Fatalf("state %v, server stats %+v", c.State(), sst)
	}
	if got := sst.HeartbeatsReceived - start.HeartbeatsReceived; got < 4 {
		t.Fatalf("%d client HEARTBEATs in %s", got, 8*hb)
	}
	sent := sst.HeartbeatsSent - start.HeartbeatsSent
	switch d {
	case sodp.DialectGo, sodp.DialectRust:
		// Pings only: every HEARTBEAT the server sent was an echo.
		synctest.Wait()
		if s := srv.Stats(); s.HeartbeatsSent != s.HeartbeatsReceived {
			t.Fatalf("%d HEARTBEATs sent for %d received", s.HeartbeatsSent, s.HeartbeatsReceived)
		}
	case sodp.DialectTS:
		// Never echoes: only its own, about one an interval.
		if sent < 4 || sent > 10 {
			t.Fatalf("%d HEARTBEATs sent by the ts server in %s", sent, 8*hb)
		}
	default:
		if sent < sst.HeartbeatsReceived-start.HeartbeatsReceived {
			t.Fatalf("spec server sent %d HEARTBEATs for %d received", sent, sst.HeartbeatsReceived-start.HeartbeatsReceived)
		}
	}
	v := srv.Set("k", 2)
	if u := next(t, sub); u.Version != v || u.Kind != sodp.KindDelta {
		t.Fatalf("update %+v", u)
	}
	return false, ""
}

func TestDialectResumeAccounting(t *testing.T) {
	// The replay and past-the-log paths of every dialect, as the client
	// counts them. Values are whole ints, so every DELTA replaces the
	// value and a partial replay still ends on the right one.
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d), sodptest.WithDeltaLog(3))
			srv.Set("n", 0)
			c := dial(t, srv.URL)
			sub := watch[int](t, c, "n", sodp.WithBuffer(100))
			next(t, sub)
			kinds := func(last uint64) []sodp.Kind {
				var out []sodp.Kind
				nextUntil(t, sub, func(u sodp.Update[int]) bool {
					out = append(out, u.Kind)
					return u.Version == last
				})
				return out
			}
			var last uint64
			dropAndWrite(t, srv, c, func() {
				last = srv.Set("n", 1)
				last = srv.Set("n", 2)
			})
			if k := kinds(last); fmt.Sprint(k) != fmt.Sprint([]sodp.Kind{sodp.KindReplayed, sodp.KindReplayed}) {
				t.Fatalf("replay kinds %v", k)
			}
			roundTrip(t, c)
			if st := c.Stats(); st.Resumes != 1 || st.Replayed != 2 || st.Resyncs != 0 || st.Reconnects != 1 {
				t.Fatalf("after a replay: %+v", st)
			}
			dropAndWrite(t, srv, c, func() {
				for i := 3; i <= 12; i++ {
					last = srv.Set("n", i)
				}
			})
			k := kinds(last)
			roundTrip(t, c)
			st := c.Stats()
			if d == sodp.DialectRust {
				// The Rust server replays what its log still has (3) and
				// confirms with a STATE_INIT: no resync is visible.
				if fmt.Sprint(k) != fmt.Sprint([]sodp.Kind{sodp.KindReplayed, sodp.KindReplayed, sodp.KindReplayed}) || st.Replayed != 5 || st.Resyncs != 0 {
					t.Fatalf("past the log: kinds %v, stats %+v", k, st)
				}
			} else if fmt.Sprint(k) != fmt.Sprint([]sodp.Kind{sodp.KindResync}) || st.Replayed != 2 || st.Resyncs != 1 {
				t.Fatalf("past the log: kinds %v, stats %+v", k, st)
			}
			if st.Resumes != 2 || st.Reconnects != 2 || st.Deltas != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}
