package sodp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sodp-go/client/internal/testutil"
	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// pumps counts the goroutines delivering subscription updates.
func pumps() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	return bytes.Count(buf, []byte("session.(*Session).pump("))
}

// goroutinesAtMost waits until at most n goroutines run (other tests'
// servers and clients may take a moment to wind down).
func goroutinesAtMost(t *testing.T, what string, n int) {
	t.Helper()
	testutil.EventuallyWhy(t, wait, what, func() (bool, string) {
		got := runtime.NumGoroutine()
		return got <= n, fmt.Sprintf("%d goroutines, want at most %d (%d pumps)", got, n, pumps())
	})
}

// stableGoroutines returns the goroutine count once it has stopped
// falling.
func stableGoroutines() int {
	n := runtime.NumGoroutine()
	for range 100 {
		time.Sleep(10 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == n {
			return n
		}
		n = m
	}
	return n
}

// readFirst reads the first update of each subscription.
func readFirst[T any](t *testing.T, subs []*sodp.Subscription[T]) {
	t.Helper()
	for _, s := range subs {
		next(t, s)
	}
}

func TestIdleSubscriptionsRunNoGoroutine(t *testing.T) {
	const n = 500
	srv := newServer(t)
	c := dial(t, srv.URL)
	first := watch[any](t, c, "idle.0")
	readFirst(t, []*sodp.Subscription[any]{first})
	eventually(t, "no pump", func() bool { return pumps() == 0 })
	base := stableGoroutines()

	subs := make([]*sodp.Subscription[any], 0, n-1)
	for i := 1; i < n; i++ {
		subs = append(subs, watch[any](t, c, fmt.Sprintf("idle.%d", i)))
	}
	readFirst(t, subs)
	// A pump exits just after its last send.
	eventually(t, "every pump exits", func() bool { return pumps() == 0 })
	goroutinesAtMost(t, fmt.Sprintf("%d idle subscriptions", n), base+4)

	// They are idle, not dead: a change still reaches each of them.
	for i := range n {
		srv.Set(fmt.Sprintf("idle.%d", i), i)
	}
	for i, s := range append([]*sodp.Subscription[any]{first}, subs...) {
		if u := next(t, s); u.Kind != sodp.KindDelta && u.Kind != sodp.KindResync || fmt.Sprint(u.Value) != fmt.Sprint(i) {
			t.Fatalf("sub %d: %+v", i, u)
		}
	}
	eventually(t, "every pump exits again", func() bool { return pumps() == 0 })
	goroutinesAtMost(t, "after one delivery each", base+4)
}

func TestPumpStartsAndExitsWithTheBacklog(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	sub := watch[int](t, c, "counter")
	next(t, sub)
	eventually(t, "no pump", func() bool { return pumps() == 0 })
	base := stableGoroutines()

	// The reader stops: one pump waits on the channel, holding the first
	// change, while the others are conflated behind it.
	var last uint64
	for i := 1; i <= 100; i++ {
		last = srv.Set("counter", i)
	}
	if err := sub.WaitVersion(ctxT(t), last); err != nil {
		t.Fatal(err)
	}
	eventually(t, "one pump", func() bool { return pumps() == 1 })

	// The reader resumes: it gets at most the held update, then the newest
	// value, with the skipped ones counted.
	var skipped uint64
	u := nextUntil(t, sub, func(u sodp.Update[int]) bool {
		skipped += u.Skipped
		return u.Version == last
	})
	if u.Value != 100 || skipped == 0 {
		t.Fatalf("last update %+v, %d skipped in all", u, skipped)
	}
	eventually(t, "the pump exits once drained", func() bool { return pumps() == 0 })
	goroutinesAtMost(t, "after the backlog", base)

	// And it starts again for the next change.
	v := srv.Set("counter", 101)
	if u := next(t, sub); u.Value != 101 || u.Version != v || u.Skipped != 0 {
		t.Fatalf("update %+v", u)
	}
	eventually(t, "the pump exits again", func() bool { return pumps() == 0 })
	onlyNext(t, sub, "counter", srv.Set("counter", 102))
}

func TestCancelIdleSubscription(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub, err := sodp.Watch[int](ctx, c, "k")
	if err != nil {
		t.Fatal(err)
	}
	next(t, sub)
	eventually(t, "no pump", func() bool { return pumps() == 0 })
	if err := sub.Err(); err != nil {
		t.Fatalf("Err while active = %v", err)
	}
	cancel()
	select {
	case _, ok := <-sub.Updates():
		if ok {
			t.Fatal("update after cancel")
		}
	case <-time.After(time.Second):
		t.Fatal("Updates not closed within 1s of the cancel")
	}
	if err := sub.Err(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Err = %v", err)
	}
	eventually(t, "UNWATCH", func() bool { return len(frames(srv, "UNWATCH")) == 1 })
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sub.Err(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Err after Close = %v", err)
	}

	// A deadline ends an idle subscription the same way. On a bubble's
	// clock the first update comes before the deadline, whatever the load.
	synctest.Test(t, func(t *testing.T) {
		srv := newPipeServer(t)
		c := dial(t, srv.URL, viaPipe(srv))
		tctx, tcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer tcancel()
		timed, err := sodp.Watch[int](tctx, c, "k")
		if err != nil {
			t.Fatal(err)
		}
		next(t, timed)
		if err := closed(t, timed); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Err = %v", err)
		}
		eventually(t, "no pump", func() bool { return pumps() == 0 })
	})
}

