package session

import (
	"fmt"

	"github.com/sodp-go/client/internal/delta"
	"github.com/sodp-go/client/internal/wire"
)

// Replayed DELTAs are held until their replay is over (its STATE_INIT, a
// later request's answer or the barrier's echo shows it), then applied and
// delivered in order as KindReplayed. The Go server subscribes a resuming
// client to live changes before it queues the replay, so a live DELTA can
// arrive inside the replay, ahead of older versions still to come; applied
// at once it would make a value the server never held (its change on a
// base missing those versions). Held, it shows itself as early when an
// older version follows it: the held DELTAs are dropped, the event
// reported, and the key re-read (resync), as a late DELTA does on the live
// path.

// Bounds on what one key's replay holds. A replay longer than a server's
// log (1,000 DELTAs per key by default) is not one a known server sends;
// past either bound the key is read afresh instead.
const (
	maxHeldDeltas = 1024
	maxHeldBytes  = 8 << 20 // wire bytes of the DELTAs held
)

// heldDelta is a replayed DELTA not applied yet.
type heldDelta struct {
	version uint64
	ops     []delta.Op
	limit   int // the containers it may create (newContainersFor its size)
}

// replayHold is what a key's replay holds, in version order.
type replayHold struct {
	deltas []heldDelta
	bytes  int
}

func (h *replayHold) empty() bool { return len(h.deltas) == 0 }

// placement is what becomes of a replayed DELTA.
type placement uint8

const (
	placeSkip  placement = iota // already in the copy, or a repeat of the last one held
	placeHold                   // newer than every version held: held
	placeEarly                  // older than one held: that one came early
	placeFull                   // newer, but the hold is full
)

// place decides about a replayed DELTA to version, with ops and size wire
// bytes, on a copy at version base (the version the RESUME asked from).
func (h *replayHold) place(base, version uint64, ops []delta.Op, size int) placement {
	top, last := base, []delta.Op(nil)
	if n := len(h.deltas); n > 0 {
		top, last = h.deltas[n-1].version, h.deltas[n-1].ops
	}
	switch {
	case version <= base:
		return placeSkip
	case version > top:
		if len(h.deltas) >= maxHeldDeltas || h.bytes+size > maxHeldBytes {
			return placeFull
		}
		return placeHold
	case version == top && sameOps(ops, last):
		// A doubled DELTA (a server with two subscriptions for the key).
		return placeSkip
	}
	return placeEarly
}

// add holds d, of size wire bytes.
func (h *replayHold) add(d heldDelta, size int) {
	h.deltas = append(h.deltas, d)
	h.bytes += size
}

// take empties the hold and returns what it held.
func (h *replayHold) take() []heldDelta {
	d := h.deltas
	*h = replayHold{}
	return d
}

// holdReplayed takes a DELTA of a key whose replay is under way.
func (s *Session) holdReplayed(ks *keyState, b *wire.Delta) {
	x := ks.more()
	switch x.hold.place(ks.version, b.Version, b.Ops, s.inSize) {
	case placeSkip:
		ks.tidy()
	case placeHold:
		if s.unvalued(ks, b) {
			return
		}
		x.hold.add(heldDelta{version: b.Version, ops: b.Ops, limit: newContainersFor(s.inSize)}, s.inSize)
	case placeEarly:
		top := x.hold.deltas[len(x.hold.deltas)-1].version
		s.dropHeld(ks)
		err := fmt.Errorf("%w: key %s: replayed DELTA to version %d arrived after version %d (a change that overtook the replay)",
			ErrDesync, ks.key, b.Version, top)
		s.reportErr(err, "key", ks.key)
		s.resync(ks, err)
	case placeFull:
		s.dropHeld(ks)
		s.log.Info("sodp: replay too long to hold; reading the key afresh", "key", ks.key, "held", maxHeldDeltas)
		ks.have = false
		s.rewatch(ks)
	}
}

// flushReplay applies and delivers, in order, the DELTAs held for a key
// whose replay is over. One that does not apply re-synchronises the key,
// and the rest are dropped.
func (s *Session) flushReplay(ks *keyState) {
	x := ks.extra
	if x == nil || x.hold.empty() {
		return
	}
	held := x.hold.take()
	ks.tidy()
	for _, d := range held {
		if !ks.have {
			break
		}
		s.applyDelta(ks, d.version, d.ops, d.limit, KindReplayed)
	}
}

// dropHeld forgets the DELTAs held for a key's replay.
func (s *Session) dropHeld(ks *keyState) {
	if x := ks.extra; x != nil && !x.hold.empty() {
		x.hold.take()
		ks.tidy()
	}
}
