package session

import (
	"context"
	"fmt"
	"time"

	"github.com/sodp-go/client/internal/delta"
	"github.com/sodp-go/client/internal/wire"
)

// ValidKey checks a state key against the protocol's key syntax.
func ValidKey(key string) error {
	if len(key) > 0 && len(key) <= 1024 && wire.ValidKeySyntax(key) {
		return nil
	}
	if len(key) > 1024 {
		return fmt.Errorf("%w: key too long (%d bytes, at most 1024): %q…", ErrInvalidKey, len(key), key[:32])
	}
	return fmt.Errorf("%w %q: keys are 1 to 1024 characters: dot-separated words of letters, digits and _ (like game.player)", ErrInvalidKey, key)
}

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

// Receiver takes the updates of a Subscriber.
type Receiver interface {
	// Deliver hands one update to the subscription's reader (converting
	// it to the reader's type on the way). It runs on the subscription's
	// pump goroutine, never on the actor, one call at a time. It returns
	// true once the update was taken or ended is closed (the mailbox
	// ended: the update is dropped), and false when done is closed first
	// (the session stopped; the pump then ends the mailbox with
	// ErrClosed).
	Deliver(d Delivery, ended, done <-chan struct{}) bool
	// Finish is called exactly once, when the subscription has ended and
	// no pump runs, with the error it ended with.
	Finish(err error)
}

// Subscriber is one local subscription of one or more keys. It is used by
// its address once given to Subscribe.
type Subscriber struct {
	Keys     []string
	Receiver Receiver
	// Mailbox is made ready by Subscribe; the subscription's owner may
	// call its Live and Fail.
	Mailbox Mailbox
	// Part, when set, makes the subscriber one of a part of its (single)
	// key's value.
	Part    *Part
	sess    *Session
	refused int32 // keys the server refused or ended as too large
	removed bool
	copies  *OwnCopies // the subscriber's own copies, used by its pump; nil unless it keeps them (see KeepOwnCopy)
}

// Part is the part of a key's value at Path, decoded pointer segments
// (none: the whole value), that a Subscriber watches: it is given that part
// alone, and only when it differs from what it was last given.
type Part struct {
	Path    []string
	last    any  // what the subscriber was last given
	lastHas bool // whether it was given a part that exists
}

// KeepOwnCopy, called before Subscribe, makes the subscriber one that keeps
// its own copy of each key's value (see OwnCopies): it is queued the ops
// of each delta instead of the value, and its pump applies them to its
// copy before the Receiver is given the update, which then holds the copy
// as Value and InPlace. shared tells that the Receiver keeps the values it
// is given (or parts of them) as they are: the copy is then never changed
// in place, each delta copying what it changes, and InPlace stays unset.
// Subscribe ignores it for a conflating subscriber and for a subscriber of
// a part.
func (sub *Subscriber) KeepOwnCopy(shared bool) { sub.copies = &OwnCopies{Shared: shared} }

// OwnsCopy reports whether the subscriber keeps its own copy: it asked to
// (KeepOwnCopy) and Subscribe took it as one that can. It does not change
// once Subscribe has returned, and holds before the first delivery.
func (sub *Subscriber) OwnsCopy() bool { return sub.copies != nil }

// startPump and finished make sub the hooks of its mailbox.
func (sub *Subscriber) startPump()         { sub.sess.startPump(sub) }
func (sub *Subscriber) finished(err error) { sub.sess.subEnded(sub, err); sub.Receiver.Finish(err) }

// Subscribe makes sub's mailbox and registers sub with the actor, running
// start, unless nil, on the actor just before, so start runs before the
// actor queues anything in sub.Mailbox. Keys must be valid (see ValidKey);
// Receiver must be set. buffer sizes the mailbox: 0 conflates, n > 0
// buffers n updates (see Mailbox). params are the WATCH params of the keys
// no other subscription watches yet.
func (s *Session) Subscribe(ctx context.Context, sub *Subscriber, params map[string]any, buffer int, start func()) error {
	sub.sess = s
	if buffer <= 0 || sub.Part != nil {
		// A conflating mailbox would replace ops it has not delivered.
		sub.copies = nil
	}
	sub.Mailbox.init(buffer, &s.stats.conflated, sub)
	var err error
	derr := s.do(ctx, func() {
		switch s.ph {
		case phClosed:
			err = ErrClosed
			return
		case phFailed:
			err = s.pub.failErr
			return
		}
		refuse, lerr := s.overWatchLimit(sub.Keys)
		if lerr != nil {
			err = lerr
			return
		}
		if start != nil {
			start()
		}
		s.addSub(sub, params, refuse)
		s.obs.subOpened(sub, buffer)
	})
	if derr != nil {
		return derr
	}
	return err
}

