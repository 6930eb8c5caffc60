package sodp_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sodp-go/client/sodp"
)

// deadURL returns a ws:// URL on a loopback port nothing listens on.
func deadURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "ws://" + addr
}

func TestDialContextEnds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	c, err := sodp.Dial(ctx, deadURL(t), append(fastOpts(), sodp.WithRetryOnFailedConnect())...)
	if err == nil {
		c.Close()
		t.Fatal("Dial to a dead port succeeded")
	}
	if strings.Count(err.Error(), "sodp:") != 1 {
		t.Errorf("error %q has not exactly one sodp: prefix", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("Dial took %s after its context ended", time.Since(start))
	}
}

func TestBlockingPointsHonourContext(t *testing.T) {
	// A client that never gets a connection: every call waits, and every
	// wait ends with its context.
	c, err := sodp.New(deadURL(t), fastOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	short := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}
	if err := c.Ready(short()); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Ready = %v", err)
	}
	if _, err := c.Set(short(), "k", 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Set = %v", err)
	}
	if _, err := c.Call(short(), "state.append", map[string]any{"state": "k", "value": 1}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Call = %v", err)
	}
	// Watch returns at once; its subscription ends with its context.
	sub, err := sodp.Watch[int](short(), c, "k")
	if err != nil {
		t.Fatal(err)
	}
	if err := closed(t, sub); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("subscription Err = %v", err)
	}
	ref := sodp.Key[int](c, "k")
	if _, err := ref.Cached(short()); !errors.Is(err, sodp.ErrNotCached) {
		t.Errorf("Cached = %v", err)
	}
	if _, err := ref.Get(short()); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Get = %v", err)
	}
	keep := watch[int](t, c, "k")
	if err := ref.WaitVersion(short(), 5); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitVersion = %v", err)
	}
	keep.Close()
	if st := c.Stats(); st.PendingCalls != 0 {
		t.Errorf("%d calls still pending after their contexts ended", st.PendingCalls)
	}
}

func TestQueuedCallsSentOnceLive(t *testing.T) {
	// Calls made while the client cannot connect are sent when it does.
	srv := newServer(t)
	c, err := sodp.New(srv.URL, sodp.WithBackoff(300*time.Millisecond, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitLive(t, c)
	srv.DropConnections()
	eventually(t, "reconnecting", func() bool { return c.State() == sodp.StateReconnecting })
	done := make(chan error, 1)
	go func() {
		_, err := c.Set(ctxT(t), "queued", 1)
		done <- err
	}()
	if err := <-done; err != nil {
		t.Fatalf("queued Set = %v", err)
	}
	if v, _, ok := srv.Get("queued"); !ok || v != int64(1) {
		t.Fatalf("server has %v", v)
	}
}

func TestWatchContextCancelledBeforeFirstValue(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	sub, err := sodp.Watch[int](ctx, c, "k")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := closed(t, sub); !errors.Is(err, context.Canceled) {
		t.Fatalf("Err = %v", err)
	}
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sub.Err(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Err after Close = %v", err)
	}
}

// Subscriptions whose Watch contexts end together (one context, and one
// derived from it by a value) each end when it ends, with their own
// context's error, whichever of them ended before; a subscription of
// another context goes on; one made after the end ends at once.
func TestWatchContextsSharingAnEnd(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	type ctxKey struct{}
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	valued := context.WithValue(parent, ctxKey{}, 1)
	cause, cancelCause := context.WithCancelCause(context.Background())
	defer cancelCause(nil)
	other, cancelOther := context.WithCancel(context.Background())
	defer cancelOther()
	var subs []*sodp.Subscription[int]
	for i, ctx := range []context.Context{parent, valued, parent, valued, other, cause} {
		sub, err := sodp.Watch[int](ctx, c, fmt.Sprintf("k.%d", i%3))
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		next(t, sub)
		subs = append(subs, sub)
	}
	subs[2].Close() // leaves the others of its context watched
	if err := closed(t, subs[2]); !errors.Is(err, sodp.ErrClosed) {
		t.Fatalf("closed one: Err = %v", err)
	}
	cancel()
	for _, i := range []int{0, 1, 3} {
		if err := closed(t, subs[i]); !errors.Is(err, context.Canceled) {
			t.Errorf("subscription %d: Err = %v", i, err)
		}
	}
	srv.Set("k.1", 7)
	if u := nextUntil(t, subs[4], func(u sodp.Update[int]) bool { return u.Value == 7 }); u.Err != nil {
		t.Fatalf("other context: %+v", u)
	}
	why := errors.New("why")
	cancelCause(why)
	if err := closed(t, subs[5]); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled with a cause: Err = %v", err)
	}
	// A Watch of an ended context fails at once; the others of a live one
	// are not disturbed by the ones that ended.
	if _, err := sodp.Watch[int](parent, c, "k.0"); !errors.Is(err, context.Canceled) {
		t.Errorf("Watch of an ended context: %v", err)
	}
	late, err := sodp.Watch[int](other, c, "k.2")
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	next(t, late)
	cancelOther()
	for name, s := range map[string]*sodp.Subscription[int]{"other": subs[4], "late": late} {
		if err := closed(t, s); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: Err = %v", name, err)
		}
	}
}
