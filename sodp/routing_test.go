package sodp_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sodp-go/client/internal/wire"
	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// Refused WATCHes (ACL and rate limit) among many in flight: a server that
// numbers its own streams allocates no id for a refused WATCH, so its ids
// fall behind the ones the client proposed, and the Rust server's DELTAs
// name no key. Every subscription must still get its own key's changes,
// and only those, on every dialect.
func TestRefusedWatchesKeepKeylessDeltasRouted(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d), sodptest.WithRateLimit(0, 5),
				sodptest.WithACL(func(_, key string, _ bool) bool { return !strings.HasPrefix(key, "secret.") }))
			const n = 12
			keys := make([]string, n)
			for i := range keys {
				keys[i] = fmt.Sprintf("r.k%d", i)
				srv.Set(keys[i], keys[i]+"-0")
			}
			c := dial(t, srv.URL)
			var subs []*sodp.Subscription[string]
			var secrets []*sodp.Subscription[string]
			for i, key := range keys {
				if i%3 == 0 {
					secrets = append(secrets, watch[string](t, c, fmt.Sprintf("secret.s%d", i/3)))
				}
				subs = append(subs, watch[string](t, c, key))
			}
			for i, sub := range subs {
				if u := next(t, sub); u.Key != keys[i] || u.Value != keys[i]+"-0" {
					t.Fatalf("%s: first update %+v", keys[i], u)
				}
			}
			for _, sub := range secrets {
				if err := closed(t, sub); !errors.Is(err, sodp.ErrForbidden) {
					t.Fatalf("secret key: %v, want ErrForbidden", err)
				}
			}
			for round := 1; round <= 2; round++ {
				versions := make([]uint64, n)
				for i, key := range keys {
					versions[i] = srv.Set(key, fmt.Sprintf("%s-%d", key, round))
				}
				for i, sub := range subs {
					want := fmt.Sprintf("%s-%d", keys[i], round)
					if u := next(t, sub); u.Value != want || u.Version != versions[i] || u.Kind != sodp.KindDelta {
						t.Fatalf("%s: update %q v%d (%s), want %q v%d", keys[i], u.Value, u.Version, u.Kind, want, versions[i])
					}
				}
			}
		})
	}
}

// A server that answers two pending WATCHes on each other's proposed
// stream ids: the STATE_INIT's stream is the server's binding, so each
// key's keyless DELTAs reach that key.
func TestSwappedStreamIdsRouteBothKeys(t *testing.T) {
	var mu sync.Mutex
	var proposed []uint32
	srv := serveFrames(t, func(f wire.Frame, send func([]byte)) {
		if f.Type != wire.TypeWatch {
			return
		}
		mu.Lock()
		proposed = append(proposed, f.Stream)
		ids := slices.Clone(proposed)
		mu.Unlock()
		if len(ids) != 2 {
			return
		}
		// a was proposed ids[0], b ids[1]: answer in order, ids swapped.
		send(frameBytes(t, wire.TypeStateInit, ids[1], map[string]any{"state": "a", "version": 1, "value": "a0", "initialized": true}))
		send(frameBytes(t, wire.TypeStateInit, ids[0], map[string]any{"state": "b", "version": 1, "value": "b0", "initialized": true}))
		op := func(v string) []any { return []any{map[string]any{"op": "UPDATE", "path": "/", "value": v}} }
		send(frameBytes(t, wire.TypeDelta, ids[0], map[string]any{"version": 2, "ops": op("b1")}))
		send(frameBytes(t, wire.TypeDelta, ids[1], map[string]any{"version": 3, "ops": op("a1")}))
	})
	c := dial(t, srv.URL)
	a := watch[string](t, c, "a", sodp.WithBuffer(4))
	b := watch[string](t, c, "b", sodp.WithBuffer(4))
	for _, w := range []struct {
		sub    *sodp.Subscription[string]
		values []string
	}{{a, []string{"a0", "a1"}}, {b, []string{"b0", "b1"}}} {
		for _, want := range w.values {
			if u := next(t, w.sub); u.Value != want {
				t.Fatalf("%s: update %q (v%d), want %q", u.Key, u.Value, u.Version, want)
			}
		}
	}
	if n := c.Stats().Errors; n != 0 {
		t.Fatalf("%d errors", n)
	}
}

// A STATE_INIT that answers no request, here a repeat of another watched
// key's value on this key's stream, does not take the stream over: the
// key's own keyless DELTAs still reach it, and a repeat is no error.
func TestUnsolicitedStateInitKeepsOtherKeysStream(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			srv.Set("a", 1)
			vb := srv.Set("b", 2)
			c := dial(t, srv.URL)
			a := watch[int](t, c, "a")
			next(t, a)
			b := watch[int](t, c, "b")
			next(t, b)
			conn := srv.Conns()[0]
			streamA := streamOf(conn, "a")
			conn.Send(0x03, streamA, map[string]any{"state": "b", "version": vb, "value": 2, "initialized": true})
			_, va, _ := srv.Get("a")
			conn.Send(0x04, streamA, map[string]any{"version": va + 1, "ops": []any{map[string]any{"op": "UPDATE", "path": "/", "value": 7}}})
			if u := next(t, a); u.Value != 7 || u.Version != va+1 {
				t.Fatalf("a update %+v", u)
			}
			// A fresh WATCH would have gone out as the STATE_INIT was
			// handled, before a call sent after it is answered.
			roundTrip(t, c)
			roundTrip(t, c)
			if n := watchesOf(srv); n["a"] != 1 || n["b"] != 1 {
				t.Fatalf("WATCHes %v: a key was verified", n)
			}
		})
	}
}
