package sodp_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sodp-go/client/internal/delta"
	"github.com/sodp-go/client/internal/wire"
	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// After an outage in which a few keys together missed far more versions
// than a server queues per connection (each key's gap still inside the
// 1,000-entry log), the resume must not overflow the server's queue: one
// reconnect, no eviction, every key at the server's version. The Go
// server drops past its 256-frame send buffer whatever the client does
// when one key's replay is longer than that; the client must then notice
// and deliver the right value as KindResync.
func TestResumeAfterLongOutage(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, sodptest.WithDialect(d))
			keys := []string{"out.a", "out.b", "out.c", "out.d"}
			for _, k := range keys {
				srv.Set(k, 0)
			}
			// A slow first redial, so that every write happens during the
			// outage.
			c := dial(t, srv.URL, sodp.WithBackoff(300*time.Millisecond, time.Second))
			subs := make([]*sodp.Subscription[int], len(keys))
			for i, k := range keys {
				subs[i] = watch[int](t, c, k, sodp.WithBuffer(4096))
				next(t, subs[i])
			}
			const writes = 400
			before := c.Stats()
			srv.DropConnections()
			for i := 1; i <= writes; i++ {
				for _, k := range keys {
					srv.Set(k, i)
				}
			}
			resyncs := 0
			for i, k := range keys {
				_, want, _ := srv.Get(k)
				var last sodp.Update[int]
				deadline := time.After(3 * wait)
				for last.Version != want {
					select {
					case u, ok := <-subs[i].Updates():
						if !ok {
							t.Fatalf("%s: Updates closed: %v", k, subs[i].Err())
						}
						if u.Version <= last.Version && last.Version != 0 {
							t.Fatalf("%s: version %d after %d", k, u.Version, last.Version)
						}
						if u.Kind == sodp.KindResync {
							resyncs++
						} else if u.Kind != sodp.KindReplayed && u.Kind != sodp.KindDelta {
							t.Fatalf("%s: unexpected %+v", k, u)
						} else if last.Version != 0 && u.Value != last.Value+1 {
							t.Fatalf("%s: %v %d after %d: a version was lost", k, u.Kind, u.Value, last.Value)
						}
						last = u
					case <-deadline:
						t.Fatalf("%s: at version %d (value %d), server at %d; client %+v; server %+v", k, last.Version, last.Value, want, c.Stats(), srv.Stats())
					}
				}
				if last.Value != writes {
					t.Fatalf("%s: value %d at the server's version, want %d", k, last.Value, writes)
				}
			}
			st, sst := c.Stats(), srv.Stats()
			t.Logf("client %+v; server dropped %d, evictions %d; resyncs %d", st, sst.Dropped, sst.Evictions, resyncs)
			if n := st.Reconnects - before.Reconnects; n != 1 {
				t.Fatalf("%d reconnects, want 1", n)
			}
			if sst.Evictions != 0 {
				t.Fatalf("%d evictions", sst.Evictions)
			}
			switch {
			case d != sodp.DialectGo && (sst.Dropped != 0 || resyncs != 0):
				t.Fatalf("dropped %d, resyncs %d: want every version replayed", sst.Dropped, resyncs)
			case d == sodp.DialectGo && sst.Dropped != 0 && resyncs == 0:
				t.Fatal("the server dropped frames and no key was re-synchronised")
			}
		})
	}
}

// scriptServer is a hand-driven SODP server for sequences sodptest cannot
// produce. handle runs for each connection (n counts from 1).
type scriptServer struct {
	*httptest.Server
	mu    sync.Mutex
	times []time.Time
}

type scriptConn struct {
	t  *testing.T
	ws *websocket.Conn
	mu sync.Mutex
}