// Unsubscribe removes sub; when it was the last subscriber of a key the
// key is unwatched. It does not wait.
func (s *Session) Unsubscribe(sub *Subscriber, err error) {
	s.post(func() { s.removeSub(sub, err, true) })
}

// overWatchLimit checks keys against the limit on watched keys the server
// announced in HELLO ("max_watches"): keys past it are refused at once
// instead of being sent, and a subscription none of whose keys fits fails.
func (s *Session) overWatchLimit(keys []string) (map[string]error, error) {
	info := s.server.Load()
	if info == nil {
		return nil, nil
	}
	limit, ok := capInt(info.Capabilities, "max_watches")
	if !ok || limit <= 0 {
		return nil, nil
	}
	room := int(limit) - len(s.keys)
	var fresh []string
	for _, k := range keys {
		if s.keys[k] == nil {
			fresh = append(fresh, k)
		}
	}
	if len(fresh) <= room {
		return nil, nil
	}
	err := fmt.Errorf("%w: the server allows %d watched keys (max_watches), and this watch would bring this client to %d", ErrRateLimited, limit, len(s.keys)+len(fresh))
	if room <= 0 || len(keys) == 1 {
		return nil, err
	}
	refuse := make(map[string]error, len(fresh)-room)
	for _, k := range fresh[room:] {
		refuse[k] = fmt.Errorf("%w (key %s)", err, k)
	}
	return refuse, nil
}

// addSub registers sub, with params for the keys it is the first to
// watch; keys in refuse are refused at once (KindRefused).
func (s *Session) addSub(sub *Subscriber, params map[string]any, refuse map[string]error) {
	s.nSubs++
	s.addKeys(sub, sub.Keys, params, refuse)
}

// addKeys adds sub to the subscribers of keys, as addSub describes.
func (s *Session) addKeys(sub *Subscriber, keys []string, params map[string]any, refuse map[string]error) {
	var fresh []string
	for _, key := range keys {
		if err := refuse[key]; err != nil {
			sub.refused++
			sub.Mailbox.Push(Delivery{Key: key, Kind: KindRefused, Err: err})
			continue
		}
		ks := s.keys[key]
		if ks == nil {
			ks = &keyState{key: key, params: params}
			s.keys[key] = ks
			fresh = append(fresh, key)
		}
		ks.subs.add(sub)
		if ks.have {
			ks.subs.given(sub)
			if sub.Part != nil {
				s.firstPart(ks, sub, KindCached)
				continue
			}
			ks.freeze(ks.value)
			s.deliver(sub, Delivery{Key: key, Value: ks.value, Version: ks.version, Initialized: ks.initialized, Kind: KindCached})
		}
	}
	if s.ph == phLive && len(fresh) > 0 {
		s.watch(fresh)
	}
	s.publishGauges()
}

// deliver queues d for sub. A subscription whose mailbox stops taking
// updates (a buffered one that fell behind) is released once the current
// message is handled: its keys are unwatched when no one else watches them.
func (s *Session) deliver(sub *Subscriber, d Delivery) {
	if !sub.Mailbox.Push(d) && !sub.removed {
		s.ending = append(s.ending, sub)
	}
}

// releaseEnding detaches the subscriptions deliver found ending.
func (s *Session) releaseEnding() {
	for i, sub := range s.ending {
		s.ending[i] = nil
		s.detachSub(sub, true)
	}
	s.ending = s.ending[:0]
}

// removeSub drops sub, ending its mailbox with err at once, and unwatches
// keys no one watches any more.
func (s *Session) removeSub(sub *Subscriber, err error, unwatch bool) {
	if sub.removed {
		return
	}
	sub.Mailbox.Fail(err)
	s.detachSub(sub, unwatch)
}

// removeAllSubs removes every subscription, as removeSub without
// unwatching. Every subscription is found among the subscribers of its
// keys: one is added with one key at least, and detached when it has none
// left.
func (s *Session) removeAllSubs(err error) {
	for _, ks := range s.keys {
		for sub := range ks.subs.all() {
			s.removeSub(sub, err, false)
		}
	}
}

// detachSub takes sub out of the watch table without ending its mailbox;
// keys no one watches any more are dropped (and unwatched when asked).
func (s *Session) detachSub(sub *Subscriber, unwatch bool) {
	if sub.removed {
		return
	}
	sub.removed = true
	s.nSubs--
	var gone []string
	for _, key := range sub.Keys {
		ks := s.keys[key]
		if ks == nil {
			continue
		}
		ks.subs.remove(sub)
		if ks.subs.len() == 0 {
			s.dropKey(ks, notWatched(key, sub.Mailbox.Reason(), s.ph == phClosed))
			if ks.onServer() {
				gone = append(gone, key)
			}
		}
	}
	if unwatch {
		s.sendUnwatch(gone)
	}
	s.publishGauges()
}

