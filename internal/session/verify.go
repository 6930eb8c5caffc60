package session

import (
	"fmt"

	"github.com/sodp-go/client/internal/delta"
	"github.com/sodp-go/client/internal/wire"
)

// Frames of a key that the session cannot take as they come. Each is
// reported on Events where it is a fault of the server, and the key's copy
// is verified with a fresh WATCH (resync): its subscribers are given the
// server's answer, never a value the frame alone would have made.

// waiting reports whether a WATCH or RESUME of the key went out on this
// connection and its STATE_INIT may still come: only such a STATE_INIT
// is the server's answer.
func (ks *keyState) waiting() bool { return ks.phase == kpWatching || ks.phase == kpResuming }

// unsolicitedInit handles a STATE_INIT of a key that no WATCH or RESUME
// waits for. It is not taken as the truth: below the version held it would
// take the copy backwards, at that version with another value it would be
// a second value of one version. The same value at the same version is a
// repeated answer and changes nothing; anything else is reported and the
// key verified. The frame's stream is bound to the key only if no other
// key holds it.
func (s *Session) unsolicitedInit(f wire.Frame, ks *keyState, b *wire.StateInit) {
	if f.Stream >= wire.FirstSubscriptionStream {
		s.streams.bindFree(ks, f.Stream)
	}
	if ks.have && ks.src == s.peer.source && ks.version == b.Version && ks.initialized == b.Initialized && delta.Equal(ks.value, b.Value) {
		s.log.Debug("sodp: STATE_INIT repeats the copy held", "key", ks.key, "version", b.Version)
		return
	}
	err := fmt.Errorf("%w: key %s: STATE_INIT at version %d answers no WATCH or RESUME (the copy is at version %d)",
		ErrDesync, ks.key, b.Version, ks.version)
	s.reportErr(err, "key", ks.key)
	s.resync(ks, err)
}

// unvalued handles a DELTA from the Go server with ADD or UPDATE ops that
// have no value: that server leaves out 0, false and "" as it leaves out
// nil, so which value was meant cannot be known. The DELTA is not applied;
// the key is read again with a fresh WATCH, whose STATE_INIT holds the real
// values. It reports whether it did so. Elsewhere an op without a value
// means nil.
func (s *Session) unvalued(ks *keyState, b *wire.Delta) bool {
	if len(b.NoValue) == 0 || s.peer.info.Dialect != DialectGo {
		return false
	}
	s.log.Debug("sodp: DELTA ops without a value (0, false, \"\" or nil); reading the key again",
		"key", ks.key, "version", b.Version, "ops", len(b.NoValue))
	ks.have = false
	s.rewatch(ks)
	return true
}
