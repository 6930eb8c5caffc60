package sodptest

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/sodp-go/client/sodp"
)

// TestServerDial: Server.Dial connects a client in one call to a server
// on a socket and to one in memory (inside a synctest bubble too), and
// ClientOptions is what it adds.
func TestServerDial(t *testing.T) {
	roundTrip := func(t *testing.T, srv *Server, ctx context.Context) {
		t.Helper()
		c, err := srv.Dial(ctx, sodp.WithCallTimeout(waitTimeout))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Set(ctx, "k", 5); err != nil {
			t.Fatal(err)
		}
		if v, _, ok := srv.Get("k"); !ok || v != int64(5) {
			t.Fatalf("server holds %v %v, want 5", v, ok)
		}
	}
	t.Run("socket", func(t *testing.T) {
		srv := newServer(t)
		if n := len(srv.ClientOptions()); n != 0 {
			t.Fatalf("ClientOptions of a server on a socket: %d options", n)
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		roundTrip(t, srv, ctx)
	})
	t.Run("in memory", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv := NewServer(WithInMemory())
			defer srv.Close()
			if n := len(srv.ClientOptions()); n != 1 {
				t.Fatalf("ClientOptions of a server in memory: %d options", n)
			}
			// Without them a client in the bubble is refused at once.
			if _, err := sodp.New(srv.URL); err == nil {
				t.Fatal("a client without ClientOptions was made in the bubble")
			}
			roundTrip(t, srv, context.Background())
		})
	})
}
