package sodp_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/sodp-go/client/internal/delta"
	"github.com/sodp-go/client/internal/wire"
	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

func watchPath[T any](t testing.TB, c *sodp.Client, key, ptr string, opts ...sodp.WatchOption) *sodp.Subscription[T] {
	t.Helper()
	sub, err := sodp.WatchPath[T](ctxT(t), c, key, ptr, opts...)
	if err != nil {
		t.Fatalf("WatchPath(%s, %s): %v", key, ptr, err)
	}
	t.Cleanup(func() { sub.Close() })
	return sub
}

// first reads a subscription's first update, a snapshot or cached copy.
func first[T any](t testing.TB, sub *sodp.Subscription[T]) sodp.Update[T] {
	t.Helper()
	u := next(t, sub)
	if u.Kind != sodp.KindSnapshot && u.Kind != sodp.KindCached || u.Changed != nil {
		t.Fatalf("first update %+v", u)
	}
	return u
}

// TestWatchPathDialects: parts of one key, watched next to the whole key,
// on every dialect: one WATCH, updates only for the part that changed,
// parts appearing and disappearing, an unchanged part under a rewritten
// ancestor delivering nothing, and UNWATCH after the last subscription.
func TestWatchPathDialects(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			const key = "game.state"
			srv.Set(key, map[string]any{
				"players": map[string]any{"alice": map[string]any{"health": 10}, "bob": map[string]any{"health": 5}},
				"round":   1,
			})
			c := dial(t, srv.URL)
			whole := watch[map[string]any](t, c, key)
			first(t, whole)
			health := watchPath[int](t, c, key, "/players/alice/health")
			alice := watchPath[map[string]int](t, c, key, "/players/alice")
			carol := watchPath[map[string]int](t, c, key, "/players/carol")
			if u := first(t, health); !u.Initialized || u.Value != 10 || u.Kind != sodp.KindCached {
				t.Fatalf("alice's health %+v", u)
			}
			if u := first(t, alice); !u.Initialized || !reflect.DeepEqual(u.Value, map[string]int{"health": 10}) {
				t.Fatalf("alice %+v", u)
			}
			if u := first(t, carol); u.Initialized || u.Value != nil {
				t.Fatalf("carol, missing: %+v", u)
			}
			roundTrip(t, c)
			if n := len(frames(srv, "WATCH")); n != 1 {
				t.Fatalf("%d WATCH frames for one key", n)
			}

			// Elsewhere: nothing for alice. The next update of her
			// subscriptions is her own change.
			mustSetIn(t, srv, key, "/players/bob/health", 6)
			u := next(t, whole)
			if len(u.Changed) == 0 || !slices.ContainsFunc(u.Changed, func(p string) bool { return p == "/players/bob/health" || p == "/players/bob" || p == "/players" }) {
				t.Fatalf("whole value: Changed %q for bob's health", u.Changed)
			}
			v := mustSetIn(t, srv, key, "/players/alice/health", 9)
			if u := next(t, health); u.Version != v || u.Value != 9 || u.Kind != sodp.KindDelta || !slices.Equal(u.Changed, []string{"/"}) || u.Skipped != 0 {
				t.Fatalf("alice's health after her change (version %d): %+v", v, u)
			}
			ua := next(t, alice)
			if ua.Version != v || ua.Value["health"] != 9 || len(ua.Changed) != 1 || ua.Changed[0] != "/health" && ua.Changed[0] != "/" {
				t.Fatalf("alice after her change (version %d): %+v", v, ua)
			}

			// Carol appears.
			v = mustSetIn(t, srv, key, "/players/carol", map[string]any{"health": 1})
			if u := next(t, carol); u.Version != v || !u.Initialized || u.Value["health"] != 1 {
				t.Fatalf("carol appearing (version %d): %+v", v, u)
			}
			// The players are rewritten: alice as she was, carol gone.
			v = mustSetIn(t, srv, key, "/players", map[string]any{"alice": map[string]any{"health": 9}, "bob": map[string]any{"health": 6}})
			if u := next(t, carol); u.Version != v || u.Initialized || u.Value != nil || u.Kind != sodp.KindDelta {
				t.Fatalf("carol gone (version %d): %+v", v, u)
			}
			// The key is deleted: every part is gone.
			v = srv.Delete(key)
			if u := next(t, health); u.Initialized || u.Value != 0 {
				t.Fatalf("alice's health after the delete (version %d): %+v", v, u)
			}
			if u := next(t, alice); u.Initialized || u.Value != nil {
				t.Fatalf("alice after the delete: %+v", u)
			}

			whole.Close()
			health.Close()
			alice.Close()
			roundTrip(t, c)
			if n := len(frames(srv, "UNWATCH")); n != 0 {
				t.Fatalf("UNWATCH while a subscription of a part is left")
			}
			carol.Close()
			eventually(t, "UNWATCH after the last subscription", func() bool { return len(frames(srv, "UNWATCH")) == 1 })
		})
	}
}

