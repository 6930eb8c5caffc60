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

type player struct {
	Name   string `msgpack:"name"`
	Health int    `msgpack:"health"`
}

func TestWatchSnapshotThenDeltas(t *testing.T) {
	srv := newServer(t)
	srv.Set("game.player", map[string]any{"name": "alice", "health": 100})
	c := dial(t, srv.URL)
	sub := watch[player](t, c, "game.player")

	u := next(t, sub)
	if u.Kind != sodp.KindSnapshot || u.Value != (player{"alice", 100}) || !u.Initialized || u.Version == 0 || u.Key != "game.player" {
		t.Fatalf("first update = %+v", u)
	}
	v := srv.Patch("game.player", map[string]any{"health": 80})
	u = next(t, sub)
	if u.Kind != sodp.KindDelta || u.Version != v || u.Value.Health != 80 || u.Err != nil {
		t.Fatalf("delta update = %+v (want version %d)", u, v)
	}
	v = srv.Delete("game.player")
	u = next(t, sub)
	if u.Initialized || u.Version != v || u.Value != (player{}) {
		t.Fatalf("delete update = %+v", u)
	}
}

func TestWatchUnwrittenKey(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	sub := watch[any](t, c, "never.written")
	u := next(t, sub)
	if u.Kind != sodp.KindSnapshot || u.Initialized || u.Version != 0 || u.Value != nil {
		t.Fatalf("update = %+v", u)
	}
}

func TestWatchAnyGetsNormalisedTree(t *testing.T) {
	srv := newServer(t)
	srv.Set("k", map[string]any{"n": 1, "f": 1.5, "s": "x", "l": []any{true, nil}})
	c := dial(t, srv.URL)
	u := next(t, watch[any](t, c, "k"))
	want := map[string]any{"n": int64(1), "f": 1.5, "s": "x", "l": []any{true, nil}}
	if !reflect.DeepEqual(u.Value, want) {
		t.Fatalf("value = %#v, want %#v", u.Value, want)
	}
}

func TestWritesReturnVersionsAndReachWatchers(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	ctx := ctxT(t)
	sub := watch[map[string]any](t, c, "doc")
	next(t, sub)

	steps := []struct {
		name  string
		write func() (uint64, error)
		want  map[string]any
	}{
		{"set", func() (uint64, error) { return c.Set(ctx, "doc", map[string]any{"a": 1, "b": map[string]any{"c": 2}}) },
			map[string]any{"a": int64(1), "b": map[string]any{"c": int64(2)}}},
		{"patch", func() (uint64, error) { return c.Patch(ctx, "doc", map[string]any{"a": 5}) },
			map[string]any{"a": int64(5), "b": map[string]any{"c": int64(2)}}},
		{"set_in", func() (uint64, error) { return c.SetIn(ctx, "doc", "/b/d~1e", "x") },
			map[string]any{"a": int64(5), "b": map[string]any{"c": int64(2), "d/e": "x"}}},
		{"presence", func() (uint64, error) { return c.Presence(ctx, "doc", "/who/me", true) },
			map[string]any{"a": int64(5), "b": map[string]any{"c": int64(2), "d/e": "x"}, "who": map[string]any{"me": true}}},
		{"delete", func() (uint64, error) { return c.Delete(ctx, "doc") }, nil},
	}
	var last uint64
	for _, st := range steps {
		v, err := st.write()
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if v <= last {
			t.Fatalf("%s: version %d not above %d", st.name, v, last)
		}
		last = v
		u := nextUntil(t, sub, func(u sodp.Update[map[string]any]) bool { return u.Version == v })
		if !reflect.DeepEqual(u.Value, st.want) {
			t.Fatalf("%s: watcher saw %#v, want %#v", st.name, u.Value, st.want)
		}
		got, ver, _ := srv.Get("doc")
		if ver != v || (st.want != nil && !reflect.DeepEqual(got, st.want)) {
			t.Fatalf("%s: server has %#v at %d", st.name, got, ver)
		}
	}
}