func TestCloseIdleAndBlockedSubscriptions(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)

	idle := watch[int](t, c, "a")
	next(t, idle)
	eventually(t, "no pump", func() bool { return pumps() == 0 })
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-idle.Updates(); ok {
		t.Fatal("Updates open after Close")
	}
	if err := idle.Err(); !errors.Is(err, sodp.ErrClosed) {
		t.Fatalf("Err = %v", err)
	}
	idle.Close() // idempotent

	blocked := watch[int](t, c, "b")
	next(t, blocked)
	srv.Set("b", 1)
	eventually(t, "a pump waits for the reader", func() bool { return pumps() == 1 })
	done := make(chan struct{})
	go func() {
		blocked.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("Close of a subscription with a waiting update did not return")
	}
	// The pump has finished its work (it closed Updates); it may still be
	// returning.
	eventually(t, "the pump exits", func() bool { return pumps() == 0 })
	if _, ok := <-blocked.Updates(); ok {
		t.Fatal("Updates open after Close")
	}
	if err := blocked.Err(); !errors.Is(err, sodp.ErrClosed) {
		t.Fatalf("Err = %v", err)
	}
}

func TestClientCloseWithIdleBlockedAndDrainingSubscriptions(t *testing.T) {
	srv := newServer(t, sodptest.WithACL(func(_, key string, _ bool) bool {
		return !strings.HasPrefix(key, "secret")
	}))
	c := dial(t, srv.URL)

	idle := watch[int](t, c, "a")
	next(t, idle)
	blocked := watch[int](t, c, "b")
	next(t, blocked)
	srv.Set("b", 1)
	// Every key refused, nothing read: the subscription drains its
	// refusals into a channel nobody reads.
	draining, err := sodp.WatchMany[int](ctxT(t), c, []string{"secret.a", "secret.b"})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "two pumps wait for their readers", func() bool { return pumps() == 2 })
	if err := draining.Err(); err != nil {
		t.Fatalf("Err while draining = %v", err)
	}

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if p := pumps(); p != 0 {
		t.Fatalf("%d pumps after the client closed", p)
	}
	for name, err := range map[string]error{"idle": closed(t, idle), "blocked": closed(t, blocked), "draining": closed(t, draining)} {
		if !errors.Is(err, sodp.ErrClosed) {
			t.Errorf("%s: Err = %v", name, err)
		}
	}
	for _, s := range []*sodp.Subscription[int]{idle, blocked, draining} {
		s.Close()
	}
}

func TestDrainingIdleSubscriptionEnds(t *testing.T) {
	srv := newServer(t, sodptest.WithACL(func(_, key string, _ bool) bool {
		return !strings.HasPrefix(key, "secret")
	}))
	c := dial(t, srv.URL)
	many, err := sodp.WatchMany[int](ctxT(t), c, []string{"secret.a", "secret.b"})
	if err != nil {
		t.Fatal(err)
	}
	defer many.Close()
	// The first refusal is an update; the last ends the subscription.
	if u := next(t, many); u.Kind != sodp.KindRefused || !errors.Is(u.Err, sodp.ErrForbidden) {
		t.Fatalf("update %+v", u)
	}
	if err := closed(t, many); !errors.Is(err, sodp.ErrForbidden) {
		t.Fatalf("Err = %v", err)
	}
	// A one-key Watch refused: nothing queued, it ends at once.
	one := watch[int](t, c, "secret.c")
	if err := closed(t, one); !errors.Is(err, sodp.ErrForbidden) {
		t.Fatalf("Err = %v", err)
	}
	eventually(t, "no pump", func() bool { return pumps() == 0 })
}

