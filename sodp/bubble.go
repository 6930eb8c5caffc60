package sodp

import (
	"fmt"
	"time"

	"github.com/sodp-go/client/internal/session"
)

// A testing/synctest bubble runs on a fake clock that starts at midnight
// UTC 2000-01-01 and advances only when every goroutine of the bubble is
// blocked on another one. A client in a bubble that dials a real socket
// waits on the network, which the bubble does not count as blocked: the
// clock stops, every timeout with it, and the test hangs until -timeout.
// So such a client fails at once instead, saying what to use.

// A bubble's clock reads the year 2000 for a year of fake time; a real
// clock never does (one that was never set reads 1970). A client with a
// dial function of its own (WithNetDialContext) is never refused.
var (
	bubbleEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	bubbleEnd   = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
)

// checkBubble refuses a client that would dial a real socket from a
// synctest bubble: no dial function of its own reaches its server.
func checkBubble(o *options) error {
	if now := time.Now(); now.Before(bubbleEpoch) || !now.Before(bubbleEnd) {
		return nil
	}
	if o.cfg.NetDialContext != nil {
		return nil
	}
	for _, e := range o.cfg.Endpoints {
		if _, err := session.NormalizeURL(e); err != nil {
			return nil // reported as such, by New
		}
	}
	return fmt.Errorf("%w: the clock reads %s, so the client runs in a testing/synctest bubble, where a real socket would stop the clock and hang the test: start the server with sodptest.WithInMemory and connect with its Dial method (or sodp.WithNetDialContext(srv.DialContext))",
		ErrInvalidOption, time.Now().UTC().Format("2006-01-02"))
}