func TestCallCustomMethodAndUnknownMethod(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	ctx := ctxT(t)
	if _, err := c.Set(ctx, "list", []any{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Call(ctx, "state.append", map[string]any{"state": "list", "value": 2}); err != nil {
		t.Fatalf("state.append: %v", err)
	}
	if v, _, _ := srv.Get("list"); !reflect.DeepEqual(v, []any{int64(1), int64(2)}) {
		t.Fatalf("list = %#v", v)
	}
	_, err := c.Call(ctx, "no.such.method", nil)
	var se *sodp.ServerError
	if !errors.As(err, &se) || !errors.Is(err, sodp.ErrNotFound) || se.Method != "no.such.method" {
		t.Fatalf("unknown method: %v", err)
	}
}

func TestWatchManyOneFrame(t *testing.T) {
	srv := newServer(t)
	srv.Set("a", 1)
	srv.Set("b", 2)
	c := dial(t, srv.URL)
	sub, err := sodp.WatchMany[int](ctxT(t), c, []string{"a", "b", "c", "a"})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	got := map[string]int{}
	for range 3 {
		u := next(t, sub)
		if u.Kind != sodp.KindSnapshot {
			t.Fatalf("kind %v", u.Kind)
		}
		got[u.Key] = u.Value
	}
	if !reflect.DeepEqual(got, map[string]int{"a": 1, "b": 2, "c": 0}) {
		t.Fatalf("got %v", got)
	}
	w := frames(srv, "WATCH")
	if len(w) != 1 || len(w[0].Body["states"].([]any)) != 3 {
		t.Fatalf("WATCH frames: %+v", w)
	}
	srv.Set("b", 3)
	if u := next(t, sub); u.Key != "b" || u.Value != 3 || u.Kind != sodp.KindDelta {
		t.Fatalf("update %+v", u)
	}
}

func TestSharedSubscriptionAndUnwatchOnLastClose(t *testing.T) {
	srv := newServer(t)
	srv.Set("k", "v1")
	c := dial(t, srv.URL)
	s1 := watch[string](t, c, "k")
	if u := next(t, s1); u.Kind != sodp.KindSnapshot {
		t.Fatalf("s1 first %+v", u)
	}
	s2 := watch[string](t, c, "k")
	if u := next(t, s2); u.Kind != sodp.KindCached || u.Value != "v1" {
		t.Fatalf("s2 first %+v", u)
	}
	if n := len(frames(srv, "WATCH")); n != 1 {
		t.Fatalf("%d WATCH frames, want 1", n)
	}
	srv.Set("k", "v2")
	if next(t, s1).Value != "v2" || next(t, s2).Value != "v2" {
		t.Fatal("both subscribers should see v2")
	}
	s1.Close()
	if err := s1.Err(); !errors.Is(err, sodp.ErrClosed) {
		t.Fatalf("s1.Err = %v", err)
	}
	// Round trip through the server so an UNWATCH would have arrived.
	if _, err := c.Set(ctxT(t), "other", 1); err != nil {
		t.Fatal(err)
	}
	if n := len(frames(srv, "UNWATCH")); n != 0 {
		t.Fatalf("UNWATCH sent while a subscriber remains")
	}
	s2.Close()
	eventually(t, "UNWATCH", func() bool { return len(frames(srv, "UNWATCH")) == 1 })
	u := frames(srv, "UNWATCH")[0]
	if u.Stream != 0 || u.Body["state"] != "k" {
		t.Fatalf("UNWATCH frame %+v", u)
	}
}

func TestConflationSlowReader(t *testing.T) {
	// In a synctest bubble over an in-memory connection: the reader falls
	// behind for certain, not when the scheduler lets it.
	synctest.Test(t, func(t *testing.T) {
		srv := newPipeServer(t)
		c := dial(t, srv.URL, viaPipe(srv))
		sub := watch[int](t, c, "counter")
		next(t, sub)
		var last uint64
		for i := 1; i <= 200; i++ {
			last = srv.Set("counter", i)
		}
		// Every change reaches the mailbox before the reader starts.
		synctest.Wait()
		var skipped uint64
		var prev uint64
		u := nextUntil(t, sub, func(u sodp.Update[int]) bool {
			if u.Version <= prev {
				t.Fatalf("version went from %d to %d", prev, u.Version)
			}
			prev = u.Version
			skipped += u.Skipped
			time.Sleep(time.Millisecond)
			return u.Version == last
		})
		if u.Value != 200 {
			t.Fatalf("final value %d", u.Value)
		}
		if skipped == 0 {
			t.Fatal("a slow reader should see Skipped > 0")
		}
		if c.Stats().Conflated == 0 {
			t.Fatal("Stats.Conflated should count")
		}
	})
}

func TestBufferedDeliversEveryUpdate(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	sub := watch[int](t, c, "n", sodp.WithBuffer(100))
	next(t, sub)
	for i := 1; i <= 50; i++ {
		srv.Set("n", i)
	}
	for i := 1; i <= 50; i++ {
		if u := next(t, sub); u.Value != i || u.Skipped != 0 {
			t.Fatalf("update %d = %+v", i, u)
		}
	}
}

func TestBufferedOverflowEndsSubscription(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	sub := watch[int](t, c, "n", sodp.WithBuffer(2))
	next(t, sub)
	for i := 1; i <= 20; i++ {
		srv.Set("n", i)
	}
	// Nothing is read until the buffer has overflowed, which releases the
	// subscription: a reader draining the channel while the changes arrive
	// could keep up with them.
	eventually(t, "the overflowed subscription released", func() bool { return c.Stats().Subscriptions == 0 })
	if err := closed(t, sub); !errors.Is(err, sodp.ErrSlowConsumer) {
		t.Fatalf("Err = %v, want ErrSlowConsumer", err)
	}
	// The client goes on.
	if _, err := c.Set(ctxT(t), "n", 0); err != nil {
		t.Fatal(err)
	}
}

func TestConversionErrorDoesNotEndSubscription(t *testing.T) {
	srv := newServer(t)
	srv.Set("n", "not a number")
	c := dial(t, srv.URL)
	sub := watch[int](t, c, "n")
	u := next(t, sub)
	if u.Err == nil || u.Value != 0 {
		t.Fatalf("update %+v: want a conversion error", u)
	}
	srv.Set("n", 7)
	if u := next(t, sub); u.Err != nil || u.Value != 7 {
		t.Fatalf("update %+v", u)
	}
}

func TestInvalidInputFailsFast(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	ctx := ctxT(t)
	for _, key := range []string{"", "a..b", ".a", "a.", "a b", "a/b", "ключ"} {
		if _, err := sodp.Watch[any](ctx, c, key); !errors.Is(err, sodp.ErrInvalidKey) {
			t.Errorf("Watch(%q) = %v", key, err)
		}
		if _, err := c.Set(ctx, key, 1); !errors.Is(err, sodp.ErrInvalidKey) {
			t.Errorf("Set(%q) = %v", key, err)
		}
	}
	if _, err := sodp.WatchMany[any](ctx, c, nil); !errors.Is(err, sodp.ErrInvalidKey) {
		t.Errorf("WatchMany(nil) = %v", err)
	}
	if _, err := c.SetIn(ctx, "k", "no-slash", 1); !errors.Is(err, sodp.ErrInvalidPath) {
		t.Errorf("SetIn bad path = %v", err)
	}
	//lint:ignore SA1012 a nil context is the input under test
	if _, err := sodp.Watch[any](nil, c, "k"); err == nil { //nolint:staticcheck
		t.Error("Watch(nil ctx) succeeded")
	}
	for _, f := range srv.Received() {
		if f.Name == "WATCH" || f.Name == "CALL" {
			t.Fatalf("invalid input reached the server: %+v", f)
		}
	}
	c.Close()
	if _, err := c.Set(ctx, "k", 1); !errors.Is(err, sodp.ErrClosed) {
		t.Errorf("Set after Close = %v", err)
	}
	if _, err := sodp.Watch[any](ctx, c, "k"); !errors.Is(err, sodp.ErrClosed) {
		t.Errorf("Watch after Close = %v", err)
	}
}

func TestOversizeCallFailsLocally(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL, sodp.WithMaxMessageSize(1024))
	_, err := c.Set(ctxT(t), "big", strings.Repeat("x", 2000))
	if !errors.Is(err, sodp.ErrTooLarge) {
		t.Fatalf("err = %v", err)
	}
	if len(frames(srv, "CALL")) != 0 {
		t.Fatal("the oversize call was sent")
	}
}

func TestContextEndsSubscription(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	sub, err := sodp.Watch[any](ctx, c, "k")
	if err != nil {
		t.Fatal(err)
	}
	next(t, sub)
	cancel()
	if err := closed(t, sub); !errors.Is(err, context.Canceled) {
		t.Fatalf("Err = %v", err)
	}
	eventually(t, "UNWATCH", func() bool { return len(frames(srv, "UNWATCH")) == 1 })
	// Canceled before the call: no wait.
	if _, err := c.Set(ctx, "k", 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Set with canceled ctx = %v", err)
	}
	if _, err := sodp.Watch[any](ctx, c, "k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Watch with canceled ctx = %v", err)
	}
}

func TestCallDeadlineWhileServerStalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newPipeServer(t)
		c := dial(t, srv.URL, viaPipe(srv))
		eventually(t, "conn", func() bool { return len(srv.Conns()) == 1 })
		srv.Conns()[0].Pause()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.Set(ctx, "k", 1)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
		if took := time.Since(start); took != 100*time.Millisecond {
			t.Fatalf("the call ended after %s, its deadline was 100ms", took)
		}
		srv.Conns()[0].Resume()
		// The late RESULT must not confuse the next call.
		if _, err := c.Set(ctxT(t), "k", 2); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDefaultCallTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newPipeServer(t)
		c := dial(t, srv.URL, viaPipe(srv), sodp.WithCallTimeout(100*time.Millisecond))
		eventually(t, "conn", func() bool { return len(srv.Conns()) == 1 })
		srv.Conns()[0].Pause()
		defer srv.Conns()[0].Resume()
		start := time.Now()
		_, err := c.Set(context.Background(), "k", 1)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
			t.Fatalf("err = %v after %s", err, time.Since(start))
		}
		if took := time.Since(start); took != 100*time.Millisecond {
			t.Fatalf("the call timed out after %s, the call timeout is 100ms", took)
		}
	})
}

func TestCloseWhileCallsAndSubscriptionsActive(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	sub := watch[any](t, c, "k")
	next(t, sub)
	eventually(t, "conn", func() bool { return len(srv.Conns()) == 1 })
	srv.Conns()[0].Pause()
	defer srv.Conns()[0].Resume()
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Set(context.Background(), "k", i)
			errs <- err
		}()
	}
	eventually(t, "calls pending", func() bool { return c.Stats().PendingCalls == 5 })
	c.Close()
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, sodp.ErrClosed) {
			t.Fatalf("pending call: %v", err)
		}
	}
	if err := closed(t, sub); !errors.Is(err, sodp.ErrClosed) {
		t.Fatalf("sub.Err = %v", err)
	}
	if _, ok := <-c.Events(); ok {
		for range c.Events() {
		}
	}
	if c.State() != sodp.StateClosed {
		t.Fatalf("state %v", c.State())
	}
	c.Close() // idempotent
}

