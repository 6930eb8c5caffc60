package sodp_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

func TestPingEveryDialect(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			c := dial(t, srv.URL)
			if rtt := c.Stats().RTT; rtt != 0 {
				t.Fatalf("RTT %s before any pong", rtt)
			}
			rtt, err := c.Ping(ctxT(t))
			if err != nil {
				t.Fatalf("Ping: %v", err)
			}
			if rtt <= 0 || rtt > wait {
				t.Fatalf("Ping = %s", rtt)
			}
			if got := c.Stats().RTT; got <= 0 {
				t.Fatalf("Stats().RTT = %s after a Ping", got)
			}
		})
	}
}

// TestHeartbeatMeasuresRTT: without any Ping, the heartbeat's pings keep
// Stats().RTT current.
func TestHeartbeatMeasuresRTT(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			c := dial(t, srv.URL, sodp.WithHeartbeat(50*time.Millisecond))
			eventually(t, "an RTT measured by the heartbeat", func() bool { return c.Stats().RTT > 0 })
		})
	}
}

func TestPingAcrossReconnect(t *testing.T) {
	srv := newServer(t)
	c, err := sodp.New(srv.URL, fastOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Before the first connection: Ping waits for it.
	if _, err := c.Ping(ctxT(t)); err != nil {
		t.Fatalf("Ping while connecting: %v", err)
	}
	srv.DropConnections()
	if _, err := c.Ping(ctxT(t)); err != nil {
		t.Fatalf("Ping after a drop: %v", err)
	}
	if c.Stats().Reconnects == 0 {
		t.Fatal("no reconnect counted")
	}
}

func TestPingErrors(t *testing.T) {
	c, err := sodp.New(silentURL(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Ping(shortCtx(t))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "sodp: ping: ") {
		t.Fatalf("Ping on a client that never connects: %v", err)
	}
	c.Close()
	if _, err := c.Ping(ctxT(t)); !errors.Is(err, sodp.ErrClosed) {
		t.Fatalf("Ping after Close: %v", err)
	}
}
