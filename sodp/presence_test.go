package sodp_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// errorEvent waits for an event whose error matches target and names key.
func errorEvent(t *testing.T, events <-chan sodp.Event, target error, key string) sodp.Event {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case ev := <-events:
			if ev.Err != nil && errors.Is(ev.Err, target) && strings.Contains(ev.Err.Error(), key) {
				return ev
			}
		case <-deadline:
			t.Fatalf("no event matching %v naming %s", target, key)
		}
	}
}

// A presence entry set on a server with presence is not sent to a server
// known to have none (the Go server), after a reconnect lands there: the
// client says so on Events and keeps the entry for a server with presence.
// It used to send it on every reconnect, and the server's ERROR 400
// reached no one.
func TestPresenceNotResentToServerWithout(t *testing.T) {
	withPresence := newServer(t)
	without := newServer(t, sodptest.WithDialect(sodp.DialectGo))
	c := dial(t, withPresence.URL, sodp.WithEndpoints(without.URL))
	events := c.Events()
	if _, err := c.Presence(ctxT(t), "room", "/who/me", true); err != nil {
		t.Fatal(err)
	}
	withPresence.Close() // the next connection is to the Go server
	errorEvent(t, events, sodp.ErrNotSupported, "room")
	eventually(t, "live on the go server", func() bool {
		return c.State() == sodp.StateLive && c.Server().Dialect == sodp.DialectGo
	})
	for range 2 {
		before := c.Stats().Connects
		without.DropConnections()
		eventually(t, "live on the go server again", func() bool {
			return c.Stats().Connects > before && c.State() == sodp.StateLive && c.Server().Dialect == sodp.DialectGo
		})
		errorEvent(t, events, sodp.ErrNotSupported, "room")
	}
	roundTrip(t, c)
	if n := len(calls(without, "state.presence")); n != 0 {
		t.Fatalf("%d presence CALLs reached the go server", n)
	}
	if n := c.Stats().PresenceEntries; n != 1 {
		t.Fatalf("%d presence entries kept, want 1", n)
	}
}

// A presence entry sent again after a reconnect and refused by the server
// is reported on Events and forgotten: it is not sent again on the next
// reconnect. The refusal used to reach no one, and the entry was sent
// again on every reconnect.
func TestPresenceResendRefusedReported(t *testing.T) {
	var refuse atomic.Bool
	srv := newServer(t, sodptest.WithACL(func(_, key string, write bool) bool {
		return !(write && key == "room" && refuse.Load())
	}))
	c := dial(t, srv.URL)
	events := c.Events()
	if _, err := c.Presence(ctxT(t), "room", "/who/me", true); err != nil {
		t.Fatal(err)
	}
	refuse.Store(true)
	dropAndWrite(t, srv, c, func() {})
	ev := errorEvent(t, events, sodp.ErrForbidden, "room")
	var se *sodp.ServerError
	if !errors.As(ev.Err, &se) || se.Code != 403 {
		t.Fatalf("event %v, want the server's 403", ev.Err)
	}
	eventually(t, "the entry forgotten", func() bool { return c.Stats().PresenceEntries == 0 })
	sent := len(calls(srv, "state.presence"))
	dropAndWrite(t, srv, c, func() {})
	roundTrip(t, c)
	if n := len(calls(srv, "state.presence")); n != sent {
		t.Fatalf("%d presence CALLs after another reconnect, want %d", n, sent)
	}
}