func mustSetIn(t testing.TB, srv *sodptest.Server, key, ptr string, v any) uint64 {
	t.Helper()
	ver, err := srv.SetIn(key, ptr, v)
	if err != nil || ver == 0 {
		t.Fatalf("SetIn(%s): version %d, %v", ptr, ver, err)
	}
	return ver
}

// rawDelta sends a DELTA of key, as built by the test, on conn.
func rawDelta(conn *sodptest.Conn, key string, version uint64, ops ...delta.Op) {
	list := make([]any, len(ops))
	for i, op := range ops {
		m := map[string]any{"op": op.Op, "path": op.Path}
		if op.Op != delta.OpRemove {
			m["value"] = op.Value
		}
		list[i] = m
	}
	conn.Send(uint8(wire.TypeDelta), streamOf(conn, key), map[string]any{"state": key, "version": version, "ops": list})
}

// TestWatchPathPrefixRules sends DELTAs with chosen op paths and checks
// which parts get an update, with what Changed: segment-wise prefixes,
// escapes, array appends and removals, REMOVE of an ancestor, root ops.
func TestWatchPathPrefixRules(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			const key = "doc"
			v0 := srv.Set(key, map[string]any{
				"a": 1, "ab": 2, "a/b": 3, "x~y": map[string]any{"in": 0},
				"arr": []any{0, 1, 2, 3}, "m": map[string]any{"3": "x", "5": "y"},
			})
			c := dial(t, srv.URL)
			whole := watch[any](t, c, key, sodp.WithBuffer(64))
			first(t, whole)
			ptrs := []string{"/a", "/ab", "/a~1b", "/x~0y", "/arr/2", "/m/5", "/m"}
			subs := map[string]*sodp.Subscription[any]{}
			for _, p := range ptrs {
				subs[p] = watchPath[any](t, c, key, p, sodp.WithBuffer(64))
				first(t, subs[p])
			}
			conn := srv.Conns()[0]
			type step struct {
				ops   []delta.Op
				whole []string            // Changed for the whole value
				parts map[string][]string // part → Changed; parts not named get nothing
			}
			up := func(p string, v any) delta.Op { return delta.Op{Op: delta.OpUpdate, Path: p, Value: v} }
			add := func(p string, v any) delta.Op { return delta.Op{Op: delta.OpAdd, Path: p, Value: v} }
			rm := func(p string) delta.Op { return delta.Op{Op: delta.OpRemove, Path: p} }
			many := make([]delta.Op, sodp.MaxChanged+1)
			for i := range many {
				many[i] = add(fmt.Sprintf("/x~0y/f%d", i), i)
			}
			steps := []step{
				{ops: []delta.Op{up("/ab", 20)}, whole: []string{"/ab"}, parts: map[string][]string{"/ab": {"/"}}},
				{ops: []delta.Op{up("/a", 10)}, whole: []string{"/a"}, parts: map[string][]string{"/a": {"/"}}},
				{ops: []delta.Op{up("/a~1b", 30)}, whole: []string{"/a~1b"}, parts: map[string][]string{"/a~1b": {"/"}}},
				{ops: []delta.Op{add("/x~0y/n~1m", 1)}, whole: []string{"/x~0y/n~1m"}, parts: map[string][]string{"/x~0y": {"/n~1m"}}},
				// An append leaves element 2 as it was.
				{ops: []delta.Op{add("/arr/-", 4)}, whole: []string{"/arr"}},
				// Removing element 0 moves 3 into place 2.
				{ops: []delta.Op{rm("/arr/0")}, whole: []string{"/arr"}, parts: map[string][]string{"/arr/2": {"/"}}},
				// Replacing element 1 is not element 2.
				{ops: []delta.Op{up("/arr/1", 7)}, whole: []string{"/arr/1"}},
				{ops: []delta.Op{rm("/arr/-")}, whole: []string{"/arr"}},
				{ops: []delta.Op{rm("/arr/-")}, whole: []string{"/arr"}, parts: map[string][]string{"/arr/2": {"/"}}},
				{ops: []delta.Op{add("/arr/-", 9)}, whole: []string{"/arr"}, parts: map[string][]string{"/arr/2": {"/"}}},
				// A removal that could be a splice is checked, and field
				// "3" is not field "5".
				{ops: []delta.Op{rm("/m/3")}, whole: []string{"/m"}, parts: map[string][]string{"/m": {"/"}}},
				{ops: []delta.Op{up("/m/5", "z")}, whole: []string{"/m/5"}, parts: map[string][]string{"/m/5": {"/"}, "/m": {"/5"}}},
				{ops: []delta.Op{up("/m/6", 1), up("/m/7", 2), up("/ab", 21)}, whole: []string{"/m/6", "/m/7", "/ab"},
					parts: map[string][]string{"/m": {"/6", "/7"}, "/ab": {"/"}}},
				// Too many paths collapse to "/".
				{ops: many, whole: []string{"/"}, parts: map[string][]string{"/x~0y": {"/"}}},
				// The same value again under an ancestor: nothing for the
				// parts below it.
				{ops: []delta.Op{up("/m", map[string]any{"5": "z", "6": 1, "7": 2})}, whole: []string{"/m"}},
				// REMOVE of an ancestor.
				{ops: []delta.Op{rm("/m")}, whole: []string{"/m"}, parts: map[string][]string{"/m": {"/"}, "/m/5": {"/"}}},
				// The whole value.
				{ops: []delta.Op{up("/", map[string]any{"a": 10, "ab": -1})}, whole: []string{"/"},
					parts: map[string][]string{"/ab": {"/"}, "/a~1b": {"/"}, "/x~0y": {"/"}, "/arr/2": {"/"}}},
			}
			version := v0 + 100
			for i, st := range steps {
				version++
				rawDelta(conn, key, version, st.ops...)
				u := next(t, whole)
				if u.Version != version || !slices.Equal(u.Changed, st.whole) {
					t.Fatalf("step %d: whole value: version %d Changed %q, want %d %q", i, u.Version, u.Changed, version, st.whole)
				}
				for _, p := range ptrs {
					want, ok := st.parts[p]
					if !ok {
						continue
					}
					u := next(t, subs[p])
					if u.Version != version || !slices.Equal(u.Changed, want) || u.Kind != sodp.KindDelta {
						t.Fatalf("step %d: part %s: %+v, want version %d Changed %q", i, p, u, version, want)
					}
				}
			}
			// A last delta that every part sees shows that no part had
			// anything else queued.
			version++
			rawDelta(conn, key, version, up("/", map[string]any{"a": 0, "ab": 0, "a/b": 0, "x~y": 0, "arr": []any{0, 0, 0}, "m": map[string]any{"5": 0}}))
			for _, p := range ptrs {
				if u := next(t, subs[p]); u.Version != version {
					t.Fatalf("part %s: got version %d (%+v) before the last delta %d", p, u.Version, u, version)
				}
			}
		})
	}
}

