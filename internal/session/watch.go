package session

import (
	"context"
	"fmt"

	"github.com/sodp-go/client/internal/wire"
)

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
	ownCopy bool // see KeepOwnCopy
	shared  bool // the Receiver keeps the values it is given (see KeepOwnCopy)
	// copies are the subscriber's own copies, made by its pump on the
	// first update and used by its pumps alone (one runs at a time).
	copies *OwnCopies
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
func (sub *Subscriber) KeepOwnCopy(shared bool) { sub.ownCopy, sub.shared = true, shared }

// OwnsCopy reports whether the subscriber keeps its own copy: it asked to
// (KeepOwnCopy) and Subscribe took it as one that can. It does not change
// once Subscribe has returned, and holds before the first delivery.
func (sub *Subscriber) OwnsCopy() bool { return sub.ownCopy }

// startPump and finished are what sub's mailbox calls (see Mailbox).
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
		sub.ownCopy = false
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
	info := s.pub.server.Load()
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
	s.roster.added()
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
		s.roster.end(sub)
	}
}

// releaseEnding detaches the subscriptions deliver found ending.
func (s *Session) releaseEnding() { s.roster.release(s.detachEnding) }

// detachEnding detaches sub, found ending, and unwatches its keys no one
// else watches.
func (s *Session) detachEnding(sub *Subscriber) { s.detachSub(sub, true) }

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
	s.roster.detached()
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
		id := s.streams.alloc(ks)
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
	id := s.streams.alloc(ks)
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
