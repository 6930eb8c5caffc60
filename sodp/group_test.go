package sodp_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

type groupConfig struct {
	Level string `json:"level"`
}

// nextNotice returns the next Notice or fails the test.
func nextNotice(t *testing.T, g *sodp.Group) sodp.Notice {
	t.Helper()
	select {
	case n, ok := <-g.Notices():
		if !ok {
			t.Fatal("Notices closed")
		}
		return n
	case <-time.After(wait):
		t.Fatal("no notice")
	}
	panic("unreachable")
}

func TestGroupMergesTypes(t *testing.T) {
	srv := newServer(t, sodptest.WithACL(func(_, key string, _ bool) bool { return key != "secret" }))
	srv.Set("cfg", map[string]any{"level": "info"})
	srv.Set("count", 1)
	srv.Set("m1", "x")
	c := dial(t, srv.URL)
	ctx := ctxT(t)
	g := sodp.NewGroup()
	defer g.Close()

	cfg, err := sodp.Watch[groupConfig](ctx, c, "cfg", sodp.InGroup(g))
	if err != nil {
		t.Fatal(err)
	}
	count, err := sodp.Watch[int](ctx, c, "count", sodp.InGroup(g), sodp.WithBuffer(8))
	if err != nil {
		t.Fatal(err)
	}
	many, err := sodp.WatchMany[any](ctx, c, []string{"m1", "m2"}, sodp.InGroup(g))
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	short, err := sodp.Watch[any](wctx, c, "cfg", sodp.InGroup(g))
	if err != nil {
		t.Fatal(err)
	}
	refused, err := sodp.Watch[any](ctx, c, "secret", sodp.InGroup(g))
	if err != nil {
		t.Fatal(err)
	}

	seen := map[string]any{}
	var counts []int
	for len(seen) < 6 {
		n := nextNotice(t, g)
		if u, ok := cfg.From(n); ok {
			seen["cfg"] = u.Value.Level
		} else if u, ok := count.From(n); ok {
			counts = append(counts, u.Value)
			seen["count"] = u.Value
		} else if u, ok := many.From(n); ok {
			seen[u.Key] = u.Value
		} else if u, ok := short.From(n); ok {
			seen["short"] = u.Value.(map[string]any)["level"]
		} else if u, ok := refused.From(n); ok {
			if !n.End || !errors.Is(u.Err, sodp.ErrForbidden) {
				t.Fatalf("refused member: notice %+v", n)
			}
			seen["refused"] = true
		} else {
			t.Fatalf("a notice of no member: %+v", n)
		}
	}
	if seen["cfg"] != "info" || seen["count"] != 1 || seen["m1"] != "x" || seen["m2"] != nil || seen["short"] != "info" {
		t.Fatalf("seen %v", seen)
	}
	// A buffered member's updates all come, in order.
	for i := 2; i <= 4; i++ {
		srv.Set("count", i)
	}
	for len(counts) < 4 {
		if u, ok := count.From(nextNotice(t, g)); ok {
			counts = append(counts, u.Value)
		}
	}
	if fmt.Sprint(counts) != "[1 2 3 4]" {
		t.Fatalf("buffered member: %v", counts)
	}
	// A member whose context ends sends its end.
	cancel()
	for {
		n := nextNotice(t, g)
		if u, ok := short.From(n); ok && n.End {
			if !errors.Is(u.Err, context.Canceled) || !errors.Is(short.Err(), context.Canceled) {
				t.Fatalf("end of short: %v / %v", u.Err, short.Err())
			}
			break
		}
	}
	// Members' own channels carry nothing and close at their end.
	if _, ok := <-short.Updates(); ok {
		t.Fatal("a member's Updates carried an update")
	}
	// Closed by its owner: no end notice; others still flow.
	many.Close()
	srv.Set("cfg", map[string]any{"level": "debug"})
	for {
		n := nextNotice(t, g)
		if _, ok := many.From(n); ok {
			t.Fatalf("notice of a member closed by its owner: %+v", n)
		}
		if u, ok := cfg.From(n); ok && u.Value.Level == "debug" {
			break
		}
	}
	g.Close()
	if _, ok := <-g.Notices(); ok {
		// Close drops what was not taken: nothing can remain after the
		// channel is closed, but a value taken before is possible only
		// if one was waiting; drain to the close.
		for range g.Notices() {
		}
	}
	if err := cfg.Err(); !errors.Is(err, sodp.ErrClosed) {
		t.Fatalf("member after the group's Close: %v", err)
	}
	if _, err := sodp.Watch[int](ctx, c, "count", sodp.InGroup(g)); !errors.Is(err, sodp.ErrClosed) {
		t.Fatalf("Watch into a closed group: %v", err)
	}
}

