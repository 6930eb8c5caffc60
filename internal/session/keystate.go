package session

import (
	"time"

	"github.com/sodp-go/client/internal/delta"
)

// A watched key: its phase on the current connection, its cached copy,
// its subscribers, and what only some keys need (keyExtra).

// keyPhase is where a watched key stands on the current connection.
type keyPhase uint8

const (
	kpIdle     keyPhase = iota // not requested on this connection
	kpQueued                   // WATCH or RESUME waiting to be sent (flow control)
	kpWatching                 // WATCH sent, waiting for STATE_INIT
	kpResuming                 // RESUME sent, replay may be under way
	kpLive                     // STATE_INIT received (or replay finished)
)

// keyState is one watched key: the cached copy and its local subscribers.
type keyState struct {
	key         string
	subs        subSet // and whether each has had a first value
	params      map[string]any
	value       any
	version     uint64
	have        bool // value holds a copy that can be trusted
	seeded      bool // value, version and initialized hold what subscribers were last given
	initialized bool
	phase       keyPhase
	stream      uint32
	// src names the server the version came from (endpoint and server
	// identity): versions of other servers are not comparable.
	src string
	// floor is the version of the last STATE_INIT: DELTAs at or below it
	// are already part of the value.
	floor uint64
	// lastOps are the ops of the last DELTA applied, to tell a doubled
	// DELTA from a different change under the same version.
	lastOps []delta.Op
	// extra holds what only a key that is waited on or keeps failing
	// needs; nil when none of it is in use.
	extra *keyExtra
	// own lets deltas change value in place where no part of it has been
	// handed out; every hand-out goes through freeze first. It is made by
	// the first delta applied since the value came (nil owns nothing), so
	// a key that never changes does not keep one.
	own *delta.Owner

	// The current WATCH or RESUME on this connection (requests.go).
	queued   *subRequest // the request it waits in to be sent (kpQueued), or nil
	reqSeq   uint64      // its request number
	charge   int         // frames charged to the window for it
	got      int         // replay frames received
	framesAt uint64      // frames received on the session when it was sent
	replay   bool        // a RESUME whose replay may not be over
}

// keyExtra is the part of a keyState that few keys need at a time.
type keyExtra struct {
	retryAt    time.Time
	retries    int // consecutive refusals for a passing reason (429, 5xx)
	waiters    []versionWaiter
	resyncs    int       // re-synchronisations since a delta last applied
	lastResync time.Time // when the last one started
	hold       replayHold
}

// freeze makes v, about to be handed out, unchangeable by later deltas
// (see delta.Owner.Freeze).
func (ks *keyState) freeze(v any) {
	if ks.own != nil {
		ks.own.Freeze(v)
	}
}

// more returns ks.extra, made if need be.
func (ks *keyState) more() *keyExtra {
	if ks.extra == nil {
		ks.extra = new(keyExtra)
	}
	return ks.extra
}

// tidy drops ks.extra once none of it is in use.
func (ks *keyState) tidy() {
	if x := ks.extra; x != nil && x.retryAt.IsZero() && x.retries == 0 && len(x.waiters) == 0 && x.resyncs == 0 && x.hold.empty() {
		ks.extra = nil
	}
}

// noRetry forgets a passing refusal or a put-off re-synchronisation: the
// key is being watched again.
func (ks *keyState) noRetry() {
	if x := ks.extra; x != nil {
		x.retryAt, x.retries = time.Time{}, 0
		ks.tidy()
	}
}

type versionWaiter struct {
	version uint64
	ch      chan error
}

// onServer reports whether a WATCH or RESUME of the key went out on the
// current connection, so the server holds a subscription for it.
func (ks *keyState) onServer() bool { return ks.phase != kpIdle && ks.phase != kpQueued }
