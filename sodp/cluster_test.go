package sodp_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sodp-go/client/internal/delta"
	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// history records every value each server held for each key at each
// version (WithOnChange), so a test can tell whether a delivered value is
// one a server really held.
type history struct {
	mu   sync.Mutex
	v    map[string]map[uint64][]any // key → version → values held (one per node that applied it)
	top  uint64                      // the highest version recorded
	adds int
}

// historyWindow bounds what a long run keeps: versions more than this far
// below the highest are forgotten (no watcher lags that far behind).
const historyWindow = 100_000

func newHistory() *history { return &history{v: map[string]map[uint64][]any{}} }

func (h *history) add(ch sodptest.Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.v[ch.Key]
	if m == nil {
		m = map[uint64][]any{}
		h.v[ch.Key] = m
	}
	m[ch.Version] = append(m[ch.Version], ch.Value)
	h.top = max(h.top, ch.Version)
	if h.adds++; h.adds%10_000 == 0 && h.top > historyWindow {
		for _, m := range h.v {
			for v := range m {
				if v < h.top-historyWindow {
					delete(m, v)
				}
			}
		}
	}
}

// held reports whether some server held value for key at version.
func (h *history) held(key string, version uint64, value any) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, v := range h.v[key][version] {
		if delta.Equal(v, value) {
			return true
		}
	}
	return false
}

// watcher reads one subscription and checks what it delivers: versions
// never go backwards, and a value no server held at its version is only
// ever delivered as a change if a KindResync corrects it later.
type watcher struct {
	name string
	hist *history
	sub  *sodp.Subscription[any]
	done chan struct{}

	mu        sync.Mutex
	last      map[string]sodp.Update[any]
	backwards int             // updates whose version is below the previous one
	wrong     int             // changes delivered with a value no server held at that version
	pending   map[string]bool // keys whose last wrong change has not been corrected yet
	resyncs   int
	problems  []string
}

func newWatcher(name string, h *history, sub *sodp.Subscription[any]) *watcher {
	w := &watcher{name: name, hist: h, sub: sub, done: make(chan struct{}),
		last: map[string]sodp.Update[any]{}, pending: map[string]bool{}}
	go func() {
		defer close(w.done)
		for u := range sub.Updates() {
			w.add(u)
		}
	}()
	return w
}

func (w *watcher) add(u sodp.Update[any]) {
	w.mu.Lock()
	defer w.mu.Unlock()
	prev, seen := w.last[u.Key]
	problem := func(format string, args ...any) {
		if len(w.problems) < 10 {
			w.problems = append(w.problems, fmt.Sprintf("%s %s: ", w.name, u.Key)+fmt.Sprintf(format, args...))
		}
	}
	if u.Err != nil {
		problem("error %v", u.Err)
	}
	if seen && u.Version < prev.Version {
		w.backwards++
		problem("version %d (%v) after %d (%v)", u.Version, u.Kind, prev.Version, prev.Kind)
	}
	switch u.Kind {
	case sodp.KindDelta, sodp.KindReplayed:
		if !w.hist.held(u.Key, u.Version, u.Value) {
			w.wrong++
			w.pending[u.Key] = true
		}
	case sodp.KindResync:
		w.resyncs++
		delete(w.pending, u.Key)
	}
	w.last[u.Key] = u
}

func (w *watcher) lastOf(key string) (sodp.Update[any], bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	u, ok := w.last[key]
	return u, ok
}

// check fails the test if the watcher saw a version go backwards or kept a
// wrong value uncorrected.
func (w *watcher) check(t *testing.T) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.backwards > 0 || len(w.pending) > 0 {
		t.Errorf("%s: %d versions went backwards, uncorrected wrong values for %v: %v", w.name, w.backwards, w.pending, w.problems)
	}
}

// desyncEvents counts ErrDesync events.
func desyncEvents(l *eventLog) int {
	n := 0
	for _, ev := range l.snapshot() {
		if errors.Is(ev.Err, sodp.ErrDesync) {
			n++
		}
	}
	return n
}

