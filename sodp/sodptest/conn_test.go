package sodptest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sodp-go/client/internal/wire"

	"github.com/sodp-go/client/sodp"
)

var secret = []byte("test-secret")

// expectEnd checks what happens after a refused AUTH or request.
func expectEnd(t *testing.T, c *tclient, mode closeMode) {
	t.Helper()
	switch mode {
	case stayOpen:
		if !c.isOpen() {
			t.Fatal("connection closed, want it open")
		}
	case closeGraceful:
		c.expectGracefulClose(websocket.ClosePolicyViolation)
	case dropAbrupt:
		c.expectAbruptClose()
	}
}

func TestAuth(t *testing.T) {
	forDialects(t, func(t *testing.T, d sodp.Dialect) {
		srv := newServer(t, WithDialect(d), WithAuth(secret))
		tr := traitsOf(dialect(d))

		t.Run("good", func(t *testing.T) {
			c := dial(t, srv)
			c.send(wire.TypeAuth, 0, &wire.Auth{Token: srv.Token("alice", time.Minute)})
			if ok := c.expect(wire.TypeAuthOK).f.Body.(*wire.AuthOK); ok.Sub != "alice" {
				t.Errorf("AUTH_OK sub %q", ok.Sub)
			}
			if sub := connOf(t, srv).Sub(); sub != "alice" {
				t.Errorf("Conn.Sub() = %q", sub)
			}
			c.expectNothing()
		})

		other := NewServer(WithAuth([]byte("other")))
		other.Close()
		for _, tc := range []struct {
			name, token string
		}{
			{"bad signature", other.Token("alice", time.Minute)},
			{"expired", srv.Token("alice", -time.Second)},
			{"no sub", srv.TokenClaims(map[string]any{"exp": float64(time.Now().Add(time.Hour).Unix())})},
			{"garbage", "not.a.jwt"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := dial(t, srv)
				c.send(wire.TypeAuth, 0, &wire.Auth{Token: tc.token})
				c.expectError(0, 401)
				if tr.authFail == stayOpen {
					// Requests keep failing until a good AUTH.
					c.watch(10, "k")
					c.expectError(0, 401)
					c.send(wire.TypeAuth, 0, &wire.Auth{Token: srv.Token("bob", time.Minute)})
					c.expect(wire.TypeAuthOK)
					c.expectNothing()
					return
				}
				expectEnd(t, c, tr.authFail)
			})
		}

		t.Run("missing token", func(t *testing.T) {
			c := dial(t, srv)
			c.send(wire.TypeAuth, 0, &wire.Auth{Token: ""})
			c.expectError(0, tr.missingTokenCode)
			if tr.missingToken == stayOpen {
				c.send(wire.TypeAuth, 0, nil)
				c.expectError(0, tr.missingTokenCode)
				c.send(wire.TypeAuth, 0, &wire.Auth{Token: srv.Token("bob", time.Minute)})
				c.expect(wire.TypeAuthOK)
				return
			}
			expectEnd(t, c, tr.missingToken)
		})

		t.Run("request before AUTH", func(t *testing.T) {
			c := dial(t, srv)
			c.send(wire.TypeHeartbeat, 0, nil)
			c.watch(10, "k")
			if tr.echo {
				c.expect(wire.TypeHeartbeat)
			}
			c.expectError(0, 401)
			if tr.beforeAuth == stayOpen {
				c.call("state.set", map[string]any{"state": "k", "value": 1})
				c.expectError(0, 401)
				c.send(wire.TypeAuth, 0, &wire.Auth{Token: srv.Token("carol", time.Minute)})
				c.expect(wire.TypeAuthOK)
				c.watch(10, "k")
				c.expect(wire.TypeStateInit)
				return
			}
			expectEnd(t, c, tr.beforeAuth)
		})
	})
}

func TestAuthIgnoredWithoutSecret(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv)
	c.send(wire.TypeAuth, 0, &wire.Auth{Token: "whatever"})
	c.expectNothing()
}

