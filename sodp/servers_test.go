package sodp_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// desyncs returns the ErrDesync events seen so far.
func desyncs(l *eventLog) []sodp.Event {
	var out []sodp.Event
	for _, ev := range l.snapshot() {
		if errors.Is(ev.Err, sodp.ErrDesync) {
			out = append(out, ev)
		}
	}
	return out
}

// TestRemoveOfMissingPathIsNoOp: a DELTA whose REMOVE names a path that is
// not there changes nothing and is delivered as a plain delta; a REMOVE of
// an array index that does not exist still re-synchronises the key, and
// counts as an apply error, not a decode error.
func TestRemoveOfMissingPathIsNoOp(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			value := map[string]any{"a": map[string]any{"b": int64(1)}, "l": []any{int64(1)}, "s": int64(5)}
			v0 := srv.Set("doc", value)
			c := dial(t, srv.URL)
			events := collectEvents(c)
			sub := watch[any](t, c, "doc", sodp.WithBuffer(10))
			if u := next(t, sub); u.Kind != sodp.KindSnapshot || u.Version != v0 {
				t.Fatalf("snapshot %+v", u)
			}
			conn := srv.Conns()[0]
			remove := func(path string) map[string]any { return map[string]any{"op": "REMOVE", "path": path} }
			conn.Send(0x04, 10, map[string]any{"state": "doc", "version": v0 + 1, "ops": []any{
				remove("/a/c"),   // a field that is not there
				remove("/x/y"),   // under a field that is not there
				remove("/s/t"),   // under a scalar
				remove("/a/b/c"), // under a scalar, one level down
			}})
			u := next(t, sub)
			if u.Kind != sodp.KindDelta || u.Version != v0+1 || !u.Initialized || !reflect.DeepEqual(u.Value, value) {
				t.Fatalf("after REMOVEs of missing paths: %+v, want KindDelta at %d with the value unchanged", u, v0+1)
			}
			// A REMOVE that does remove something, in the same delta as a
			// missing one.
			conn.Send(0x04, 10, map[string]any{"state": "doc", "version": v0 + 2, "ops": []any{remove("/a/b"), remove("/a/b")}})
			u = next(t, sub)
			want := map[string]any{"a": map[string]any{}, "l": []any{int64(1)}, "s": int64(5)}
			if u.Kind != sodp.KindDelta || u.Version != v0+2 || !reflect.DeepEqual(u.Value, want) {
				t.Fatalf("after REMOVE /a/b twice: %+v", u)
			}
			if st := c.Stats(); st.ApplyErrors != 0 || st.DecodeErrors != 0 || st.Resyncs != 0 || len(desyncs(events)) != 0 {
				t.Fatalf("stats %+v, desync events %v", st, desyncs(events))
			}

			// An array index that is not there: the copy cannot be trusted.
			conn.Send(0x04, 10, map[string]any{"state": "doc", "version": v0 + 3, "ops": []any{remove("/l/5")}})
			u = next(t, sub)
			if u.Kind != sodp.KindResync || u.Version != v0 || !reflect.DeepEqual(u.Value, value) {
				t.Fatalf("after REMOVE /l/5: %+v, want KindResync to the server's value at %d", u, v0)
			}
			eventually(t, "the ErrDesync event", func() bool { return len(desyncs(events)) == 1 })
			if st := c.Stats(); st.ApplyErrors != 1 || st.DecodeErrors != 0 {
				t.Fatalf("stats %+v, want ApplyErrors 1 and DecodeErrors 0", st)
			}
			// A frame that does not decode counts the other way round.
			conn.Send(0x04, 10, map[string]any{"state": "doc", "version": "not a number", "ops": []any{}})
			eventually(t, "the decode error", func() bool { return c.Stats().DecodeErrors == 1 })
			if st := c.Stats(); st.ApplyErrors != 1 {
				t.Fatalf("stats %+v, want ApplyErrors still 1", st)
			}
		})
	}
}

