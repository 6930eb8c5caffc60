package session

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sodp-go/client/internal/wire"
)

// The request FIFO. Every WATCH, RESUME and CALL sent on a connection is
// a request, kept in send order in s.reqs.list until its first answer;
// servers answer one connection's requests in order, so answering one ends
// every older one still waiting (popRequest). An ERROR frame is attributed
// (onError) to the request that suggested its stream id, else to the
// oldest request whose key the message names, else to the oldest request
// of all; one that matches no request is a session error. A WATCH or
// RESUME with no answer within the call timeout is lost (onWake,
// lostRequest).

// reqKind is what a request asked for.
type reqKind uint8

const (
	reqWatch reqKind = iota + 1
	reqResume
	reqCall
)

func (k reqKind) String() string {
	switch k {
	case reqWatch:
		return "WATCH"
	case reqResume:
		return "RESUME"
	}
	return "CALL"
}

// request is a WATCH, RESUME or CALL still waiting for its first answer.
// The FIFO of requests attributes ERROR frames (servers answer requests in
// order).
type request struct {
	kind    reqKind
	keys    []string // keys still waiting (WATCH, RESUME)
	streams []uint32 // stream ids suggested for keys, in the same order
	multi   bool
	call    *pendingCall
	seq     uint64    // requests are numbered in the order sent
	sentAt  time.Time // when it was sent
}

// popRequest removes request i and every older one: servers answer in
// order, so an older request still waiting lost its answer, and every
// replay of an older RESUME is over.
func (s *Session) popRequest(i int) {
	r := s.reqs.list[i]
	if r.kind != reqCall {
		s.win.keys -= len(r.keys)
	}
	s.loseBefore(i, true)
	s.completeBefore(r.seq)
}

// loseBefore takes the requests older than i out of the FIFO, as having
// lost their answers, and request i too when done is set.
func (s *Session) loseBefore(i int, done bool) {
	lost := slices.Clone(s.reqs.list[:i])
	from := i
	if done {
		from++
	}
	for _, r := range s.reqs.list[:from] {
		if r.kind == reqCall && r.call.finished && s.calls.abandoned > 0 {
			s.calls.abandoned--
		}
	}
	s.reqs.cut(from)
	for _, lr := range lost {
		s.lostRequest(lr, "a later request was answered first")
	}
}

// answer records the first answer (STATE_INIT, or a replayed DELTA) for a
// key's oldest waiting WATCH or RESUME.
func (s *Session) answer(key string) {
	for i, r := range s.reqs.list {
		if r.kind != reqCall && slices.Contains(r.keys, key) {
			s.answerAt(i, key)
			return
		}
	}
}

// answerAt removes key from request i; a request with no key left is done.
// Requests older than i lost their answers.
func (s *Session) answerAt(i int, key string) {
	r := s.reqs.list[i]
	if s.answeredAfter(r.seq); s.reqs.list[i] != r {
		i = slices.Index(s.reqs.list, r)
	}
	if j := slices.Index(r.keys, key); j >= 0 {
		r.keys = slices.Delete(r.keys, j, j+1)
		r.streams = slices.Delete(r.streams, j, j+1)
		s.win.keys--
		if ks := s.keys[key]; ks != nil && r.kind == reqWatch && ks.reqSeq == r.seq {
			s.win.refund(&ks.charge)
		}
	}
	if len(r.keys) == 0 {
		s.popRequest(i)
		return
	}
	if i > 0 {
		s.loseBefore(i, false)
	}
	s.completeBefore(r.seq)
}