func TestSubscriptionLifecycleStress(t *testing.T) {
	srv := newServer(t, sodptest.WithACL(func(_, key string, _ bool) bool {
		return !strings.HasPrefix(key, "secret")
	}))
	c := dial(t, srv.URL)
	keys := []string{"s.a", "s.b", "s.c", "s.d"}

	stopWriter := make(chan struct{})
	var writer sync.WaitGroup
	writer.Add(1)
	go func() {
		defer writer.Done()
		for i := 0; ; i++ {
			select {
			case <-stopWriter:
				return
			default:
			}
			srv.Set(keys[i%len(keys)], i)
			if i%16 == 0 {
				time.Sleep(100 * time.Microsecond)
			}
		}
	}()

	const workers, rounds = 16, 50
	type leftSub struct {
		s      *sodp.Subscription[int]
		cancel context.CancelFunc
	}
	var (
		wg       sync.WaitGroup
		left     = make(chan leftSub, workers*rounds)
		endings  sync.Map // error text → count
		finished atomic.Int64
	)
	// ended waits for Updates to close and checks Err.
	ended := func(s *sodp.Subscription[int], want ...error) {
		timeout := time.After(wait)
		for {
			select {
			case _, ok := <-s.Updates():
				if ok {
					continue
				}
			case <-timeout:
				t.Errorf("Updates not closed within %s", wait)
				return
			}
			break
		}
		err := s.Err()
		for _, w := range want {
			if errors.Is(err, w) {
				finished.Add(1)
				n, _ := endings.LoadOrStore(w.Error(), new(atomic.Int64))
				n.(*atomic.Int64).Add(1)
				return
			}
		}
		t.Errorf("Err = %v, want one of %v", err, want)
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for range rounds {
				ctx, cancel := context.WithCancel(context.Background())
				var opts []sodp.WatchOption
				if rng.IntN(4) == 0 {
					opts = append(opts, sodp.WithBuffer(1+rng.IntN(3)))
				}
				var s *sodp.Subscription[int]
				var err error
				if rng.IntN(6) == 0 {
					s, err = sodp.WatchMany[int](ctx, c, []string{"secret.x", keys[rng.IntN(len(keys))]}, opts...)
				} else {
					s, err = sodp.Watch[int](ctx, c, keys[rng.IntN(len(keys))], opts...)
				}
				if err != nil {
					t.Errorf("Watch: %v", err)
					cancel()
					return
				}
				// Read a few updates, maybe none.
				for range rng.IntN(4) {
					select {
					case <-s.Updates():
					case <-time.After(time.Duration(rng.IntN(3)) * time.Millisecond):
					}
				}
				switch rng.IntN(5) {
				case 0: // cancel only
					cancel()
					ended(s, context.Canceled, sodp.ErrSlowConsumer)
				case 1: // Close only, reader gone
					s.Close()
					ended(s, sodp.ErrClosed, sodp.ErrSlowConsumer)
				case 2: // cancel and Close at once, twice
					var both sync.WaitGroup
					both.Add(3)
					go func() { defer both.Done(); cancel() }()
					go func() { defer both.Done(); s.Close() }()
					go func() { defer both.Done(); s.Close() }()
					both.Wait()
					ended(s, context.Canceled, sodp.ErrClosed, sodp.ErrSlowConsumer)
				case 3: // Close while another goroutine reads
					reader := make(chan struct{})
					go func() {
						defer close(reader)
						for range s.Updates() {
						}
					}()
					time.Sleep(time.Duration(rng.IntN(2)) * time.Millisecond)
					s.Close()
					<-reader
					ended(s, sodp.ErrClosed, sodp.ErrSlowConsumer)
				default: // left to the client's Close, maybe with a blocked pump
					left <- leftSub{s, cancel}
					continue
				}
				cancel()
			}
		}()
	}
	wg.Wait()
	close(stopWriter)
	writer.Wait()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if p := pumps(); p != 0 {
		t.Fatalf("%d pumps after the client closed", p)
	}
	close(left)
	for l := range left {
		ended(l.s, sodp.ErrClosed, sodp.ErrSlowConsumer)
		l.cancel()
		l.s.Close()
	}
	if got := finished.Load(); got != workers*rounds {
		t.Fatalf("%d subscriptions ended, want %d", got, workers*rounds)
	}
	endings.Range(func(k, v any) bool {
		t.Logf("%s: %d", k, v.(*atomic.Int64).Load())
		return true
	})
}
