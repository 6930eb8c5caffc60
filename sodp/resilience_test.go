package sodp_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sodp-go/client/internal/testutil"
	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// eventLog collects a client's events until the client closes.
type eventLog struct {
	mu     sync.Mutex
	events []sodp.Event
	done   chan struct{}
}

func collectEvents(c *sodp.Client) *eventLog {
	l := &eventLog{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for ev := range c.Events() {
			l.mu.Lock()
			l.events = append(l.events, ev)
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *eventLog) snapshot() []sodp.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]sodp.Event(nil), l.events...)
}

// wait returns every event once the client has closed.
func (l *eventLog) wait(t *testing.T) []sodp.Event {
	t.Helper()
	select {
	case <-l.done:
	case <-time.After(wait):
		t.Fatal("the Events channel was not closed")
	}
	return l.snapshot()
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestTokenNeverInLogsOrErrors(t *testing.T) {
	type scenario struct {
		name    string
		dialect sodp.Dialect
		ttl     time.Duration // of a valid token; 0 for a rejected one
	}
	var scenarios []scenario
	for _, d := range allDialects() {
		scenarios = append(scenarios, scenario{"rejected/" + d.String(), d, 0})
	}
	// Only the spec and the Rust server end a session whose token expires.
	for _, d := range allDialects() {
		scenarios = append(scenarios, scenario{"expiring/" + d.String(), d, 300 * time.Millisecond})
	}
	for _, sc := range scenarios {
		// In a synctest bubble over in-memory connections: the token
		// expires on the bubble's clock.
		t.Run(sc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newPipeServer(t, sodptest.WithDialect(sc.dialect), sodptest.WithAuth([]byte("secret")))
				tok := srv.Token("alice", sc.ttl)
				if sc.ttl == 0 {
					// Well formed, but signed with another key.
					tok = tok[:strings.LastIndexByte(tok, '.')+1] + "c2lnbmF0dXJlLW9mLWFub3RoZXIta2V5LXRoYXQtbm8tb25lLWtub3dz"
				}
				secrets := []string{tok, tok[strings.LastIndexByte(tok, '.')+1:]}
				var logs testutil.SyncBuffer
				logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
				// The URL carries the token too, as some deployments do. User
				// information is refused at once, without repeating it.
				u, _ := url.Parse(srv.URL)
				u.User = url.UserPassword("alice", tok)
				if _, err := sodp.New(u.String()); err == nil || strings.Contains(err.Error(), tok) || !strings.Contains(err.Error(), "user information") {
					t.Fatalf("New with user information: %v", err)
				}
				u.User = nil
				u.RawQuery = "access_token=" + tok
				c, err := sodp.New(u.String(), append(fastOpts(), viaPipe(srv), sodp.WithToken(tok), sodp.WithLogger(logger))...)
				if err != nil {
					t.Fatal(err)
				}
				events := collectEvents(c)
				var texts []string
				addErr := func(err error) {
					if err != nil {
						texts = append(texts, err.Error(), fmt.Sprintf("%+v %#v", err, err))
					}
				}
				ctx := ctxT(t)
				readyErr := c.Ready(ctx)
				addErr(readyErr)
				switch {
				case sc.ttl == 0:
					if !errors.Is(readyErr, sodp.ErrUnauthorized) {
						t.Fatalf("Ready = %v", readyErr)
					}
				case readyErr != nil:
					t.Fatalf("Ready = %v", readyErr)
				default:
					info := c.Server()
					texts = append(texts, fmt.Sprintf("%+v", *info))
					sub, err := sodp.Watch[any](ctx, c, "k")
					if err != nil {
						t.Fatal(err)
					}
					expires := sc.dialect == sodp.DialectSpec || sc.dialect == sodp.DialectRust
					if expires {
						select {
						case <-sub.Updates():
						case <-time.After(wait):
						}
						if err := closed(t, sub); !errors.Is(err, sodp.ErrUnauthorized) {
							t.Fatalf("subscription ended with %v", err)
						}
						addErr(sub.Err())
						if c.State() != sodp.StateFailed {
							t.Fatalf("state %v after the token expired", c.State())
						}
					} else {
						// The Go and TypeScript servers never check expiry
						// after AUTH.
						time.Sleep(sc.ttl + 200*time.Millisecond)
						if c.State() != sodp.StateLive || c.Stats().Disconnects != 0 {
							t.Fatalf("state %v, stats %+v", c.State(), c.Stats())
						}
						sub.Close()
					}
				}
				_, err = c.Set(ctx, "k", 1)
				addErr(err)
				dctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
				c2, err := sodp.Dial(dctx, u.String(), viaPipe(srv), sodp.WithToken(tok), sodp.WithLogger(logger))
				cancel()
				addErr(err)
				if err == nil {
					c2.Close()
				}
				c.Close()
				for _, ev := range events.wait(t) {
					addErr(ev.Err)
				}
				texts = append(texts, logs.String())
				if !strings.Contains(logs.String(), "level=") {
					t.Fatal("nothing was logged")
				}
				for _, text := range texts {
					for _, s := range secrets {
						if strings.Contains(text, s) {
							t.Fatalf("the token appears in %q", text)
						}
					}
				}
			})
		})
	}
}

