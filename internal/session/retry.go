package session

import (
	"fmt"
	"time"
)

// A key's retries: a refused WATCH or RESUME, or a copy to be
// re-synchronised, is watched again after a back-off; one timer (retry)
// serves every key waiting.

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
	s.endKey(ks, se)
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
