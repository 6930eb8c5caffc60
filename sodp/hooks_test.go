package sodp_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// hookLog records what the hooks of one client are told.
type hookLog struct {
	mu      sync.Mutex
	order   []string // "opened", "conn:<stage>", "resume", "sub:open", "sub:<reason>", "closed"
	calls   []sodp.CallInfo
	conns   []sodp.ConnectionEvent
	resumes []sodp.ResumeEvent
	subs    []sodp.SubscriptionEvent
	dropped uint64
	client  *sodp.Client
}

func (l *hookLog) add(s string) {
	l.mu.Lock()
	l.order = append(l.order, s)
	l.mu.Unlock()
}

func (l *hookLog) hooks() sodp.Hooks {
	return sodp.Hooks{
		Opened: func(c *sodp.Client) {
			l.mu.Lock()
			l.client = c
			l.mu.Unlock()
			l.add("opened")
		},
		Closed: func(c *sodp.Client) {
			l.mu.Lock()
			same := c == l.client
			l.mu.Unlock()
			if !same {
				l.add("closed: another client")
				return
			}
			l.add("closed")
		},
		Call: func(_ context.Context, info sodp.CallInfo) {
			l.mu.Lock()
			l.calls = append(l.calls, info)
			l.mu.Unlock()
		},
		Connection: func(ev sodp.ConnectionEvent) {
			l.mu.Lock()
			l.conns = append(l.conns, ev)
			l.mu.Unlock()
			l.add("conn:" + ev.Stage.String())
		},
		Resume: func(ev sodp.ResumeEvent) {
			l.mu.Lock()
			l.resumes = append(l.resumes, ev)
			l.mu.Unlock()
			l.add("resume")
		},
		Subscription: func(ev sodp.SubscriptionEvent) {
			l.mu.Lock()
			l.subs = append(l.subs, ev)
			l.mu.Unlock()
			if ev.Opened {
				l.add("sub:open")
			} else {
				l.add("sub:" + ev.Reason.String())
			}
		},
		Dropped: func(n uint64) {
			l.mu.Lock()
			l.dropped += n
			l.mu.Unlock()
		},
	}
}

func (l *hookLog) orderString() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.order, " ")
}

func (l *hookLog) callsCopy() []sodp.CallInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]sodp.CallInfo(nil), l.calls...)
}

// The hooks see the whole life of a client, in order: opened, the
// connection, a subscription, calls with their outcome, a dropped
// connection with its resume, the subscription's end and the close.
func TestHooksLifecycle(t *testing.T) {
	for _, d := range []sodp.Dialect{sodp.DialectSpec, sodp.DialectGo, sodp.DialectRust} {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d), sodptest.WithACL(func(_, key string, write bool) bool {
				return !write || !strings.HasPrefix(key, "ro.")
			}))
			srv.Set("a", 0)
			var log hookLog
			c := dial(t, srv.URL, sodp.WithHooks(log.hooks()))
			ctx := ctxT(t)
			sub := watch[int](t, c, "a")
			next(t, sub)
			if _, err := c.Set(ctx, "a", 1); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Set(ctx, "ro.x", 1); !errors.Is(err, sodp.ErrForbidden) {
				t.Fatalf("write to ro.x: %v", err)
			}
			dropAndWrite(t, srv, c, func() { srv.Set("a", 2) })
			nextUntil(t, sub, func(u sodp.Update[int]) bool { return u.Value == 2 })
			eventually(t, "the resume reported", func() bool { return strings.Contains(log.orderString(), "resume") })
			sub.Close()
			c.Close()

			want := "opened conn:attempt conn:live sub:open conn:lost conn:backoff conn:attempt conn:live resume sub:closed closed"
			if got := log.orderString(); got != want {
				t.Fatalf("hooks called\n got %s\nwant %s", got, want)
			}
			log.mu.Lock()
			defer log.mu.Unlock()
			live := log.conns[1]
			if live.Dialect != d || live.Attempt != 1 || live.Endpoint == "" || live.Duration <= 0 {
				t.Fatalf("live event %+v", live)
			}
			lost := log.conns[2]
			if !errors.Is(lost.Err, sodp.ErrConnectionLost) && lost.Err == nil {
				t.Fatalf("lost event without a cause: %+v", lost)
			}
			if b := log.conns[3]; b.Delay <= 0 {
				t.Fatalf("backoff event %+v", b)
			}
			if a := log.conns[4]; a.Attempt != 2 {
				t.Fatalf("second attempt %+v", a)
			}
			r := log.resumes[0]
			if r.Err != nil || r.Keys != 1 || r.Resumed != 1 || r.Replayed != 1 || r.Resynced != 0 || r.Dialect != d {
				t.Fatalf("resume %+v", r)
			}
			if s := log.subs[1]; s.Reason != sodp.EndClosed || !errors.Is(s.Err, sodp.ErrClosed) || s.Key != "a" || s.Keys != 1 {
				t.Fatalf("subscription end %+v", s)
			}
			if len(log.calls) != 2 {
				t.Fatalf("%d calls reported, want 2", len(log.calls))
			}
			ok, refused := log.calls[0], log.calls[1]
			if ok.Method != "state.set" || ok.Key != "a" || !ok.Sent || ok.Outcome != sodp.CallOK || ok.Err != nil || ok.Dialect != d || ok.Duration <= 0 {
				t.Fatalf("successful call %+v", ok)
			}
			if refused.Key != "ro.x" || !refused.Sent || refused.Outcome != sodp.CallServerError || refused.Code != 403 ||
				!errors.Is(refused.Err, sodp.ErrForbidden) || refused.Attribution == sodp.AttrNone {
				t.Fatalf("refused call %+v", refused)
			}
		})
	}
}

