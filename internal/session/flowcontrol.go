package session

// Flow control. A client may watch many thousands of keys or issue many
// calls at once, and every server bounds what it queues per connection:
// the spec and Rust servers evict a connection with 1,024 frames queued,
// the Go server silently drops frames past its send buffer (256 by
// default, announced as "backpressure" in HELLO), answers included. So
// requests wait in the actor and go out as earlier ones are answered, and
// the frames the server may still have to send for requests in flight —
// one STATE_INIT per watched key, a RESUME's replay — stay within half of
// the server's queue.
//
// A RESUME's replay length is not known before it is sent (up to one frame
// per missed version, 1,000 by default, plus a STATE_INIT), so each is
// charged an estimate: the first RESUME after a reconnect goes alone, and
// the estimate follows the replays seen since (rising at once, halving per
// short replay), so short replays soon go out many at a time while long
// ones go one by one. A replay that turns out longer than charged is
// charged what arrived.
const (
	maxKeysInFlight  = 256  // keys of WATCH/RESUME requests waiting for their first answer
	maxWatchChunk    = 64   // keys in one multi-key WATCH frame
	maxCallsInFlight = 256  // calls waiting for their RESULT
	specQueue        = 1024 // frames a spec or Rust server queues per connection before evicting
	goQueue          = 256  // the Go server's default send buffer
)

// window is the flow-control window of one connection: the frames the
// server may still owe for the WATCH and RESUME requests in flight, each
// key charged what its request may bring. It is the actor's; reset sizes
// it for a new connection, drop empties it when the connection is lost.
type window struct {
	qcap      int // the server's per-connection queue, in frames
	budget    int // frames the server may owe for requests in flight
	charge    int // frames charged to requests in flight
	resumeEst int // frames the next RESUME is expected to bring
	keys      int // keys of sent WATCH/RESUME requests not answered yet
}

// reset sizes the window for a server of dialect d that announced caps in
// its HELLO, with nothing in flight.
func (w *window) reset(d Dialect, caps map[string]any) {
	q := specQueue
	if d == DialectGo {
		q = goQueue
		if n, ok := capInt(caps, "backpressure"); ok && n > 0 {
			q = int(min(n, specQueue))
		}
	}
	*w = window{qcap: q, budget: max(q/2, 1)}
	w.resumeEst = w.budget
}

// drop forgets what was in flight: the connection it was owed on is gone.
func (w *window) drop() { w.charge, w.keys = 0, 0 }

// keyLimit is how many keys may wait for a first answer at once.
func (w *window) keyLimit() int { return max(min(maxKeysInFlight, w.budget), 1) }

// watchChunk is the largest multi-key WATCH.
func (w *window) watchChunk() int { return max(min(maxWatchChunk, w.budget), 1) }

// callLimit is how many calls may wait for their RESULT at once.
func (w *window) callLimit() int { return max(min(maxCallsInFlight, w.budget), 1) }

// resumeCharge is what the next RESUME is charged; cautious after a
// connection was lost during its resume: one replay at a time.
func (w *window) resumeCharge(cautious bool) int {
	if cautious {
		return w.budget
	}
	return max(w.resumeEst, 2)
}

// full reports whether a request for keys keys charged cost frames must
// wait: something is in flight and it would overflow the keys or the
// frames the server may owe. A request alone in flight always goes.
func (w *window) full(keys, cost int) bool {
	return (w.keys > 0 || w.charge > 0) && (w.keys+keys > w.keyLimit() || w.charge+cost > w.budget)
}

// takesWatch reports whether a WATCH of n keys may go out too, besides
// what is in flight (a merged WATCH is never the first in flight).
func (w *window) takesWatch(n int) bool {
	return n <= w.watchChunk() && w.keys+n <= w.keyLimit() && w.charge+n <= w.budget
}

// sent charges a key's new request cost frames; c is the key's charge,
// whose earlier value is refunded first.
func (w *window) sent(c *int, cost int) {
	w.refund(c)
	*c = cost
	w.charge += cost
}

// refund returns a key's charge c to the window.
func (w *window) refund(c *int) {
	w.charge = max(w.charge-*c, 0)
	*c = 0
}

// replayed charges a key whose replay has brought got frames so far
// what it will at least cost, got+1 (its end is still to come), where
// that is more than it was charged.
func (w *window) replayed(c *int, got int) {
	if need := got + 1; need > *c {
		w.charge += need - *c
		*c = need
	}
}

// replayEnded takes a finished replay of n frames into the estimate for
// the next RESUME: up to it at once, else halving towards it.
func (w *window) replayEnded(n int) { w.resumeEst = max(n, w.resumeEst/2, 2) }

// dropsSuspected reports whether n frames received during one replay
// fill the send buffer of a server that drops frames past it.
func (w *window) dropsSuspected(n uint64) bool { return n >= uint64(w.qcap) }