func TestStaleDeltaIsNeverApplied(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			h := newHistory()
			srv := newServer(t, sodptest.WithDialect(d), sodptest.WithOutOfOrderDeltas(2), sodptest.WithOnChange(h.add))
			srv.Set("k", map[string]any{"n": 0})
			c := dial(t, srv.URL)
			events := collectEvents(c)
			sub := watch[any](t, c, "k", sodp.WithBuffer(1000))
			w := newWatcher("w", h, sub)
			eventually(t, "snapshot", func() bool { _, ok := w.lastOf("k"); return ok })
			var last uint64
			for i := 1; i <= 40; i++ {
				// Each change sets another field, so a change applied on a
				// base that lacks the one before makes a value the server
				// never held.
				last = srv.Patch("k", map[string]any{fmt.Sprintf("f%d", i%5): i})
			}
			eventually(t, "the server's last value", func() bool {
				u, ok := w.lastOf("k")
				v, _, _ := srv.Get("k")
				return ok && u.Version == last && delta.Equal(u.Value, v)
			})
			w.check(t)
			if desyncEvents(events) == 0 {
				t.Fatal("no ErrDesync event for the DELTAs that came out of order")
			}
			if got := c.Stats().Resyncs; got == 0 {
				t.Fatal("no resync")
			}
		})
	}
}

func TestSameVersionDifferentOpsResyncs(t *testing.T) {
	srv := newServer(t)
	srv.Set("k", map[string]any{"x": 1})
	c := dial(t, srv.URL)
	events := collectEvents(c)
	sub := watch[map[string]any](t, c, "k", sodp.WithBuffer(100))
	next(t, sub)
	old, _, _ := srv.Get("k")
	v := srv.Set("k", map[string]any{"x": 2})
	ops := delta.Diff(old, map[string]any{"x": int64(2)})
	if u := next(t, sub); u.Version != v || fmt.Sprint(u.Value["x"]) != "2" {
		t.Fatalf("update %+v", u)
	}
	send := func(v uint64, ops []delta.Op) {
		var l []any
		for _, op := range ops {
			l = append(l, map[string]any{"op": op.Op, "path": op.Path, "value": op.Value})
		}
		connOf(t, srv).Send(0x04, 10, map[string]any{"state": "k", "version": v, "ops": l})
	}
	// A doubled DELTA, as a server with two subscriptions of the key sends:
	// dropped without a word.
	send(v, ops)
	// A change the server never made, under the version its next change
	// takes (versions are global here: the next one is v+1).
	send(v+1, []delta.Op{{Op: delta.OpUpdate, Path: "/x", Value: 99}})
	if u := next(t, sub); u.Kind != sodp.KindDelta || u.Version != v+1 || fmt.Sprint(u.Value["x"]) != "99" {
		t.Fatalf("update %+v", u)
	}
	if n, w := desyncEvents(events), srv.Stats().Watches; n != 0 || w != 1 {
		t.Fatalf("the doubled DELTA caused %d ErrDesync events and %d WATCHes", n, w)
	}
	// The server's own change under that version has other ops: the copy
	// can no longer be trusted, and the resync brings the server's value.
	v2 := srv.Set("k", map[string]any{"x": 3})
	if v2 != v+1 {
		t.Fatalf("version %d, want %d", v2, v+1)
	}
	u := next(t, sub)
	if u.Kind != sodp.KindResync || u.Version != v2 || fmt.Sprint(u.Value["x"]) != "3" {
		t.Fatalf("update %+v, want the server's value as a resync", u)
	}
	eventually(t, "ErrDesync event", func() bool { return desyncEvents(events) == 1 })
	v3 := srv.Set("k", map[string]any{"x": 4})
	if u := next(t, sub); u.Kind != sodp.KindDelta || u.Version != v3 {
		t.Fatalf("update %+v", u)
	}
}

func connOf(t *testing.T, srv *sodptest.Server) *sodptest.Conn {
	t.Helper()
	cs := srv.Conns()
	if len(cs) == 0 {
		t.Fatal("no connection")
	}
	return cs[len(cs)-1]
}

func TestUnchangedResyncDeliversNothing(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			v := srv.Set("k", map[string]any{"x": 1, "l": []any{}})
			c := dial(t, srv.URL)
			sub := watch[map[string]any](t, c, "k", sodp.WithBuffer(100))
			next(t, sub)
			framesIn := c.Stats().FramesIn
			// A DELTA that does not apply (a REMOVE of an array element
			// that is not there): the key is re-synchronised and the fresh
			// STATE_INIT equals what the subscriber has.
			body := map[string]any{"state": "k", "key": "k", "version": v + 1,
				"ops": []any{map[string]any{"op": "REMOVE", "path": "/l/3"}}}
			// The key's stream is the first subscription stream, 10, in
			// every dialect (the Rust dialect's DELTAs are routed by it).
			connOf(t, srv).Send(0x04, 10, body)
			// The DELTA and the resync's STATE_INIT (the TypeScript
			// server answers a WATCH some time after it arrived).
			eventually(t, "the resync's answer", func() bool { return c.Stats().FramesIn >= framesIn+2 })
			v2 := srv.Set("k", map[string]any{"x": 2, "l": []any{}})
			if u := next(t, sub); u.Kind != sodp.KindDelta || u.Version != v2 {
				t.Fatalf("update %+v, want the next change and nothing before it", u)
			}
		})
	}
}