// sendUnwatch tells a live server to stop sending keys (one UNWATCH, by
// key, on the control stream).
func (s *Session) sendUnwatch(keys []string) {
	switch {
	case s.ph != phLive || len(keys) == 0:
	case len(keys) == 1:
		s.send(wire.TypeUnwatch, wire.ControlStream, &wire.Unwatch{State: keys[0]})
	default:
		s.send(wire.TypeUnwatch, wire.ControlStream, &wire.Unwatch{States: keys})
	}
}

// onServer reports whether a WATCH or RESUME of the key went out on the
// current connection, so the server holds a subscription for it.
func (ks *keyState) onServer() bool { return ks.phase != kpIdle && ks.phase != kpQueued }

// dropKey forgets a key: no subscriber is left, or the server refused it.
func (s *Session) dropKey(ks *keyState, err error) {
	delete(s.keys, ks.key)
	s.unqueue(ks)
	s.streams.unbind(ks)
	s.endReplay(ks)
	if x := ks.extra; x != nil {
		for _, w := range x.waiters {
			w.ch <- err
		}
		x.waiters = nil
		ks.tidy()
	}
}

func (s *Session) allocStream(ks *keyState) uint32 {
	if s.nextStream < wire.FirstSubscriptionStream {
		s.nextStream = wire.FirstSubscriptionStream
	}
	id := s.nextStream
	s.nextStream++
	s.streams.bind(ks, id)
	return id
}

// watch queues WATCH requests for keys (multi-key WATCHes of up to
// maxWatchChunk keys); pumpRequests sends them as flow control allows.
func (s *Session) watch(keys []string) {
	for len(keys) > 0 {
		n := min(len(keys), s.win.watchChunk())
		chunk := keys[:n:n]
		keys = keys[n:]
		s.enqueue(chunk, false)
	}
	s.pumpRequests()
}

// resume queues a RESUME for a key that holds a version.
func (s *Session) resume(ks *keyState) {
	s.enqueue([]string{ks.key}, true)
	s.pumpRequests()
}

// sendWatch sends one WATCH frame for keys.
func (s *Session) sendWatch(keys []string) {
	req := &request{kind: reqWatch, multi: len(keys) > 1}
	s.newRequest(req)
	var first uint32
	for i, key := range keys {
		ks := s.keys[key]
		id := s.allocStream(ks)
		if i == 0 {
			first = id
		}
		ks.phase = kpWatching
		s.win.sent(&ks.charge, 1)
		ks.reqSeq, ks.got = req.seq, 0
		req.keys = append(req.keys, key)
		req.streams = append(req.streams, id)
	}
	s.win.keys += len(keys)
	params := s.keys[keys[0]].params
	if len(keys) == 1 {
		s.send(wire.TypeWatch, first, &wire.Watch{State: keys[0], Params: params})
	} else {
		s.send(wire.TypeWatch, first, &wire.Watch{States: keys, Params: params})
	}
}

// sendResume sends one RESUME frame, charged cost frames.
func (s *Session) sendResume(ks *keyState, cost int) {
	id := s.allocStream(ks)
	ks.phase = kpResuming
	req := &request{kind: reqResume, keys: []string{ks.key}, streams: []uint32{id}}
	s.newRequest(req)
	s.win.sent(&ks.charge, cost)
	ks.reqSeq, ks.got, ks.replay = req.seq, 0, true
	ks.framesAt = s.stats.framesIn.Load()
	s.round.add(ks)
	s.win.keys++
	s.stats.resumes.Add(1)
	s.send(wire.TypeResume, id, &wire.Resume{State: ks.key, SinceVersion: ks.version, Params: ks.params})
}

// resync throws away a key's local copy and asks for a fresh one. The
// first time it asks at once; when the key keeps failing (a value the
// client cannot decode, deltas that never apply) it waits between
// attempts as between reconnections, doubling from the minimum back-off
// to the maximum.
func (s *Session) resync(ks *keyState, why error) {
	ks.have = false
	if s.ph != phLive {
		return
	}
	// Every caller has reported why (one Warn line with the error); this
	// line only follows the mechanism.
	s.log.Debug("sodp: re-synchronising key", "key", ks.key, "reason", why)
	if s.unwatchFirst(ks) {
		s.sendUnwatch([]string{ks.key})
	}
	s.streams.unbind(ks)
	if d := s.resyncDelay(ks, time.Now()); d > 0 {
		ks.phase = kpIdle
		s.retryLater(ks, d)
		return
	}
	s.watch([]string{ks.key})
}