func TestPausedConnectionDetectedAndResumed(t *testing.T) {
	const hb = 100 * time.Millisecond
	for _, d := range allDialects() {
		// In a synctest bubble over in-memory connections: heartbeats,
		// the liveness check and the writer run on the bubble's clock.
		t.Run(d.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newPipeServer(t, sodptest.WithDialect(d), sodptest.WithHeartbeat(hb))
				c := dial(t, srv.URL, viaPipe(srv), sodp.WithHeartbeat(hb))
				var mu sync.Mutex
				var written []uint64
				write := func(i int) {
					v := srv.Set("n", i)
					mu.Lock()
					written = append(written, v)
					mu.Unlock()
				}
				write(0)
				sub := watch[int](t, c, "n", sodp.WithBuffer(1000))
				next(t, sub)
				stop := make(chan struct{})
				writerDone := make(chan struct{})
				go func() {
					defer close(writerDone)
					for i := 1; ; i++ {
						select {
						case <-stop:
							return
						case <-time.After(10 * time.Millisecond):
							write(i)
						}
					}
				}()
				nextUntil(t, sub, func(u sodp.Update[int]) bool { return u.Value >= 3 })
				stalled := srv.Conns()[0]
				before := c.Stats()
				start := time.Now()
				stalled.Pause()
				eventually(t, "the dead connection is dropped", func() bool { return c.Stats().Disconnects > before.Disconnects })
				detect := time.Since(start)
				eventually(t, "live again", func() bool { return c.Stats().Connects > before.Connects && c.State() == sodp.StateLive })
				live := time.Since(start)
				close(stop)
				<-writerDone
				mu.Lock()
				last := written[len(written)-1]
				mu.Unlock()
				var got []uint64
				prev := uint64(0)
				nextUntil(t, sub, func(u sodp.Update[int]) bool {
					if u.Version <= prev {
						t.Fatalf("version %d after %d", u.Version, prev)
					}
					if prev == 0 {
						// The first update read here may be any of the live
						// ones before the pause.
						got = append(got[:0], u.Version)
					} else {
						got = append(got, u.Version)
					}
					prev = u.Version
					return u.Version == last
				})
				resumed := time.Since(start)
				stalled.Resume()
				// Nothing lost: every version written after the first one read
				// here was delivered.
				mu.Lock()
				i := 0
				for i < len(written) && written[i] != got[0] {
					i++
				}
				want := written[i:]
				mu.Unlock()
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("delivered %v\nwritten   %v", got, want)
				}
				if detect < 2*hb || detect > 10*hb {
					t.Fatalf("dead connection dropped after %s (heartbeat %s)", detect, hb)
				}
				if resumed > 10*hb {
					t.Fatalf("resumed after %s (heartbeat %s)", resumed, hb)
				}
				t.Logf("heartbeat %s: dropped after %s (%.1f intervals), live after %s, caught up after %s (%.1f intervals)",
					hb, detect.Round(time.Millisecond), float64(detect)/float64(hb), live.Round(time.Millisecond),
					resumed.Round(time.Millisecond), float64(resumed)/float64(hb))
			})
		})
	}
}