func TestCallsWaitForConnection(t *testing.T) {
	srv := newServer(t)
	c, err := sodp.New(srv.URL, fastOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Issued before the session is live.
	v, err := c.Set(ctxT(t), "early", 1)
	if err != nil || v == 0 {
		t.Fatalf("Set = %d, %v", v, err)
	}
}

func TestErrorCorrelationManyCallsInFlight(t *testing.T) {
	for _, d := range []sodp.Dialect{sodp.DialectSpec, sodp.DialectGo, sodp.DialectTS, sodp.DialectRust} {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d), sodptest.WithACL(func(sub, key string, write bool) bool {
				return !(write && strings.HasPrefix(key, "ro."))
			}))
			c := dial(t, srv.URL)
			ctx := ctxT(t)
			type res struct {
				key string
				err error
			}
			var wg sync.WaitGroup
			out := make(chan res, 40)
			for i := range 40 {
				key := fmt.Sprintf("rw.k%d", i)
				if i%3 == 0 {
					key = fmt.Sprintf("ro.k%d", i)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := c.Set(ctx, key, i)
					out <- res{key, err}
				}()
			}
			wg.Wait()
			close(out)
			for r := range out {
				ro := strings.HasPrefix(r.key, "ro.")
				if ro != errors.Is(r.err, sodp.ErrForbidden) {
					t.Errorf("%s: err = %v", r.key, r.err)
				}
				var se *sodp.ServerError
				if ro && errors.As(r.err, &se) && se.Key != r.key {
					t.Errorf("%s: error names key %q", r.key, se.Key)
				}
			}
		})
	}
}

