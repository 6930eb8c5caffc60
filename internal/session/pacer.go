package session

import (
	"math"
	"time"
)

// Pacing. A server may limit the WATCH and RESUME frames it takes per
// second on a connection and refuse the excess with ERROR 429: the
// TypeScript server announces the limit in HELLO as rate_limit_watches (10
// by default; a multi-key WATCH is one frame) and counts frames in
// one-second windows, each opened by the first frame after the previous
// one ended; the Rust server announces rate_limit_watches too (nil when
// there is none); the Go server's rate_limit capability may name
// watches_per_sec. The client sends its WATCH and RESUME frames within
// the announced rate, so that no refusal has to be attributed at all.
//
// The pacer is a token bucket whose rate and burst leave a margin: at a
// rate of 0.8 r frames per second with a burst of r/10 (at least one),
// any interval of 1.125 s holds at most r frames, so a server that counts
// r per second in windows of any alignment takes every frame even when
// their arrival is delayed unevenly by up to 125 ms.

// pacer spaces frames to a rate; the zero pacer lets everything through.
type pacer struct {
	rate   float64 // frames per second; 0 when not paced
	burst  float64
	tokens float64
	last   time.Time
}

// newPacer makes a pacer for a server that takes limit frames per second
// (no pacing when limit <= 0).
func newPacer(limit float64, now time.Time) pacer {
	if !(limit > 0) || math.IsInf(limit, 1) {
		return pacer{}
	}
	burst := max(math.Floor(limit/10), 1)
	return pacer{rate: 0.8 * limit, burst: burst, tokens: burst, last: now}
}

// take spends one frame's token at now if there is one; otherwise it
// reports when there will be.
func (p *pacer) take(now time.Time) (ok bool, next time.Time) {
	if p.rate == 0 {
		return true, time.Time{}
	}
	if now.After(p.last) {
		p.tokens = min(p.burst, p.tokens+now.Sub(p.last).Seconds()*p.rate)
		p.last = now
	}
	if p.tokens >= 1 {
		p.tokens--
		return true, time.Time{}
	}
	wait := time.Duration((1 - p.tokens) / p.rate * float64(time.Second))
	return false, p.last.Add(max(wait, time.Millisecond))
}

// watchRate reads the WATCH/RESUME frames per second a server announced in
// HELLO, 0 when it announced none.
func watchRate(caps map[string]any) float64 {
	if r, ok := capFloat(caps["rate_limit_watches"]); ok {
		return r
	}
	if m, ok := caps["rate_limit"].(map[string]any); ok {
		if r, ok := capFloat(m["watches_per_sec"]); ok {
			return r
		}
	}
	return 0
}

func capFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case int64:
		return float64(v), true
	case uint64:
		return float64(v), true
	case int:
		return float64(v), true
	case float64:
		return v, !math.IsNaN(v)
	case float32:
		return float64(v), !math.IsNaN(float64(v))
	}
	return 0, false
}

// startPacing sets the pacer for the server of a connection going live.
func (s *Session) startPacing(now time.Time) {
	s.pace = newPacer(watchRate(s.peer.info.Capabilities), now)
}

// paced reports whether a WATCH or RESUME frame may be sent now; when it
// may not, the actor is woken when it may.
func (s *Session) paced() bool {
	ok, next := s.pace.take(time.Now())
	if !ok {
		s.armWake(next)
	}
	return ok
}