func TestTokenExpiryDuringSession(t *testing.T) {
	forDialectsInBubble(t, func(t *testing.T, d sodp.Dialect) {
		srv := newServer(t, WithInMemory(), WithDialect(d), WithAuth(secret))
		c := dial(t, srv)
		const ttl = time.Second
		start := time.Now()
		c.send(wire.TypeAuth, 0, &wire.Auth{Token: srv.Token("alice", ttl)})
		c.expect(wire.TypeAuthOK)
		if traitsOf(dialect(d)).liveExpiry {
			e := c.expectError(0, 401)
			if !strings.Contains(e.Message, "expired") || time.Since(start) < ttl-50*time.Millisecond {
				t.Errorf("ERROR %q after %v", e.Message, time.Since(start))
			}
			if el := time.Since(start); el != ttl {
				t.Errorf("ERROR after %v, the token expired after %v", el, ttl)
			}
			c.expectGracefulClose(websocket.ClosePolicyViolation)
			return
		}
		time.Sleep(time.Until(start.Add(ttl + 100*time.Millisecond)))
		c.expectNothing()
	})
}

func TestHeartbeatEcho(t *testing.T) {
	forDialects(t, func(t *testing.T, d sodp.Dialect) {
		srv := newServer(t, WithDialect(d))
		c := dial(t, srv)
		c.send(wire.TypeHeartbeat, 0, nil)
		got := c.barrier()
		want := 1
		if d == sodp.DialectTS {
			want = 0
		}
		if len(got) != want || (want == 1 && (got[0].f.Type != wire.TypeHeartbeat || got[0].f.Body != nil)) {
			t.Errorf("after a client HEARTBEAT: %v, want %d HEARTBEAT", got, want)
		}
		// Pings from the client are answered with pongs.
		c.wmu.Lock()
		_ = c.ws.WriteControl(websocket.PingMessage, []byte("p1"), time.Now().Add(time.Second))
		c.wmu.Unlock()
		select {
		case p := <-c.pongs:
			if p != "p1" {
				t.Errorf("pong %q", p)
			}
		case <-time.After(waitTimeout):
			t.Fatal("no pong")
		}
		if n := srv.Stats().HeartbeatsReceived; n != 1 {
			t.Errorf("HeartbeatsReceived %d", n)
		}
	})
}

// WithHeartbeatEcho overrides the dialect's echo both ways.
func TestWithHeartbeatEcho(t *testing.T) {
	forDialects(t, func(t *testing.T, d sodp.Dialect) {
		for _, echo := range []bool{true, false} {
			srv := newServer(t, WithDialect(d), WithHeartbeatEcho(echo))
			c := dial(t, srv)
			c.send(wire.TypeHeartbeat, 0, nil)
			got := c.barrier()
			want := 0
			if echo {
				want = 1
			}
			if len(got) != want || (want == 1 && (got[0].f.Type != wire.TypeHeartbeat || got[0].f.Body != nil)) {
				t.Errorf("echo %v: after a client HEARTBEAT: %v, want %d HEARTBEAT", echo, got, want)
			}
		}
	})
}

// Heartbeat intervals for tests: hb where the test expects the liveness
// check to close a connection, hbKeep where a live client must survive it.
// The tests that use them run in a synctest bubble, where the intervals
// pass on the bubble's clock.
const (
	hb     = 40 * time.Millisecond
	hbKeep = 500 * time.Millisecond
)

// keepAlive keeps a connection alive the way each dialect wants until stop
// is closed: pings (spec: any traffic), HEARTBEAT frames (TS); the Go and
// Rust dialects only need the pongs the reader sends.
func keepAlive(c *tclient, d sodp.Dialect, stop chan struct{}) chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(hbKeep / 8)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			c.wmu.Lock()
			switch d {
			case sodp.DialectSpec:
				_ = c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second))
			case sodp.DialectTS:
				b, _ := wire.Encode(nil, wire.Frame{Type: wire.TypeHeartbeat})
				_ = c.ws.SetWriteDeadline(time.Now().Add(time.Second))
				_ = c.ws.WriteMessage(websocket.BinaryMessage, b)
			}
			c.wmu.Unlock()
		}
	}()
	return done
}

