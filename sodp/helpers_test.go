package sodp_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sodp-go/client/internal/testutil"
	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 5 * time.Second

func newServer(t testing.TB, opts ...sodptest.Option) *sodptest.Server {
	t.Helper()
	srv := sodptest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

// fastOpts make reconnection quick in tests.
func fastOpts() []sodp.Option {
	return []sodp.Option{sodp.WithBackoff(10*time.Millisecond, 100*time.Millisecond)}
}

func dial(t testing.TB, url string, opts ...sodp.Option) *sodp.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := sodp.Dial(ctx, url, append(fastOpts(), opts...)...)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	t.Cleanup(cancel)
	return ctx
}

func watch[T any](t testing.TB, c *sodp.Client, key string, opts ...sodp.WatchOption) *sodp.Subscription[T] {
	t.Helper()
	sub, err := sodp.Watch[T](ctxT(t), c, key, opts...)
	if err != nil {
		t.Fatalf("Watch(%s): %v", key, err)
	}
	t.Cleanup(func() { sub.Close() })
	return sub
}

// next returns the next update or fails the test.
func next[T any](t testing.TB, sub *sodp.Subscription[T]) sodp.Update[T] {
	t.Helper()
	return testutil.Next(t, wait, sub)
}

// nextUntil reads updates until one satisfies ok.
func nextUntil[T any](t testing.TB, sub *sodp.Subscription[T], ok func(sodp.Update[T]) bool) sodp.Update[T] {
	t.Helper()
	return testutil.NextUntil(t, wait, sub, ok)
}

// closed waits for Updates to close and returns Err.
func closed[T any](t testing.TB, sub *sodp.Subscription[T]) error {
	t.Helper()
	return testutil.Closed(t, wait, sub)
}

// onlyNext asserts that the next update of sub is version v of key, with
// nothing before it and nothing folded into it (Skipped 0). Called after
// a write that makes version v, it shows that the reader had nothing else
// waiting: an update the client held for sub would come first, or be
// counted in the write's Skipped. The write is the barrier; no wait for
// "nothing" is timed.
func onlyNext[T any](t testing.TB, sub *sodp.Subscription[T], key string, v uint64) sodp.Update[T] {
	t.Helper()
	u := next(t, sub)
	if u.Key != key || u.Version != v || u.Skipped != 0 || u.Err != nil {
		t.Fatalf("update %+v, want only version %d of %s", u, v, key)
	}
	return u
}

// frames returns what the server received of one frame type.
func frames(srv *sodptest.Server, name string) []sodptest.Frame {
	var out []sodptest.Frame
	for _, f := range srv.Received() {
		if f.Name == name {
			out = append(out, f)
		}
	}
	return out
}

// eventually polls cond until it holds.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, wait, what, cond)
}
