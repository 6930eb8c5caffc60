package session

import (
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/sodp-go/client/internal/wire"
)

// actorForTest is a live session on a connection with no socket: what the
// actor sends stays in the connection's queue.
func actorForTest(t *testing.T, d Dialect) *Session {
	t.Helper()
	s := &Session{keys: map[string]*keyState{}, calls: callTable{sent: map[string]*pendingCall{}},
		presence: map[string]map[string]any{}, pub: newPublished(), log: slog.New(slog.DiscardHandler), evq: newEventQueue(64),
		cfg: Config{CallTimeout: 30 * time.Second, BackoffMin: time.Second, BackoffMax: 30 * time.Second},
		ph:  phLive, conn: &conn{outLimit: 1 << 20, outReady: make(chan struct{}, 1)}}
	s.peer.info.Dialect = d
	s.deadlines, s.retry = newAlarm(), newAlarm()
	t.Cleanup(func() { s.deadlines.stop(); s.retry.stop() })
	s.win.reset(s.peer.info.Dialect, s.peer.info.Capabilities)
	return s
}

// The TypeScript server refuses the excess of a burst of WATCHes at once,
// with 429s on stream 0 that name no key, and answers the WATCHes it
// accepted after them. The keys retried are the refused ones: not the
// oldest, whose answers come after the refusals.
func TestUnattributedRefusalBlamesNoAcceptedKey(t *testing.T) {
	s := actorForTest(t, DialectTS)
	for i := range 6 {
		sub := &Subscriber{Keys: []string{fmt.Sprintf("k%d", i)}}
		sub.Mailbox.init(0, nil, nil)
		s.addSub(sub, nil, nil)
	}
	if len(s.reqs.list) != 6 {
		t.Fatalf("%d requests sent, want 6 WATCH frames", len(s.reqs.list))
	}
	for range 2 {
		s.onError(wire.Frame{Type: wire.TypeError}, &wire.Error{Code: 429, Message: "watch rate limit exceeded"})
	}
	for i := range 4 {
		key := fmt.Sprintf("k%d", i)
		s.onStateInit(wire.Frame{Type: wire.TypeStateInit, Stream: uint32(10 + i)}, &wire.StateInit{State: key, Version: 1, Value: key, Initialized: true})
	}
	s.onWake(time.Now().Add(time.Second)) // the answers had time to arrive
	for i := range 6 {
		ks := s.keys[fmt.Sprintf("k%d", i)]
		retrying := ks.phase == kpIdle && ks.extra != nil && !ks.extra.retryAt.IsZero()
		if want := i >= 4; retrying != want || !want && ks.phase != kpLive {
			t.Errorf("%s: phase %d, retrying %v; want retrying %v", ks.key, ks.phase, retrying, want)
		}
	}
	if len(s.reqs.list) != 0 {
		t.Errorf("%d requests still wait", len(s.reqs.list))
	}
	var blamed []string
	for {
		ev, ok := s.evq.next()
		if !ok {
			break
		}
		var se *ServerError
		if errors.As(ev.Err, &se) && se.Key != "" {
			blamed = append(blamed, se.Key)
		}
	}
	if fmt.Sprint(blamed) != "[k4 k5]" {
		t.Errorf("refusals reported for %v, want [k4 k5]", blamed)
	}
}

// TestRefusalsHold drives the held refusals alone: the first sets the time
// they are settled, a later request's answer settles them, take empties.
func TestRefusalsHold(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var r refusals
	if r.answered(1) {
		t.Fatal("an answer settled refusals none of which is held")
	}
	if at := r.hold(&ServerError{Code: 429}, 3, t0); at != t0.Add(refusalSettle) {
		t.Fatalf("the first refusal is settled at %v, want %v", at, t0.Add(refusalSettle))
	}
	if at := r.hold(&ServerError{Code: 429}, 5, t0.Add(time.Millisecond)); !at.IsZero() || r.at != t0.Add(refusalSettle) {
		t.Fatalf("a second refusal moved the settling time: %v, %v", at, r.at)
	}
	if r.answered(5) || !r.answered(6) {
		t.Fatal("only the answer of a request sent after the refusals settles them")
	}
	held, upTo := r.take()
	if len(held) != 2 || upTo != 5 || len(r.held) != 0 || !r.at.IsZero() || r.answered(6) {
		t.Fatalf("take: %d held up to %d, left %+v", len(held), upTo, r)
	}
}
