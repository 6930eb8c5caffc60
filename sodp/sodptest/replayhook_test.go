package sodptest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sodp-go/client/internal/wire"
	"github.com/sodp-go/client/sodp"
)

// A change made during a replay (here by WithReplayHook, after the second
// replayed DELTA) reaches a Go-dialect client inside the replay, ahead of
// the older versions still to come; the other dialects send it after the
// replay's STATE_INIT.
func TestReplayHookLiveChangeInsideReplay(t *testing.T) {
	forDialects(t, func(t *testing.T, d sodp.Dialect) {
		var srv *Server
		srv = newServer(t, WithDialect(d), WithReplayHook(func(key string, n int) {
			if key == "k" && n == 2 {
				srv.Set("k", 100)
			}
		}))
		v0 := srv.Set("k", 0)
		for i := 1; i <= 4; i++ {
			srv.Set("k", i)
		}
		c := dial(t, srv)
		c.send(wire.TypeResume, 10, &wire.Resume{State: "k", SinceVersion: v0})
		var got []string
		for _, r := range c.barrier() {
			switch b := r.f.Body.(type) {
			case *wire.Delta:
				got = append(got, fmt.Sprint(b.Ops[0].Value))
			case *wire.StateInit:
				got = append(got, fmt.Sprintf("init %v", b.Value))
			}
		}
		want := "1 2 3 4 init 4 100"
		if d == sodp.DialectGo {
			want = "1 2 100 3 4"
		}
		if s := strings.Join(got, " "); s != want {
			t.Errorf("frames %s, want %s", s, want)
		}
	})
}
