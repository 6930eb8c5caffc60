package sodptest

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sodp-go/client/internal/wire"

	"github.com/sodp-go/client/sodp"
)

func TestOutOfOrderDeltas(t *testing.T) {
	forDialects(t, func(t *testing.T, d sodp.Dialect) {
		var mu sync.Mutex
		var changes []uint64
		srv := newServer(t, WithDialect(d), WithOutOfOrderDeltas(2), WithOnChange(func(ch Change) {
			mu.Lock()
			changes = append(changes, ch.Version)
			mu.Unlock()
		}))
		v0 := srv.Set("k", 0)
		c := dial(t, srv)
		c.watch(10, "k")
		c.expect(wire.TypeStateInit)
		var sent []uint64
		for i := 1; i <= 4; i++ {
			sent = append(sent, srv.Set("k", i))
		}
		var got []uint64
		for range sent {
			got = append(got, deltaOf(t, c.next()).Version)
		}
		// The 2nd change of the key is held back behind the 3rd; the 4th,
		// with nothing after it, comes on its own a little later.
		want := []uint64{sent[1], sent[0], sent[2], sent[3]}
		if !slices.Equal(got, want) {
			t.Fatalf("DELTA versions %v, want %v (sent %v)", got, want, sent)
		}
		mu.Lock()
		if !slices.Equal(changes, append([]uint64{v0}, sent...)) {
			t.Fatalf("changes reported %v", changes)
		}
		mu.Unlock()

		// The RESUME log keeps version order.
		c2 := dial(t, srv)
		c2.send(wire.TypeResume, 20, &wire.Resume{State: "k", SinceVersion: v0})
		var replayed []uint64
		for len(replayed) < len(sent) {
			r := c2.next()
			if dl, ok := r.f.Body.(*wire.Delta); ok {
				replayed = append(replayed, dl.Version)
			}
		}
		if !slices.Equal(replayed, sent) {
			t.Fatalf("replayed %v, want %v", replayed, sent)
		}
	})
}

func TestClusterSharesStateWithOwnCounters(t *testing.T) {
	forDialects(t, func(t *testing.T, d sodp.Dialect) {
		cl := NewCluster(2, WithDialect(d))
		t.Cleanup(cl.Close)
		n1, n2 := cl.Node(0), cl.Node(1)
		if n1.URL == n2.URL || !slices.Equal(cl.URLs(), []string{n1.URL, n2.URL}) {
			t.Fatalf("URLs %v", cl.URLs())
		}
		w := dial(t, n2.Server())
		w.watch(10, "k")
		w.expect(wire.TypeStateInit)

		// A relayed change keeps the origin's version.
		v1 := n1.Server().Set("k", "a")
		if dl := deltaOf(t, w.next()); dl.Version != v1 {
			t.Fatalf("relayed DELTA version %d, want %d", dl.Version, v1)
		}
		cl.Settle()
		if v, ver, _ := n2.Server().Get("k"); v != "a" || ver != v1 {
			t.Fatalf("node 2 holds %v@%d", v, ver)
		}

		// Writes racing on two nodes take the same version; each node drops
		// the other's change, at or below its own version of the key.
		cl.Partition()
		vx := n1.Server().Set("k", "x")
		vy := n2.Server().Set("k", "y")
		if vx != vy {
			t.Fatalf("versions %d and %d, want a collision", vx, vy)
		}
		if dl := deltaOf(t, w.next()); dl.Version != vy {
			t.Fatalf("DELTA %d", dl.Version)
		}
		cl.Heal()
		cl.Settle()
		if v, _, _ := n1.Server().Get("k"); v != "x" {
			t.Fatalf("node 1 holds %v", v)
		}
		if v, _, _ := n2.Server().Get("k"); v != "y" {
			t.Fatalf("node 2 holds %v", v)
		}
		w.expectNothing()

		// RESUME is answered from the node's own log.
		r := dial(t, n2.Server())
		r.send(wire.TypeResume, 20, &wire.Resume{State: "k", SinceVersion: v1})
		var last any
		for last == nil {
			f := r.next()
			switch b := f.f.Body.(type) {
			case *wire.Delta:
				if b.Version != vy {
					t.Fatalf("replayed version %d", b.Version)
				}
				last = b.Ops[len(b.Ops)-1].Value
			case *wire.StateInit:
				last = b.Value
			}
		}
		if last != "y" {
			t.Fatalf("node 2 resumed with %v", last)
		}

		// Kill and restart on the same address: the node comes back with
		// the shared store's state and a new identity.
		hello1 := dial(t, n1.Server()).hello.f.Body.(*wire.Hello)
		n1.Kill()
		if n1.Server() != nil {
			t.Fatal("a killed node has a server")
		}
		n1.Kill() // no-op
		n1.Restart()
		s1 := n1.Server()
		if s1 == nil || s1.URL != n1.URL {
			t.Fatalf("restarted on %v, want %s", s1, n1.URL)
		}
		v, ver, _ := s1.Get("k")
		if ver != vx || (v != "x" && v != "y") {
			t.Fatalf("restarted node holds %v@%d, want the store's value at %d", v, ver, vx)
		}
		c := dial(t, s1)
		hello2 := c.hello.f.Body.(*wire.Hello)
		if d == sodp.DialectGo && (hello1.ServerID == hello2.ServerID || !strings.HasPrefix(hello2.ServerID, "sodptest-go")) {
			t.Fatalf("server_id %q then %q", hello1.ServerID, hello2.ServerID)
		}
		// Its counter continues above the store's versions.
		if nv := s1.Set("k", "z"); nv <= vx {
			t.Fatalf("version %d after restart, want > %d", nv, vx)
		}
		cl.Settle()
		if v, _, _ := n2.Server().Get("k"); v != "z" {
			t.Fatalf("node 2 holds %v", v)
		}

		// Close is graceful: a close frame, 1001.
		n2.Close()
		w.expectGracefulClose(1001)
	})
}

func TestClusterKillAnswersNothing(t *testing.T) {
	cl := NewCluster(2)
	defer cl.Close()
	n1 := cl.Node(0)
	c := dial(t, n1.Server())
	n1.Server().mu.Lock()
	n1.Server().frozen = true
	n1.Server().mu.Unlock()
	c.call("state.set", map[string]any{"state": "k", "value": 1})
	c.expectNothing()
	if _, v, _ := cl.Node(1).Server().Get("k"); v != 0 {
		t.Fatalf("a frozen node changed k (version %d)", v)
	}
}