func TestServerHeartbeat(t *testing.T) {
	forDialectsInBubble(t, func(t *testing.T, d sodp.Dialect) {
		srv := newServer(t, WithInMemory(), WithDialect(d), WithHeartbeat(hbKeep))
		c := dial(t, srv)
		stop := make(chan struct{})
		done := keepAlive(c, d, stop)
		defer func() { close(stop); <-done }()
		const n = 3 // three intervals, past the 2x liveness window
		if traitsOf(dialect(d)).pings {
			waitFor(t, "pings", func() bool { return c.pings.Load() >= n })
			for len(c.frames) > 0 {
				if r := <-c.frames; r.f.Type == wire.TypeHeartbeat {
					t.Errorf("%s sent a HEARTBEAT frame", d)
				}
			}
		} else {
			for range n {
				if r := c.next(); r.f.Type != wire.TypeHeartbeat || r.f.Stream != 0 {
					t.Fatalf("got %v, want HEARTBEAT", r)
				}
			}
			if c.pings.Load() != 0 {
				t.Errorf("%s sent pings", d)
			}
		}
		if !c.isOpen() {
			t.Fatalf("a live client was dropped: %v", c.err)
		}
	})
}

func TestLiveness(t *testing.T) {
	forDialectsInBubble(t, func(t *testing.T, d sodp.Dialect) {
		srv := newServer(t, WithInMemory(), WithDialect(d), WithHeartbeat(hb))
		var c *tclient
		start := time.Now()
		switch d {
		case sodp.DialectGo, sodp.DialectRust:
			// Frames do not count: only pongs do.
			c = dial(t, srv, noPong())
			c.send(wire.TypeHeartbeat, 0, nil)
		case sodp.DialectTS:
			// Requests do not count: only client HEARTBEATs do.
			c = dial(t, srv)
			stop := time.After(waitTimeout)
		loop:
			for i := uint32(0); ; i++ {
				select {
				case <-c.done:
					break loop
				case <-stop:
					t.Fatal("TS connection kept open by requests alone")
				case <-time.After(hb / 4):
					c.wmu.Lock()
					b, _ := wire.Encode(nil, wire.Frame{Type: wire.TypeWatch, Stream: 10 + i, Body: &wire.Watch{State: "k"}})
					_ = c.ws.WriteMessage(websocket.BinaryMessage, b)
					c.wmu.Unlock()
				}
			}
		default:
			c = dial(t, srv) // silent
		}
		c.expectAbruptClose()
		if el := time.Since(start); el < 2*hb-10*time.Millisecond {
			t.Errorf("closed after %v, before twice the heartbeat %v", el, hb)
		}
		// On the bubble's clock: exactly two intervals after the last sign
		// of life that counts, the upgrade.
		if el := time.Since(start); el != 2*hb {
			t.Errorf("closed after %v, want exactly twice the heartbeat %v", el, hb)
		}
		waitFor(t, "clean-up", func() bool { return srv.Stats().Live == 0 })
	})
}

func TestPauseResume(t *testing.T) {
	t.Run("spec", func(t *testing.T) {
		srv := newServer(t)
		c := dial(t, srv)
		c.watch(10, "k")
		c.expect(wire.TypeStateInit)
		conn := connOf(t, srv)
		conn.Pause()
		for i := range 3 {
			srv.Set("k", i)
		}
		c.send(wire.TypeHeartbeat, 0, nil)
		c.wmu.Lock()
		_ = c.ws.WriteControl(websocket.PingMessage, []byte("held"), time.Now().Add(time.Second))
		c.wmu.Unlock()
		waitFor(t, "4 queued frames", func() bool { return conn.Queued() == 4 })
		select {
		case r := <-c.frames:
			t.Fatalf("frame while paused: %v", r)
		case p := <-c.pongs:
			t.Fatalf("pong %q while paused", p)
		case <-time.After(100 * time.Millisecond):
		}
		conn.Resume()
		for i := range 3 {
			if dl := deltaOf(t, c.next()); dl.Version != uint64(i+1) {
				t.Errorf("DELTA v%d, want v%d", dl.Version, i+1)
			}
		}
		c.expect(wire.TypeHeartbeat)
		select {
		case p := <-c.pongs:
			if p != "held" {
				t.Errorf("pong %q", p)
			}
		case <-time.After(waitTimeout):
			t.Fatal("no pong after Resume")
		}
	})
	t.Run("pings", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv := newServer(t, WithInMemory(), WithDialect(sodp.DialectGo), WithHeartbeat(hbKeep))
			c := dial(t, srv)
			waitFor(t, "a ping", func() bool { return c.pings.Load() > 0 })
			conn := connOf(t, srv)
			conn.Pause()
			time.Sleep(hbKeep / 4) // let an in-flight ping land
			n := c.pings.Load()
			time.Sleep(2 * hbKeep)
			if got := c.pings.Load(); got != n {
				t.Errorf("%d pings while paused", got-n)
			}
			if !c.isOpen() {
				t.Fatal("paused connection dropped by the liveness check")
			}
			conn.Resume()
			waitFor(t, "pings after Resume", func() bool { return c.pings.Load() > n })
			c.expectNothing()
		})
	})
}