func (c *scriptConn) send(typ wire.Type, stream uint32, body any) {
	b, err := wire.Encode(nil, wire.Frame{Type: typ, Stream: stream, Body: body})
	if err != nil {
		panic(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.ws.WriteMessage(websocket.BinaryMessage, b)
}

// read returns the next frame from the client, or false when it is gone.
func (c *scriptConn) read() (wire.Frame, bool) {
	_, data, err := c.ws.ReadMessage()
	if err != nil {
		return wire.Frame{}, false
	}
	f, err := wire.Decode(data)
	if err != nil {
		return wire.Frame{}, false
	}
	return f, true
}

func newScriptServer(t *testing.T, handle func(c *scriptConn, n int)) *scriptServer {
	return serveScript(t, nil, handle)
}

// newPipeScriptServer is newScriptServer on a sodptest.PipeListener, for
// tests in a synctest bubble; clients reach it with rs.viaPipe().
func newPipeScriptServer(t *testing.T, handle func(c *scriptConn, n int)) *scriptServer {
	return serveScript(t, sodptest.NewPipeListener(), handle)
}

// viaPipe makes a client reach rs (a newPipeScriptServer) in memory.
func (rs *scriptServer) viaPipe() sodp.Option {
	return sodp.WithNetDialContext(rs.Listener.(*sodptest.PipeListener).DialContext)
}

// serveScript serves handle on ln, or on a loopback port when ln is nil.
func serveScript(t *testing.T, ln net.Listener, handle func(c *scriptConn, n int)) *scriptServer {
	rs := &scriptServer{}
	up := websocket.Upgrader{}
	var wg sync.WaitGroup
	rs.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		rs.mu.Lock()
		rs.times = append(rs.times, time.Now())
		n := len(rs.times)
		rs.mu.Unlock()
		wg.Add(1)
		defer wg.Done()
		defer ws.Close()
		handle(&scriptConn{t: t, ws: ws}, n)
	}))
	if ln != nil {
		rs.Listener.Close()
		rs.Listener = ln
	}
	rs.Start()
	t.Cleanup(func() {
		rs.CloseClientConnections()
		rs.Close()
		wg.Wait()
	})
	return rs
}

func (rs *scriptServer) url() string { return "ws" + strings.TrimPrefix(rs.URL, "http") }

func (rs *scriptServer) accepted() []time.Time {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]time.Time(nil), rs.times...)
}

var specHello = &wire.Hello{Protocol: "sodp", Version: "1.0", Server: "raw"}

// A server that reaches HELLO and closes at once must see the reconnect
// back-off grow, not a dial per BackoffMin forever.
func TestBackoffGrowsWhenServerClosesAfterHello(t *testing.T) {
	// In a synctest bubble over in-memory connections: the dial times are
	// the bubble's, so the gaps are the back-off's own.
	synctest.Test(t, func(t *testing.T) {
		drop := make(chan struct{})
		rs := newPipeScriptServer(t, func(c *scriptConn, n int) {
			c.send(wire.TypeHello, 0, specHello)
			if n == 1 {
				<-drop // stay until the client is live
			}
		})
		const minB = 20 * time.Millisecond
		c := dial(t, rs.url(), rs.viaPipe(), sodp.WithBackoff(minB, 5*time.Second))
		close(drop)
		eventually(t, fmt.Sprintf("six connections (have %d, %v)", len(rs.accepted()), c.Stats()), func() bool { return len(rs.accepted()) >= 6 })
		ts := rs.accepted()
		// Without growth every gap is about minB; with it the fifth redial
		// waits at least 16 × minB.
		if gap := ts[5].Sub(ts[4]); gap < 8*minB {
			t.Fatalf("gaps between dials %v, %v, %v, %v, %v: the back-off did not grow",
				ts[1].Sub(ts[0]), ts[2].Sub(ts[1]), ts[3].Sub(ts[2]), ts[4].Sub(ts[3]), gap)
		}
		// On the bubble's clock a connection takes no time, so each gap
		// is the back-off itself: minB doubled per failure, plus up to a
		// quarter of jitter.
		for i := 1; i < 5; i++ {
			gap, want := ts[i+1].Sub(ts[i]), minB<<i
			if gap < want || gap >= want+want/4 {
				t.Errorf("gap %d between dials %v, want %v plus up to a quarter", i, gap, want)
			}
		}
		c.Close()
	})
}

// Only the echo of the client's own barrier HEARTBEAT ends a replay. A
// server that sends a HEARTBEAT of its own in the middle of a replay, and
// a partial log with a DELTA below the held version after it, must not
// make the client take the rest of the replay for live changes.
func TestServerHeartbeatDoesNotEndReplay(t *testing.T) {
	live := make(chan struct{})
	rs := newScriptServer(t, func(c *scriptConn, n int) {
		c.send(wire.TypeHello, 0, specHello)
		for {
			f, ok := c.read()
			if !ok {
				return
			}
			switch b := f.Body.(type) {
			case *wire.Watch:
				c.send(wire.TypeStateInit, f.Stream, &wire.StateInit{State: b.State, Version: 5, Value: []any{"a"}, Initialized: true})
			case *wire.Resume:
				add := func(v uint64, x string) {
					c.send(wire.TypeDelta, f.Stream, &wire.Delta{State: b.State, Version: v, Ops: []delta.Op{{Op: delta.OpAdd, Path: "/-", Value: x}}})
				}
				c.send(wire.TypeHeartbeat, 0, nil)
				add(6, "b")
				c.send(wire.TypeHeartbeat, 0, nil)
				add(3, "z") // from a partial log: below the held version
				go func() {
					<-live
					add(7, "c")
				}()
			case nil:
				if f.Type == wire.TypeHeartbeat {
					c.send(wire.TypeHeartbeat, 0, nil)
				}
			}
			if n == 1 && f.Type == wire.TypeWatch {
				return // drop the first connection once the key is watched
			}
		}
	})
	c := dial(t, rs.url())
	sub := watch[[]string](t, c, "k", sodp.WithBuffer(16))
	if u := next(t, sub); u.Version != 5 {
		t.Fatalf("first %+v", u)
	}
	u := next(t, sub)
	if u.Kind != sodp.KindReplayed || u.Version != 6 || !reflect.DeepEqual(u.Value, []string{"a", "b"}) {
		t.Fatalf("got %+v, want version 6 [a b] replayed", u)
	}
	close(live)
	u = next(t, sub)
	// Whether version 7 comes before or after the client has seen its
	// barrier's echo is a race; its value is not.
	if u.Kind != sodp.KindDelta && u.Kind != sodp.KindReplayed || u.Version != 7 || !reflect.DeepEqual(u.Value, []string{"a", "b", "c"}) {
		t.Fatalf("got %+v, want version 7 [a b c]", u)
	}
}