// TestWatchPathConflation: a slow reader of a part gets the newest part,
// Skipped counting only the changes of the part and Changed merging their
// paths.
func TestWatchPathConflation(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			const key = "room.cursors"
			srv.Set(key, map[string]any{"alice": map[string]any{"x": 0, "y": 0}, "bob": map[string]any{"x": 0, "y": 0}})
			c := dial(t, srv.URL)
			sub := watchPath[map[string]int](t, c, key, "/alice")
			first(t, sub)
			touching := 0
			var last uint64
			for i := 1; i <= 20; i++ {
				last = mustSetIn(t, srv, key, "/bob/x", i)
				if i%4 == 0 {
					field := []string{"x", "y"}[i%8/4]
					last = mustSetIn(t, srv, key, "/alice/"+field, i)
					touching++
				}
			}
			if err := sub.WaitVersion(ctxT(t), last); err != nil {
				t.Fatal(err)
			}
			got := 0
			changed := map[string]bool{}
			var u sodp.Update[map[string]int]
			for got < touching {
				u = next(t, sub)
				if u.Kind != sodp.KindDelta {
					t.Fatalf("update %+v", u)
				}
				got += 1 + int(u.Skipped)
				for _, p := range u.Changed {
					changed[p] = true
				}
			}
			if got != touching || !reflect.DeepEqual(u.Value, map[string]int{"x": 16, "y": 20}) {
				t.Fatalf("%d updates of alice counted (want %d), last %+v", got, touching, u)
			}
			keys := make([]string, 0, len(changed))
			for p := range changed {
				keys = append(keys, p)
			}
			sort.Strings(keys)
			if !reflect.DeepEqual(keys, []string{"/x", "/y"}) && !reflect.DeepEqual(keys, []string{"/"}) {
				t.Fatalf("Changed over the conflated updates: %q", keys)
			}
			onlyNext(t, sub, key, mustSetIn(t, srv, key, "/alice/x", 99))
		})
	}
}

