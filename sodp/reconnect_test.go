package sodp_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sodp-go/client/internal/testutil"
	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// allDialects returns the four server dialects.
var allDialects = testutil.Dialects

func waitLive(t *testing.T, c *sodp.Client) {
	t.Helper()
	if err := c.Ready(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

// dropAndWrite drops the connection, writes while the client is away, and
// waits until it is live again.
func dropAndWrite(t *testing.T, srv *sodptest.Server, c *sodp.Client, writes func()) {
	t.Helper()
	before := c.Stats().Connects
	srv.DropConnections()
	writes()
	eventually(t, "reconnect", func() bool { return c.Stats().Connects > before && c.State() == sodp.StateLive })
}

func TestResumeReplaysMissedDeltas(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			srv.Set("n", 0)
			c := dial(t, srv.URL)
			sub := watch[int](t, c, "n", sodp.WithBuffer(100))
			next(t, sub)
			var want []uint64
			dropAndWrite(t, srv, c, func() {
				for i := 1; i <= 5; i++ {
					want = append(want, srv.Set("n", i))
				}
			})
			for i, v := range want {
				u := next(t, sub)
				if u.Version != v || u.Value != i+1 || u.Kind != sodp.KindReplayed {
					t.Fatalf("update %d = %+v, want version %d replayed", i, u, v)
				}
			}
			// Live traffic after the replay is a plain delta.
			v := srv.Set("n", 100)
			u := next(t, sub)
			if u.Version != v || u.Value != 100 {
				t.Fatalf("live update %+v", u)
			}
			if d != sodp.DialectGo && u.Kind != sodp.KindDelta {
				t.Fatalf("live update kind %v", u.Kind)
			}
			if got := c.Stats(); got.Resumes == 0 || got.Replayed < 5 {
				t.Fatalf("stats %+v", got)
			}
			rs := frames(srv, "RESUME")
			if len(rs) == 0 {
				t.Fatal("no RESUME sent")
			}
			// since_version is always a MessagePack uint64.
			raw := rs[0].Raw
			i := strings.Index(string(raw), "since_version")
			if i < 0 || raw[i+len("since_version")] != 0xcf {
				t.Fatalf("since_version not encoded as uint64: % x", raw)
			}
		})
	}
}

func TestResumePastTheLogIsResync(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d), sodptest.WithDeltaLog(3))
			srv.Set("n", 0)
			c := dial(t, srv.URL)
			sub := watch[int](t, c, "n", sodp.WithBuffer(100))
			next(t, sub)
			var last uint64
			dropAndWrite(t, srv, c, func() {
				for i := 1; i <= 10; i++ {
					last = srv.Set("n", i)
				}
			})
			var prev uint64
			var kinds []sodp.Kind
			u := nextUntil(t, sub, func(u sodp.Update[int]) bool {
				if u.Version <= prev {
					t.Fatalf("version went back: %d after %d", u.Version, prev)
				}
				prev = u.Version
				kinds = append(kinds, u.Kind)
				return u.Version == last
			})
			if u.Value != 10 {
				t.Fatalf("final %+v", u)
			}
			switch d {
			case sodp.DialectRust:
				// Replays the part of the log it still has, then a
				// STATE_INIT that confirms the result.
				if kinds[0] != sodp.KindReplayed {
					t.Fatalf("kinds %v", kinds)
				}
			default:
				if kinds[len(kinds)-1] != sodp.KindResync {
					t.Fatalf("kinds %v: want a final resync", kinds)
				}
			}
		})
	}
}

func TestResumeWithNothingMissedDeliversNothing(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			srv.Set("n", 1)
			c := dial(t, srv.URL)
			sub := watch[int](t, c, "n")
			next(t, sub)
			dropAndWrite(t, srv, c, func() {})
			if _, err := c.Set(ctxT(t), "other", 1); err != nil {
				t.Fatal(err)
			}
			if u := onlyNext(t, sub, "n", srv.Set("n", 2)); u.Value != 2 || u.Kind != sodp.KindDelta {
				t.Fatalf("update %+v", u)
			}
		})
	}
}

func TestPendingCallFailsWithConnectionLost(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	eventually(t, "conn", func() bool { return len(srv.Conns()) == 1 })
	srv.Conns()[0].Pause()
	errc := make(chan error, 1)
	go func() {
		_, err := c.Set(ctxT(t), "k", 1)
		errc <- err
	}()
	eventually(t, "pending", func() bool { return c.Stats().PendingCalls == 1 })
	srv.DropConnections()
	if err := <-errc; !errors.Is(err, sodp.ErrConnectionLost) {
		t.Fatalf("err = %v", err)
	}
	waitLive(t, c)
	if _, err := c.Set(ctxT(t), "k", 2); err != nil {
		t.Fatal(err)
	}
}

