package session

import "testing"

// TestWindowSize checks the window each server gets: half its queue.
func TestWindowSize(t *testing.T) {
	cases := []struct {
		name   string
		d      Dialect
		caps   map[string]any
		budget int
	}{
		{"spec", DialectSpec, nil, specQueue / 2},
		{"rust", DialectRust, nil, specQueue / 2},
		{"go default", DialectGo, nil, goQueue / 2},
		{"go announced", DialectGo, map[string]any{"backpressure": int64(64)}, 32},
		{"go announced too much", DialectGo, map[string]any{"backpressure": uint64(1 << 40)}, specQueue / 2},
		{"go announced one", DialectGo, map[string]any{"backpressure": int64(1)}, 1},
		{"go announced nothing usable", DialectGo, map[string]any{"backpressure": "lots"}, goQueue / 2},
	}
	for _, c := range cases {
		var w window
		w.charge, w.keys = 9, 9
		w.reset(c.d, c.caps)
		if w.budget != c.budget || w.resumeEst != c.budget || w.charge != 0 || w.keys != 0 {
			t.Errorf("%s: %+v, want budget and estimate %d with nothing in flight", c.name, w, c.budget)
		}
	}
}

// TestWindowChargeAndRefund drives the window through the life of a few
// requests: charges, a replay longer than charged, refunds.
func TestWindowChargeAndRefund(t *testing.T) {
	var w window
	w.reset(DialectGo, map[string]any{"backpressure": int64(20)}) // budget 10
	if w.full(5, 100) {
		t.Fatal("a request alone in flight must go, whatever it costs")
	}
	var a, b int // two keys' charges
	w.sent(&a, 6)
	w.keys++
	if !w.full(1, 5) || w.full(1, 4) {
		t.Fatalf("charge %d of %d: full(1, 5) %v, full(1, 4) %v; want true, false", w.charge, w.budget, w.full(1, 5), w.full(1, 4))
	}
	w.sent(&b, 1)
	w.keys++
	w.replayed(&a, 3) // 4 frames at least: charged 6 already
	if a != 6 || w.charge != 7 {
		t.Fatalf("a short replay changed the charge: key %d, window %d", a, w.charge)
	}
	w.replayed(&a, 8) // 9 frames at least
	if a != 9 || w.charge != 10 {
		t.Fatalf("a long replay: key %d, window %d; want 9, 10", a, w.charge)
	}
	if w.takesWatch(1) {
		t.Fatal("a full window took a WATCH")
	}
	w.sent(&a, 2) // a new request for a: its old charge goes back first
	if a != 2 || w.charge != 3 {
		t.Fatalf("recharged: key %d, window %d; want 2, 3", a, w.charge)
	}
	w.refund(&b)
	w.refund(&b)
	if b != 0 || w.charge != 2 {
		t.Fatalf("refunded twice: key %d, window %d; want 0, 2", b, w.charge)
	}
	w.drop()
	w.refund(&a) // a charge from the lost connection
	if w.charge != 0 || w.keys != 0 || a != 0 {
		t.Fatalf("after drop and refund: %+v, key %d", w, a)
	}
}

// TestWindowLimits checks the limits derived from the budget.
func TestWindowLimits(t *testing.T) {
	var w window
	w.reset(DialectSpec, nil)
	if w.keyLimit() != maxKeysInFlight || w.watchChunk() != maxWatchChunk || w.callLimit() != maxCallsInFlight {
		t.Errorf("spec: %d keys, chunk %d, %d calls", w.keyLimit(), w.watchChunk(), w.callLimit())
	}
	w.reset(DialectGo, map[string]any{"backpressure": int64(40)})
	if w.keyLimit() != 20 || w.watchChunk() != 20 || w.callLimit() != 20 {
		t.Errorf("budget 20: %d keys, chunk %d, %d calls", w.keyLimit(), w.watchChunk(), w.callLimit())
	}
	if !w.takesWatch(20) || w.takesWatch(21) {
		t.Error("a WATCH of the chunk size must be taken and no larger one")
	}
	w.keys = 19
	if w.takesWatch(2) || !w.takesWatch(1) {
		t.Error("a WATCH beyond the key limit was taken, or one within it refused")
	}
	if !w.dropsSuspected(40) || w.dropsSuspected(39) {
		t.Error("drops are suspected from the queue's size on")
	}
}

// TestResumeEstimate checks the estimate of a RESUME's replay: it rises
// at once to a long replay and halves per short one, never under 2; a
// cautious resume is charged the whole budget.
func TestResumeEstimate(t *testing.T) {
	var w window
	w.reset(DialectSpec, nil) // budget 512
	if got := w.resumeCharge(false); got != 512 {
		t.Fatalf("the first RESUME is charged %d, want the whole budget", got)
	}
	want := []struct{ replay, est int }{{3, 256}, {3, 128}, {1, 64}, {100, 100}, {0, 50}, {0, 25}, {0, 12}, {0, 6}, {0, 3}, {0, 2}, {0, 2}, {7, 7}}
	for i, c := range want {
		w.replayEnded(c.replay)
		if got := w.resumeCharge(false); got != c.est {
			t.Fatalf("after replay %d (%d frames): charged %d, want %d", i, c.replay, got, c.est)
		}
	}
	if got := w.resumeCharge(true); got != 512 {
		t.Errorf("a cautious RESUME is charged %d, want the budget", got)
	}
}