// TestWatchPathResync: after a resync a part is delivered (KindResync)
// only when it differs from what its subscription last delivered.
func TestWatchPathResync(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d), sodptest.WithDeltaLog(1))
			const key = "game.state"
			srv.Set(key, map[string]any{"alice": 1, "bob": 1, "carol": 1})
			c := dial(t, srv.URL, sodp.WithBackoff(1e6, 1e7))
			alice := watchPath[int](t, c, key, "/alice")
			bob := watchPath[int](t, c, key, "/bob")
			carol := watchPath[int](t, c, key, "/carol")
			for _, s := range []*sodp.Subscription[int]{alice, bob, carol} {
				first(t, s)
			}
			// A delta only this client sees puts carol out of step with
			// the server; one that does not apply makes the client
			// re-synchronise.
			conn := srv.Conns()[0]
			_, v, _ := srv.Get(key)
			rawDelta(conn, key, v+1, delta.Op{Op: delta.OpUpdate, Path: "/carol", Value: 7})
			if u := next(t, carol); u.Value != 7 {
				t.Fatalf("carol %+v", u)
			}
			rawDelta(conn, key, v+2, delta.Op{Op: delta.OpAdd, Path: "/nothing/9", Value: 1})
			u := next(t, carol)
			if u.Kind != sodp.KindResync || u.Value != 1 || u.Changed != nil {
				t.Fatalf("carol after the resync: %+v", u)
			}
			// alice and bob hold what the fresh value holds: nothing for
			// them, so their next update is the next change.
			v3 := mustSetIn(t, srv, key, "/alice", 3)
			v4 := mustSetIn(t, srv, key, "/bob", 4)
			if u := next(t, alice); u.Version != v3 || u.Value != 3 {
				t.Fatalf("alice after the resync: %+v, want version %d", u, v3)
			}
			if u := next(t, bob); u.Version != v4 || u.Value != 4 {
				t.Fatalf("bob after the resync: %+v, want version %d", u, v4)
			}

			// A reconnection with more missed than the server replays:
			// only the parts that changed are delivered.
			srv.DropConnections()
			waitLive(t, c)
			_ = mustSetIn(t, srv, key, "/alice", 5)
			_ = mustSetIn(t, srv, key, "/alice", 6)
			if u := nextUntil(t, alice, func(u sodp.Update[int]) bool { return u.Value == 6 }); u.Kind == sodp.KindCached || u.Kind == sodp.KindSnapshot {
				t.Fatalf("alice %+v", u)
			}
			v7 := mustSetIn(t, srv, key, "/carol", 8)
			if u := next(t, carol); u.Version != v7 || u.Value != 8 {
				t.Fatalf("carol: %+v, want version %d (no update for an unchanged part)", u, v7)
			}
		})
	}
}