// A call refused before anything is sent, and one whose context ends
// while the client cannot connect, are reported as not sent.
func TestHooksCallsNotSent(t *testing.T) {
	srv := newServer(t, sodptest.WithDialect(sodp.DialectGo))
	var log hookLog
	c := dial(t, srv.URL, sodp.WithHooks(log.hooks()))
	if _, err := c.Presence(ctxT(t), "p", "/x", 1); !errors.Is(err, sodp.ErrNotSupported) {
		t.Fatalf("presence on the Go server: %v", err)
	}
	srv.Close()
	eventually(t, "disconnected", func() bool { return c.State() != sodp.StateLive })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Set(ctx, "k", 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call while disconnected: %v", err)
	}
	calls := log.callsCopy()
	if len(calls) != 2 {
		t.Fatalf("%d calls reported, want 2", len(calls))
	}
	if p := calls[0]; p.Sent || p.Outcome != sodp.CallFailed || p.Method != "state.presence" || p.Dialect != sodp.DialectGo {
		t.Fatalf("presence %+v", p)
	}
	if s := calls[1]; s.Sent || s.Outcome != sodp.CallTimeout {
		t.Fatalf("set while disconnected %+v", s)
	}
}

// A buffered subscription whose reader falls behind ends with the reason
// slow_consumer, and Stats counts it.
func TestHooksSlowConsumer(t *testing.T) {
	srv := newServer(t)
	srv.Set("k", 0)
	var log hookLog
	c := dial(t, srv.URL, sodp.WithHooks(log.hooks()))
	sub := watch[int](t, c, "k", sodp.WithBuffer(2))
	next(t, sub)
	for i := 1; i <= 20; i++ {
		srv.Set("k", i)
	}
	if err := closed(t, sub); !errors.Is(err, sodp.ErrSlowConsumer) {
		t.Fatalf("subscription ended with %v", err)
	}
	if n := c.Stats().SlowConsumers; n != 1 {
		t.Fatalf("Stats.SlowConsumers = %d", n)
	}
	eventually(t, "the end reported", func() bool { return strings.Contains(log.orderString(), "sub:slow_consumer") })
}

