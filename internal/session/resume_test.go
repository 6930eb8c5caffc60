package session

import (
	"testing"
	"time"
)

// TestResumeRoundLosses checks how connections lost during their resume
// make the next resumes cautious, then WATCH-only, and how a finished
// resume, or a connection live long enough, starts over.
func TestResumeRoundLosses(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var r resumeRound
	r.live(t0)
	if r.cautious() || r.watchOnly {
		t.Fatal("the first resume is cautious")
	}
	for i, want := range []struct{ cautious, watchOnly bool }{{true, false}, {true, true}, {true, true}} {
		r.active = true
		if r.lost(true, t0.Add(time.Hour)) {
			t.Fatalf("loss %d: a connection lost during its resume counted as stable", i+1)
		}
		r.live(t0)
		if r.cautious() != want.cautious || r.watchOnly != want.watchOnly {
			t.Fatalf("after %d losses: cautious %v, watch only %v; want %v, %v", i+1, r.cautious(), r.watchOnly, want.cautious, want.watchOnly)
		}
	}
	if r.lost(true, t0.Add(stableLive-time.Millisecond)) || r.lost(false, t0.Add(time.Hour)) {
		t.Fatal("a short connection, or one never live, counted as stable")
	}
	if !r.lost(true, t0.Add(stableLive)) {
		t.Fatal("a connection live for stableLive with its resume over did not count as stable")
	}
	if r.finished() {
		t.Fatal("finished reported with no resume under way")
	}
	r.active = true
	if !r.finished() || r.finished() || r.cautious() {
		t.Fatal("a finished resume is reported once and forgets the losses")
	}
	if r.live(t0); r.watchOnly {
		t.Fatal("WATCH only after a resume finished")
	}
}

// TestResumeRoundReplays checks the replays' queue: in request order,
// counted until they end, dropped with the connection.
func TestResumeRoundReplays(t *testing.T) {
	var r resumeRound
	a, b := &keyState{key: "a"}, &keyState{key: "b"}
	r.add(a)
	r.add(b)
	if ks, ok := r.front(); !ok || ks != a || r.n != 2 {
		t.Fatalf("front %v, %d replaying; want a, 2", ks, r.n)
	}
	r.ended()
	r.pop()
	if ks, ok := r.front(); !ok || ks != b || r.n != 1 {
		t.Fatalf("front %v, %d replaying; want b, 1", ks, r.n)
	}
	r.pop()
	if _, ok := r.front(); ok || r.replaying != nil {
		t.Fatal("replays left after the last pop")
	}
	r.add(a)
	r.dropReplays()
	if _, ok := r.front(); ok || r.n != 0 {
		t.Fatal("replays left after the connection was lost")
	}
}