func TestEventsReconnectingThenLive(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	if c.State() != sodp.StateLive {
		t.Fatalf("state %v", c.State())
	}
	events := collectEvents(c)
	srv.DropConnections()
	eventually(t, "reconnected", func() bool { return c.Stats().Connects == 2 && c.State() == sodp.StateLive })
	eventually(t, "the live event", func() bool {
		evs := events.snapshot()
		return len(evs) > 0 && evs[len(evs)-1].State == sodp.StateLive
	})
	var states []sodp.ConnState
	for _, ev := range events.snapshot() {
		if ev.Err == nil {
			states = append(states, ev.State)
		}
		if ev.Dropped != 0 {
			t.Fatalf("event %+v: nothing should be dropped", ev)
		}
	}
	// The initial Live may or may not still be in the buffer.
	if len(states) > 0 && states[0] == sodp.StateLive && len(states) > 2 {
		states = states[1:]
	}
	if fmt.Sprint(states) != fmt.Sprint([]sodp.ConnState{sodp.StateReconnecting, sodp.StateLive}) {
		t.Fatalf("states %v", states)
	}
	c.Close()
	evs := events.wait(t)
	if last := evs[len(evs)-1]; last.State != sodp.StateClosed {
		t.Fatalf("last event %+v", last)
	}
}

func TestEventsNeverBlockTheClient(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL, sodp.WithEventBuffer(1), sodp.WithHeartbeat(200*time.Millisecond))
	srv.Set("k", 0)
	sub := watch[int](t, c, "k")
	next(t, sub)
	// Nobody reads Events; the server sends a flood of session errors.
	conn := srv.Conns()[0]
	const flood = 200
	for i := range flood {
		conn.Send(0x07, 0, map[string]any{"code": 500, "message": fmt.Sprintf("boom %d", i)})
	}
	eventually(t, "errors counted", func() bool { return c.Stats().ErrorsByCode[500] == flood })
	// The client goes on.
	if _, err := c.Set(ctxT(t), "k", 1); err != nil {
		t.Fatal(err)
	}
	if u := next(t, sub); u.Value != 1 {
		t.Fatalf("update %+v", u)
	}
	dropAndWrite(t, srv, c, func() {})
	if _, err := c.Set(ctxT(t), "k", 2); err != nil {
		t.Fatal(err)
	}
	// The reader now gets the few events still queued, then the latest
	// state, kept back while the queue was full; the Dropped counts add up
	// to what was lost.
	var dropped uint64
	var ev sodp.Event
	deadline := time.After(wait)
	for {
		select {
		case ev = <-c.Events():
		case <-deadline:
			t.Fatal("the latest state never arrived")
		}
		dropped += ev.Dropped
		if ev.Err == nil && ev.State == sodp.StateLive && dropped > 0 {
			break
		}
	}
	if dropped < flood {
		t.Fatalf("event %+v: %d dropped in all, want >= %d", ev, dropped, flood)
	}
	t.Logf("latest state arrived; %d events dropped in all", dropped)
}

