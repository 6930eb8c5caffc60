package sodp_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// A WaitVersion under way when the key's last subscription ends gets what
// that end means for it: ErrNotCached when the subscription was closed or
// its context ended (the key is no longer watched: not the client's
// ErrClosed), the subscription's error when it ended on one, and ErrClosed
// only when the client closes.
//
// In a synctest bubble: synctest.Wait makes sure the WaitVersion waits
// before the subscription ends.
func TestWaitVersionWhenTheSubscriptionEnds(t *testing.T) {
	cases := []struct {
		name    string
		end     func(c *sodp.Client, srv *sodptest.Server, sub *sodp.Subscription[int], cancel context.CancelFunc)
		want    error
		notWant error
	}{
		{"subscription closed", func(_ *sodp.Client, _ *sodptest.Server, sub *sodp.Subscription[int], _ context.CancelFunc) {
			sub.Close()
		},
			sodp.ErrNotCached, sodp.ErrClosed},
		{"watch context ended", func(_ *sodp.Client, _ *sodptest.Server, _ *sodp.Subscription[int], cancel context.CancelFunc) {
			cancel()
		},
			sodp.ErrNotCached, sodp.ErrClosed},
		{"slow consumer", func(_ *sodp.Client, srv *sodptest.Server, _ *sodp.Subscription[int], _ context.CancelFunc) {
			for i := range 5 {
				srv.Set("k", i+1) // nobody reads: the buffer of 1 overflows
			}
		}, sodp.ErrSlowConsumer, sodp.ErrClosed},
		{"client closed", func(c *sodp.Client, _ *sodptest.Server, _ *sodp.Subscription[int], _ context.CancelFunc) { c.Close() },
			sodp.ErrClosed, sodp.ErrNotCached},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newPipeServer(t)
				srv.Set("k", 0)
				c := dial(t, srv.URL, viaPipe(srv))
				wctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				sub, err := sodp.Watch[int](wctx, c, "k", sodp.WithBuffer(1))
				if err != nil {
					t.Fatal(err)
				}
				defer sub.Close()
				next(t, sub)
				got := make(chan error, 1)
				go func() { got <- sub.WaitVersion(context.Background(), 1_000_000) }()
				synctest.Wait()
				tc.end(c, srv, sub, cancel)
				err = <-got
				if !errors.Is(err, tc.want) || errors.Is(err, tc.notWant) {
					t.Fatalf("WaitVersion: %v, want %v and not %v", err, tc.want, tc.notWant)
				}
			})
		})
	}
}

// WaitVersion(0) fails at once with ErrNoVersion: 0 is what a write
// returns when the server did not say which version it made, as the
// TypeScript server's writes always do. It used to return nil at once, so
// read-your-writes silently did nothing there.
func TestWaitVersionZero(t *testing.T) {
	srv := newServer(t, sodptest.WithDialect(sodp.DialectTS))
	c := dial(t, srv.URL)
	ref := sodp.Key[int](c, "k")
	sub, err := ref.Watch(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	next(t, sub)
	v, err := ref.Set(ctxT(t), 5)
	if err != nil || v != 0 {
		t.Fatalf("Set on the ts dialect: %d, %v; want version 0", v, err)
	}
	if err := ref.WaitVersion(ctxT(t), v); !errors.Is(err, sodp.ErrNoVersion) {
		t.Fatalf("Ref.WaitVersion(0): %v, want ErrNoVersion", err)
	}
	if err := sub.WaitVersion(ctxT(t), 0); !errors.Is(err, sodp.ErrNoVersion) {
		t.Fatalf("Subscription.WaitVersion(0): %v, want ErrNoVersion", err)
	}
	// The write reached the subscription's copy before Set returned (that
	// server sends the writer its change first).
	if u, err := ref.Cached(ctxT(t)); err != nil || u.Value != 5 {
		t.Fatalf("Cached after Set: %+v, %v", u, err)
	}
}
