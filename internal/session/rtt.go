package session

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Round-trip time. Every WebSocket ping the writer sends (the heartbeat
// tick's, and Ping's) carries the time it was written; a peer answers a
// ping with a pong carrying the same data (RFC 6455 requires it, and every
// known server does, the TypeScript one included, although it sends no
// pings of its own and never echoes a HEARTBEAT), so each pong gives one
// measured round trip without any state kept per ping. A HEARTBEAT echo is
// not used: it cannot be told apart from a HEARTBEAT the server sends on
// its own, and one server never echoes.

// rttBase is the monotonic origin of the times pings carry.
var rttBase = time.Now()

// rttTag starts the data of the client's pings; a pong without it, or of
// the wrong length, is not one of ours and is not measured.
const rttTag = "sodp-rtt"

// rttProbe keeps the last round trip and the Ping calls waiting for one.
// It is shared by the writer (payload), the reader's pong handler (pong)
// and Ping's callers; its zero value is ready.
type rttProbe struct {
	last    atomic.Int64 // nanoseconds of the last round trip; 0: none yet
	mu      sync.Mutex
	waiters map[chan time.Duration]int64 // → the earliest ping time it takes
}

// payload returns the data of a ping written now.
func (r *rttProbe) payload() []byte {
	b := make([]byte, 0, len(rttTag)+8)
	b = append(b, rttTag...)
	return binary.BigEndian.AppendUint64(b, uint64(time.Since(rttBase)))
}

// pong measures the round trip of one of the client's pings, from data.
func (r *rttProbe) pong(data string) {
	if len(data) != len(rttTag)+8 || data[:len(rttTag)] != rttTag {
		return
	}
	sent := int64(binary.BigEndian.Uint64([]byte(data[len(rttTag):])))
	now := int64(time.Since(rttBase))
	if sent < 0 || sent > now {
		return // not a time this process wrote
	}
	d := max(time.Duration(now-sent), 1)
	r.last.Store(int64(d))
	r.mu.Lock()
	for ch, since := range r.waiters {
		if sent >= since {
			ch <- d
			delete(r.waiters, ch)
		}
	}
	r.mu.Unlock()
}

// Last returns the last measured round trip, 0 before the first.
func (r *rttProbe) Last() time.Duration { return time.Duration(r.last.Load()) }

// wait registers for the first round trip of a ping written from now on;
// cancel unregisters.
func (r *rttProbe) wait() (ch chan time.Duration, cancel func()) {
	ch = make(chan time.Duration, 1)
	r.mu.Lock()
	if r.waiters == nil {
		r.waiters = make(map[chan time.Duration]int64)
	}
	r.waiters[ch] = int64(time.Since(rttBase))
	r.mu.Unlock()
	return ch, func() {
		r.mu.Lock()
		delete(r.waiters, ch)
		r.mu.Unlock()
	}
}

// Ping measures one round trip to the server: it waits until the session
// is live, sends a WebSocket ping and waits for its pong. Without a
// deadline in ctx the call timeout applies. A connection lost meanwhile
// takes its ping with it: Ping then sends another on the next connection.
func (s *Session) Ping(ctx context.Context) (time.Duration, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.CallTimeout)
		defer cancel()
	}
	ch, cancel := s.rtt.wait()
	defer cancel()
	for {
		if err := s.Ready(ctx); err != nil {
			return 0, ctxPrefixed("ping", ctx, err)
		}
		changed := s.stateChanged()
		sent := make(chan struct{})
		if !s.post(func() {
			if s.conn != nil && s.ph == phLive {
				s.conn.send(outFrame{ping: true})
			}
			close(sent)
		}) {
			return 0, ErrClosed
		}
		select {
		case <-sent:
		case <-s.done:
			return 0, ErrClosed
		}
		select {
		case d := <-ch:
			return d, nil
		case <-changed:
			// Lost or failed: ask again once live.
		case <-ctx.Done():
			return 0, ctxPrefixed("ping", ctx, ctx.Err())
		case <-s.done:
			return 0, ErrClosed
		}
	}
}

// stateChanged returns a channel closed at the next state change.
func (s *Session) stateChanged() <-chan struct{} {
	_, ch, _ := s.pub.current()
	return ch
}

// ctxPrefixed gives a context error the "sodp: what: " prefix; other
// errors are returned as they are.
func ctxPrefixed(what string, ctx context.Context, err error) error {
	if ctx.Err() != nil && err == ctx.Err() {
		return fmt.Errorf("sodp: %s: %w", what, err)
	}
	if ctx.Err() != nil {
		return Wrap(err, what)
	}
	return err
}
