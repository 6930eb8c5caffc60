package sodp_test

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sodp-go/client/internal/wire"
	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// tooLargeEvent returns the frame size given by the first ErrTooLarge
// event whose message names all of words, with its error (nil for none).
func tooLargeEvent(events *eventLog, words ...string) (int64, error) {
	size := regexp.MustCompile(`(\d+) bytes`)
	for _, ev := range events.snapshot() {
		if ev.Err == nil || !errors.Is(ev.Err, sodp.ErrTooLarge) {
			continue
		}
		msg, ok := ev.Err.Error(), true
		for _, w := range words {
			ok = ok && strings.Contains(msg, w)
		}
		if m := size.FindStringSubmatch(msg); ok && m != nil {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			return n, ev.Err
		}
	}
	return 0, nil
}

// unwatched counts the UNWATCH frames of key the server received.
func unwatched(srv *sodptest.Server, key string) int {
	n := 0
	for _, f := range frames(srv, "UNWATCH") {
		if f.Body["state"] == key {
			n++
		}
	}
	return n
}

// A key grown past the client's read limit by ordinary writes costs that
// key, not the connection: its subscriptions end with ErrTooLarge (a fresh
// Watch, whose STATE_INIT is over the limit, and a live one, whose DELTA
// is), Events name the key, the frame's size and the option, the key is
// unwatched, and the other key's subscriptions on the same clients get
// every change without a reconnect. A later Watch of the key tries again.
func TestOversizeValueCostsItsKey(t *testing.T) {
	const limit = 256 << 10
	const chunk = 60_000 // under every server's inbound limit (64 KiB for the Go server)
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, sodptest.WithDialect(d))
			ctx := ctxT(t)
			c := dial(t, srv.URL, sodp.WithMaxMessageSize(limit))
			events := collectEvents(c)
			small := watch[int](t, c, "small")
			next(t, small)
			big := watch[map[string]any](t, c, "big")
			next(t, big)

			// Twenty writes of 60 KB would do with a 1 MiB limit; six
			// take the value past 256 KiB. Each DELTA is small, so the
			// watcher follows.
			pad := strings.Repeat("x", chunk)
			n := limit/chunk + 2
			for i := range n {
				v, err := c.SetIn(ctx, "big", fmt.Sprintf("/p%d", i), pad)
				if err != nil {
					t.Fatalf("SetIn %d: %v", i, err)
				}
				nextUntil(t, big, func(u sodp.Update[map[string]any]) bool { return u.Version >= v })
			}

			// A fresh Watch on another client: the STATE_INIT is over the
			// limit.
			c2 := dial(t, srv.URL, sodp.WithMaxMessageSize(limit))
			events2 := collectEvents(c2)
			small2 := watch[int](t, c2, "small")
			next(t, small2)
			big2 := watch[any](t, c2, "big")
			if err := closed(t, big2); !errors.Is(err, sodp.ErrTooLarge) || !strings.Contains(err.Error(), "big") {
				t.Fatalf("fresh watch of the big key ended with %v, want ErrTooLarge naming the key", err)
			}
			if _, err := sodp.Get[any](ctx, c2, "big"); !errors.Is(err, sodp.ErrTooLarge) {
				t.Fatalf("Get of the big key: %v, want ErrTooLarge", err)
			}

			// The server replaces the whole value: the DELTA is over the
			// limit for the live watcher.
			repl := map[string]any{}
			for i := range n {
				repl[fmt.Sprintf("p%d", i)] = strings.Repeat("y", chunk)
			}
			srv.Set("big", repl)
			if err := closed(t, big); !errors.Is(err, sodp.ErrTooLarge) || !strings.Contains(err.Error(), "WithMaxMessageSize") {
				t.Fatalf("live watch of the big key ended with %v, want ErrTooLarge naming the option", err)
			}

			// The other key goes on, every change reaching both clients.
			for v := 1; v <= 5; v++ {
				if _, err := c.Set(ctx, "small", v); err != nil {
					t.Fatalf("Set small: %v", err)
				}
				for _, s := range []*sodp.Subscription[int]{small, small2} {
					if u := next(t, s); u.Value != v {
						t.Fatalf("small: got %d, want %d", u.Value, v)
					}
				}
			}

			for _, tc := range []struct {
				name   string
				events *eventLog
				frame  string
			}{{"fresh watch", events2, "STATE_INIT"}, {"live watch", events, "DELTA"}} {
				var err error
				var size int64
				eventually(t, tc.name+": an event naming the key, the size and the option", func() bool {
					size, err = tooLargeEvent(tc.events, tc.frame, "key big", "WithMaxMessageSize")
					return err != nil
				})
				if size <= limit {
					t.Fatalf("%s: event %q gives %d bytes, want the frame's size, over %d", tc.name, err, size, limit)
				}
			}
			// The fresh watch, the Get and the live watch each unwatch it.
			eventually(t, "the big key unwatched three times", func() bool { return unwatched(srv, "big") == 3 })
			for i, cl := range []*sodp.Client{c, c2} {
				if st := cl.Stats(); st.Reconnects != 0 || st.Disconnects != 0 || st.Connects != 1 {
					t.Fatalf("client %d: %d connects, %d reconnects, %d disconnects; want the one connection kept", i+1, st.Connects, st.Reconnects, st.Disconnects)
				}
			}

			// A later Watch tries again, and gets a value that fits.
			srv.Set("big", "small again")
			again := watch[string](t, c2, "big")
			if u := next(t, again); u.Value != "small again" {
				t.Fatalf("watch after the value shrank: %+v", u)
			}
		})
	}
}

