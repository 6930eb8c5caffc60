package session

import (
	"fmt"
	"math"

	"github.com/sodp-go/client/internal/delta"
	"github.com/sodp-go/client/internal/wire"
)

// STATE_INIT and DELTA: a key's frames applied to its cached copy, and
// the updates they make handed to the key's subscribers of the whole
// value (part subscriptions: path.go).

// keyFor names the key a STATE_INIT or DELTA belongs to: the body's own
// key, else the key of the stream.
func (s *Session) keyFor(named string, stream uint32) string {
	if named != "" {
		return named
	}
	return s.streams.key(stream)
}

func (s *Session) onStateInit(f wire.Frame, b *wire.StateInit) {
	key := s.keyFor(b.State, f.Stream)
	if key == "" {
		s.reportErr(fmt.Errorf("%w: STATE_INIT on stream %d names no key", ErrProtocol, f.Stream))
		return
	}
	ks := s.keys[key]
	if ks == nil {
		// Nothing is kept of a key no one watches.
		s.answer(key)
		return
	}
	if !ks.waiting() {
		s.unsolicitedInit(f, ks, b)
		return
	}
	s.answer(key)
	if f.Stream >= wire.FirstSubscriptionStream {
		// The answer's stream is the server's choice (see streams.go).
		s.streams.bind(ks, f.Stream)
	}
	s.bar.replayFrame(ks.reqSeq)
	s.completeBefore(ks.reqSeq)
	s.replayDone(ks, true)
	// A STATE_INIT is authoritative. What subscribers were last given is
	// compared with it: an equal value at the same version delivers nothing
	// (a resync that found the copy right, a resume with nothing missed);
	// after a move to another server, whose versions are not comparable,
	// only a different value is delivered.
	cross := ks.src != s.peer.source
	changed := !ks.seeded || ks.initialized != b.Initialized || !delta.Equal(ks.value, b.Value) ||
		!cross && ks.version != b.Version
	ks.have, ks.seeded, ks.value, ks.version, ks.initialized = true, true, b.Value, b.Version, b.Initialized
	ks.own = nil
	ks.src, ks.floor, ks.lastOps = s.peer.source, b.Version, nil
	ks.phase = kpLive
	ks.noRetry()
	counted := false
	for sub, got := range ks.subs.all() {
		if changed && got && !counted {
			// A resync replaces a value subscribers were given; a key's
			// first value is a snapshot.
			s.stats.resyncs.Add(1)
			counted = true
		}
		switch {
		case sub.Part != nil && !got:
			ks.subs.given(sub)
			s.firstPart(ks, sub, KindSnapshot)
		case sub.Part != nil:
			// What the subscriber has is compared with its part of the
			// fresh value.
			s.resyncPart(ks, sub)
		case !got:
			ks.subs.given(sub)
			s.deliver(sub, Delivery{Key: key, Value: b.Value, Version: b.Version, Initialized: b.Initialized, Kind: KindSnapshot})
		case changed:
			s.deliver(sub, Delivery{Key: key, Value: b.Value, Version: b.Version, Initialized: b.Initialized, Kind: KindResync})
		}
	}
	s.countSnapshot(changed && !counted)
	s.wake(ks)
}

func (s *Session) onDelta(f wire.Frame, b *wire.Delta) {
	key := s.keyFor(b.State, f.Stream)
	ks := s.keys[key]
	if ks == nil {
		if key == "" {
			s.reportErr(fmt.Errorf("%w: DELTA on stream %d names no key", ErrProtocol, f.Stream))
		}
		return
	}
	switch ks.phase {
	case kpResuming:
		if ks.got == 0 {
			// The replay's first frame answers the RESUME; the request
			// is gone from the FIFO after it, so later frames need no
			// search of it.
			s.answer(key)
		}
		s.replayFrame(ks)
		if ks.phase == kpResuming && ks.have {
			s.holdReplayed(ks, b)
		}
		return
	case kpWatching, kpIdle, kpQueued:
		// The fresh value comes with the STATE_INIT; earlier deltas are
		// already in it.
		return
	}
	if !ks.have {
		return
	}
	if b.Version <= ks.version && !s.stale(ks, b) {
		return
	}
	if s.unvalued(ks, b) {
		return
	}
	s.applyDelta(ks, b.Version, b.Ops, newContainersFor(s.inSize), KindDelta)
}

