package sodp_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// deadAddr returns a loopback address nobody listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestDialFailsFast(t *testing.T) {
	url := "ws://" + deadAddr(t)
	for _, tc := range []struct {
		name string
		opts []sodp.Option
	}{
		{"default", nil},
		{"WithoutReconnect", []sodp.Option{sodp.WithoutReconnect()}},
		{"two endpoints", []sodp.Option{sodp.WithEndpoints("ws://" + deadAddr(t))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// No deadline: before, Dial waited for the context forever.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				c, err := sodp.Dial(ctx, url, tc.opts...)
				if c != nil {
					c.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || errors.Is(err, context.Canceled) {
					t.Fatalf("Dial = %v, want the connection error", err)
				}
				if !strings.Contains(err.Error(), "refused") {
					t.Errorf("error %q does not say the connection was refused", err)
				}
				if !errors.Is(err, sodp.ErrConnectFailed) || strings.Count(err.Error(), "sodp:") != 1 {
					t.Errorf("error %q does not match ErrConnectFailed with one sodp: prefix", err)
				}
			case <-time.After(wait):
				cancel()
				<-done
				t.Fatal("Dial did not return the failed attempt's error")
			}
		})
	}
}

func TestDialRetryOnFailedConnect(t *testing.T) {
	addr := deadAddr(t)
	done := make(chan error, 1)
	failed := make(chan struct{})
	var once sync.Once
	var c *sodp.Client
	go func() {
		var err error
		c, err = sodp.Dial(ctxT(t), "ws://"+addr, sodp.WithRetryOnFailedConnect(), sodp.WithBackoff(5*time.Millisecond, 20*time.Millisecond),
			sodp.WithHooks(sodp.Hooks{Connection: func(ev sodp.ConnectionEvent) {
				if ev.Stage == sodp.StageAttemptFailed {
					once.Do(func() { close(failed) })
				}
			}}))
		done <- err
	}()
	// Wait until an attempt has failed, then start the server.
	select {
	case err := <-done:
		t.Fatalf("Dial returned %v before a server was there", err)
	case <-failed:
	}
	newServer(t, sodptest.WithAddr(addr))
	if err := <-done; err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	if c.State() != sodp.StateLive {
		t.Fatalf("State = %v", c.State())
	}
}

func TestNewKeepsTrying(t *testing.T) {
	addr := deadAddr(t)
	c, err := sodp.New("ws://"+addr, sodp.WithBackoff(5*time.Millisecond, 20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Wait for a failed attempt to be reported.
	for ev := range c.Events() {
		if ev.Err != nil {
			break
		}
	}
	newServer(t, sodptest.WithAddr(addr))
	if err := c.Ready(ctxT(t)); err != nil {
		t.Fatalf("Ready: %v", err)
	}
}

func TestInvalidOptions(t *testing.T) {
	srv := newServer(t)
	for _, tc := range []struct {
		name string
		opt  sodp.Option
		says string
	}{
		{"backoff max below min", sodp.WithBackoff(5*time.Second, time.Second), "WithBackoff(5s, 1s): max is below min"},
		{"backoff zero min", sodp.WithBackoff(0, time.Second), "min must be positive"},
		{"negative backoff", sodp.WithBackoff(-time.Second, time.Second), "min must be positive"},
		{"negative call timeout", sodp.WithCallTimeout(-time.Second), "WithCallTimeout(-1s)"},
		{"zero call timeout", sodp.WithCallTimeout(0), "WithCallTimeout(0s)"},
		{"negative heartbeat", sodp.WithHeartbeat(-1), "WithHeartbeat"},
		{"zero handshake timeout", sodp.WithHandshakeTimeout(0), "WithHandshakeTimeout"},
		{"negative message size", sodp.WithMaxMessageSize(-1), "WithMaxMessageSize(-1)"},
		{"zero message size", sodp.WithMaxMessageSize(0), "WithMaxMessageSize(0)"},
		{"negative event buffer", sodp.WithEventBuffer(-3), "WithEventBuffer(-3)"},
		{"zero outbound queue", sodp.WithOutboundQueue(0), "WithOutboundQueue(0)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := sodp.New(srv.URL, tc.opt)
			if c != nil {
				c.Close()
				t.Fatal("New returned a client")
			}
			if !errors.Is(err, sodp.ErrInvalidOption) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("New: %v, want ErrInvalidOption saying %q", err, tc.says)
			}
			c, err = sodp.Dial(ctxT(t), srv.URL, tc.opt)
			if c != nil {
				c.Close()
				t.Fatal("Dial returned a client")
			}
			if !errors.Is(err, sodp.ErrInvalidOption) {
				t.Errorf("Dial: %v, want ErrInvalidOption", err)
			}
			if strings.Count(err.Error(), "sodp:") != 1 {
				t.Errorf("error %q has not exactly one sodp: prefix", err)
			}
		})
	}
	if n := len(srv.Received()); n != 0 {
		t.Errorf("the server received %d frames from clients with invalid options", n)
	}
}

