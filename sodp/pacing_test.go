package sodp_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// The TypeScript server announces how many WATCH/RESUME frames it takes
// per second on a connection (rate_limit_watches) and refuses the excess
// with 429s that overtake the answers of the requests it accepted. Sixteen
// keys watched one by one at its rate of 10: the client spaces its frames
// so that none is refused, and every key gets its value.
func TestWatchesPacedToAnnouncedRate(t *testing.T) {
	srv := newServer(t, sodptest.WithDialect(sodp.DialectTS), sodptest.WithRateLimit(0, 10))
	c := dial(t, srv.URL, sodp.WithCallTimeout(time.Minute))
	subs := make([]*sodp.Subscription[any], 16)
	for i := range subs {
		key := fmt.Sprintf("b%d", i)
		srv.Set(key, key)
		subs[i] = watch[any](t, c, key)
	}
	for i, sub := range subs {
		if u := next(t, sub); u.Value != fmt.Sprintf("b%d", i) {
			t.Fatalf("b%d: %+v", i, u)
		}
	}
	if n := srv.Stats().RateLimited; n != 0 {
		t.Errorf("the server refused %d WATCH frames over its announced rate", n)
	}
	// A multi-key WATCH is one frame to that server: keys that wait for
	// their turn go out together.
	if n := srv.Stats().Watches; n > 8 {
		t.Errorf("%d WATCH frames for 16 keys", n)
	}
}

// Thirty keys, each its own subscription, on DialectTS with its rate
// limit (10 WATCH/RESUME frames per second, refusals overtaking the
// answers of the frames accepted), the connection dropped four times while
// the keys change: after each reconnect the server watches every key again
// for this client, and every subscription ends with the server's value.
func TestTSKeysConvergeAcrossReconnects(t *testing.T) {
	srv := newServer(t, sodptest.WithDialect(sodp.DialectTS), sodptest.WithRateLimit(0, 10))
	c := dial(t, srv.URL, sodp.WithCallTimeout(time.Minute))
	const n = 30
	keys := make([]string, n)
	latest := make([]atomic.Int64, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("c%d", i)
		srv.Set(keys[i], 1)
		sub, err := sodp.Watch[int64](context.Background(), c, keys[i])
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sub.Close() })
		go func() {
			for u := range sub.Updates() {
				latest[i].Store(u.Value)
			}
		}()
	}
	v := int64(1)
	converged := func() bool {
		for i := range latest {
			if latest[i].Load() != v {
				return false
			}
		}
		return srv.Stats().Subscriptions == n
	}
	settle := func(d time.Duration) {
		deadline := time.Now().Add(d)
		for !converged() && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	writeAll := func() {
		v++
		for _, k := range keys {
			srv.Set(k, v)
		}
	}
	settle(10 * time.Second)
	for round := range 6 {
		writeAll()
		srv.DropConnections()
		writeAll()
		if err := srv.WaitConns(ctxT(t), 1); err != nil {
			t.Fatal(err)
		}
		eventually(t, "live again", func() bool { return c.State() == sodp.StateLive })
		for range round {
			time.Sleep(100 * time.Millisecond)
			writeAll() // while the client resumes
		}
	}
	writeAll()
	settle(20 * time.Second)
	if !converged() {
		var behind []string
		for i := range latest {
			if latest[i].Load() != v {
				behind = append(behind, fmt.Sprintf("%s=%d", keys[i], latest[i].Load()))
			}
		}
		t.Fatalf("want %d everywhere; behind: %v; server subscriptions %d", v, behind, srv.Stats().Subscriptions)
	}
}