func TestGroupMemberEndsWithClient(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	g := sodp.NewGroup()
	defer g.Close()
	sub, err := sodp.Watch[int](ctxT(t), c, "k", sodp.InGroup(g))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sub.From(nextNotice(t, g)); !ok {
		t.Fatal("first notice is not the member's")
	}
	c.Close()
	n := nextNotice(t, g)
	if u, ok := sub.From(n); !ok || !n.End || !errors.Is(u.Err, sodp.ErrClosed) {
		t.Fatalf("end notice %+v", n)
	}
}

// TestGroupIdleMembersRunNoGoroutine: members that are not being updated
// run no goroutine, however many there are.
func TestGroupIdleMembersRunNoGoroutine(t *testing.T) {
	const n = 200
	srv := newServer(t)
	c := dial(t, srv.URL)
	g := sodp.NewGroup()
	defer g.Close()
	before := runtime.NumGoroutine()
	for i := range n {
		if _, err := sodp.Watch[int](ctxT(t), c, fmt.Sprintf("k%d", i), sodp.InGroup(g)); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		nextNotice(t, g)
	}
	eventually(t, "the pumps gone", func() bool { return runtime.NumGoroutine() <= before })
}

func BenchmarkGroupIdleMembers(b *testing.B) {
	const n = 2000
	srv := newServer(b, sodptest.WithDialect(sodp.DialectTS), sodptest.WithMaxRecorded(1))
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("idle.k%d", i)
		srv.Set(keys[i], i)
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc + ms.StackInuse // goroutines cost stacks
	}
	ctx := context.Background()
	var plainB, memberB, fanInB float64
	for range b.N {
		for _, mode := range []string{"plain", "member", "fan-in goroutine"} {
			c := dial(b, srv.URL)
			g := sodp.NewGroup()
			out := make(chan int)
			done := make(chan struct{})
			// One watch of every key first, so that the round measured
			// pays for subscriptions, not for the keys' values.
			warm, err := sodp.WatchMany[int](ctx, c, keys)
			if err != nil {
				b.Fatal(err)
			}
			for range n {
				<-warm.Updates()
			}
			g0 := runtime.NumGoroutine()
			h0 := heap()
			var opts []sodp.WatchOption
			if mode == "member" {
				opts = append(opts, sodp.InGroup(g))
			}
			for _, k := range keys {
				sub, err := sodp.Watch[int](ctx, c, k, opts...)
				if err != nil {
					b.Fatal(err)
				}
				switch mode {
				case "plain":
					<-sub.Updates()
				case "member":
					<-g.Notices()
				default:
					go func() {
						for u := range sub.Updates() {
							select {
							case out <- u.Value:
							case <-done:
								return
							}
						}
					}()
					<-out
				}
			}
			for i := 0; runtime.NumGoroutine() > g0+map[bool]int{true: n}[mode == "fan-in goroutine"] && i < 100; i++ {
				time.Sleep(10 * time.Millisecond)
			}
			per := (float64(heap()) - float64(h0)) / n
			switch mode {
			case "plain":
				plainB += per
			case "member":
				memberB += per
			default:
				fanInB += per
			}
			close(done)
			g.Close()
			c.Close()
		}
	}
	b.ReportMetric(plainB/float64(b.N), "B/plain-watch")
	b.ReportMetric(memberB/float64(b.N), "B/group-member")
	b.ReportMetric(fanInB/float64(b.N), "B/watch+fan-in-goroutine")
}