func TestStatsAddUp(t *testing.T) {
	srv := newServer(t, sodptest.WithDeltaLog(5), sodptest.WithACL(func(_, key string, write bool) bool {
		return !write || !strings.HasPrefix(key, "ro.")
	}))
	srv.Set("a", 0)
	srv.Set("b", 0)
	c := dial(t, srv.URL)
	ctx := ctxT(t)
	subA := watch[int](t, c, "a", sodp.WithBuffer(100))
	subB := watch[int](t, c, "b")
	var kindsA, kindsB []sodp.Kind
	var skipped uint64
	read := func(sub *sodp.Subscription[int], kinds *[]sodp.Kind, version uint64) {
		t.Helper()
		nextUntil(t, sub, func(u sodp.Update[int]) bool {
			*kinds = append(*kinds, u.Kind)
			skipped += u.Skipped
			return u.Version == version
		})
	}
	_, va, _ := srv.Get("a")
	_, vb, _ := srv.Get("b")
	read(subA, &kindsA, va)
	read(subB, &kindsB, vb)

	// Live: 3 deltas on a read one by one, 10 on b while nobody reads.
	for i := 1; i <= 3; i++ {
		va = srv.Set("a", i)
	}
	for i := 1; i <= 10; i++ {
		vb = srv.Set("b", i)
	}
	eventually(t, "deltas applied", func() bool { return c.Stats().Deltas == 13 })
	read(subA, &kindsA, va)
	read(subB, &kindsB, vb)

	// Server errors.
	for i := range 3 {
		if _, err := c.Set(ctx, fmt.Sprintf("ro.%d", i), i); !errors.Is(err, sodp.ErrForbidden) {
			t.Fatalf("ro write: %v", err)
		}
	}
	if _, err := c.Call(ctx, "no.such", nil); !errors.Is(err, sodp.ErrNotFound) {
		t.Fatalf("unknown method: %v", err)
	}

	// A reconnect with a replay of 2 on a, nothing missed on b.
	dropAndWrite(t, srv, c, func() {
		va = srv.Set("a", 4)
		va = srv.Set("a", 5)
	})
	read(subA, &kindsA, va)
	// A reconnect that misses more of b than the server's log holds.
	dropAndWrite(t, srv, c, func() {
		for i := 11; i <= 20; i++ {
			vb = srv.Set("b", i)
		}
	})
	read(subB, &kindsB, vb)
	roundTrip(t, c)

	st := c.Stats()
	want := sodp.Stats{
		Connects: 3, Reconnects: 2, Disconnects: 2,
		Resumes:  4, // a and b, twice
		Replayed: 2, Resyncs: 1, Deltas: 13,
		CallsSent: 5, Errors: 4, ErrorsByCode: map[int]uint64{403: 3, 404: 1},
		Subscriptions: 2, WatchedKeys: 2,
		Snapshots: 2, // the first values of a and b
	}
	st.Conflated, want.Conflated = 0, 0
	if st.BytesIn < st.FramesIn || st.BytesOut < st.FramesOut || st.FramesOut == 0 {
		t.Fatalf("bytes in/out %d/%d for frames in/out %d/%d", st.BytesIn, st.BytesOut, st.FramesIn, st.FramesOut)
	}
	st.FramesIn, st.FramesOut = 0, 0
	st.BytesIn, st.BytesOut = 0, 0
	// Gauges of the moment: a heartbeat may be on its way out, and a ping
	// may have measured the round trip.
	st.OutboundQueue, st.RTT = 0, 0
	if fmt.Sprintf("%+v", st) != fmt.Sprintf("%+v", want) {
		t.Fatalf("stats\n got %+v\nwant %+v", st, want)
	}
	if got := c.Stats().Conflated; got == 0 || got != skipped {
		t.Fatalf("Conflated = %d, Skipped delivered = %d", got, skipped)
	}
	wantA := []sodp.Kind{sodp.KindSnapshot, sodp.KindDelta, sodp.KindDelta, sodp.KindDelta, sodp.KindReplayed, sodp.KindReplayed}
	if fmt.Sprint(kindsA) != fmt.Sprint(wantA) {
		t.Fatalf("a kinds %v, want %v", kindsA, wantA)
	}
	if kindsB[0] != sodp.KindSnapshot || kindsB[len(kindsB)-1] != sodp.KindResync {
		t.Fatalf("b kinds %v", kindsB)
	}
}

func TestOversizeCallsFailLocally(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			c := dial(t, srv.URL, sodp.WithMaxMessageSize(1024))
			ctx := ctxT(t)
			big := strings.Repeat("x", 2000)
			writes := map[string]func() error{
				"set":    func() error { _, err := c.Set(ctx, "big", big); return err },
				"patch":  func() error { _, err := c.Patch(ctx, "big", map[string]any{"f": big}); return err },
				"set_in": func() error { _, err := c.SetIn(ctx, "big", "/a/b", big); return err },
				"call": func() error {
					_, err := c.Call(ctx, "state.append", map[string]any{"state": "big", "value": big})
					return err
				},
			}
			if d != sodp.DialectGo {
				writes["presence"] = func() error { _, err := c.Presence(ctx, "big", "/who", big); return err }
			}
			for name, w := range writes {
				if err := w(); !errors.Is(err, sodp.ErrTooLarge) {
					t.Fatalf("%s: %v", name, err)
				}
			}
			// Nothing was sent, nothing waits, nothing is remembered, and
			// the connection is fine.
			if st := c.Stats(); st.CallsSent != 0 || st.PendingCalls != 0 || st.PresenceEntries != 0 || st.Disconnects != 0 {
				t.Fatalf("stats %+v", st)
			}
			if _, err := c.Set(ctx, "small", strings.Repeat("x", 500)); err != nil {
				t.Fatal(err)
			}
			if n := len(frames(srv, "CALL")); n != 1 {
				t.Fatalf("%d CALL frames, want only the small one", n)
			}
		})
	}
}