func TestDropConnectionsAndConnClose(t *testing.T) {
	srv := newServer(t)
	a, b := dial(t, srv), dial(t, srv)
	srv.DropConnections()
	a.expectAbruptClose()
	b.expectAbruptClose()
	if st := srv.Stats(); st.Live != 0 {
		t.Errorf("Live %d after DropConnections", st.Live)
	}
	c := dial(t, srv)
	c.expectNothing()
	conn := connOf(t, srv)
	conn.Close()
	conn.Close()
	c.expectAbruptClose()
	if len(srv.Conns()) != 0 {
		t.Errorf("Conns after Close: %v", srv.Conns())
	}
	// Methods on a closed connection do nothing.
	conn.Pause()
	conn.Resume()
	conn.Inject([]byte{1})
	conn.Send(0x09, 0, nil)
	if conn.Queued() != 0 {
		t.Error("frames queued on a closed connection")
	}
}

func TestPresenceRemovedOnDisconnect(t *testing.T) {
	for _, d := range []sodp.Dialect{sodp.DialectSpec, sodp.DialectTS, sodp.DialectRust} {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, WithDialect(d))
			w := dial(t, srv)
			w.watch(10, "room")
			w.expect(wire.TypeStateInit)
			ends := []struct {
				name string
				end  func(p *tclient)
			}{
				{"close frame", func(p *tclient) { p.closeNormally() }},
				{"client drop", func(p *tclient) { p.close() }},
				{"Conn.Close", func(p *tclient) { connOf(t, srv).Close() }},
			}
			for i, e := range ends {
				p := dial(t, srv)
				user := fmt.Sprintf("u%d", i)
				p.callOK("state.presence", map[string]any{"state": "room", "path": "/users/" + user, "value": map[string]any{"name": user}})
				p.callOK("state.presence", map[string]any{"state": "room", "path": "/users/" + user, "value": map[string]any{"name": user, "again": true}})
				deltaOf(t, w.next())
				deltaOf(t, w.next())
				e.end(p)
				dl := deltaOf(t, w.next())
				if got := opsString(dl.Ops); got != "REMOVE /users/"+user {
					t.Errorf("%s: %s, want REMOVE /users/%s", e.name, got, user)
				}
				if v, _, _ := srv.Get("room"); !deltaEqual(v, map[string]any{"users": map[string]any{}}) {
					t.Errorf("%s: room is %v", e.name, v)
				}
			}
			// A path that is already gone: the TypeScript server still
			// publishes its REMOVE, under a new version; the others leave
			// it alone. Two ways to be gone: another write replaced the
			// value, or another session's teardown removed the same path.
			gone := []struct {
				name  string
				path  string
				setup func(p *tclient)
			}{
				{"value replaced", "/users/gone", func(p *tclient) {
					srv.Set("room", map[string]any{"topic": "x"})
					deltaOf(t, w.next())
				}},
				{"shared path", "/users/shared", func(p *tclient) {
					q := dial(t, srv)
					q.callOK("state.presence", map[string]any{"state": "room", "path": "/users/shared", "value": 2})
					deltaOf(t, w.next())
					q.close()
					if got := opsString(deltaOf(t, w.next()).Ops); got != "REMOVE /users/shared" {
						t.Errorf("first teardown %s", got)
					}
				}},
			}
			for _, g := range gone {
				p := dial(t, srv)
				p.callOK("state.presence", map[string]any{"state": "room", "path": g.path, "value": 1})
				deltaOf(t, w.next())
				g.setup(p)
				value, before, _ := srv.Get("room")
				p.close()
				// The teardown's DELTA, if any, is queued to w before the
				// connection leaves Conns, so before the next write's.
				waitLive(t, srv, 1)
				if v, _, ok := srv.Get("room"); !ok || !deltaEqual(v, value) {
					t.Errorf("%s: the teardown changed the room from %v to %v", g.name, value, v)
				}
				after := srv.Set("room", map[string]any{"topic": g.name})
				dl := deltaOf(t, w.next())
				if d == sodp.DialectTS {
					if got := opsString(dl.Ops); got != "REMOVE "+g.path || dl.Version != before+1 {
						t.Errorf("%s: %s at version %d, want REMOVE %s at %d", g.name, got, dl.Version, g.path, before+1)
					}
					dl = deltaOf(t, w.next())
				}
				if dl.Version != after {
					t.Errorf("%s: DELTA %s at version %d, want the write at %d", g.name, opsString(dl.Ops), dl.Version, after)
				}
			}
		})
	}
}