// TestWatchPathConvertErrors: a part that does not fit T gives an Update
// whose Err is a *ConvertError with the path from the root; the next good
// part flows.
func TestWatchPathConvertErrors(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			const key = "game.state"
			srv.Set(key, map[string]any{"players": map[string]any{"a/b": map[string]any{"health": "full", "level": 3}}})
			c := dial(t, srv.URL)
			sub := watchPath[int](t, c, key, "/players/a~1b/health")
			u := next(t, sub)
			var ce *sodp.ConvertError
			if !errors.Is(u.Err, sodp.ErrConvert) || !errors.As(u.Err, &ce) || ce.Path != "/players/a~1b/health" || ce.Key != key || u.Value != 0 {
				t.Fatalf("first update %+v (%#v)", u, ce)
			}
			type player struct {
				Level uint8 `msgpack:"level"`
			}
			ps := watchPath[player](t, c, key, "/players/a~1b")
			if u := next(t, ps); u.Err != nil || u.Value.Level != 3 {
				t.Fatalf("player %+v", u)
			}
			// (Two server families do not escape "/" in the paths of their
			// DELTAs, so the writes go to a part without one.)
			ps2 := watchPath[player](t, c, key, "/players/bob")
			if u := next(t, ps2); u.Err != nil || u.Initialized {
				t.Fatalf("bob, missing: %+v", u)
			}
			v := mustSetIn(t, srv, key, "/players/bob", map[string]any{"level": 300})
			u2 := next(t, ps2)
			if !errors.As(u2.Err, &ce) || ce.Path != "/players/bob/level" || u2.Version != v || u2.Value.Level != 0 {
				t.Fatalf("level 300 into uint8: %+v", u2)
			}
			v = mustSetIn(t, srv, key, "/players/bob/level", 30)
			if u := next(t, ps2); u.Err != nil || u.Value.Level != 30 || u.Version != v {
				t.Fatalf("level 30: %+v", u)
			}
			srv.Delete(key)
			if u := next(t, sub); u.Err != nil || u.Initialized {
				t.Fatalf("health after the delete: %+v", u)
			}
			v = srv.Set(key, map[string]any{"players": map[string]any{"a/b": map[string]any{"health": 80}}})
			if u := next(t, sub); u.Err != nil || u.Value != 80 || u.Version != v {
				t.Fatalf("health 80: %+v", u)
			}
		})
	}
}

func TestWatchPathInvalid(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	for _, p := range []string{"a", "/~2", "/a~"} {
		if _, err := sodp.WatchPath[any](ctxT(t), c, "k", p); !errors.Is(err, sodp.ErrInvalidPath) {
			t.Errorf("WatchPath(%q): %v, want ErrInvalidPath", p, err)
		}
	}
	if _, err := sodp.WatchPath[any](ctxT(t), c, "bad key", "/a"); !errors.Is(err, sodp.ErrInvalidKey) {
		t.Errorf("bad key: %v", err)
	}
	// "" and "/" are the whole value.
	srv.Set("k", map[string]any{"a": 1})
	for _, p := range []string{"", "/"} {
		sub := watchPath[map[string]int](t, c, "k", p)
		if u := first(t, sub); !reflect.DeepEqual(u.Value, map[string]int{"a": 1}) {
			t.Fatalf("WatchPath(%q): %+v", p, u)
		}
	}
}

func TestRefPath(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	ctx := ctxT(t)
	game := sodp.Key[map[string]any](c, "game.state")
	srv.Set("game.state", map[string]any{"players": map[string]any{"alice": map[string]any{"health": 10}}})
	health := sodp.RefPath[int](game, "/players/alice/health")
	if _, err := health.Cached(ctx); !errors.Is(err, sodp.ErrNotCached) {
		t.Fatalf("Cached before any watch: %v", err)
	}
	if u, err := health.Get(ctx); err != nil || u.Value != 10 || !u.Initialized {
		t.Fatalf("Get: %+v %v", u, err)
	}
	sub, err := health.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	first(t, sub)
	v, err := health.Set(ctx, 42)
	if err != nil {
		t.Fatal(err)
	}
	if u := next(t, sub); u.Value != 42 || u.Version != v {
		t.Fatalf("after Set: %+v (version %d)", u, v)
	}
	if u, err := health.Cached(ctx); err != nil || u.Value != 42 || u.Kind != sodp.KindCached {
		t.Fatalf("Cached: %+v %v", u, err)
	}
	missing := sodp.RefPath[int](game, "/players/bob/health")
	if u, err := missing.Cached(ctx); err != nil || u.Initialized || u.Value != 0 {
		t.Fatalf("Cached of a missing part: %+v %v", u, err)
	}
	if _, err := sodp.RefPath[int](game, "nope").Cached(ctx); !errors.Is(err, sodp.ErrInvalidPath) {
		t.Fatalf("bad pointer: %v", err)
	}
	if health.Name() != "game.state" || health.Pointer() != "/players/alice/health" {
		t.Fatal("Name/Pointer")
	}
}