// onError attributes an ERROR frame, which carries a code and a message but
// no call id (servers send it on the control stream or on the stream of
// the request it answers): a stream id naming a
// waiting subscription request, else a key named in the message, else the
// oldest waiting request; with nothing waiting it is a session error.
func (s *Session) onError(f wire.Frame, b *wire.Error) {
	se := &ServerError{Code: b.Code, Message: b.Message}
	s.countError(se.Code)
	idx, key := -1, ""
	if f.Stream >= wire.FirstSubscriptionStream {
		for i, r := range s.reqs.list {
			for j, id := range r.streams {
				if id == f.Stream {
					idx, key, se.Attribution = i, r.keys[j], AttrStream
					break
				}
			}
			if idx >= 0 {
				break
			}
		}
	}
	if idx < 0 {
		// The oldest request naming the key, calls included: a CALL and a
		// WATCH of one key may both be waiting, and the older is answered
		// first.
		for i, r := range s.reqs.list {
			keys := r.keys
			if r.kind == reqCall && r.call.key != "" {
				keys = []string{r.call.key}
			}
			if k, ok := keyInMessage(b.Message, keys); ok {
				idx, key, se.Attribution = i, k, AttrKey
				break
			}
		}
	}
	if idx < 0 && s.holdRefusal(se) {
		return
	}
	if idx < 0 && len(s.reqs.list) > 0 {
		idx, se.Attribution = 0, AttrOrder
		if r := s.reqs.list[0]; len(r.keys) > 0 {
			key = r.keys[0]
		}
	}
	if idx < 0 {
		if f.Stream >= wire.FirstSubscriptionStream {
			se.Key = s.streams.key(f.Stream)
		}
		s.sessionError(se)
		return
	}
	r := s.reqs.list[idx]
	if r.kind == reqCall {
		s.popRequest(idx)
		pc := r.call
		delete(s.calls.sent, pc.id)
		s.publishGauges()
		se.Method, se.Key = pc.method, pc.key
		if pc.finished {
			s.reportErr(se)
		} else {
			pc.finish(nil, se)
		}
		if se.Code == 401 {
			s.unauthorizedErr(se)
		}
		return
	}
	se.Key = key
	rest := make([]string, 0, len(r.keys))
	for _, k := range r.keys {
		if k != key {
			rest = append(rest, k)
		}
	}
	if r.multi && s.peer.info.Dialect == DialectGo && len(rest) > 0 {
		// That server drops the rest of a multi-key WATCH after a refused
		// key: ask for the others again.
		s.popRequest(idx)
		for _, k := range rest {
			if s.keys[k] != nil {
				s.watch([]string{k})
			}
		}
	} else {
		s.answerAt(idx, key)
	}
	if se.Code == 401 {
		s.unauthorizedErr(se)
		return
	}
	s.keyRefused(key, se)
}

func (s *Session) countError(code int) {
	s.stats.errors.Add(1)
	s.pub.count(BoundedCode(code))
}

// sessionError handles an ERROR that belongs to no waiting request.
func (s *Session) sessionError(se *ServerError) {
	if se.Code == 401 {
		// Logged once, by what it leads to (the failed session or the
		// dropped connection); still an event of its own.
		s.emit(Event{Time: time.Now(), State: s.State(), Err: se}, false)
		s.unauthorizedErr(se)
		return
	}
	s.reportErr(se)
}

// unauthorizedErr handles a 401: the connection is finished. With a token
// provider the client dials again for a fresh token, once; otherwise, or
// on a second 401 in a row, the session fails.
func (s *Session) unauthorizedErr(se *ServerError) {
	if s.redial.refusedAgain(s.cfg.TokenProvider != nil) {
		s.dropConn(fmt.Errorf("%w: %w", ErrConnectionLost, se))
		return
	}
	s.fail(se)
}

const (
	// Calls whose caller gave up keep a placeholder in the request FIFO so
	// that a late answer is not matched to a later request; at most this
	// many.
	maxAbandonedCalls = 256
)

// capInt reads a numeric HELLO capability.
func capInt(caps map[string]any, name string) (int64, bool) {
	switch v := caps[name].(type) {
	case int64:
		return v, true
	case uint64:
		if v > 1<<62 {
			return 1 << 62, true
		}
		return int64(v), true
	case int:
		return int64(v), true
	case float64:
		if v >= 0 && v < 1<<62 {
			return int64(v), true
		}
	}
	return 0, false
}

