package sodp_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// heartbeatsFrom counts the HEARTBEATs conn received from the client.
func heartbeatsFrom(conn *sodptest.Conn) int {
	n := 0
	for _, f := range conn.Received() {
		if f.Name == "HEARTBEAT" {
			n++
		}
	}
	return n
}

// serverHeartbeat sends a HEARTBEAT of the server's own on conn, waits
// for the client's answer, and returns the number of HEARTBEATs the client
// sent since before, once the echo of that answer, if the server echoes,
// has reached the client and whatever the client sent for it has reached
// the server: the echo goes out before the change made here, and once the
// change arrives, what the client sent for the echo goes out before the
// round trip's CALL.
func serverHeartbeat(t *testing.T, srv *sodptest.Server, conn *sodptest.Conn, c *sodp.Client, sub *sodp.Subscription[int], before, i int) int {
	t.Helper()
	conn.Send(0x09, 0, nil)
	eventually(t, "the client's answer", func() bool { return heartbeatsFrom(conn) >= before+i })
	v := srv.Set("k", i)
	nextUntil(t, sub, func(u sodp.Update[int]) bool { return u.Version == v })
	roundTrip(t, c)
	return heartbeatsFrom(conn) - before
}

// Against a server that echoes HEARTBEATs, each HEARTBEAT the server sends
// on its own is answered once, and the echo of the answer is not answered:
// on every dialect. The TypeScript server never echoes, but a newer
// version or a proxy in front of it may; one HEARTBEAT used to start a
// ping-pong with it, tens of thousands of HEARTBEATs a second.
func TestHeartbeatEchoNotAnswered(t *testing.T) {
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d), sodptest.WithHeartbeatEcho(true), sodptest.WithMaxRecorded(1000))
			srv.Set("k", 0)
			c := dial(t, srv.URL) // its own HEARTBEATs are 25 s apart: none in this test
			sub := watch[int](t, c, "k")
			next(t, sub)
			conn := srv.Conns()[0]
			before := heartbeatsFrom(conn)
			for i := 1; i <= 3; i++ {
				if got := serverHeartbeat(t, srv, conn, c, sub, before, i); got != i {
					t.Fatalf("after %d server HEARTBEATs the client sent %d", i, got)
				}
			}
		})
	}
}

// Against a server that does not echo HEARTBEATs, every HEARTBEAT the
// server sends on its own is answered, on every dialect: the answers,
// never echoed, are not waited for beyond half a heartbeat interval. (The
// first answer used to wait for its echo for ever on the dialects whose
// server echoes, so every later HEARTBEAT of such a server was taken for
// that echo.)
//
// In a synctest bubble: the server HEARTBEATs come more than half the
// client's heartbeat interval apart on the bubble's clock.
func TestHeartbeatAnsweredWithoutEcho(t *testing.T) {
	const hb = time.Hour // the client's interval
	for _, d := range allDialects() {
		t.Run(d.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// No HEARTBEATs of the server's own but those sent here.
				srv := newPipeServer(t, sodptest.WithDialect(d), sodptest.WithHeartbeatEcho(false), sodptest.WithHeartbeat(0))
				srv.Set("k", 0)
				c := dial(t, srv.URL, viaPipe(srv), sodp.WithHeartbeat(hb))
				// Not bound to ctxT: the bubble's clock passes it.
				sub, err := sodp.Watch[int](context.Background(), c, "k")
				if err != nil {
					t.Fatal(err)
				}
				defer sub.Close()
				next(t, sub)
				conn := srv.Conns()[0]
				before := heartbeatsFrom(conn)
				// Two server HEARTBEATs, more than half an interval apart,
				// before the client's own is due (7/8 of an interval).
				for i := 1; i <= 2; i++ {
					if got := serverHeartbeat(t, srv, conn, c, sub, before, i); got != i {
						t.Fatalf("after %d server HEARTBEATs the client sent %d", i, got)
					}
					time.Sleep(hb/2 + time.Minute)
				}
			})
		})
	}
}