// TestPresenceTeardownOfMissingPath: the TypeScript server publishes a
// REMOVE for every presence entry of a session that ended, whether or not
// the entry is still there. Watchers see plain deltas, never a
// re-synchronisation. The other servers send nothing for an entry that is
// gone.
func TestPresenceTeardownOfMissingPath(t *testing.T) {
	for _, d := range []sodp.Dialect{sodp.DialectSpec, sodp.DialectTS, sodp.DialectRust} {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			srv.Set("room", map[string]any{"topic": "x"})
			observer := dial(t, srv.URL)
			events := collectEvents(observer)
			sub := watch[map[string]any](t, observer, "room", sodp.WithBuffer(20))
			next(t, sub)
			who := func(u sodp.Update[map[string]any]) map[string]any {
				m, _ := u.Value["who"].(map[string]any)
				return m
			}
			// closeOwner closes an owner, waits until the server has torn
			// its session down, then writes a marker: whatever the
			// teardown sent comes before the marker's DELTA.
			untilMarker := func(marker string) []sodp.Update[map[string]any] {
				t.Helper()
				srv.Patch("room", map[string]any{"marker": marker})
				var got []sodp.Update[map[string]any]
				for {
					u := next(t, sub)
					got = append(got, u)
					if u.Value["marker"] == marker {
						return got
					}
				}
			}
			closeOwner := func(c *sodp.Client, marker string) []sodp.Update[map[string]any] {
				t.Helper()
				untilMarker("before " + marker)
				live := len(srv.Conns())
				c.Close()
				eventually(t, "the teardown", func() bool { return len(srv.Conns()) == live-1 })
				return untilMarker(marker)
			}
			checkTeardown := func(name string, got []sodp.Update[map[string]any]) {
				t.Helper()
				want := 1 // the marker
				if d == sodp.DialectTS {
					want = 2 // the REMOVE of the missing path, then the marker
				}
				if len(got) != want {
					t.Fatalf("%s: %d updates, want %d: %+v", name, len(got), want, got)
				}
				for _, u := range got {
					if u.Kind != sodp.KindDelta {
						t.Fatalf("%s: %+v, want KindDelta", name, u)
					}
				}
			}

			// Two sessions hold presence on the same path; the second
			// teardown removes a path the first already removed.
			a, b := dial(t, srv.URL), dial(t, srv.URL)
			for _, c := range []*sodp.Client{a, b} {
				if _, err := c.Presence(ctxT(t), "room", "/who/shared", "here"); err != nil {
					t.Fatal(err)
				}
			}
			nextUntil(t, sub, func(u sodp.Update[map[string]any]) bool { return who(u)["shared"] == "here" })
			got := closeOwner(a, "a")
			if len(got) < 2 || who(got[0])["shared"] != nil || got[0].Kind != sodp.KindDelta {
				t.Fatalf("first teardown: %+v", got)
			}
			checkTeardown("second session on the same path", closeOwner(b, "b"))

			// Another client replaced the value: the entry's parent is gone.
			owner, writer := dial(t, srv.URL), dial(t, srv.URL)
			if _, err := owner.Presence(ctxT(t), "room", "/who/alice", "here"); err != nil {
				t.Fatal(err)
			}
			nextUntil(t, sub, func(u sodp.Update[map[string]any]) bool { return who(u)["alice"] == "here" })
			if _, err := writer.Set(ctxT(t), "room", map[string]any{"topic": "y"}); err != nil {
				t.Fatal(err)
			}
			nextUntil(t, sub, func(u sodp.Update[map[string]any]) bool { return u.Value["topic"] == "y" })
			got = closeOwner(owner, "c")
			checkTeardown("value replaced", got)
			if last := got[len(got)-1]; !reflect.DeepEqual(last.Value, map[string]any{"topic": "y", "marker": "c"}) {
				t.Fatalf("final value %+v", last.Value)
			}
			if st := observer.Stats(); st.Resyncs != 0 || st.ApplyErrors != 0 || len(desyncs(events)) != 0 {
				t.Fatalf("observer stats %+v, desync events %v", st, desyncs(events))
			}
		})
	}
}

