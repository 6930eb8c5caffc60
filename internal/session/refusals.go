package session

import (
	"fmt"
	"strings"
	"time"
)

// Refusals that name no request. A server over its rate or watch limit
// may answer a WATCH or RESUME with an ERROR 429 that names neither a
// stream nor a key (the TypeScript server sends it on stream 0), and may
// send it before the answers of requests sent earlier (that server
// refuses the excess of a burst at once and answers the requests it
// accepted afterwards). Order then says nothing about which request was
// refused, and blaming the oldest one would retry a key the server
// watches and leave a refused one waiting for the call timeout. Such a
// refusal is held instead: once a later request has been answered, or
// refusalSettle has passed (the answers of the accepted requests have had
// the time to arrive), every WATCH and RESUME sent before the refusal and
// still without an answer is taken as refused, and its keys are watched
// again after the back-off, each reported on Events.

// refusalSettle is how long after an unattributed refusal the requests
// sent before it are given to be answered.
const refusalSettle = 250 * time.Millisecond

// refusals are the 429s held because they named no request. They are the
// actor's; the zero refusals holds none.
type refusals struct {
	held []*ServerError
	upTo uint64    // they concern the requests up to this number
	at   time.Time // when they are settled; zero while none is held
}

// hold holds se, which concerns the requests up to upTo; it reports the
// time they are settled when se is the first held (the actor must wake
// then), zero otherwise.
func (r *refusals) hold(se *ServerError, upTo uint64, now time.Time) (settle time.Time) {
	r.upTo = upTo
	r.held = append(r.held, se)
	if !r.at.IsZero() {
		return time.Time{}
	}
	r.at = now.Add(refusalSettle)
	return r.at
}

// answered reports whether the answer of request seq settles the held
// refusals: it was sent after them.
func (r *refusals) answered(seq uint64) bool { return len(r.held) > 0 && seq > r.upTo }

// take empties the held refusals, returning them and the last request
// they concern.
func (r *refusals) take() (held []*ServerError, upTo uint64) {
	held, upTo = r.held, r.upTo
	*r = refusals{}
	return held, upTo
}

// holdRefusal holds a 429 that named no waiting request, unless it is
// better matched by order: no WATCH or RESUME waits, or the oldest request
// is a call and the message does not speak of watches. It reports whether
// it held it. When as many refusals are held as WATCH/RESUME requests
// wait, and no call does, every one of them was refused: they are settled
// at once.
func (s *Session) holdRefusal(se *ServerError) bool {
	if se.Code != 429 || len(s.reqs.list) == 0 {
		return false
	}
	if s.reqs.list[0].kind == reqCall && !strings.Contains(strings.ToLower(se.Message), "watch") {
		return false
	}
	waiting, calls := 0, 0
	for _, r := range s.reqs.list {
		if r.kind != reqCall {
			waiting++
		} else {
			calls++
		}
	}
	if waiting == 0 {
		return false
	}
	settle := s.refused.hold(se, s.reqs.seq, time.Now())
	if len(s.refused.held) >= waiting && calls == 0 {
		s.settleRefusals()
		return true
	}
	if !settle.IsZero() {
		s.armWake(settle)
	}
	return true
}

// checkRefusals settles the held refusals when their time has come, or
// makes the actor wake for it.
func (s *Session) checkRefusals(now time.Time) {
	if len(s.refused.held) == 0 {
		return
	}
	if now.Before(s.refused.at) {
		s.armWake(s.refused.at)
		return
	}
	s.settleRefusals()
}

// answeredAfter notes the answer of request seq: an answer to a request
// sent after a held refusal means the requests sent before it have had
// theirs.
func (s *Session) answeredAfter(seq uint64) {
	if s.refused.answered(seq) {
		s.settleRefusals()
	}
}

// settleRefusals takes the WATCH and RESUME requests sent before the held
// refusals and still unanswered as refused: their keys are watched again
// after the back-off (keyRefused, which reports each on Events). Held
// refusals that concerned none of them are reported as they came.
func (s *Session) settleRefusals() {
	held, upTo := s.refused.take()
	refused := s.reqs.removeWhere(func(_ int, r *request) bool { return r.kind != reqCall && r.seq <= upTo })
	n := 0
	for _, r := range refused {
		s.win.keys -= len(r.keys)
		for _, key := range r.keys {
			ks := s.keys[key]
			if ks == nil || ks.reqSeq != r.seq || !(ks.phase == kpWatching || ks.phase == kpResuming && ks.got == 0) {
				continue
			}
			se := *held[min(n, len(held)-1)]
			se.Key, se.Attribution = key, AttrOrder
			n++
			s.streams.unbind(ks)
			s.keyRefused(key, &se)
		}
	}
	for _, se := range held[min(n, len(held)):] {
		s.reportErr(fmt.Errorf("%w (it named no request, and every request it may have concerned was answered)", se))
	}
	s.checkRoundDone()
}
