package session

// Flow control. A client may watch many thousands of keys or issue many
// calls at once; sending every request in one burst would overflow the
// server's per-connection queue (servers evict or drop frames past about
// 1,000) and the client's own outbound queue. So requests wait in the
// actor and go out as earlier ones are answered.
const (
	maxKeysInFlight  = 256 // keys of WATCH/RESUME requests waiting for their first answer
	maxWatchChunk    = 64  // keys in one multi-key WATCH frame
	maxCallsInFlight = 256 // calls waiting for their RESULT
	// Calls whose caller gave up keep a placeholder in the request FIFO so
	// that a late answer is not matched to a later request; at most this
	// many.
	maxAbandonedCalls = 256
)

// subRequest is a WATCH (of one or more keys) or a RESUME not sent yet.
type subRequest struct {
	keys   []string
	resume bool
}

// pumpRequests sends queued WATCH and RESUME requests while fewer than
// maxKeysInFlight keys wait for an answer; once the queue is empty it sends
// the replay barrier if a RESUME asked for one.
func (s *Session) pumpRequests() {
	for s.ph == phLive && s.conn != nil && len(s.reqQueue) > 0 && s.keysInFlight < maxKeysInFlight {
		r := s.reqQueue[0]
		s.reqQueue[0] = subRequest{}
		s.reqQueue = s.reqQueue[1:]
		keys := r.keys[:0:0]
		for _, k := range r.keys {
			if ks := s.keys[k]; ks != nil && ks.phase == kpQueued {
				keys = append(keys, k)
			}
		}
		switch {
		case len(keys) == 0:
		case r.resume:
			s.sendResume(s.keys[keys[0]])
		default:
			s.sendWatch(keys)
		}
	}
	if len(s.reqQueue) == 0 {
		s.reqQueue = nil
		if s.barrierQueued && s.ph == phLive {
			s.barrierQueued = false
			s.barrierPending = true
			s.sendHeartbeat()
		}
	}
}

// pumpCalls sends queued calls while fewer than maxCallsInFlight wait for
// their result.
func (s *Session) pumpCalls() {
	for s.ph == phLive && s.conn != nil && len(s.queued) > 0 && len(s.calls) < maxCallsInFlight {
		pc := s.queued[0]
		s.queued[0] = nil
		s.queued = s.queued[1:]
		s.sendCall(pc)
	}
	if len(s.queued) == 0 {
		s.queued = nil
	}
}
