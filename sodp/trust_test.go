package sodp_test

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// countErrs counts the events whose error matches target.
func countErrs(l *eventLog, target error) int {
	n := 0
	for _, ev := range l.snapshot() {
		if errors.Is(ev.Err, target) {
			n++
		}
	}
	return n
}

// A STATE_INIT no WATCH or RESUME asked for is not taken as the truth:
// one below the version held, or at that version with another value, is
// reported and the key verified with a fresh WATCH; the subscriber only
// ever sees the server's values, in version order.
func TestUnsolicitedStateInitVerified(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			srv.Set("a", 1)
			v := srv.Set("a", 2)
			c := dial(t, srv.URL)
			events := collectEvents(c)
			sub := watch[int](t, c, "a", sodp.WithBuffer(8))
			if u := next(t, sub); u.Value != 2 || u.Version != v {
				t.Fatalf("first update %+v", u)
			}
			conn := srv.Conns()[0]
			for i, bad := range []struct{ version, value uint64 }{{v - 1, 99}, {v, 98}} {
				conn.Send(0x03, streamOf(conn, "a"), map[string]any{"state": "a", "version": bad.version, "value": bad.value, "initialized": true})
				// The client has handled the STATE_INIT once a call sent
				// after it is answered, and its fresh WATCH once a second is.
				roundTrip(t, c)
				roundTrip(t, c)
				val := 10 + i
				v = srv.Set("a", val)
				if u := next(t, sub); u.Value != val || u.Version != v {
					t.Fatalf("STATE_INIT v%d %d: next update %+v, want %d at v%d", bad.version, bad.value, u, val, v)
				}
				if n := watchesOf(srv)["a"]; n != i+2 {
					t.Fatalf("%d WATCHes of a, want %d", n, i+2)
				}
				eventually(t, "the STATE_INIT reported", func() bool { return countErrs(events, sodp.ErrDesync) == i+1 })
			}
			// A repeat of the copy held changes nothing and is no error.
			conn.Send(0x03, streamOf(conn, "a"), map[string]any{"state": "a", "version": v, "value": 11, "initialized": true})
			v = srv.Set("a", 12)
			if u := next(t, sub); u.Value != 12 || u.Version != v || u.Kind != sodp.KindDelta {
				t.Fatalf("after a repeated STATE_INIT: %+v", u)
			}
			if n := countErrs(events, sodp.ErrDesync); n != 2 {
				t.Fatalf("%d desync events, want 2", n)
			}
		})
	}
}

// A DELTA without a version (missing or nil) cannot be placed among the
// key's changes: it is reported as ErrProtocol and the key re-read, where
// it used to be dropped as stale without a word.
func TestDeltaWithoutVersionResyncs(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			srv.Set("a", 1)
			c := dial(t, srv.URL)
			events := collectEvents(c)
			sub := watch[int](t, c, "a", sodp.WithBuffer(8))
			next(t, sub)
			conn := srv.Conns()[0]
			ops := []any{map[string]any{"op": "UPDATE", "path": "/", "value": 77}}
			for i, body := range []map[string]any{
				{"state": "a", "ops": ops},   // no version
				{"version": nil, "ops": ops}, // nil version, keyless
			} {
				stream := streamOf(conn, "a")
				if d == sodp.DialectTS {
					// That server numbers its own streams and answers a
					// WATCH of a key it watches on the key's first one.
					stream = 10
				}
				conn.Send(0x04, stream, body)
				roundTrip(t, c)
				roundTrip(t, c)
				if n := watchesOf(srv)["a"]; n != i+2 {
					t.Fatalf("DELTA %v: %d WATCHes of a, want %d", body, n, i+2)
				}
				eventually(t, "the DELTA reported", func() bool { return countErrs(events, sodp.ErrProtocol) == i+1 })
				val := 10 + i
				v := srv.Set("a", val)
				if u := next(t, sub); u.Value != val || u.Version != v {
					t.Fatalf("DELTA %v: next update %+v, want %d at v%d", body, u, val, v)
				}
			}
		})
	}
}

// falsy holds fields the Go server writes without a value when they are
// 0, false or "": pointers, so that nil and the zero value differ.
type falsy struct {
	Z *int    `json:"z"`
	F *bool   `json:"f"`
	S *string `json:"s"`
}

func (f falsy) String() string {
	s := ""
	for _, p := range []any{f.Z, f.F, f.S} {
		switch x := p.(type) {
		case *int:
			s += fmt.Sprint(x != nil && *x == 0, " ")
		case *bool:
			s += fmt.Sprint(x != nil && !*x, " ")
		case *string:
			s += fmt.Sprint(x != nil && *x == "")
		}
	}
	return s
}

