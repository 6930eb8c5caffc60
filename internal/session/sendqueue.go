package session

import "github.com/sodp-go/client/internal/delta"

// The send queue. WATCH and RESUME requests wait in s.reqQueue until flow
// control (requests.go) lets them out; pumpRequests sends them in order.
// A key waits in at most one queued request (keyState.queued): a key
// queued again leaves its older request, and a key no one watches any
// more leaves its request at once, so a request whose keys all went is
// dropped without waiting for its turn, whatever waits before it.

// subRequest is a WATCH (of one or more keys) or a RESUME not sent yet.
type subRequest struct {
	keys    []string
	resume  bool
	waiting int // keys whose queued names this request
	qi      int // index in Session.reqQueue
}

func (r *subRequest) fifoIndex() *int { return &r.qi }

// enqueue queues a WATCH of keys (a RESUME of keys[0] when resume is
// set); the keys leave any request they were queued in.
func (s *Session) enqueue(keys []string, resume bool) {
	r := &subRequest{keys: keys, resume: resume}
	for _, key := range keys {
		ks := s.keys[key]
		s.unqueue(ks)
		ks.phase, ks.queued = kpQueued, r
		r.waiting++
	}
	s.reqQueue.push(r)
}

// unqueue takes ks out of the request it waits in to be sent; a request
// left with no key is dropped.
func (s *Session) unqueue(ks *keyState) {
	r := ks.queued
	if r == nil {
		return
	}
	ks.queued = nil
	if r.waiting--; r.waiting == 0 {
		s.reqQueue.remove(r)
	}
}

// pumpRequests sends queued WATCH and RESUME requests while the window
// allows; once the queue is empty it sends the replay barrier if a RESUME
// asked for one.
func (s *Session) pumpRequests() {
	for s.ph == phLive && s.conn != nil {
		r, ok := s.reqQueue.front()
		if !ok {
			break
		}
		keys := r.keys[:0:0]
		for _, k := range r.keys {
			if ks := s.keys[k]; ks != nil && ks.queued == r && ks.phase == kpQueued {
				keys = append(keys, k)
			}
		}
		resume := r.resume && !s.round.watchOnly
		cost := len(keys)
		if resume && len(keys) > 0 {
			cost = s.win.resumeCharge(s.round.cautious())
		}
		if len(keys) > 0 && s.win.full(len(keys), cost) {
			// The window is full. A server that may end a replay without a
			// STATE_INIT gets a barrier now, so the replays in flight end.
			if s.round.n > 0 && !s.bar.out() && s.needsBarrier() {
				s.sendBarrier()
			}
			break
		}
		if len(keys) > 0 && !s.paced() {
			break
		}
		s.reqQueue.pop()
		for _, k := range r.keys {
			if ks := s.keys[k]; ks != nil && ks.queued == r {
				ks.queued = nil
			}
		}
		switch {
		case len(keys) == 0:
		case resume:
			s.sendResume(s.keys[keys[0]], cost)
		default:
			s.sendWatch(s.mergeWatches(keys))
		}
	}
	if s.reqQueue.len() == 0 {
		if s.bar.queued && s.ph == phLive && !s.bar.out() {
			s.bar.queued = false
			s.sendBarrier()
		}
		s.checkRoundDone()
	}
}

// mergeWatches adds to keys, about to go out in one WATCH, the keys of
// the WATCH requests queued right behind with the same params, as the
// window and the chunk size allow, when the server limits the frames it
// takes per second: a multi-key WATCH counts as one frame there, so keys
// watched one by one do not wait for a frame each.
func (s *Session) mergeWatches(keys []string) []string {
	if s.pace.rate == 0 {
		return keys
	}
	params := s.keys[keys[0]].params
	for {
		r, ok := s.reqQueue.front()
		if !ok || r.resume {
			return keys
		}
		var more []string
		for _, k := range r.keys {
			if ks := s.keys[k]; ks != nil && ks.queued == r && ks.phase == kpQueued {
				if !delta.Equal(ks.params, params) {
					return keys
				}
				more = append(more, k)
			}
		}
		n := len(keys) + len(more)
		if !s.win.takesWatch(n) {
			return keys
		}
		s.reqQueue.pop()
		for _, k := range r.keys {
			if ks := s.keys[k]; ks != nil && ks.queued == r {
				ks.queued = nil
			}
		}
		keys = append(keys[:len(keys):len(keys)], more...)
	}
}

// unwatchFirst reports whether a key asked for again (a lost answer, a
// copy re-synchronised) is unwatched before its new WATCH. A server that
// keeps one subscription per key (the specification's rule, and the
// TypeScript server) answers a WATCH of a key it watches already with a
// fresh STATE_INIT, so the key is not unwatched there: its UNWATCH is by
// key and takes effect at once, and an answer to the earlier request that
// arrives after it (held up on the way, or overtaken by refusals) would
// make the key look watched again while the server, which may refuse the
// new WATCH, watches it no more. The Go and Rust servers make a second
// subscription of a key watched twice, each DELTA then coming twice: the
// key is unwatched first there.
func (s *Session) unwatchFirst(ks *keyState) bool {
	d := s.peer.info.Dialect
	return ks.onServer() && d != DialectSpec && d != DialectTS
}