// A RESUME whose answer is held up past the call timeout (a blackholed
// link) is given up and the key asked for again; when the held answers
// arrive at last, the server must still be watching every key for this
// client: thirty keys on DialectTS, whose UNWATCH ends a key's
// subscription at once and whose rate limit refuses part of a burst.
func TestTSHeldAnswersAfterRewatch(t *testing.T) {
	srv := newServer(t, sodptest.WithDialect(sodp.DialectTS), sodptest.WithRateLimit(0, 10))
	c := dial(t, srv.URL, sodp.WithCallTimeout(300*time.Millisecond), sodp.WithBackoff(50*time.Millisecond, time.Second))
	const n = 30
	keys := make([]string, n)
	latest := make([]atomic.Int64, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("h%d", i)
		srv.Set(keys[i], 1)
	}
	sub, err := sodp.WatchMany[int64](context.Background(), c, keys)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	index := map[string]int{}
	for i, k := range keys {
		index[k] = i
	}
	go func() {
		for u := range sub.Updates() {
			latest[index[u.Key]].Store(u.Value)
		}
	}()
	v := int64(1)
	converged := func() bool {
		for i := range latest {
			if latest[i].Load() != v {
				return false
			}
		}
		return srv.Stats().Subscriptions == n
	}
	eventually(t, "first values", converged)
	for range 2 {
		resumes := srv.Stats().Resumes
		v++
		for _, key := range keys {
			srv.Set(key, v)
		}
		srv.DropConnections()
		if err := srv.WaitConns(ctxT(t), 1); err != nil {
			t.Fatal(err)
		}
		conn := srv.Conns()[0]
		eventually(t, "HELLO written", func() bool { return conn.Queued() == 0 })
		conn.Pause() // the answers wait past the call timeout
		eventually(t, "RESUMEs sent", func() bool { return srv.Stats().Resumes > resumes })
		time.Sleep(time.Second)
		conn.Resume()
	}
	v++ // a change every watcher must see
	for _, key := range keys {
		srv.Set(key, v)
	}
	deadline := time.Now().Add(15 * time.Second)
	for !converged() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !converged() {
		var behind []string
		for i := range latest {
			if latest[i].Load() != v {
				behind = append(behind, fmt.Sprintf("%s=%d", keys[i], latest[i].Load()))
			}
		}
		t.Fatalf("want %d everywhere; behind: %v; server subscriptions %d of %d", v, behind, srv.Stats().Subscriptions, n)
	}
}

// A 429 that names neither a stream nor a key, sent before the answers of
// the requests the server accepted (DialectTS over its watch limit), is
// not blamed on the oldest request: the keys retried, and reported on
// Events, are the ones the server refused, and they get their values once
// the server has room.
func TestUnattributedRefusalsRetryTheRefusedKeys(t *testing.T) {
	srv := newServer(t, sodptest.WithDialect(sodp.DialectTS), sodptest.WithMaxWatches(5))
	c := dial(t, srv.URL, sodp.WithCallTimeout(time.Minute), sodp.WithBackoff(50*time.Millisecond, 200*time.Millisecond))
	events := c.Events()
	subs := map[string]*sodp.Subscription[any]{}
	for i := range 8 {
		key := fmt.Sprintf("w%d", i)
		srv.Set(key, key)
		subs[key] = watch[any](t, c, key)
	}
	for i := range 5 {
		key := fmt.Sprintf("w%d", i)
		if u := next(t, subs[key]); u.Value != key {
			t.Fatalf("%s: %+v", key, u)
		}
	}
	blamed := map[string]bool{}
	for len(blamed) < 3 {
		select {
		case ev := <-events:
			var se *sodp.ServerError
			if errors.As(ev.Err, &se) && se.Code == 429 && se.Key != "" {
				blamed[se.Key] = true
			}
		case <-time.After(wait):
			t.Fatalf("refusals reported for %v only", blamed)
		}
	}
	for key := range blamed {
		if key < "w5" {
			t.Errorf("the refusal of a WATCH was blamed on %s, which the server accepted (blamed: %v)", key, blamed)
		}
	}
	for i := range 3 {
		subs[fmt.Sprintf("w%d", i)].Close()
	}
	for i := 5; i < 8; i++ {
		key := fmt.Sprintf("w%d", i)
		if u := next(t, subs[key]); u.Value != key {
			t.Fatalf("%s: %+v", key, u)
		}
	}
}