// The Go server announces max_watches: a Watch past it fails at once,
// without a WATCH being sent, and WatchMany refuses the keys past it.
func TestWatchLimitAnnounced(t *testing.T) {
	srv := newServer(t, sodptest.WithDialect(sodp.DialectGo), sodptest.WithMaxWatches(3))
	c := dial(t, srv.URL)
	a := watch[any](t, c, "w.a")
	next(t, a)
	many, err := sodp.WatchMany[any](ctxT(t), c, []string{"w.b", "w.c", "w.d", "w.e"})
	if err != nil {
		t.Fatal(err)
	}
	defer many.Close()
	got := map[string]sodp.Kind{}
	for len(got) < 4 {
		u := next(t, many)
		if u.Kind == sodp.KindRefused && !errors.Is(u.Err, sodp.ErrRateLimited) {
			t.Fatalf("refusal %v does not match ErrRateLimited", u.Err)
		}
		got[u.Key] = u.Kind
	}
	if got["w.b"] != sodp.KindSnapshot || got["w.c"] != sodp.KindSnapshot || got["w.d"] != sodp.KindRefused || got["w.e"] != sodp.KindRefused {
		t.Fatalf("kinds %v", got)
	}
	watches := len(frames(srv, "WATCH"))
	if _, err := sodp.Watch[any](ctxT(t), c, "w.f"); !errors.Is(err, sodp.ErrRateLimited) {
		t.Fatalf("Watch past the limit: %v", err)
	}
	if n := len(frames(srv, "WATCH")); n != watches {
		t.Fatalf("%d WATCH frames sent for a refused Watch", n-watches)
	}
	// A key watched already costs nothing.
	again := watch[any](t, c, "w.a")
	if u := next(t, again); u.Kind != sodp.KindCached {
		t.Fatalf("got %+v", u)
	}
	if st := srv.Stats(); st.WatchLimited != 0 {
		t.Fatalf("server refused %d watches", st.WatchLimited)
	}
}

// A 429 on a WATCH is retried with the client's exponential back-off, each
// retry reported on Events, and the key gets its value once the server
// has room.
func TestWatch429RetriedWithBackoff(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			// Announced only by the Go dialect; the client learns it
			// from the 429s elsewhere.
			srv := newServer(t, sodptest.WithDialect(d), sodptest.WithMaxWatches(1))
			const minB = 20 * time.Millisecond
			c := dial(t, srv.URL, sodp.WithBackoff(minB, time.Second))
			events := c.Events()
			a := watch[any](t, c, "r.a")
			next(t, a)
			if d == sodp.DialectGo {
				// The limit is known: refused at once.
				if _, err := sodp.Watch[any](ctxT(t), c, "r.b"); !errors.Is(err, sodp.ErrRateLimited) {
					t.Fatalf("Watch past the announced limit: %v", err)
				}
				return
			}
			b := watch[any](t, c, "r.b")
			var times []time.Time
			deadline := time.After(3 * wait)
			for len(times) < 5 {
				select {
				case ev := <-events:
					if errors.Is(ev.Err, sodp.ErrRateLimited) {
						times = append(times, ev.Time)
					}
				case <-deadline:
					t.Fatalf("%d 429 events; server %+v", len(times), srv.Stats())
				}
			}
			if gap := times[4].Sub(times[3]); gap < 4*minB {
				t.Fatalf("retries %v apart after %v: the back-off did not grow", gap, times[1].Sub(times[0]))
			}
			a.Close()
			if u := next(t, b); u.Kind != sodp.KindSnapshot {
				t.Fatalf("got %+v", u)
			}
		})
	}
}

