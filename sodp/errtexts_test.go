package sodp_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// silentURL returns a ws:// URL of a port that accepts TCP connections
// (the kernel completes them) but never answers the WebSocket upgrade.
func silentURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return "ws://" + l.Addr().String()
}

func shortCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Millisecond)
	t.Cleanup(cancel)
	return ctx
}

// TestErrorTexts checks the message of each error and that it matches
// every sentinel it should (errors.Is).
func TestErrorTexts(t *testing.T) {
	deep := any("leaf")
	for range 600 {
		deep = map[string]any{"level": deep}
	}
	tests := []struct {
		name     string
		run      func(t *testing.T) error
		is       []error
		contains []string
		absent   []string
		maxLen   int
	}{{
		name: "Ready context error",
		run: func(t *testing.T) error {
			c, err := sodp.New(silentURL(t))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			return c.Ready(shortCtx(t))
		},
		is:       []error{context.DeadlineExceeded},
		contains: []string{"sodp: ready: "},
	}, {
		name: "Ready context error after a failed attempt",
		run: func(t *testing.T) error {
			c, err := sodp.New(deadURL(t), fastOpts()...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for ev := range c.Events() { // an attempt failed
				if errors.Is(ev.Err, sodp.ErrConnectFailed) {
					break
				}
			}
			return c.Ready(shortCtx(t))
		},
		is:       []error{context.DeadlineExceeded, sodp.ErrConnectFailed},
		contains: []string{"sodp: ready: ", "last connection attempt"},
	}, {
		name: "Get context error",
		run: func(t *testing.T) error {
			c, err := sodp.New(silentURL(t))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, err = sodp.Get[int](shortCtx(t), c, "svc.config")
			return err
		},
		is:       []error{context.DeadlineExceeded},
		contains: []string{"sodp: get svc.config: "},
	}, {
		name: "Dial that times out on its context",
		run: func(t *testing.T) error {
			_, err := sodp.Dial(shortCtx(t), silentURL(t))
			return err
		},
		is:       []error{sodp.ErrConnectFailed, context.DeadlineExceeded},
		contains: []string{"sodp: dial ws://127.0.0.1"},
	}, {
		name: "Dial that times out, retrying",
		run: func(t *testing.T) error {
			_, err := sodp.Dial(shortCtx(t), silentURL(t), sodp.WithRetryOnFailedConnect())
			return err
		},
		is: []error{sodp.ErrConnectFailed, context.DeadlineExceeded},
	}, {
		name: "Set on a client that never connected",
		run: func(t *testing.T) error {
			c, err := sodp.New(silentURL(t), sodp.WithCallTimeout(60*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, err = c.Set(context.Background(), "svc.config", 1)
			return err
		},
		is:       []error{context.DeadlineExceeded},
		contains: []string{"sodp: call state.set: ", "not sent", "not connected", "WithCallTimeout"},
		absent:   []string{"no answer"},
	}, {
		name: "Set with its own deadline on a client that never connected",
		run: func(t *testing.T) error {
			c, err := sodp.New(silentURL(t))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, err = c.Set(shortCtx(t), "svc.config", 1)
			return err
		},
		is:       []error{context.DeadlineExceeded},
		contains: []string{"sodp: call state.set: ", "not sent", "not connected"},
	}, {
		name: "URL without a scheme: an address",
		run: func(t *testing.T) error {
			_, err := sodp.New("127.0.0.1:7777")
			return err
		},
		is:       []error{sodp.ErrInvalidURL},
		contains: []string{`"127.0.0.1:7777"`, "ws://127.0.0.1:7777"},
		absent:   []string{"first path segment"},
	}, {
		name: "URL without a scheme: a host name",
		run: func(t *testing.T) error {
			_, err := sodp.New("localhost:7777")
			return err
		},
		is:       []error{sodp.ErrInvalidURL},
		contains: []string{`"localhost:7777"`, "ws://localhost:7777"},
	}, {
		name: "WatchMany past max_watches",
		run: func(t *testing.T) error {
			srv := newServer(t, sodptest.WithDialect(sodp.DialectGo), sodptest.WithMaxWatches(2))
			c := dial(t, srv.URL)
			sub, err := sodp.WatchMany[any](ctxT(t), c, []string{"a", "b", "c"})
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			u := nextUntil(t, sub, func(u sodp.Update[any]) bool { return u.Kind == sodp.KindRefused })
			return u.Err
		},
		is:       []error{sodp.ErrRateLimited},
		contains: []string{"allows 2 watched keys", "would bring this client to 3", "(key c)"},
		absent:   []string{"watches 0"},
	}, {
		name: "refused key named once",
		run: func(t *testing.T) error {
			srv := newServer(t, sodptest.WithDialect(sodp.DialectTS), sodptest.WithACL(func(_, key string, _ bool) bool { return key != "svc.config" }))
			c := dial(t, srv.URL)
			_, err := sodp.Get[any](ctxT(t), c, "svc.config")
			return err
		},
		is:       []error{sodp.ErrForbidden},
		contains: []string{"svc.config"},
		absent:   []string{"(key svc.config)"},
	}, {
		name: "write refused, key named once",
		run: func(t *testing.T) error {
			srv := newServer(t, sodptest.WithDialect(sodp.DialectTS), sodptest.WithACL(func(_, key string, _ bool) bool { return key != "svc.config" }))
			c := dial(t, srv.URL)
			_, err := c.Set(ctxT(t), "svc.config", 1)
			return err
		},
		is:       []error{sodp.ErrForbidden},
		contains: []string{"svc.config", "(state.set)"},
		absent:   []string{"on svc.config"},
	}, {
		name: "a 600-level value",
		run: func(t *testing.T) error {
			c := dial(t, newServer(t).URL)
			_, err := c.Set(ctxT(t), "deep", deep)
			return err
		},
		is:       []error{sodp.ErrUnsupportedValue},
		contains: []string{"nesting deeper than 512 levels", "/level/level/", "…"},
		maxLen:   300,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run(t)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, target := range tc.is {
				if !errors.Is(err, target) {
					t.Errorf("%q does not match %v", msg, target)
				}
			}
			if !strings.HasPrefix(msg, "sodp: ") || strings.Count(msg, "sodp: ") != 1 && !strings.Contains(msg, "last connection attempt") {
				t.Errorf("%q: want one sodp: prefix, at the start", msg)
			}
			for _, s := range tc.contains {
				if !strings.Contains(msg, s) {
					t.Errorf("%q does not say %q", msg, s)
				}
			}
			for _, s := range tc.absent {
				if strings.Contains(msg, s) {
					t.Errorf("%q says %q", msg, s)
				}
			}
			if tc.maxLen > 0 && len(msg) > tc.maxLen {
				t.Errorf("message of %d bytes: %q", len(msg), msg)
			}
		})
	}
}

// TestUnauthorizedLoggedOnce: a refused token is one log line.
func TestUnauthorizedLoggedOnce(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d), sodptest.WithAuth([]byte("secret")))
			h := &recordHandler{}
			_, err := sodp.Dial(ctxT(t), srv.URL, sodp.WithToken("not-a-jwt"), sodp.WithLogger(slog.New(h)))
			if !errors.Is(err, sodp.ErrUnauthorized) {
				t.Fatalf("Dial: %v", err)
			}
			n := 0
			for _, r := range h.all() {
				r.Attrs(func(a slog.Attr) bool {
					if e, ok := a.Value.Any().(error); ok && errors.Is(e, sodp.ErrUnauthorized) {
						n++
					}
					return true
				})
			}
			if n != 1 {
				for _, r := range h.all() {
					t.Logf("%s %s", r.Level, r.Message)
				}
				t.Fatalf("the 401 was logged %d times", n)
			}
		})
	}
}
