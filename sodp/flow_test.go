package sodp_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// Thousands of keys and calls must not overflow the server's
// per-connection queue (the spec and Rust dialects evict past 1,024 frames)
// or the client's own: requests are paced.
func TestManyKeysWatchAndResume(t *testing.T) {
	const n = 3000
	srv := newServer(t, sodptest.WithDialect(sodp.DialectRust))
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("k.%d", i)
		srv.Set(keys[i], i)
	}
	c := dial(t, srv.URL)
	sub, err := sodp.WatchMany[int](ctxT(t), c, keys)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	seen := map[string]bool{}
	for len(seen) < n {
		u := next(t, sub)
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		seen[u.Key] = true
	}
	dropAndWrite(t, srv, c, func() {
		for i := 0; i < n; i += 100 {
			srv.Set(keys[i], -i)
		}
	})
	got := map[string]int{}
	for len(got) < n/100 {
		var u sodp.Update[int]
		var ok bool
		select {
		case u, ok = <-sub.Updates():
			if !ok {
				t.Fatalf("Updates closed: %v", sub.Err())
			}
		case <-time.After(wait):
			t.Fatalf("got %d of %d replayed updates; stats %+v; server %+v", len(got), n/100, c.Stats(), srv.Stats())
		}
		// Written while the client was away (replayed) or just after it
		// came back (a live delta).
		if u.Value <= 0 && (u.Kind == sodp.KindReplayed || u.Kind == sodp.KindDelta) {
			got[u.Key] = u.Value
		}
	}
	eventually(t, "every key resumed", func() bool { return c.Stats().Resumes == n })
	if st := c.Stats(); st.Reconnects != 1 || st.FramesOut > n+100 {
		t.Fatalf("stats %+v: want one reconnect and about %d frames sent", st, n)
	}
}

func TestManyConcurrentCalls(t *testing.T) {
	const n = 2000
	srv := newServer(t, sodptest.WithDialect(sodp.DialectRust))
	c := dial(t, srv.URL)
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Set(ctx, fmt.Sprintf("c.%d", i), i)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if st := c.Stats(); st.Disconnects != 0 || st.CallsSent != n {
		t.Fatalf("stats %+v", st)
	}
}