// A value within the read limit whose decoded form would take more than
// 16 times the limit is refused before it is decoded, the same way.
func TestOversizeDecodedCostCostsItsKey(t *testing.T) {
	const limit = 64 << 10
	srv := newServer(t)
	// 60,000 empty maps: 60 KB on the wire, about 4 MB once decoded.
	arr := make([]any, 60_000)
	for i := range arr {
		arr[i] = map[string]any{}
	}
	srv.Set("maps", arr)
	c := dial(t, srv.URL, sodp.WithMaxMessageSize(limit))
	events := collectEvents(c)
	other := watch[int](t, c, "other")
	next(t, other)
	maps := watch[any](t, c, "maps")
	err := closed(t, maps)
	if !errors.Is(err, sodp.ErrTooLarge) || !strings.Contains(err.Error(), "once decoded") {
		t.Fatalf("watch ended with %v, want ErrTooLarge for the decoded size", err)
	}
	eventually(t, "an event naming the key", func() bool {
		_, e := tooLargeEvent(events, "key maps", "once decoded", "WithMaxMessageSize")
		return e != nil
	})
	srv.Set("other", 1)
	if u := next(t, other); u.Value != 1 {
		t.Fatalf("other: %+v", u)
	}
	if st := c.Stats(); st.Disconnects != 0 {
		t.Fatalf("%d disconnects", st.Disconnects)
	}
}

// A RESULT over the limit fails its call with ErrTooLarge; the next call
// is answered on the same connection.
func TestOversizeResultFailsItsCall(t *testing.T) {
	const limit = 4096
	calls := 0
	srv := serveFrames(t, func(f wire.Frame, send func([]byte)) {
		call, ok := f.Body.(*wire.Call)
		if !ok {
			return
		}
		calls++
		data := any(map[string]any{"version": calls})
		if calls == 1 {
			data = map[string]any{"version": calls, "blob": strings.Repeat("z", 3*limit)}
		}
		send(frameBytes(t, wire.TypeResult, 0, map[string]any{"data": data, "success": true, "call_id": call.CallID}))
	})
	c := dial(t, srv.URL, sodp.WithMaxMessageSize(limit))
	_, err := c.Set(ctxT(t), "k", 1)
	if !errors.Is(err, sodp.ErrTooLarge) || !strings.Contains(err.Error(), "state.set on k") || !strings.Contains(err.Error(), "WithMaxMessageSize") {
		t.Fatalf("first Set: %v, want ErrTooLarge naming the call and the option", err)
	}
	if v, err := c.Set(ctxT(t), "k", 2); err != nil || v != 2 {
		t.Fatalf("second Set: %d, %v", v, err)
	}
	if st := c.Stats(); st.Disconnects != 0 {
		t.Fatalf("%d disconnects", st.Disconnects)
	}
}

// A HELLO over the limit leaves nothing to go on with: the attempt fails
// with ErrTooLarge saying so.
func TestOversizeHelloFailsTheAttempt(t *testing.T) {
	hello := frameBytes(t, wire.TypeHello, 0, map[string]any{"protocol": "sodp", "version": "1.0", "server": strings.Repeat("s", 4096)})
	srv := newRawServer(t, func(c net.Conn) {
		if _, err := acceptUpgrade(c, ""); err != nil {
			return
		}
		c.Write(wsMessage(hello))
		untilClosed(c)
	})
	_, err := sodp.Dial(ctxT(t), srv.URL, sodp.WithMaxMessageSize(1024))
	if !errors.Is(err, sodp.ErrTooLarge) || !strings.Contains(err.Error(), "HELLO") || !strings.Contains(err.Error(), "cannot start") {
		t.Fatalf("Dial: %v, want ErrTooLarge saying the HELLO is over the limit", err)
	}
}