func TestServerCloses1009(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d), sodptest.WithMaxMessageSize(1024))
			c := dial(t, srv.URL, sodp.WithMaxMessageSize(1<<20))
			events := collectEvents(c)
			_, err := c.Set(ctxT(t), "big", strings.Repeat("x", 4096))
			if !errors.Is(err, sodp.ErrTooLarge) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
			var se *sodp.ServerError
			var ce *sodp.CloseError
			if d == sodp.DialectRust {
				// ERROR 413 first, matched to the call, then the close.
				if !errors.As(err, &se) || se.Code != 413 || se.Method != "state.set" || errors.Is(err, sodp.ErrConnectionLost) {
					t.Fatalf("err = %#v", err)
				}
			} else if !errors.Is(err, sodp.ErrConnectionLost) || !errors.As(err, &ce) || ce.Code != 1009 {
				t.Fatalf("err = %v: want ErrConnectionLost and a close 1009", err)
			}
			// The close reaches Events as an error that says so, on every
			// server.
			eventually(t, "the close on Events", func() bool {
				for _, ev := range events.snapshot() {
					if errors.As(ev.Err, &ce) && ce.Code == 1009 && errors.Is(ev.Err, sodp.ErrTooLarge) {
						return true
					}
				}
				return false
			})
			if !strings.Contains(ce.Error(), "too big") {
				t.Fatalf("close error text %q", ce.Error())
			}
			// Only the message was the problem: the client reconnects.
			if _, err := c.Set(ctxT(t), "small", "x"); err != nil {
				t.Fatal(err)
			}
			if st := c.Stats(); st.Disconnects != 1 || st.Connects != 2 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// tlsFront serves srv behind a TLS-terminating reverse proxy and returns
// the proxy (its Certificate is self-signed, for 127.0.0.1 and example.com).
func tlsFront(t *testing.T, srv *sodptest.Server) *httptest.Server {
	t.Helper()
	backend, err := url.Parse(strings.Replace(srv.URL, "ws://", "http://", 1))
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewUnstartedServer(httputil.NewSingleHostReverseProxy(backend))
	front.Config.ErrorLog = log.New(io.Discard, "", 0)
	front.StartTLS()
	t.Cleanup(front.Close)
	return front
}

func trusting(front *httptest.Server) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(front.Certificate())
	return &tls.Config{RootCAs: pool}
}

