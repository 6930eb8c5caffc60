package session

import (
	"fmt"
	"testing"
	"time"
)

// TestBarrierRounds drives the barrier alone: a server that sends
// HEARTBEATs of its own gets another round after the first echo and after
// any echo that had replay frames before it, up to maxBarrierRounds; one
// that does not gets none.
func TestBarrierRounds(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var b barrier
	if b.out() || b.pending() || !b.deadline(time.Second).IsZero() {
		t.Fatal("the zero barrier is out")
	}
	b.sent(1, 7, t0)
	if !b.out() || b.deadline(time.Second) != t0.Add(time.Second) {
		t.Fatalf("sent: %+v", b)
	}
	if b.echoed(false) {
		t.Fatal("a server without HEARTBEATs of its own got a second round")
	}
	if req := b.end(); req != 7 || b.out() {
		t.Fatalf("end: covers %d, out %v; want 7, false", req, b.out())
	}

	b = barrier{}
	b.sent(1, 7, t0)
	if !b.echoed(true) {
		t.Fatal("the first echo from a server with HEARTBEATs of its own ended the barrier")
	}
	b.sent(2, b.req, t0)
	if b.echoed(true) {
		t.Fatal("an echo with no replay frame before it asked for another round")
	}
	b = barrier{}
	b.sent(1, 7, t0)
	rounds := 0
	for b.echoed(true) {
		rounds++
		b.sent(uint64(rounds+1), b.req, t0)
		b.replayFrame(9) // a later request's: not covered
		if b.activity {
			t.Fatal("a frame of a request after the barrier counted as replay activity")
		}
		b.replayFrame(7)
	}
	if rounds != maxBarrierRounds {
		t.Fatalf("%d rounds against a busy replay, want %d", rounds, maxBarrierRounds)
	}
	b.queued = true
	if b.cancel(); b.pending() || b.rounds != 0 {
		t.Fatalf("cancelled: %+v", b)
	}
}

// TestBarrierLosesUnanswered checks lost-answer detection on a session:
// the echo of the barrier ends the requests sent before it, and the keys
// of one still without an answer are watched again; a spec server first
// gets a second round.
func TestBarrierLosesUnanswered(t *testing.T) {
	for _, d := range []Dialect{DialectGo, DialectSpec} {
		s := actorForTest(t, d)
		for i := range 2 {
			sub := &Subscriber{Keys: []string{fmt.Sprintf("k%d", i)}}
			sub.Mailbox.init(0, nil, nil)
			s.addSub(sub, nil, nil)
		}
		if len(s.reqs.list) != 2 {
			t.Fatalf("%v: %d requests sent, want 2", d, len(s.reqs.list))
		}
		first := s.reqs.list[0].seq
		s.sendBarrier()
		if !s.bar.out() || s.bar.req != s.reqs.seq {
			t.Fatalf("%v: barrier %+v after request %d", d, s.bar, s.reqs.seq)
		}
		s.onHeartbeat()
		if d == DialectSpec {
			if !s.bar.out() || s.bar.rounds != 1 || len(s.reqs.list) != 2 {
				t.Fatalf("spec: after the first echo: barrier %+v, %d requests; want a second round", s.bar, len(s.reqs.list))
			}
			s.onHeartbeat()
		}
		if s.bar.out() {
			t.Fatalf("%v: the barrier is still out after its echo", d)
		}
		if len(s.reqs.list) != 2 || s.reqs.list[0].seq <= first+1 {
			t.Fatalf("%v: requests after the barrier: %d, first %d; want the two keys watched again", d, len(s.reqs.list), s.reqs.list[0].seq)
		}
		for _, k := range []string{"k0", "k1"} {
			if ks := s.keys[k]; ks.phase != kpWatching || ks.reqSeq <= first+1 {
				t.Errorf("%v: %s in phase %d on request %d; want watched again", d, k, ks.phase, ks.reqSeq)
			}
		}
	}
}