// waitLive waits until exactly n connections are live.
func waitLive(t *testing.T, srv *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for len(srv.Conns()) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d live connections, want %d", len(srv.Conns()), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestInjectAndSend(t *testing.T) {
	for _, d := range []sodp.Dialect{sodp.DialectSpec, sodp.DialectGo} {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, WithDialect(d))
			c := dial(t, srv)
			conn := connOf(t, srv)
			conn.Inject([]byte{0xc1, 0x02})
			if r := c.next(); !bytes.Equal(r.raw, []byte{0xc1, 0x02}) || r.err == nil {
				t.Errorf("injected bytes arrived as % x (%v)", r.raw, r.err)
			}
			conn.Send(0x07, 0, map[string]any{"code": 500, "message": "boom"})
			r := c.expect(wire.TypeError)
			if e := r.f.Body.(*wire.Error); e.Code != 500 || e.Message != "boom" || r.f.Seq != 2 {
				t.Errorf("ERROR %+v seq %d", e, r.f.Seq)
			}
			if d == sodp.DialectGo && r.raw[1] != 0xcc {
				t.Errorf("Go Send header % x, want fixed widths", r.raw[:4])
			}
			conn.Send(0x30, 77, nil)
			if r := c.next(); r.f.Type != 0x30 || r.f.Stream != 77 || r.err == nil {
				t.Errorf("unknown frame arrived as %v (%v)", r, r.err)
			}
			func() {
				defer func() {
					if recover() == nil {
						t.Error("Send with an unencodable body did not panic")
					}
				}()
				conn.Send(0x07, 0, func() {})
			}()
		})
	}
}