func TestTLS(t *testing.T) {
	srv := newServer(t)
	srv.Set("k", "secure")
	front := tlsFront(t, srv)
	wss := strings.Replace(front.URL, "https://", "wss://", 1)

	c := dial(t, wss, sodp.WithTLSConfig(trusting(front)))
	sub := watch[string](t, c, "k")
	if u := next(t, sub); u.Value != "secure" {
		t.Fatalf("update %+v", u)
	}
	if v, err := c.Set(ctxT(t), "k", "over tls"); err != nil || v == 0 {
		t.Fatalf("Set = %d, %v", v, err)
	}
	if u := next(t, sub); u.Value != "over tls" {
		t.Fatalf("update %+v", u)
	}
	if ep := c.Server().Endpoint; ep != wss {
		t.Fatalf("endpoint %q", ep)
	}

	// The same certificate is not trusted by default: every attempt fails
	// with a certificate error, and the wait for the session (Dial is New
	// plus Ready) says so when it ends.
	untrusting, err := sodp.New(wss, fastOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer untrusting.Close()
	events := collectEvents(untrusting)
	var unknown x509.UnknownAuthorityError
	eventually(t, "a certificate error", func() bool {
		for _, ev := range events.snapshot() {
			if errors.As(ev.Err, &unknown) {
				return true
			}
		}
		return false
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = untrusting.Ready(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &unknown) {
		t.Fatalf("Ready with an untrusted certificate: %v", err)
	}
	if untrusting.State() != sodp.StateConnecting {
		t.Fatalf("state %v", untrusting.State())
	}
	if n := srv.Stats().Connections; n != 1 {
		t.Fatalf("%d connections reached the server", n)
	}
}

func TestURLSchemes(t *testing.T) {
	srv := newServer(t)
	front := tlsFront(t, srv)
	host := strings.TrimPrefix(srv.URL, "ws://")
	tlsHost := strings.TrimPrefix(front.URL, "https://")

	// Explicit ports.
	c := dial(t, "sodp://"+host)
	if ep := c.Server().Endpoint; ep != "ws://"+host {
		t.Fatalf("sodp:// endpoint %q", ep)
	}
	c = dial(t, "SODPS://"+tlsHost+"/", sodp.WithTLSConfig(trusting(front)))
	if ep := c.Server().Endpoint; ep != "wss://"+tlsHost+"/" {
		t.Fatalf("sodps:// endpoint %q", ep)
	}

	// The default port is 7777; a dialer that sends every address to the
	// test servers shows which one the client asked for.
	redirect := func(to string, asked *[]string) sodp.Option {
		var mu sync.Mutex
		return sodp.WithNetDialContext(func(ctx context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			*asked = append(*asked, addr)
			mu.Unlock()
			var d net.Dialer
			return d.DialContext(ctx, network, to)
		})
	}
	var plain, secure []string
	c = dial(t, "sodp://example.com", redirect(host, &plain))
	if ep := c.Server().Endpoint; ep != "ws://example.com:7777" || plain[0] != "example.com:7777" {
		t.Fatalf("endpoint %q, dialed %v", ep, plain)
	}
	c = dial(t, "sodps://example.com", redirect(tlsHost, &secure), sodp.WithTLSConfig(trusting(front)))
	if ep := c.Server().Endpoint; ep != "wss://example.com:7777" || secure[0] != "example.com:7777" {
		t.Fatalf("endpoint %q, dialed %v", ep, secure)
	}
	if _, err := c.Set(ctxT(t), "k", 1); err != nil {
		t.Fatal(err)
	}

	for _, bad := range []string{"http://" + host, "sodp://", "tcp://" + host, "://x"} {
		if c, err := sodp.New(bad); err == nil {
			c.Close()
			t.Errorf("New(%q) accepted", bad)
		}
	}
}

func TestEndpointsFailover(t *testing.T) {
	dead := "ws://" + freeAddr(t)
	thirdAddr := freeAddr(t)
	srv2 := sodptest.NewServer()
	defer srv2.Close()
	srv2.Set("k", "two")
	c, err := sodp.New(dead, append(fastOpts(), sodp.WithEndpoints(srv2.URL, "ws://"+thirdAddr))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	events := collectEvents(c)
	waitLive(t, c)
	if ep := c.Server().Endpoint; ep != srv2.URL {
		t.Fatalf("endpoint %q", ep)
	}
	if !strings.Contains(fmt.Sprint(events.snapshot()), strings.TrimPrefix(dead, "ws://")) {
		t.Fatalf("no event tells about the dead endpoint: %v", events.snapshot())
	}
	sub := watch[string](t, c, "k")
	if u := next(t, sub); u.Value != "two" {
		t.Fatalf("update %+v", u)
	}

	// The live server goes away; a new one, without the history, starts
	// on the third address.
	srv2.Close()
	eventually(t, "reconnecting", func() bool { return c.State() == sodp.StateReconnecting })
	srv3 := sodptest.NewServer(sodptest.WithAddr(thirdAddr), sodptest.WithDeltaLog(0))
	defer srv3.Close()
	srv3.Set("k", "x")
	srv3.Set("k", "y")
	v := srv3.Set("k", "three")
	eventually(t, "failover", func() bool { return c.State() == sodp.StateLive && c.Server().Endpoint == srv3.URL })
	u := nextUntil(t, sub, func(u sodp.Update[string]) bool { return u.Value == "three" })
	if u.Version != v || u.Kind != sodp.KindResync {
		t.Fatalf("update %+v", u)
	}
	if _, err := c.Set(ctxT(t), "k", "four"); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := srv3.Get("k"); got != "four" {
		t.Fatalf("third server holds %v", got)
	}
}
