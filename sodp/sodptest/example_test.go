package sodptest_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// A test server on a loopback socket: srv.URL is what the client dials,
// and the test changes and reads the state directly.
func ExampleNewServer() {
	srv := sodptest.NewServer()
	defer srv.Close()
	srv.Set("config.app", map[string]any{"level": "info"})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := sodp.Dial(ctx, srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	if _, err := client.Patch(ctx, "config.app", map[string]any{"level": "debug"}); err != nil {
		log.Fatal(err)
	}
	v, version, _ := srv.Get("config.app")
	fmt.Println(v, version)
	// Output: map[level:debug] 2
}

// A server without a socket, reached over net.Pipe: what a test inside a
// testing/synctest bubble needs (see TestSynctestBubble in this file),
// and a way to run many servers without ports.
func ExampleWithInMemory() {
	srv := sodptest.NewServer(sodptest.WithInMemory())
	defer srv.Close()
	srv.Set("game.score", 7)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := srv.Dial(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	u, err := sodp.Get[int](ctx, client, "game.score")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(srv.URL, u.Value, u.Kind)
	// Output: ws://sodptest.pipe 7 snapshot
}

// Faults on demand: the test cuts every connection, and the client
// reconnects and resumes on its own.
func ExampleServer_DropConnections() {
	srv := sodptest.NewServer()
	defer srv.Close()
	srv.Set("game.score", 1)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := sodp.Dial(ctx, srv.URL, sodp.WithBackoff(10*time.Millisecond, 100*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	sub, err := sodp.Watch[int](ctx, client, "game.score")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println((<-sub.Updates()).Value)

	srv.DropConnections()
	srv.Set("game.score", 2) // while the client may be away
	if err := srv.WaitConns(ctx, 1); err != nil {
		log.Fatal(err)
	}
	for u := range sub.Updates() {
		if u.Value == 2 {
			fmt.Println(u.Value, client.Stats().Reconnects)
			break
		}
	}
	// Output:
	// 1
	// 2 1
}

// TestSynctestBubble is how a test runs client and server on a
// testing/synctest bubble's fake clock: the server WithInMemory, the
// client connected to it by srv.Dial (over net.Pipe). Timeouts, heartbeats and
// back-off then take no real time, and the test cannot flake. (A client
// that would dial a real socket in a bubble fails at once, naming
// WithInMemory.)
func TestSynctestBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := sodptest.NewServer(sodptest.WithInMemory())
		defer srv.Close()
		ctx := context.Background()
		client, err := srv.Dial(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()

		// The server stops answering; the call gives up after exactly
		// its timeout, on the bubble's clock, in no real time.
		srv.Conns()[0].Pause()
		start := time.Now()
		callCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if _, err := client.Set(callCtx, "k", 1); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Set: %v", err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Fatalf("Set gave up after %s", d)
		}
		srv.Conns()[0].Resume()
	})
}