// TestHandedOutValuesNeverChange holds every value and part handed out
// while deltas keep changing the key, some in the parts held, and checks
// that none of them changes; under the race detector an in-place write
// to any of them is reported.
func TestHandedOutValuesNeverChange(t *testing.T) {
	// Without a subscriber of the whole value the client changes its copy
	// in place wherever no part was handed out.
	t.Run("parts", func(t *testing.T) { handedOutNeverChange(t, false) })
	t.Run("whole", func(t *testing.T) { handedOutNeverChange(t, true) })
}

func handedOutNeverChange(t *testing.T, withWhole bool) {
	srv := newServer(t)
	const key = "big"
	init := map[string]any{}
	for i := range 200 {
		init[fmt.Sprintf("e%d", i)] = map[string]any{"v": i, "list": []any{i}}
	}
	srv.Set(key, init)
	c := dial(t, srv.URL)
	var whole *sodp.Subscription[any]
	if withWhole {
		whole = watch[any](t, c, key, sodp.WithBuffer(1000))
	} else {
		whole = watchPath[any](t, c, key, "/e3", sodp.WithBuffer(1000))
	}
	e1 := watchPath[any](t, c, key, "/e1", sodp.WithBuffer(1000))
	list := watchPath[any](t, c, key, "/e2/list", sodp.WithBuffer(1000))
	type held struct {
		v, copy any
	}
	// Readers copy every value as it arrives, while the deltas go on, and
	// check the ones they hold each time.
	subs := []*sodp.Subscription[any]{whole, e1, list}
	for _, s := range subs {
		first(t, s)
	}
	results := make(chan error, len(subs))
	lasts := make([]chan uint64, len(subs))
	for i, s := range subs {
		lasts[i] = make(chan uint64, 1)
		go func(lastCh chan uint64) {
			var kept []held
			last, seen := uint64(0), uint64(0)
			for last == 0 || seen < last {
				select {
				case u, ok := <-s.Updates():
					if !ok {
						results <- fmt.Errorf("%v: seen %d, last %d, %s", s.Err(), seen, last, s.Keys())
						return
					}
					seen = max(seen, u.Version)
					kept = append(kept, held{u.Value, deepCopyAny(u.Value)})
				case last = <-lastCh:
				}
			}
			for i, h := range kept {
				if !reflect.DeepEqual(h.v, h.copy) {
					results <- fmt.Errorf("value %d handed out to %s has changed", i, s.Keys())
					return
				}
			}
			results <- nil
		}(lasts[i])
	}
	var last uint64
	for i := range 200 {
		switch i % 4 {
		case 0:
			mustSetIn(t, srv, key, fmt.Sprintf("/e%d/v", i%7), 1000+i)
		case 1:
			mustSetIn(t, srv, key, "/e2/list/-", i)
		case 2:
			mustSetIn(t, srv, key, "/e1/list/0", i)
		case 3:
			mustSetIn(t, srv, key, fmt.Sprintf("/e%d", 3+i%5), map[string]any{"v": i})
		}
	}
	// A last write changes every part held, so each subscription's last
	// update has its version.
	last = srv.Set(key, map[string]any{"e1": "end", "e2": map[string]any{"list": "end"}, "e3": "end"})
	for _, ch := range lasts {
		ch <- last
	}
	for range subs {
		if err := <-results; err != nil {
			t.Fatal(err)
		}
	}
}

func deepCopyAny(v any) any {
	switch x := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(x))
		for k, e := range x {
			c[k] = deepCopyAny(e)
		}
		return c
	case []any:
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = deepCopyAny(e)
		}
		return c
	}
	return v
}