// Hooks that block hold up neither updates nor calls; the events they
// could not take in time are counted, and Close waits for the hooks.
func TestHooksThatBlockDoNotBlockTheClient(t *testing.T) {
	srv := newServer(t)
	srv.Set("k", 0)
	release := make(chan struct{})
	var entered sync.Once
	in := make(chan struct{})
	var subs, dropped int
	var mu sync.Mutex
	h := sodp.Hooks{
		Subscription: func(sodp.SubscriptionEvent) {
			entered.Do(func() { close(in) })
			<-release
			mu.Lock()
			subs++
			mu.Unlock()
		},
		Dropped: func(n uint64) {
			mu.Lock()
			dropped += int(n)
			mu.Unlock()
		},
	}
	c := dial(t, srv.URL, sodp.WithHooks(h))
	sub := watch[int](t, c, "k")
	next(t, sub)
	<-in
	// 600 subscriptions open and end: 1,200 events behind a blocked hook.
	ctx := ctxT(t)
	for i := range 600 {
		s, err := sodp.Watch[int](ctx, c, fmt.Sprintf("k%d", i))
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	if _, err := c.Set(ctx, "k", 1); err != nil {
		t.Fatal(err)
	}
	if u := next(t, sub); u.Value != 1 {
		t.Fatalf("update %+v", u)
	}
	close(release)
	sub.Close()
	c.Close()
	mu.Lock()
	defer mu.Unlock()
	// The first open, blocked; 1,200 events behind it, of which at most
	// 1,024 wait; the last close after the release.
	if subs+dropped != 1202 || dropped == 0 || subs > 1026 {
		t.Fatalf("%d subscription events delivered, %d dropped; want 1202 in all, at most 1026 delivered", subs, dropped)
	}
}

// A Dial that fails closes the client it made: Opened, the failed
// attempt, Closed.
func TestHooksFailedDial(t *testing.T) {
	var log hookLog
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, err := sodp.Dial(ctx, "ws://"+freeAddr(t), sodp.WithHooks(log.hooks()))
	if !errors.Is(err, sodp.ErrConnectFailed) {
		t.Fatalf("Dial: %v", err)
	}
	if got, want := log.orderString(), "opened conn:attempt conn:attempt_failed conn:failed closed"; got != want {
		t.Fatalf("hooks called\n got %s\nwant %s", got, want)
	}
}

// Each way a subscription ends has its reason: refused by the server,
// its context ended, the client closed.
func TestHooksSubscriptionEndReasons(t *testing.T) {
	srv := newServer(t, sodptest.WithACL(func(_, key string, _ bool) bool { return key != "secret" }))
	srv.Set("k", 0)
	var log hookLog
	c := dial(t, srv.URL, sodp.WithHooks(log.hooks()))
	refused := watch[int](t, c, "secret")
	if err := closed(t, refused); !errors.Is(err, sodp.ErrForbidden) {
		t.Fatalf("secret ended with %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	byCtx, err := sodp.Watch[int](ctx, c, "k")
	if err != nil {
		t.Fatal(err)
	}
	next(t, byCtx)
	cancel()
	closed(t, byCtx)
	last := watch[int](t, c, "k")
	next(t, last)
	eventually(t, "two ends reported", func() bool { return strings.Count(log.orderString(), "sub:") == 5 })
	c.Close()
	got := log.orderString()
	want := "sub:open sub:refused sub:open sub:context sub:open sub:client_closed"
	var subs []string
	for _, s := range strings.Fields(got) {
		if strings.HasPrefix(s, "sub:") {
			subs = append(subs, s)
		}
	}
	if strings.Join(subs, " ") != want {
		t.Fatalf("subscription events\n got %s\nwant %s", strings.Join(subs, " "), want)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if e := log.subs[1]; !errors.Is(e.Err, sodp.ErrForbidden) || e.Key != "secret" {
		t.Fatalf("refusal %+v", e)
	}
}

// A session that fails in the handshake (the server wants a token and
// none is configured) reports the attempt as failed, then the terminal
// failure.
func TestHooksFailedHandshake(t *testing.T) {
	srv := newServer(t, sodptest.WithAuth([]byte("secret")))
	var log hookLog
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, err := sodp.Dial(ctx, srv.URL, sodp.WithHooks(log.hooks()))
	if !errors.Is(err, sodp.ErrUnauthorized) {
		t.Fatalf("Dial: %v", err)
	}
	if got, want := log.orderString(), "opened conn:attempt conn:attempt_failed conn:failed closed"; got != want {
		t.Fatalf("hooks called\n got %s\nwant %s", got, want)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if !errors.Is(log.conns[1].Err, sodp.ErrUnauthorized) {
		t.Fatalf("attempt failed with %v", log.conns[1].Err)
	}
}