// Every kind of subscription of a key over the limit ends with
// ErrTooLarge: a WatchMany gets a KindRefused update for that key and goes
// on with the others; a buffered subscription (which keeps its own copy)
// and a WatchPath end.
func TestOversizeEndsEverySubscriptionOfTheKey(t *testing.T) {
	const limit = 16 << 10
	srv := newServer(t)
	srv.Set("big", map[string]any{"a": 1})
	c := dial(t, srv.URL, sodp.WithMaxMessageSize(limit))
	ctx := ctxT(t)
	many, err := sodp.WatchMany[any](ctx, c, []string{"big", "other"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { many.Close() })
	buffered := watch[map[string]any](t, c, "big", sodp.WithBuffer(16))
	part := func() *sodp.Subscription[int] {
		sub, err := sodp.WatchPath[int](ctx, c, "big", "/a")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sub.Close() })
		return sub
	}()
	next(t, buffered)
	next(t, part)
	for range 2 {
		next(t, many) // big and other
	}
	srv.Set("big", map[string]any{"a": 2, "pad": strings.Repeat("p", 2*limit)})
	for _, sub := range []interface{ Err() error }{buffered, part} {
		var err error
		switch s := sub.(type) {
		case *sodp.Subscription[map[string]any]:
			err = closed(t, s)
		case *sodp.Subscription[int]:
			err = closed(t, s)
		}
		if !errors.Is(err, sodp.ErrTooLarge) {
			t.Fatalf("%T ended with %v, want ErrTooLarge", sub, err)
		}
	}
	u := nextUntil(t, many, func(u sodp.Update[any]) bool { return u.Kind == sodp.KindRefused })
	if u.Key != "big" || !errors.Is(u.Err, sodp.ErrTooLarge) {
		t.Fatalf("WatchMany update %+v, want big refused with ErrTooLarge", u)
	}
	srv.Set("other", "still here")
	if u := next(t, many); u.Key != "other" || u.Value != "still here" {
		t.Fatalf("WatchMany after the refusal: %+v", u)
	}
}

// An ERROR frame over the limit is attributed as any ERROR, with the code
// that could be read: it fails the waiting call.
func TestOversizeErrorFailsItsCall(t *testing.T) {
	const limit = 4096
	srv := serveFrames(t, func(f wire.Frame, send func([]byte)) {
		if _, ok := f.Body.(*wire.Call); ok {
			send(frameBytes(t, wire.TypeError, 0, map[string]any{"message": strings.Repeat("m", 2*limit), "code": 422}))
		}
	})
	c := dial(t, srv.URL, sodp.WithMaxMessageSize(limit))
	_, err := c.Set(ctxT(t), "k", 1)
	var se *sodp.ServerError
	if !errors.As(err, &se) || se.Code != 422 || !errors.Is(err, sodp.ErrInvalidValue) || !strings.Contains(se.Message, "WithMaxMessageSize") {
		t.Fatalf("Set: %v, want the server's 422 saying its message was not read", err)
	}
	if st := c.Stats(); st.Disconnects != 0 {
		t.Fatalf("%d disconnects", st.Disconnects)
	}
}

// A key followed through small DELTAs while it grew past the limit meets
// its whole value again in the STATE_INIT that answers the RESUME after a
// reconnect: that key's subscription ends with ErrTooLarge, the other key
// resumes, and no further reconnect follows.
func TestOversizeAfterReconnect(t *testing.T) {
	const limit = 64 << 10
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, sodptest.WithDialect(d))
			srv.Set("small", 0)
			c := dial(t, srv.URL, sodp.WithMaxMessageSize(limit))
			events := collectEvents(c)
			small := watch[int](t, c, "small")
			next(t, small)
			big := watch[map[string]any](t, c, "big")
			next(t, big)
			for i := range 3 {
				v, err := srv.SetIn("big", fmt.Sprintf("/p%d", i), strings.Repeat("x", 30_000))
				if err != nil {
					t.Fatal(err)
				}
				nextUntil(t, big, func(u sodp.Update[map[string]any]) bool { return u.Version >= v })
			}
			srv.DropConnections()
			if err := closed(t, big); !errors.Is(err, sodp.ErrTooLarge) || !strings.Contains(err.Error(), "key big") {
				t.Fatalf("big ended with %v, want ErrTooLarge naming the key", err)
			}
			srv.Set("small", 1)
			nextUntil(t, small, func(u sodp.Update[int]) bool { return u.Value == 1 })
			// The request window is not left waiting for the big key.
			other := watch[int](t, c, "other")
			if u := next(t, other); u.Initialized {
				t.Fatalf("other: %+v", u)
			}
			eventually(t, "an event naming the key", func() bool {
				_, e := tooLargeEvent(events, "STATE_INIT", "key big", "WithMaxMessageSize")
				return e != nil
			})
			if st := c.Stats(); st.Connects != 2 || st.Disconnects != 1 {
				t.Fatalf("%d connects, %d disconnects; want the one forced reconnect", st.Connects, st.Disconnects)
			}
		})
	}
}