// sizedCall returns an encoded CALL frame exactly n bytes long.
func sizedCall(t *testing.T, n int) []byte {
	t.Helper()
	build := func(l int) []byte {
		b, err := wire.Encode(nil, wire.Frame{Type: wire.TypeCall, Seq: 1, Body: &wire.Call{
			CallID: "big", Method: "state.set", Args: map[string]any{"state": "big", "value": strings.Repeat("x", l)}}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	l := n - len(build(0))
	for range 3 {
		b := build(l)
		if len(b) == n {
			return b
		}
		l += n - len(b)
	}
	t.Fatalf("cannot build a %d-byte frame", n)
	return nil
}

func TestMaxMessageSize(t *testing.T) {
	forDialects(t, func(t *testing.T, d sodp.Dialect) {
		srv := newServer(t, WithDialect(d))
		limit := int(srv.maxMessage)
		c := dial(t, srv)
		c.sendRaw(sizedCall(t, limit))
		if r, _ := c.answer("big"); r.f.Type != wire.TypeResult {
			t.Fatalf("message at the limit: %v", r)
		}
		c.sendRaw(sizedCall(t, limit+1))
		if d == sodp.DialectRust {
			c.expectError(0, 413)
		}
		c.expectGracefulClose(websocket.CloseMessageTooBig)
	})
	t.Run("option", func(t *testing.T) {
		srv := newServer(t, WithMaxMessageSize(100))
		c := dial(t, srv)
		c.sendRaw(sizedCall(t, 101))
		c.expectGracefulClose(websocket.CloseMessageTooBig)
	})
}

func TestBadFrames(t *testing.T) {
	bad := [][]byte{
		{0xc1},                         // never-used MessagePack byte
		{0x05},                         // not an array
		{0x93, 0x02, 0x00, 0x01},       // three elements
		{0x94, 0x20, 0x00, 0x01, 0xc0}, // reserved type
		{0x94, 0x01, 0x00, 0x01, 0x80}, // HELLO from a client
		{0x94, 0x02, 0x00, 0x01, 0x81, 0xa5, 's', 't', 'a', 't', 'e', 0x05}, // WATCH {state: 5}
		{0x94, 0x02, 0x00, 0x01, 0x92, 0x01, 0x02},                          // WATCH with an array body
		{0x94, 0xcd, 0x01, 0x00, 0x00, 0x01, 0xc0},                          // type out of range
		{0x94, 0x02, 0x00, 0x01},                                            // truncated
	}
	forDialects(t, func(t *testing.T, d sodp.Dialect) {
		srv := newServer(t, WithDialect(d))
		c := dial(t, srv)
		for _, b := range bad {
			c.sendRaw(b)
		}
		c.writeMessage(websocket.TextMessage, []byte("hello"))
		got := c.barrier()
		want := len(bad) + 1
		if d == sodp.DialectRust {
			want = 0
		}
		if len(got) != want {
			t.Fatalf("%d frames, want %d: %v", len(got), want, got)
		}
		for _, r := range got {
			if e, ok := r.f.Body.(*wire.Error); !ok || e.Code != 400 {
				t.Errorf("got %v, want ERROR 400", r)
			}
		}
		if n := srv.Stats().BadFrames; n != len(bad)+1 {
			t.Errorf("BadFrames %d", n)
		}
		c.callOK("state.set", map[string]any{"state": "k", "value": 1})
	})
}

func TestRateLimit(t *testing.T) {
	forDialectsInBubble(t, func(t *testing.T, d sodp.Dialect) {
		srv := newServer(t, WithInMemory(), WithDialect(d), WithRateLimit(1, 1))
		c := dial(t, srv)
		c.callOK("state.set", map[string]any{"state": "k", "value": 1})
		id := c.call("state.set", map[string]any{"state": "k", "value": 2})
		r, _ := c.answer(id)
		if d == sodp.DialectSpec {
			if res, ok := r.f.Body.(*wire.Result); !ok || res.Success || res.Code != 429 {
				t.Errorf("rate-limited CALL: %v, want RESULT code 429", r)
			}
		} else if e, ok := r.f.Body.(*wire.Error); !ok || e.Code != 429 || r.f.Stream != 0 {
			t.Errorf("rate-limited CALL: %v, want ERROR 429", r)
		}
		c.watch(20, "k")
		c.expect(wire.TypeStateInit)
		c.watch(21, "k")
		c.expectError(errStreamFor(d, 21), 429)
		if v, _, _ := srv.Get("k"); v != int64(1) {
			t.Errorf("rate-limited write applied: %v", v)
		}
		// The bucket refills at the configured rate.
		time.Sleep(1100 * time.Millisecond)
		c.callOK("state.set", map[string]any{"state": "other", "value": 3})
		c.watch(22, "k")
		c.expect(wire.TypeStateInit)
	})
}

func TestSlowClient(t *testing.T) {
	forDialects(t, func(t *testing.T, d sodp.Dialect) {
		srv := newServer(t, WithDialect(d))
		c := dial(t, srv)
		c.watch(10, "k")
		c.expect(wire.TypeStateInit)
		conn := connOf(t, srv)
		conn.Pause()
		const writes = queueLimit + 76
		for i := range writes {
			srv.Set("k", i)
		}
		switch d {
		case sodp.DialectSpec, sodp.DialectRust:
			c.expectAbruptClose()
			if st := srv.Stats(); st.Evictions != 1 {
				t.Errorf("Evictions %d", st.Evictions)
			}
		case sodp.DialectGo:
			if q := conn.Queued(); q != goSendBuffer {
				t.Errorf("queued %d, want %d", q, goSendBuffer)
			}
			if st := srv.Stats(); st.Dropped != writes-goSendBuffer {
				t.Errorf("Dropped %d", st.Dropped)
			}
			conn.Resume()
			for i := range goSendBuffer {
				if dl := deltaOf(t, c.next()); dl.Version != uint64(i+1) {
					t.Fatalf("DELTA v%d, want v%d", dl.Version, i+1)
				}
			}
			c.expectNothing()
		case sodp.DialectTS:
			if q := conn.Queued(); q != writes {
				t.Errorf("queued %d, want %d", q, writes)
			}
			conn.Resume()
			for i := range writes {
				if dl := deltaOf(t, c.next()); dl.Version != uint64(i+1) {
					t.Fatalf("DELTA v%d, want v%d", dl.Version, i+1)
				}
			}
		}
	})
}
