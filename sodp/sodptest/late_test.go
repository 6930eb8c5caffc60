package sodptest

import (
	"fmt"
	"testing"
	"time"

	"github.com/sodp-go/client/internal/wire"
	"github.com/sodp-go/client/sodp"
)

// The TypeScript server announces its rate limit in HELLO, counts WATCH
// and RESUME frames (a multi-key WATCH is one) per one-second window, and
// its refusals of a burst overtake the answers of the requests it
// accepted in that burst.
func TestTSRateLimitRefusalsOvertakeAnswers(t *testing.T) {
	srv := newServer(t, WithDialect(sodp.DialectTS), WithRateLimit(0, 3), func(c *config) { c.burstGap = 300 * time.Millisecond })
	c := dial(t, srv)
	caps, _ := c.hello.body()["capabilities"].(map[string]any)
	if r, ok := caps["rate_limit_watches"].(float64); !ok || r != 3 {
		t.Fatalf("HELLO rate_limit_watches %v (%T), want 3", caps["rate_limit_watches"], caps["rate_limit_watches"])
	}
	c.send(wire.TypeWatch, 10, &wire.Watch{States: []string{"m0", "m1"}})
	for i := range 4 {
		c.watch(uint32(11+i), fmt.Sprintf("k%d", i))
	}
	// 5 frames: the multi-key WATCH, k0 and k1 are accepted; k2 and k3
	// are refused, and the refusals come first.
	c.expectError(0, 429)
	c.expectError(0, 429)
	for _, key := range []string{"m0", "m1", "k0", "k1"} {
		if si := c.expect(wire.TypeStateInit).f.Body.(*wire.StateInit); si.State != key {
			t.Fatalf("STATE_INIT of %s, want %s", si.State, key)
		}
	}
}