// applyDelta applies ops, the change to version, to the key's copy and
// delivers it as kind; ops that do not apply make the key re-synchronise.
// limit bounds the containers the ops may create (newContainersFor).
func (s *Session) applyDelta(ks *keyState, version uint64, ops []delta.Op, limit int, kind Kind) {
	if ks.own == nil {
		ks.own = new(delta.Owner)
	}
	inPlace := ks.own.Owned() > 0
	v, initialized, err := ks.own.ApplyState(ks.value, ks.initialized, ops, limit)
	if err != nil {
		if inPlace {
			// The ops before the failing one may have changed the copy
			// where no one was given it: it no longer holds what the
			// subscribers were last given, so the fresh value reaches
			// them whatever it is.
			ks.seeded = false
		}
		ks.own = nil
		s.stats.applyErrors.Add(1)
		err = fmt.Errorf("%w: key %s: delta to version %d does not apply: %w", ErrDesync, ks.key, version, err)
		s.reportErr(err, "key", ks.key)
		s.resync(ks, err)
		return
	}
	ks.value, ks.version, ks.initialized = v, version, initialized
	ks.lastOps, ks.src = ops, s.peer.source
	if x := ks.extra; x != nil {
		x.resyncs = 0
		ks.tidy()
	}
	if kind == KindReplayed {
		s.stats.replayed.Add(1)
	} else {
		s.stats.deltas.Add(1)
	}
	s.deliverDelta(ks, ops, limit, kind)
	s.wake(ks)
}

// stale decides about a live DELTA at or below the version held; it
// reports whether the DELTA is to be applied all the same.
func (s *Session) stale(ks *keyState, b *wire.Delta) bool {
	switch {
	case s.peer.info.Dialect == DialectTS && !ks.initialized && ks.version > 0:
		// That server restarts a key's versions at 1 after a delete: the
		// first write after it is a change.
		ks.floor = 0
		return true
	case b.Version <= ks.floor:
		// Sent before the STATE_INIT that the value comes from.
		return false
	case b.Version == ks.version && sameOps(b.Ops, ks.lastOps):
		// A doubled DELTA (a server with two subscriptions for the key).
		return false
	}
	// A change older than the value held, or a different change under the
	// same version: applying it would make a value the server never held.
	// The copy is suspect.
	err := fmt.Errorf("%w: key %s: DELTA to version %d arrived with the copy at version %d (out of order, or from another version counter)",
		ErrDesync, ks.key, b.Version, ks.version)
	s.reportErr(err, "key", ks.key)
	s.resync(ks, err)
	return false
}

func sameOps(a, b []delta.Op) bool {
	if len(a) != len(b) || a == nil || b == nil {
		return false
	}
	for i := range a {
		if a[i].Op != b[i].Op || a[i].Path != b[i].Path || !delta.Equal(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

// deliverDelta hands the update of an applied delta to every subscriber of
// ks that has had its first value: the value, or for an own-copy subscriber
// the ops (and limit, the containers they may create), from which its pump
// makes the new value and the Changed list (OwnCopies.resolve). The value
// is frozen only when someone is given it.
func (s *Session) deliverDelta(ks *keyState, ops []delta.Op, limit int, kind Kind) {
	var changed []string
	given, frozen := false, false
	for sub, got := range ks.subs.all() {
		if !got {
			continue
		}
		if sub.Part != nil {
			s.deltaPart(ks, sub, ops, kind)
			continue
		}
		d := Delivery{Key: ks.key, Version: ks.version, Initialized: ks.initialized, Kind: kind}
		if sub.ownCopy {
			d.Ops, d.Limit = ops, int32(min(limit, math.MaxInt32))
			s.deliver(sub, d)
			continue
		}
		switch {
		case changed == nil:
			changed = changedPaths(ops)
			d.Changed = changed
		case given:
			// Each reader gets its own list.
			d.Changed = append([]string(nil), changed...)
		}
		given = true
		if !frozen {
			ks.freeze(ks.value)
			frozen = true
		}
		d.Value = ks.value
		s.deliver(sub, d)
	}
}
