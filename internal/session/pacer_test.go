package session

import (
	"math/rand/v2"
	"testing"
	"time"
)

// windowCounter is the TypeScript server's limiter: at most limit frames
// in a one-second window opened by the first frame after the previous
// window ended.
type windowCounter struct {
	limit int
	start time.Time
	count int
}

func (w *windowCounter) take(at time.Time) bool {
	if at.Sub(w.start) >= time.Second {
		w.start, w.count = at, 0
	}
	if w.count >= w.limit {
		return false
	}
	w.count++
	return true
}

// Frames sent as fast as the pacer allows, each delayed by up to 120 ms on
// its way, are all taken by a server counting the announced rate per
// one-second window; and the pacer sends at least three quarters of it.
func TestPacerStaysWithinWindowLimit(t *testing.T) {
	for _, limit := range []int{1, 2, 3, 5, 10, 33, 100, 1000} {
		r := rand.New(rand.NewPCG(uint64(limit), 3))
		start := time.Unix(1000, 0)
		p := newPacer(float64(limit), start)
		server := windowCounter{limit: limit}
		now := start
		sent := 0
		var arrivals []time.Time
		for now.Sub(start) < 20*time.Second {
			ok, next := p.take(now)
			if !ok {
				if !next.After(now) {
					t.Fatalf("limit %d: next %v not after now %v", limit, next, now)
				}
				// The caller wakes at next, or later when busy.
				now = next.Add(time.Duration(r.IntN(3)) * time.Millisecond)
				continue
			}
			sent++
			arrivals = append(arrivals, now.Add(time.Duration(r.IntN(120))*time.Millisecond))
		}
		// Arrivals are handled in order (one connection).
		for i := 1; i < len(arrivals); i++ {
			if arrivals[i].Before(arrivals[i-1]) {
				arrivals[i] = arrivals[i-1]
			}
		}
		for i, at := range arrivals {
			if !server.take(at) {
				t.Fatalf("limit %d: frame %d of %d refused", limit, i, len(arrivals))
			}
		}
		if min := 0.75 * float64(limit) * 20; float64(sent) < min {
			t.Errorf("limit %d: %d frames sent in 20 s, want at least %.0f", limit, sent, min)
		}
	}
}

func TestPacerOff(t *testing.T) {
	for _, caps := range []map[string]any{nil, {"rate_limit_watches": nil}, {"rate_limit": int64(0)}, {"rate_limit_watches": float64(0)}} {
		p := newPacer(watchRate(caps), time.Now())
		for range 1000 {
			if ok, _ := p.take(time.Now()); !ok {
				t.Fatalf("caps %v: paced", caps)
			}
		}
	}
	for _, c := range []struct {
		caps map[string]any
		want float64
	}{
		{map[string]any{"rate_limit_watches": int64(10)}, 10},
		{map[string]any{"rate_limit_watches": 2.5}, 2.5},
		{map[string]any{"rate_limit": map[string]any{"watches_per_sec": float64(20)}}, 20},
		{map[string]any{"rate_limit": map[string]any{"writes_per_sec": float64(20)}}, 0},
		{map[string]any{"rate_limit_watches": "10", "rate_limit": map[string]any{}}, 0},
	} {
		if got := watchRate(c.caps); got != c.want {
			t.Errorf("watchRate(%v) = %v, want %v", c.caps, got, c.want)
		}
	}
}