func TestDeadConnectionDetected(t *testing.T) {
	srv := newServer(t, sodptest.WithHeartbeat(time.Hour))
	hb := 100 * time.Millisecond
	c := dial(t, srv.URL, sodp.WithHeartbeat(hb))
	srv.Set("n", 1)
	sub := watch[int](t, c, "n")
	next(t, sub)
	eventually(t, "conn", func() bool { return len(srv.Conns()) == 1 })
	stalled := srv.Conns()[0]
	stalled.Pause()
	start := time.Now()
	v := srv.Set("n", 2)
	u := nextUntil(t, sub, func(u sodp.Update[int]) bool { return u.Version == v })
	if u.Kind != sodp.KindReplayed && u.Kind != sodp.KindResync {
		t.Fatalf("update %+v", u)
	}
	if el := time.Since(start); el > 10*hb {
		t.Fatalf("took %s to notice a dead connection (heartbeat %s)", el, hb)
	}
	stalled.Resume()
}

func TestUnauthorizedFixedTokenIsTerminal(t *testing.T) {
	for _, d := range allDialects() {
		// In a synctest bubble: the wait for a retry that must not come
		// passes on the bubble's clock.
		t.Run(d.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newPipeServer(t, sodptest.WithDialect(d), sodptest.WithAuth([]byte("secret")))
				c, err := sodp.New(srv.URL, append(fastOpts(), viaPipe(srv), sodp.WithToken("not-a-valid-token"))...)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if err := c.Ready(ctxT(t)); !errors.Is(err, sodp.ErrUnauthorized) {
					t.Fatalf("Ready = %v", err)
				}
				_, err = c.Set(ctxT(t), "k", 1)
				if !errors.Is(err, sodp.ErrUnauthorized) {
					t.Fatalf("Set = %v", err)
				}
				time.Sleep(100 * time.Millisecond) // ten times the back-off
				synctest.Wait()
				if n := srv.Stats().Connections; n != 1 {
					t.Fatalf("%d connections: a fixed bad token must not be retried", n)
				}
				if strings.Contains(err.Error(), "not-a-valid-token") {
					t.Fatal("token in error text")
				}
			})
		})
	}
}

func TestTokenProviderRefreshesOnExpiry(t *testing.T) {
	synctest.Test(t, testTokenProviderRefreshesOnExpiry)
}

// testTokenProviderRefreshesOnExpiry runs in a synctest bubble: the first
// token expires on the bubble's clock.
func testTokenProviderRefreshesOnExpiry(t *testing.T) {
	srv := newPipeServer(t, sodptest.WithAuth([]byte("secret")))
	var mu sync.Mutex
	calls := 0
	var expiresAt time.Time
	c := dial(t, srv.URL, viaPipe(srv), sodp.WithTokenProvider(func(context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			expiresAt = time.Now().Add(300 * time.Millisecond)
			return srv.Token("alice", 300*time.Millisecond), nil
		}
		// The server closes the session when the first token expires; the
		// client dials again after its first back-off (fastOpts: 10 ms
		// plus up to a quarter of jitter) and asks for a new token.
		if after := time.Since(expiresAt); calls == 2 && (after < 10*time.Millisecond || after >= 12500*time.Microsecond) {
			t.Errorf("second token asked for %v after the first one expired, want 10 ms to 12.5 ms", after)
		}
		return srv.Token("alice", time.Hour), nil
	}))
	srv.Set("n", 1)
	sub := watch[int](t, c, "n", sodp.WithBuffer(10))
	next(t, sub)
	if info := c.Server(); info == nil || info.Subject != "alice" {
		t.Fatalf("server info %+v", info)
	}
	// The first token expires; the server says 401 and closes; the client
	// fetches a new token and resumes.
	eventually(t, "second token", func() bool { mu.Lock(); defer mu.Unlock(); return calls >= 2 })
	waitLive(t, c)
	v := srv.Set("n", 2)
	nextUntil(t, sub, func(u sodp.Update[int]) bool { return u.Version == v })
	if sub.Err() != nil {
		t.Fatal(sub.Err())
	}
}
