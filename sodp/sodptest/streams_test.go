package sodptest

import (
	"fmt"
	"testing"
	"time"

	"github.com/sodp-go/client/internal/wire"
	"github.com/sodp-go/client/sodp"
)

// The servers that number their own streams (TS, Rust) allocate an id only
// for a subscription they make: a WATCH or RESUME refused by the ACL (403)
// or the rate limit (429) takes none, so their ids fall behind the ones
// the client proposed. The others answer on the client's id.
func TestOwnStreamIdsSkipRefusedRequests(t *testing.T) {
	forDialectsInBubble(t, func(t *testing.T, d sodp.Dialect) {
		srv := newServer(t, WithInMemory(), WithDialect(d), WithRateLimit(0, 2),
			WithACL(func(_, key string, _ bool) bool { return key[0] != 's' }))
		srv.Set("c", 1)
		c := dial(t, srv)
		errStream := func(proposed uint32) uint32 {
			if d == sodp.DialectTS || d == sodp.DialectRust {
				return 0
			}
			return proposed
		}
		var got []uint32
		stateInit := func(key string) {
			t.Helper()
			r := c.expect(wire.TypeStateInit)
			if si := r.f.Body.(*wire.StateInit); si.State != key {
				t.Fatalf("STATE_INIT of %s, want %s", si.State, key)
			}
			got = append(got, r.f.Stream)
		}
		c.watch(10, "a")
		stateInit("a")
		c.watch(11, "s.x") // ACL
		c.expectError(errStream(11), 403)
		c.watch(12, "b") // rate limit: both tokens taken
		c.expectError(errStream(12), 429)
		time.Sleep(time.Second) // the bucket refills
		c.watch(13, "b")
		stateInit("b")
		c.send(wire.TypeResume, 14, &wire.Resume{State: "s.y", SinceVersion: 1}) // ACL
		c.expectError(errStream(14), 403)
		c.send(wire.TypeResume, 15, &wire.Resume{State: "c", SinceVersion: 1}) // rate limit
		c.expectError(errStream(15), 429)
		time.Sleep(time.Second)
		c.send(wire.TypeResume, 16, &wire.Resume{State: "c", SinceVersion: 1})
		stateInit("c")
		want := "[10 13 16]"
		if d == sodp.DialectTS || d == sodp.DialectRust {
			want = "[10 11 12]"
		}
		if s := fmt.Sprint(got); s != want {
			t.Errorf("STATE_INIT streams %s, want %s", s, want)
		}
	})
}
