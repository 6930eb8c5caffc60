package session

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestLinkAttempts checks the dial attempts: endpoints taken round robin,
// each attempt numbered so that a result of an earlier one is stale, and
// stopDial ending the attempt's context.
func TestLinkAttempts(t *testing.T) {
	l := newLink()
	defer l.stop()
	l.stopDial() // before any attempt: nothing to end
	eps := []string{"ws://a", "ws://b"}
	var got []string
	for range 3 {
		_, _, ep := l.dial(eps)
		got = append(got, ep)
	}
	if got[0] != "ws://a" || got[1] != "ws://b" || got[2] != "ws://a" {
		t.Fatalf("endpoints dialled %v, want a, b, a", got)
	}
	ctx, attempt, _ := l.dial(eps)
	if attempt != 4 || !l.current(4) || l.current(3) {
		t.Fatalf("attempt %d: current(4) %v, current(3) %v", attempt, l.current(4), l.current(3))
	}
	if ctx.Err() != nil {
		t.Fatal("the attempt's context ended before stopDial")
	}
	l.stopDial()
	if ctx.Err() == nil {
		t.Fatal("stopDial left the attempt's context running")
	}
	if e1, e2 := l.newEpoch(), l.newEpoch(); e1 != 1 || e2 != 2 {
		t.Fatalf("epochs %d, %d, want 1, 2", e1, e2)
	}
}

// TestLinkHandshakeAndBeats checks the handshake deadline (the timer fires
// at it, and handshakeOver agrees), the periodic beat due every heartbeat
// less an eighth counted from the connection and from each beat, and
// live telling a reconnection from the first connection.
func TestLinkHandshakeAndBeats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLink()
		defer l.stop()
		t0 := time.Now()
		l.connected(t0, t0.Add(10*time.Second))
		if l.handshakeOver(t0.Add(10*time.Second - time.Nanosecond)) {
			t.Fatal("handshake over before its deadline")
		}
		fired := <-l.C()
		if got := fired.Sub(t0); got != 10*time.Second || !l.handshakeOver(fired) {
			t.Fatalf("handshake timer fired after %s (over: %v), want 10s", got, l.handshakeOver(fired))
		}

		const hb = 8 * time.Second // due every 7s
		if l.beatDue(t0.Add(7*time.Second-time.Nanosecond), hb) {
			t.Fatal("beat due before heartbeat less an eighth")
		}
		if !l.beatDue(t0.Add(9*time.Second), hb) { // a late tick
			t.Fatal("beat not due after heartbeat less an eighth")
		}
		if l.beatDue(t0.Add(15*time.Second), hb) || !l.beatDue(t0.Add(16*time.Second), hb) {
			t.Fatal("the next beat is not counted from the late one")
		}

		if l.live() {
			t.Fatal("the first connection to go live was taken for a reconnection")
		}
		if !l.live() || !l.everLive {
			t.Fatal("the second connection to go live was not taken for a reconnection")
		}
	})
}
