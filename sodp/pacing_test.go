package sodp_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// The TypeScript server announces how many WATCH/RESUME frames it takes
// per second on a connection (rate_limit_watches) and refuses the excess
// with 429s that overtake the answers of the requests it accepted. Sixteen
// keys watched one by one at its rate of 10: the client spaces its frames
// so that none is refused, and every key gets its value.
func TestWatchesPacedToAnnouncedRate(t *testing.T) {
	srv := newServer(t, sodptest.WithDialect(sodp.DialectTS), sodptest.WithRateLimit(0, 10))
	c := dial(t, srv.URL, sodp.WithCallTimeout(time.Minute))
	subs := make([]*sodp.Subscription[any], 16)
	for i := range subs {
		key := fmt.Sprintf("b%d", i)
		srv.Set(key, key)
		subs[i] = watch[any](t, c, key)
	}
	for i, sub := range subs {
		if u := next(t, sub); u.Value != fmt.Sprintf("b%d", i) {
			t.Fatalf("b%d: %+v", i, u)
		}
	}
	if n := srv.Stats().RateLimited; n != 0 {
		t.Errorf("the server refused %d WATCH frames over its announced rate", n)
	}
}