func TestInvalidURL(t *testing.T) {
	for _, u := range []string{"http://localhost:7777", "localhost:7777", "ws://", "ws://user:pw@host", "ws://a b\x7f"} {
		c, err := sodp.New(u)
		if c != nil {
			c.Close()
		}
		if !errors.Is(err, sodp.ErrInvalidURL) {
			t.Errorf("New(%q) = %v, want ErrInvalidURL", u, err)
		}
		c, err = sodp.Dial(ctxT(t), u)
		if c != nil {
			c.Close()
		}
		if !errors.Is(err, sodp.ErrInvalidURL) {
			t.Errorf("Dial(%q) = %v, want ErrInvalidURL", u, err)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("error %q shows the password", err)
		}
	}
}

// Dial with no server listening returns the attempt's error at once.
func ExampleDial_noServer() {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	url := "ws://" + ln.Addr().String()
	ln.Close() // nothing listens there now

	_, err := sodp.Dial(context.Background(), url)
	fmt.Println(err != nil, strings.Contains(err.Error(), "connection refused"))
	// Output: true true
}

func ExampleWithRetryOnFailedConnect() {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()

	// The server comes up a little later.
	started := make(chan *sodptest.Server, 1)
	time.AfterFunc(200*time.Millisecond, func() { started <- sodptest.NewServer(sodptest.WithAddr(addr)) })
	defer func() { (<-started).Close() }()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := sodp.Dial(ctx, "ws://"+addr,
		sodp.WithRetryOnFailedConnect(), sodp.WithBackoff(50*time.Millisecond, time.Second))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	fmt.Println(client.State())
	// Output: live
}

func ExampleErrInvalidOption() {
	_, err := sodp.New("ws://localhost:7777", sodp.WithBackoff(5*time.Second, time.Second))
	fmt.Println(errors.Is(err, sodp.ErrInvalidOption))
	fmt.Println(err)
	// Output:
	// true
	// sodp: invalid option: WithBackoff(5s, 1s): max is below min
}

func ExampleErrInvalidURL() {
	_, err := sodp.New("localhost:7777")
	fmt.Println(errors.Is(err, sodp.ErrInvalidURL))
	// Output: true
}

// A server that accepts the WebSocket and hangs up before HELLO: Dial
// returns an error matching ErrConnectionLost.
func TestDialHandshakeCutMatchesSentinel(t *testing.T) {
	up := websocket.Upgrader{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		ws.Close()
	}))
	defer hs.Close()
	c, err := sodp.Dial(ctxT(t), "ws"+strings.TrimPrefix(hs.URL, "http"))
	if c != nil {
		c.Close()
		t.Fatal("Dial succeeded")
	}
	if !errors.Is(err, sodp.ErrConnectionLost) || strings.Count(err.Error(), "sodp:") != 1 {
		t.Errorf("Dial = %v, want ErrConnectionLost with one sodp: prefix", err)
	}
	// A close frame is a *CloseError, which matches ErrConnectionLost too.
	if !errors.Is(&sodp.CloseError{Code: 1001}, sodp.ErrConnectionLost) || errors.Is(&sodp.CloseError{Code: 1001}, sodp.ErrTooLarge) {
		t.Error("CloseError matching")
	}
}

func TestWatchInvalidBuffer(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	if _, err := sodp.Watch[int](ctxT(t), c, "k", sodp.WithBuffer(-1)); !errors.Is(err, sodp.ErrInvalidOption) {
		t.Errorf("Watch(WithBuffer(-1)) = %v, want ErrInvalidOption", err)
	}
	if n := len(frames(srv, "WATCH")); n != 0 {
		t.Errorf("%d WATCH frames sent", n)
	}
}