// TestFailoverNeverResumesOnAnotherNode: two nodes assign the same version
// to different changes; the watcher fails over from one to the other and
// must end with what the serving node holds, never with the first node's
// value patched by the second node's log.
func TestFailoverNeverResumesOnAnotherNode(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			h := newHistory()
			cl := sodptest.NewCluster(2, sodptest.WithDialect(d), sodptest.WithOnChange(h.add))
			t.Cleanup(cl.Close)
			n1, n2 := cl.Node(0), cl.Node(1)
			cl.Partition()
			v1 := n1.Server().Set("k", map[string]any{"a": "A"})
			v2 := n2.Server().Set("k", map[string]any{"a": "B"})
			if v1 != v2 {
				t.Fatalf("versions %d and %d: no collision", v1, v2)
			}
			c := dial(t, n1.URL, sodp.WithEndpoints(n2.URL))
			sub := watch[any](t, c, "k", sodp.WithBuffer(100))
			w := newWatcher("w", h, sub)
			eventually(t, "snapshot", func() bool { _, ok := w.lastOf("k"); return ok })
			n2.Server().Patch("k", map[string]any{"p": "C"})
			n1.Kill()
			want, _, _ := n2.Server().Get("k")
			eventually(t, "the serving node's value", func() bool {
				u, _ := w.lastOf("k")
				return c.State() == sodp.StateLive && c.Server().Endpoint == n2.URL && delta.Equal(u.Value, want)
			})
			if u, _ := w.lastOf("k"); u.Kind != sodp.KindResync {
				t.Fatalf("update %+v, want a resync", u)
			}
			w.check(t)
			if n := len(frames(n2.Server(), "RESUME")); n != 0 {
				t.Fatalf("%d RESUME frames sent to a node that did not assign the version", n)
			}
			cl.Heal()
		})
	}
}

// TestResumeAfterRestartOnlyWithTheSameIdentity: a node restarted on its
// address is the same server for a spec server (resumed), another one for
// the Go server, whose HELLO carries a new server_id (watched afresh).
func TestResumeAfterRestartOnlyWithTheSameIdentity(t *testing.T) {
	for _, d := range []sodp.Dialect{sodp.DialectSpec, sodp.DialectGo} {
		t.Run(d.String(), func(t *testing.T) {
			cl := sodptest.NewCluster(1, sodptest.WithDialect(d))
			t.Cleanup(cl.Close)
			n := cl.Node(0)
			n.Server().Set("k", "a")
			c := dial(t, n.URL)
			sub := watch[string](t, c, "k", sodp.WithBuffer(100))
			next(t, sub)
			before := c.Stats().Connects
			n.Restart()
			eventually(t, "reconnect", func() bool { return c.Stats().Connects > before && c.State() == sodp.StateLive })
			v := n.Server().Set("k", "b")
			if u := nextUntil(t, sub, func(u sodp.Update[string]) bool { return u.Value == "b" }); u.Version != v {
				t.Fatalf("update %+v", u)
			}
			resumes, watches := len(frames(n.Server(), "RESUME")), len(frames(n.Server(), "WATCH"))
			if d == sodp.DialectGo && (resumes != 0 || watches != 1) {
				t.Fatalf("%d RESUME, %d WATCH after a restart with a new server_id", resumes, watches)
			}
			if d == sodp.DialectSpec && (resumes != 1 || watches != 0) {
				t.Fatalf("%d RESUME, %d WATCH after a restart on the same endpoint", resumes, watches)
			}
		})
	}
}

// clusterRunDuration is how long TestClusterFailoverUnderWriters runs:
// SODP_CLUSTER_SOAK (a Go duration) or a short default.
func clusterRunDuration(t *testing.T) time.Duration {
	if s := os.Getenv("SODP_CLUSTER_SOAK"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("SODP_CLUSTER_SOAK: %v", err)
		}
		return d
	}
	return 1500 * time.Millisecond
}