// TestUnchangedWriteVersion: the Go server assigns no version to a write
// that changes nothing (RESULT {}, no DELTA): the client reports version 0,
// and WaitVersion(0) fails at once with ErrNoVersion: there is no version
// to wait for. The others assign a version (the TypeScript server never
// reports one).
func TestUnchangedWriteVersion(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			c := dial(t, srv.URL)
			ctx := ctxT(t)
			sub := watch[map[string]any](t, c, "doc", sodp.WithBuffer(10))
			next(t, sub)
			val := map[string]any{"a": int64(1)}
			v1, err := c.Set(ctx, "doc", val)
			if err != nil {
				t.Fatal(err)
			}
			u := next(t, sub)
			if !reflect.DeepEqual(u.Value, val) {
				t.Fatalf("first write: %+v", u)
			}
			writes := map[string]func() (uint64, error){
				"set":    func() (uint64, error) { return c.Set(ctx, "doc", val) },
				"patch":  func() (uint64, error) { return c.Patch(ctx, "doc", map[string]any{"a": 1}) },
				"set_in": func() (uint64, error) { return c.SetIn(ctx, "doc", "/a", 1) },
			}
			unchanged := 0
			for _, name := range []string{"set", "patch", "set_in"} {
				v, err := writes[name]()
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				switch d {
				case sodp.DialectGo, sodp.DialectTS:
					if v != 0 {
						t.Fatalf("%s of the same value: version %d, want 0", name, v)
					}
				default:
					if v <= v1 {
						t.Fatalf("%s of the same value: version %d, want above %d", name, v, v1)
					}
				}
				if err := sub.WaitVersion(ctx, v); v == 0 && !errors.Is(err, sodp.ErrNoVersion) || v != 0 && err != nil {
					t.Fatalf("%s: WaitVersion(%d): %v", name, v, err)
				}
				if d != sodp.DialectGo {
					unchanged++ // an empty DELTA per write
				}
			}
			if err := sub.WaitVersion(ctx, 0); !errors.Is(err, sodp.ErrNoVersion) {
				t.Fatalf("WaitVersion(0): %v, want ErrNoVersion", err)
			}
			// Then a real change: on the Go server no update came between.
			v2, err := c.Set(ctx, "doc", map[string]any{"a": int64(2)})
			if err != nil {
				t.Fatal(err)
			}
			var got []sodp.Update[map[string]any]
			for {
				u := next(t, sub)
				got = append(got, u)
				if u.Value["a"] == int64(2) {
					break
				}
			}
			if len(got) != unchanged+1 {
				t.Fatalf("%d updates, want %d: %+v", len(got), unchanged+1, got)
			}
			if d != sodp.DialectTS && got[len(got)-1].Version != v2 {
				t.Fatalf("last update %+v, want version %d", got[len(got)-1], v2)
			}
		})
	}
}