func TestForbiddenWatch(t *testing.T) {
	for _, d := range []sodp.Dialect{sodp.DialectSpec, sodp.DialectGo, sodp.DialectTS, sodp.DialectRust} {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d), sodptest.WithACL(func(sub, key string, write bool) bool {
				return !strings.HasPrefix(key, "secret")
			}))
			srv.Set("open", 1)
			c := dial(t, srv.URL)
			sub := watch[int](t, c, "secret")
			if err := closed(t, sub); !errors.Is(err, sodp.ErrForbidden) {
				t.Fatalf("Err = %v", err)
			}
			// A multi-key watch: the refused key reports, the others go on.
			many, err := sodp.WatchMany[int](ctxT(t), c, []string{"secret.b", "open", "other"})
			if err != nil {
				t.Fatal(err)
			}
			defer many.Close()
			seen := map[string]bool{}
			var refused error
			for len(seen) < 3 {
				u := next(t, many)
				seen[u.Key] = true
				if u.Key == "secret.b" {
					refused = u.Err
				} else if u.Err != nil || u.Kind != sodp.KindSnapshot {
					t.Fatalf("update %+v", u)
				}
			}
			if !errors.Is(refused, sodp.ErrForbidden) {
				t.Fatalf("refused key error = %v", refused)
			}
			// Every key refused: the subscription ends with the refusal.
			all, err := sodp.WatchMany[int](ctxT(t), c, []string{"secret.c", "secret.d"})
			if err != nil {
				t.Fatal(err)
			}
			if u := next(t, all); u.Kind != sodp.KindRefused || !errors.Is(u.Err, sodp.ErrForbidden) {
				t.Fatalf("first refusal %+v", u)
			}
			if err := closed(t, all); !errors.Is(err, sodp.ErrForbidden) {
				t.Fatalf("all refused: Err = %v", err)
			}
			srv.Set("open", 2)
			if u := next(t, many); u.Key != "open" || u.Value != 2 {
				t.Fatalf("update %+v", u)
			}
		})
	}
}

// Client.Close ends every subscription however it watches its keys: alone,
// shared with others, several keys of which the server refused some,
// a part, and one whose key is not answered yet; each sees ErrClosed, and
// the gauges count them until then.
func TestCloseEndsEverySubscription(t *testing.T) {
	srv := newServer(t, sodptest.WithACL(func(_, key string, _ bool) bool {
		return !strings.HasPrefix(key, "secret")
	}))
	srv.Set("a", 1)
	srv.Set("b", map[string]any{"x": 1})
	c := dial(t, srv.URL)
	alone := watch[int](t, c, "a")
	shared1 := watch[int](t, c, "s")
	shared2 := watch[int](t, c, "s")
	many, err := sodp.WatchMany[int](ctxT(t), c, []string{"secret.a", "m.1", "secret.b", "m.2"})
	if err != nil {
		t.Fatal(err)
	}
	part := watchPath[int](t, c, "b", "/x")
	for _, s := range []*sodp.Subscription[int]{alone, shared1, shared2, part} {
		next(t, s)
	}
	for range 4 {
		next(t, many)
	}
	eventually(t, "conn", func() bool { return len(srv.Conns()) == 1 })
	srv.Conns()[0].Pause()
	defer srv.Conns()[0].Resume()
	pending := watch[int](t, c, "p") // its STATE_INIT is held back
	if st := c.Stats(); st.Subscriptions != 6 || st.WatchedKeys != 6 {
		t.Fatalf("before Close: %d subscriptions, %d keys; want 6 and 6", st.Subscriptions, st.WatchedKeys)
	}
	c.Close()
	for name, s := range map[string]*sodp.Subscription[int]{"alone": alone, "shared1": shared1, "shared2": shared2, "many": many, "part": part, "pending": pending} {
		if err := closed(t, s); !errors.Is(err, sodp.ErrClosed) {
			t.Errorf("%s: Err = %v", name, err)
		}
	}
}