// TestClusterFailoverUnderWriters: two nodes, writers on both (their DELTAs
// out of order as under concurrent writers), watchers with both endpoints;
// one node at a time is killed and restarted. No watcher sees a version go
// backwards, a wrong value is never left uncorrected, and every watcher ends
// equal to the node serving it.
func TestClusterFailoverUnderWriters(t *testing.T) {
	dur := clusterRunDuration(t)
	for _, d := range []sodp.Dialect{sodp.DialectSpec, sodp.DialectGo} {
		t.Run(d.String(), func(t *testing.T) {
			h := newHistory()
			cl := sodptest.NewCluster(2, sodptest.WithDialect(d), sodptest.WithOutOfOrderDeltas(3),
				sodptest.WithOnChange(h.add), sodptest.WithMaxRecorded(100))
			t.Cleanup(cl.Close)
			n1, n2 := cl.Node(0), cl.Node(1)
			keys := []string{"c.k0", "c.k1", "c.k2", "c.k3"}
			for _, k := range keys {
				n1.Server().Set(k, map[string]any{})
			}
			cl.Settle()

			type client struct {
				c *sodp.Client
				w *watcher
			}
			var clients []client
			for i := range 4 {
				first, other := n1.URL, n2.URL
				if i%2 == 1 {
					first, other = other, first
				}
				c := dial(t, first, sodp.WithEndpoints(other))
				// The subscription lives as long as its context: the whole run.
				sub, err := sodp.WatchMany[any](context.Background(), c, keys, sodp.WithBuffer(1<<16))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { sub.Close() })
				clients = append(clients, client{c, newWatcher(fmt.Sprintf("watcher%d", i), h, sub)})
			}

			ctx, stop := context.WithCancel(context.Background())
			var writes atomic.Int64
			var wg sync.WaitGroup
			for i := range 4 {
				nd := cl.Node(i % 2)
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(uint64(i), 7))
					for n := 0; ctx.Err() == nil; n++ {
						if s := nd.Server(); s != nil {
							if s.Patch(keys[rng.IntN(len(keys))], map[string]any{fmt.Sprintf("f%d", rng.IntN(6)): n}) != 0 {
								writes.Add(1)
							}
						}
						if n%8 == 0 {
							time.Sleep(time.Millisecond)
						}
					}
				}()
			}
			failovers := 0
			deadline := time.Now().Add(dur)
			for i := 0; time.Now().Before(deadline); i++ {
				nd := cl.Node(i % 2)
				nd.Kill()
				failovers++
				time.Sleep(50 * time.Millisecond)
				nd.Restart()
				time.Sleep(100 * time.Millisecond)
			}
			stop()
			wg.Wait()
			cl.Settle()

			// Every watcher ends equal to the node serving it.
			for _, cc := range clients {
				var why string
				equal := func() bool {
					if st := cc.c.State(); st != sodp.StateLive {
						why = "state " + st.String()
						return false
					}
					ep := cc.c.Server().Endpoint
					var srv *sodptest.Server
					for _, nd := range cl.Nodes() {
						if nd.URL == ep {
							srv = nd.Server()
						}
					}
					if srv == nil {
						why = "no node at " + ep
						return false
					}
					for _, k := range keys {
						u, ok := cc.w.lastOf(k)
						v, ver, _ := srv.Get(k)
						if !ok || u.Version != ver || !delta.Equal(u.Value, v) {
							why = fmt.Sprintf("%s: has %v@%d (%v), %s holds %v@%d; subscription error %v; stats %+v",
								k, u.Value, u.Version, u.Kind, ep, v, ver, cc.w.sub.Err(), cc.c.Stats())
							return false
						}
					}
					return true
				}
				deadline := time.Now().Add(wait)
				for !equal() {
					if time.Now().After(deadline) {
						t.Fatalf("%s never equal to its node: %s", cc.w.name, why)
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
			var backwards, wrong, resyncs int
			var reconnects uint64
			for _, cc := range clients {
				cc.w.check(t)
				cc.w.mu.Lock()
				backwards += cc.w.backwards
				wrong += cc.w.wrong
				resyncs += cc.w.resyncs
				cc.w.mu.Unlock()
				reconnects += cc.c.Stats().Reconnects
			}
			t.Logf("%s: %v, %d writes, %d node kills, %d client reconnects, %d resyncs delivered, %d wrong changes corrected, %d versions backwards",
				d, dur, writes.Load(), failovers, reconnects, resyncs, wrong, backwards)
			if failovers == 0 || reconnects == 0 {
				t.Fatalf("no failover happened (%d kills, %d reconnects)", failovers, reconnects)
			}
		})
	}
}
