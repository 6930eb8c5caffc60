package sodp_test

import (
	"errors"
	"testing"

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
				conn.Send(0x04, streamOf(conn, "a"), body)
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
