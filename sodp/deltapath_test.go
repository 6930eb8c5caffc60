package sodp_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sodp-go/client/internal/wire"
	"github.com/sodp-go/client/sodp"
)

// A DELTA whose path creates ordinary depths of new objects where the
// value has nothing applies: the bound on the objects a frame may create
// is there for frames that would create far more than they weigh (see
// TestDeepDeltaPathsBounded), not for a 60-byte frame that creates 7. Such
// a frame used to be refused and the key re-synchronised.
func TestDeltaPathCreatesOrdinaryDepth(t *testing.T) {
	srv := newServer(t)
	srv.Set("k", map[string]any{})
	c := dial(t, srv.URL)
	sub := watch[any](t, c, "k")
	v := next(t, sub).Version
	conn := srv.Conns()[0]
	for _, levels := range []int{8, 16, 32} {
		segs := make([]string, levels)
		for i := range segs {
			segs[i] = string(rune('a' + i%26))
		}
		path := "/" + strings.Join(segs, "/")
		v++
		body := map[string]any{"version": v, "ops": []any{map[string]any{"op": "ADD", "path": path, "value": 1}}}
		t.Logf("%d levels: a %d-byte frame", levels, len(frameBytes(t, wire.TypeDelta, streamOf(conn, "k"), body)))
		conn.Send(0x04, streamOf(conn, "k"), body)
		select {
		case u := <-sub.Updates():
			if u.Version != v || u.Kind != sodp.KindDelta {
				t.Fatalf("%d levels: update %+v; stats %+v", levels, u, c.Stats())
			}
			checkPath(t, u.Value, segs)
		case <-time.After(wait):
			t.Fatalf("%d levels: no update; stats %+v", levels, c.Stats())
		}
		if st := c.Stats(); st.ApplyErrors != 0 || st.Resyncs != 0 {
			t.Fatalf("%d levels: stats %+v", levels, st)
		}
	}
}

// checkPath checks that value holds 1 at the path of segs.
func checkPath(t *testing.T, value any, segs []string) {
	t.Helper()
	node := value
	for _, s := range segs {
		m, ok := node.(map[string]any)
		if !ok {
			t.Fatalf("value %v has no /%s", value, strings.Join(segs, "/"))
		}
		node = m[s]
	}
	if node != int64(1) {
		t.Fatalf("/%s is %v", strings.Join(segs, "/"), node)
	}
}