// The Go server drops frames past its send buffer, answers included: a
// WATCH whose STATE_INIT was dropped is sent again, and a key whose DELTAs
// were dropped is re-synchronised.
func TestLostAnswersRecovered(t *testing.T) {
	srv := newServer(t, sodptest.WithDialect(sodp.DialectGo))
	c := dial(t, srv.URL, sodp.WithCallTimeout(300*time.Millisecond))
	x := watch[int](t, c, "x", sodp.WithBuffer(1024))
	next(t, x)
	conn := srv.Conns()[0]
	conn.Pause()
	for i := 1; i <= 300; i++ {
		srv.Set("x", i)
	}
	dropped := srv.Stats().Dropped
	y := watch[any](t, c, "y")
	eventually(t, "the STATE_INIT dropped", func() bool { return srv.Stats().Dropped > dropped })
	conn.Resume()
	if u := next(t, y); u.Kind != sodp.KindSnapshot {
		t.Fatalf("y: %+v", u)
	}
	u := nextUntil(t, x, func(u sodp.Update[int]) bool { return u.Value == 300 })
	if u.Kind != sodp.KindResync {
		t.Fatalf("x: %+v, want the last value as a resync", u)
	}
	if st := c.Stats(); st.Disconnects != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// The Go server's command defaults: a 1,024-key watch limit and a
// 256-frame send buffer. A WatchMany of 2,000 keys gets 1,024 values and
// 976 refusals at once; nothing is dropped and the server refuses nothing.
func TestWatchManyPastGoWatchLimit(t *testing.T) {
	const n, limit = 2000, 1024
	srv := newServer(t, sodptest.WithDialect(sodp.DialectGo), sodptest.WithMaxWatches(limit))
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("g.%d", i)
		srv.Set(keys[i], i)
	}
	c := dial(t, srv.URL)
	events := c.Events()
	sub, err := sodp.WatchMany[int](ctxT(t), c, keys)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	values, refused := 0, 0
	for values+refused < n {
		u := next(t, sub)
		switch {
		case u.Kind == sodp.KindRefused && errors.Is(u.Err, sodp.ErrRateLimited):
			refused++
		case u.Kind == sodp.KindSnapshot:
			values++
		default:
			t.Fatalf("unexpected %+v", u)
		}
	}
	st, sst := c.Stats(), srv.Stats()
	t.Logf("%d values, %d refused; client %+v; server dropped %d, refused %d", values, refused, st, sst.Dropped, sst.WatchLimited)
	if values != limit || refused != n-limit || sst.Dropped != 0 || sst.WatchLimited != 0 || st.Errors != 0 {
		t.Fatalf("%d values, %d refused, server dropped %d and refused %d", values, refused, sst.Dropped, sst.WatchLimited)
	}
	select {
	case ev := <-events:
		if ev.Err != nil {
			t.Fatalf("event %v", ev.Err)
		}
	default:
	}
}

// A server whose queue is smaller than the client can know (here: 100
// frames, with replays of 150) evicts the client in the middle of every
// resume. The client must not repeat the same burst forever: the next
// connection resumes one key at a time, the one after watches every key
// afresh, and the keys converge (as KindResync).
func TestNoLivelockWhenResumeEvicted(t *testing.T) {
	srv := newServer(t, sodptest.WithSendBuffer(100))
	keys := []string{"ev.a", "ev.b"}
	for _, k := range keys {
		srv.Set(k, 0)
	}
	c := dial(t, srv.URL, sodp.WithBackoff(200*time.Millisecond, time.Second))
	subs := make([]*sodp.Subscription[int], len(keys))
	for i, k := range keys {
		subs[i] = watch[int](t, c, k, sodp.WithBuffer(1024))
		next(t, subs[i])
	}
	srv.DropConnections()
	for i := 1; i <= 150; i++ {
		for _, k := range keys {
			srv.Set(k, i)
		}
	}
	for i, k := range keys {
		u := nextUntil(t, subs[i], func(u sodp.Update[int]) bool { return u.Value == 150 })
		if u.Kind != sodp.KindResync && u.Kind != sodp.KindReplayed {
			t.Fatalf("%s: %+v", k, u)
		}
	}
	st, sst := c.Stats(), srv.Stats()
	t.Logf("client %+v; server evictions %d", st, sst.Evictions)
	if sst.Evictions == 0 || sst.Evictions > 2 || st.Connects > 4 {
		t.Fatalf("%d evictions, %d connections: want at most two evictions before the client changes strategy", sst.Evictions, st.Connects)
	}
}