// newRequest numbers a request and puts it in the FIFO of requests
// waiting for an answer.
func (s *Session) newRequest(r *request) {
	s.reqs.add(r, time.Now())
	if r.kind != reqCall {
		s.armWake(r.sentAt.Add(s.cfg.CallTimeout))
	}
}

// replayFrame counts a frame of a key's replay.
func (s *Session) replayFrame(ks *keyState) {
	ks.got++
	s.bar.activity = true
	if ks.replay {
		s.win.replayed(&ks.charge, ks.got)
	}
	s.completeBefore(ks.reqSeq)
	s.checkReplayDrops(ks)
}

// replayDone ends a key's replay: the server has sent all of it, as its
// STATE_INIT, a later request's answer or the barrier shows.
func (s *Session) replayDone(ks *keyState, init bool) {
	if !ks.replay {
		return
	}
	n := ks.got
	if init {
		n++
	}
	s.flushReplay(ks)
	s.endReplay(ks)
	s.win.replayEnded(n)
	if ks.phase == kpResuming {
		ks.phase = kpLive
	}
	s.checkReplayDrops(ks)
}

// endReplay takes ks out of the replays in progress, if it was in them,
// and returns its charge to the window.
func (s *Session) endReplay(ks *keyState) {
	if ks.replay {
		ks.replay = false
		s.round.ended()
	}
	s.dropHeld(ks)
	s.win.refund(&ks.charge)
}

// checkReplayDrops suspects dropped frames when as many frames arrived
// during the replay of ks as the Go server's send buffer holds: that
// server drops frames silently once its buffer is full.
func (s *Session) checkReplayDrops(ks *keyState) {
	if n := s.stats.framesIn.Load() - ks.framesAt; s.peer.info.Dialect == DialectGo && s.win.dropsSuspected(n) {
		s.suspectDrops(fmt.Errorf("%d frames arrived during the replay of %s, as many as the server's send buffer holds", n, ks.key))
	}
}

// completeBefore ends the replays of requests older than seq: servers
// answer requests in order, so an answer to a later request means they
// have been sent in full.
func (s *Session) completeBefore(seq uint64) {
	for {
		ks, ok := s.round.front()
		if !ok || ks.replay && ks.reqSeq >= seq {
			break
		}
		s.round.pop()
		if ks.replay {
			s.replayDone(ks, false)
		}
	}
}

// loseWatches takes the WATCH and RESUME requests among the n oldest out
// of the FIFO, as having lost their answers for the reason why; calls
// stay, to be matched by their ids.
func (s *Session) loseWatches(n int, why string) {
	lost := s.reqs.removeWhere(func(i int, r *request) bool { return i < n && r.kind != reqCall })
	for _, r := range lost {
		s.lostRequest(r, why)
	}
}

// lostRequest handles a WATCH or RESUME whose answer never came: the keys
// still waiting are watched again (a fresh STATE_INIT, compared with the
// local copy).
func (s *Session) lostRequest(r *request, why string) {
	if r.kind == reqCall {
		s.log.Debug("sodp: a call's answer was skipped by the server", "method", r.call.method)
		return
	}
	s.win.keys -= len(r.keys)
	var again []*keyState
	for _, key := range r.keys {
		ks := s.keys[key]
		if ks == nil || ks.reqSeq != r.seq {
			continue
		}
		if ks.phase == kpWatching || ks.phase == kpResuming && ks.got == 0 {
			again = append(again, ks)
		}
	}
	if len(again) == 0 {
		return
	}
	s.log.Info("sodp: a WATCH or RESUME got no answer; watching again", "keys", len(again), "reason", why)
	if s.peer.info.Dialect == DialectGo {
		s.suspectDrops(fmt.Errorf("%w: a %s got no answer (%s)", ErrProtocol, r.kind, why))
	}
	var still []*keyState
	for _, ks := range again {
		if ks.phase == kpWatching || ks.phase == kpResuming {
			still = append(still, ks)
		}
	}
	s.rewatch(still...)
}