// TestGoServerMessageLimit: the Go server closes the connection (1009) on a
// message over 64 KiB. Recognising it, the client limits its calls to 64
// KiB by default, so an over-size call fails locally and the connection
// stays up; a limit set with WithMaxMessageSize is used as given.
func TestGoServerMessageLimit(t *testing.T) {
	big := strings.Repeat("x", 100<<10)
	nearly := strings.Repeat("x", 60<<10)
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			c := dial(t, srv.URL)
			ctx := ctxT(t)
			sub := watch[any](t, c, "big", sodp.WithBuffer(10))
			next(t, sub)
			_, err := c.Set(ctx, "big", big)
			if d != sodp.DialectGo {
				// 1 MiB servers take it.
				if err != nil {
					t.Fatalf("100 KiB set: %v", err)
				}
				if u := next(t, sub); u.Kind != sodp.KindDelta || u.Value != big {
					t.Fatalf("update %v", u.Kind)
				}
				return
			}
			if !errors.Is(err, sodp.ErrTooLarge) || errors.Is(err, sodp.ErrConnectionLost) || !strings.Contains(err.Error(), "65536") {
				t.Fatalf("100 KiB set on the Go server: %v, want a local ErrTooLarge naming the 65536-byte limit", err)
			}
			if _, err := c.SetIn(ctx, "big", "/a", big); !errors.Is(err, sodp.ErrTooLarge) {
				t.Fatalf("100 KiB set_in on the Go server: %v", err)
			}
			// Under the limit it goes through, on the same connection.
			if _, err := c.Set(ctx, "big", nearly); err != nil {
				t.Fatal(err)
			}
			if u := next(t, sub); u.Kind != sodp.KindDelta || u.Value != nearly {
				t.Fatalf("update %v", u.Kind)
			}
			if st := c.Stats(); st.Disconnects != 0 || st.Connects != 1 || st.CallsSent != 1 || st.PendingCalls != 0 {
				t.Fatalf("stats %+v", st)
			}
			if n := len(calls(srv, "state.set")); n != 1 {
				t.Fatalf("the server received %d state.set calls, want 1", n)
			}

			// With an explicit limit the client sends it, and the Go server
			// closes with 1009, as the real one does.
			c2 := dial(t, srv.URL, sodp.WithMaxMessageSize(1<<20))
			_, err = c2.Set(ctx, "big", big)
			var ce *sodp.CloseError
			if !errors.Is(err, sodp.ErrConnectionLost) || !errors.As(err, &ce) || ce.Code != 1009 || !errors.Is(err, sodp.ErrTooLarge) {
				t.Fatalf("100 KiB set with WithMaxMessageSize(1 MiB): %v, want the server's close 1009", err)
			}
			// The refused frame was this call's own, and nothing after a
			// refused frame is read: the error says it was not applied.
			if msg := err.Error(); !strings.Contains(msg, "not applied") || strings.Contains(msg, "may or may not") {
				t.Fatalf("100 KiB set refused with close 1009: %q, want it to say the call was not applied", msg)
			}
			if v, _, _ := srv.Get("big"); v == big {
				t.Fatal("the server holds the refused value")
			}
		})
	}
}

// TestFailedResultMessage: a RESULT success:false carries its message in
// data; it reaches the caller's *ServerError.
func TestFailedResultMessage(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d), sodptest.WithACL(func(_, key string, write bool) bool {
				return !write || !strings.HasPrefix(key, "ro.")
			}))
			c := dial(t, srv.URL)
			ctx := ctxT(t)
			var se *sodp.ServerError
			_, err := c.Set(ctx, "ro.k", 1)
			if !errors.As(err, &se) || !errors.Is(err, sodp.ErrForbidden) || !strings.Contains(se.Message, "ro.k") && d != sodp.DialectGo {
				t.Fatalf("refused write: %#v", err)
			}
			_, err = c.Call(ctx, "no.such.method", map[string]any{"state": "k"})
			if !errors.As(err, &se) || !strings.Contains(se.Message, "no.such.method") {
				t.Fatalf("unknown method: %#v", err)
			}
			_, err = c.Call(ctx, "state.set", map[string]any{"value": 1})
			if !errors.As(err, &se) || !errors.Is(err, sodp.ErrBadRequest) || se.Message == "" {
				t.Fatalf("state.set without state: %#v", err)
			}
			if d == sodp.DialectSpec || d == sodp.DialectTS {
				if se.Attribution != sodp.AttrCallID {
					t.Fatalf("attribution %v, want call_id (a RESULT)", se.Attribution)
				}
			}
		})
	}
}

// TestGoHelloJWT: the Go server names its token algorithm in
// capabilities.jwt.
func TestGoHelloJWT(t *testing.T) {
	srv := newServer(t, sodptest.WithDialect(sodp.DialectGo), sodptest.WithAuth([]byte("k")))
	c := dial(t, srv.URL, sodp.WithToken(srv.Token("alice", wait)))
	info := c.Server()
	if info.Dialect != sodp.DialectGo || info.Capabilities["jwt"] != "hs256" {
		t.Fatalf("server info %+v", info)
	}
}