// The Go server leaves an op's value out when it is 0, false or "" (and
// nil): its watchers must still end with the values the server holds, not
// with nil, typed or not. On the other dialects the values are sent.
func TestFalsyValuesReachWatchers(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			srv.Set("f", map[string]any{"z": 1, "f": true, "s": "x", "n": 1})
			c := dial(t, srv.URL)
			raw := watch[any](t, c, "f", sodp.WithBuffer(8))
			typed := watch[falsy](t, c, "f")
			scalar := watch[any](t, c, "g")
			next(t, raw)
			next(t, typed)
			next(t, scalar)
			writer := dial(t, srv.URL)
			v, err := writer.Set(ctxT(t), "f", map[string]any{"z": 0, "f": false, "s": "", "n": nil})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"z": int64(0), "f": false, "s": "", "n": nil}
			u := nextUntil(t, raw, func(u sodp.Update[any]) bool { return u.Version >= v })
			if !reflect.DeepEqual(u.Value, want) {
				t.Fatalf("raw watcher: %#v at v%d (%s), want %#v", u.Value, u.Version, u.Kind, want)
			}
			ut := nextUntil(t, typed, func(u sodp.Update[falsy]) bool { return u.Version >= v })
			if ut.Err != nil || ut.Value.String() != "true true true" {
				t.Fatalf("typed watcher: %s (%v) at v%d, want 0, false and \"\"", ut.Value, ut.Err, ut.Version)
			}
			vg := srv.Set("g", 0) // the key's first value
			us := nextUntil(t, scalar, func(u sodp.Update[any]) bool { return u.Version >= vg })
			if us.Value != int64(0) || !us.Initialized {
				t.Fatalf("first value 0: %#v (initialized %v) at v%d", us.Value, us.Initialized, us.Version)
			}
			got, err := sodp.Get[any](ctxT(t), c, "f")
			if err != nil || !reflect.DeepEqual(got.Value, want) {
				t.Fatalf("Get: %#v, %v", got.Value, err)
			}
		})
	}
}

// A live change that overtakes a RESUME's replay (the Go server subscribes
// the resuming client to live changes before it queues the replay) must
// not be applied on a base missing the versions still to come, and the
// older replayed versions must not be dropped silently after it: the
// subscriber only ever sees values the server held, and ends at the
// server's value. The other dialects send the change after the replay.
func TestLiveDeltaInsideReplay(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { liveDeltaInsideReplay(t, d) })
		})
	}
}

func liveDeltaInsideReplay(t *testing.T, d sodp.Dialect) {
	var (
		srv  *sodptest.Server
		mu   sync.Mutex
		held = map[string]bool{} // every value the server held for k
	)
	srv = newPipeServer(t, sodptest.WithDialect(d),
		sodptest.WithOnChange(func(ch sodptest.Change) {
			mu.Lock()
			held[fmt.Sprint(ch.Value)] = true
			mu.Unlock()
		}),
		sodptest.WithReplayHook(func(key string, n int) {
			if key == "k" && n == 3 {
				if _, err := srv.SetIn("k", "/live", 1); err != nil {
					t.Error(err)
				}
			}
		}))
	srv.Set("k", map[string]any{"a": 0})
	c := dial(t, srv.URL, viaPipe(srv))
	events := collectEvents(c)
	sub := watch[map[string]any](t, c, "k", sodp.WithBuffer(64))
	next(t, sub)
	srv.DropConnections()
	// The client redials after its back-off, on the bubble's clock: every
	// write below happens during the outage.
	for i := 1; i <= 10; i++ {
		if _, err := srv.SetIn("k", "/a", i); err != nil {
			t.Fatal(err)
		}
	}
	var last sodp.Update[map[string]any]
	for {
		u := next(t, sub)
		mu.Lock()
		ok := held[fmt.Sprint(u.Value)]
		mu.Unlock()
		if !ok {
			t.Fatalf("update %v at v%d (%s): a value the server never held", u.Value, u.Version, u.Kind)
		}
		if u.Version <= last.Version {
			t.Fatalf("version %d after %d", u.Version, last.Version)
		}
		last = u
		if u.Value["live"] != nil && u.Value["a"] == int64(10) {
			break
		}
	}
	want, version, _ := srv.Get("k")
	if fmt.Sprint(last.Value) != fmt.Sprint(want) || last.Version != version {
		t.Fatalf("ended at %v v%d, server at %v v%d", last.Value, last.Version, want, version)
	}
	if d == sodp.DialectGo && countErrs(events, sodp.ErrDesync) == 0 {
		t.Fatal("the early DELTA was not reported")
	}
}