// suspectDrops reacts to a sign that the Go server dropped frames: every
// key's copy is verified with a fresh WATCH (a changed value is delivered
// as KindResync), and the rest of the resume uses WATCH instead of RESUME.
func (s *Session) suspectDrops(why error) {
	if s.ph != phLive {
		return
	}
	s.round.watchOnly = true
	s.log.Info("sodp: the server may have dropped frames; verifying every key", "err", why)
	// The barrier's echo may be among the dropped frames; every replay
	// ends here anyway.
	s.bar.cancel()
	s.hb.giveUp()
	var keys []*keyState
	for _, ks := range s.keys {
		if ks.phase == kpLive || ks.phase == kpResuming {
			keys = append(keys, ks)
		}
	}
	s.rewatch(keys...)
}

// rewatch asks for a fresh STATE_INIT of keys, keeping their local copies
// so that only a changed value is delivered (as KindResync).
func (s *Session) rewatch(keys ...*keyState) {
	var gone, names []string
	for _, ks := range keys {
		s.endReplay(ks)
		if s.unwatchFirst(ks) {
			gone = append(gone, ks.key)
		}
		s.streams.unbind(ks)
		names = append(names, ks.key)
	}
	for len(gone) > 0 {
		n := min(len(gone), maxWatchChunk)
		s.sendUnwatch(gone[:n])
		gone = gone[n:]
	}
	s.watch(names)
}

// checkRoundDone notes the end of a reconnect's resume: nothing queued,
// no replay under way, no barrier out.
func (s *Session) checkRoundDone() {
	if !s.round.active || s.reqQueue.len() > 0 || s.round.n > 0 || s.bar.pending() {
		return
	}
	for _, r := range s.reqs.list {
		if r.kind != reqCall {
			return
		}
	}
	if s.round.finished() {
		s.obs.resumeEnd(s, nil)
	}
}

// armWake makes the actor wake at t (or earlier) for request deadlines.
func (s *Session) armWake(t time.Time) {
	s.deadlines.set(t, max(time.Until(t), time.Millisecond))
}

// onWake checks request and barrier deadlines, then arms the timer for
// the next one.
func (s *Session) onWake(now time.Time) {
	s.deadlines.fired()
	timeout := s.cfg.CallTimeout
	if s.ph == phLive && s.conn != nil {
		last := -1
		for i, r := range s.reqs.list {
			if r.kind != reqCall && now.Sub(r.sentAt) >= timeout {
				last = i
			}
		}
		if last >= 0 {
			s.loseWatches(last+1, fmt.Sprintf("no answer within %s", timeout))
		}
		if d := s.bar.deadline(timeout); !d.IsZero() && !now.Before(d) {
			if s.peer.info.Dialect == DialectGo {
				s.suspectDrops(fmt.Errorf("%w: the replay barrier did not come back within %s", ErrProtocol, timeout))
			}
			s.hb.giveUp()
			s.endBarrier()
		}
	}
	s.pumpRequests()
	var next time.Time
	for _, r := range s.reqs.list {
		if r.kind != reqCall {
			next = r.sentAt.Add(timeout)
			break
		}
	}
	if d := s.bar.deadline(timeout); !d.IsZero() && (next.IsZero() || d.Before(next)) {
		next = d
	}
	if !next.IsZero() {
		s.armWake(next)
	}
	s.checkRefusals(now)
}

// keyInMessage finds which of keys an error message names.
func keyInMessage(msg string, keys []string) (string, bool) {
	for _, k := range keys {
		i := strings.Index(msg, k)
		if i < 0 {
			continue
		}
		end := i + len(k)
		before := i == 0 || !isKeyChar(msg[i-1]) && msg[i-1] != '.'
		after := end == len(msg) || !isKeyChar(msg[end]) && !(msg[end] == '.' && end+1 < len(msg) && isKeyChar(msg[end+1]))
		if before && after {
			return k, true
		}
	}
	return "", false
}

func isKeyChar(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
