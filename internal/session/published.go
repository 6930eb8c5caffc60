package session

import (
	"context"
	"sync"
	"sync/atomic"
)

// published is what the actor publishes for any goroutine to read: the
// connection state and its change notices, the terminal error, the error
// of the last connection attempt, the error counts and gauges of Stats,
// what is known of the server and the latest connection. The actor
// writes it; anyone reads it under mu, but for failErr, which the actor
// alone also reads without it, and server and conn, which are atomic.
type published struct {
	server atomic.Pointer[ServerInfo] // the server of the connection that went live last; nil before
	conn   atomic.Pointer[conn]       // the latest connection, for Stats.OutboundQueue

	mu      sync.Mutex
	state   ConnState
	failErr error          // the terminal error, once state is StateFailed
	lastErr error          // why the last connection attempt or connection failed
	notify  chan struct{}  // set closes and replaces it on every state change → Ready waiters
	byCode  map[int]uint64 // ERROR frames per code (see OtherErrorCode)
	gauges  gauges
}

func newPublished() published {
	return published{state: StateConnecting, notify: make(chan struct{}), byCode: make(map[int]uint64)}
}

// set publishes state st (and, for StateFailed, its error); it reports
// false when nothing changed: the same state with no error.
func (p *published) set(st ConnState, err error) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == st && err == nil {
		return false
	}
	p.state = st
	if st == StateFailed {
		p.failErr = err
	}
	close(p.notify)
	p.notify = make(chan struct{})
	return true
}

// current returns the state, a channel closed at the next change and the
// terminal error.
func (p *published) current() (ConnState, <-chan struct{}, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state, p.notify, p.failErr
}

// stateNow returns the state.
func (p *published) stateNow() ConnState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}

// stateAndLast returns the state and the error of the last connection
// attempt or connection, read together.
func (p *published) stateAndLast() (ConnState, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state, p.lastErr
}

// last returns the error of the last connection attempt or connection;
// nil before any failed.
func (p *published) last() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastErr
}

// setLast records why a connection attempt or connection failed; nil
// changes nothing.
func (p *published) setLast(err error) {
	if err == nil {
		return
	}
	p.mu.Lock()
	p.lastErr = err
	p.mu.Unlock()
}

// count counts an ERROR frame of code (already folded into
// OtherErrorCode where it must be).
func (p *published) count(code int) {
	p.mu.Lock()
	p.byCode[code]++
	p.mu.Unlock()
}

// setGauges publishes the actor's gauges.
func (p *published) setGauges(g gauges) {
	p.mu.Lock()
	p.gauges = g
	p.mu.Unlock()
}

// fill copies the error counts and gauges into st.
func (p *published) fill(st *Stats) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, v := range p.byCode {
		st.ErrorsByCode[k] = v
	}
	st.Subscriptions, st.WatchedKeys, st.PendingCalls, st.PresenceEntries = p.gauges.subs, p.gauges.keys, p.gauges.calls, p.gauges.presence
}

// State returns the connection state.
func (s *Session) State() ConnState { return s.pub.stateNow() }

// Ready waits until the session is live. It returns the terminal error if
// the session failed, ErrClosed after Close, or ctx's error.
func (s *Session) Ready(ctx context.Context) error {
	for {
		st, ch, err := s.pub.current()
		switch st {
		case StateLive:
			return nil
		case StateFailed:
			return err
		case StateClosed:
			return ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			if last := s.pub.last(); last != nil {
				// Say why the session is not live (an untrusted
				// certificate, a refused connection…), not only that the
				// wait ended.
				return &withCause{msg: ctx.Err().Error() + " (last connection attempt: " + Detail(last) + ")", primary: ctx.Err(), cause: last}
			}
			return ctx.Err()
		}
	}
}