// resyncDelay counts a re-synchronisation of ks and returns how long to
// wait before watching it again. A key that went a long quiet while since
// its last one starts afresh.
func (s *Session) resyncDelay(ks *keyState, now time.Time) time.Duration {
	x := ks.more()
	if now.Sub(x.lastResync) > 2*s.cfg.BackoffMax {
		x.resyncs = 0
	}
	x.resyncs++
	x.lastResync = now
	if x.resyncs == 1 {
		return 0
	}
	return s.retryDelay(x.resyncs - 1)
}

// retryLater watches ks again after d (see retryKeys).
func (s *Session) retryLater(ks *keyState, d time.Duration) {
	x := ks.more()
	x.retryAt = time.Now().Add(d)
	s.retry.set(x.retryAt, d)
}

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
	cross := ks.src != s.source
	changed := !ks.seeded || ks.initialized != b.Initialized || !delta.Equal(ks.value, b.Value) ||
		!cross && ks.version != b.Version
	ks.have, ks.seeded, ks.value, ks.version, ks.initialized = true, true, b.Value, b.Version, b.Initialized
	ks.own = nil
	ks.src, ks.floor, ks.lastOps = s.source, b.Version, nil
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
		s.answer(key)
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
	ks.lastOps, ks.src = ops, s.source
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
	case s.server0.Dialect == DialectTS && !ks.initialized && ks.version > 0:
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

// WaitVersion waits until the local copy of key is at version v or later.
// The key must be watched by a subscription.
func (s *Session) WaitVersion(ctx context.Context, key string, v uint64) error {
	ch := make(chan error, 1)
	err := s.do(ctx, func() {
		ks := s.keys[key]
		if ks == nil {
			ch <- fmt.Errorf("%w (WaitVersion on %s)", ErrNotCached, key)
			return
		}
		if ks.have && ks.version >= v {
			ch <- nil
			return
		}
		x := ks.more()
		x.waiters = append(x.waiters, versionWaiter{version: v, ch: ch})
	})
	if err != nil {
		return err
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return ErrClosed
	}
}

func (s *Session) wake(ks *keyState) {
	x := ks.extra
	if x == nil || len(x.waiters) == 0 {
		return
	}
	kept := x.waiters[:0]
	for _, w := range x.waiters {
		if ks.version >= w.version {
			w.ch <- nil
		} else {
			kept = append(kept, w)
		}
	}
	clear(x.waiters[len(kept):])
	x.waiters = kept
	if len(kept) == 0 {
		x.waiters = nil
		ks.tidy()
	}
}

// keyRefused ends what depends on a key the server would not let us watch.
func (s *Session) keyRefused(key string, se *ServerError) {
	ks := s.keys[key]
	if ks == nil {
		return
	}
	s.endReplay(ks)
	if se.Code == 429 || se.Code >= 500 || se.Code == 0 {
		// A passing refusal (rate or watch limit, a server error): watch
		// again after the client's back-off, doubled per refusal.
		ks.phase = kpIdle
		x := ks.more()
		x.retries++
		d := s.retryDelay(x.retries)
		s.retryLater(ks, d)
		s.reportErr(fmt.Errorf("%w; watching %s again in %s (refusal %d in a row)", se, key, d.Round(time.Millisecond), x.retries), "key", key)
		return
	}
	ks.phase = kpIdle // the server holds no subscription to unwatch
	for sub := range ks.subs.all() {
		sub.refused++
		if int(sub.refused) == len(sub.Keys) {
			// Every key of the subscription was refused: it ends once the
			// reader has taken the refusals already queued.
			sub.Mailbox.EndAfterDrain(se)
			s.detachSub(sub, true)
			continue
		}
		s.deliver(sub, Delivery{Key: key, Kind: KindRefused, Err: se})
		ks.subs.remove(sub)
	}
	if s.keys[key] == ks {
		s.dropKey(ks, se)
	}
	s.publishGauges()
}

// retryKeys re-watches keys whose watch was refused for a passing reason
// or whose re-synchronisation was put off, and sets the retry timer for
// the next one.
func (s *Session) retryKeys(now time.Time) {
	s.retry.fired()
	if s.ph != phLive {
		return
	}
	var next time.Time
	var due []string
	for key, ks := range s.keys {
		x := ks.extra
		if ks.phase != kpIdle || x == nil || x.retryAt.IsZero() {
			continue
		}
		if now.Before(x.retryAt) {
			if next.IsZero() || x.retryAt.Before(next) {
				next = x.retryAt
			}
			continue
		}
		x.retryAt = time.Time{}
		due = append(due, key)
	}
	if !next.IsZero() {
		s.retry.set(next, next.Sub(now))
	}
	for _, key := range due {
		s.watch([]string{key})
	}
}
