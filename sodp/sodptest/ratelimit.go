package sodptest

import (
	"sync"
	"time"
)

// bucket limits a connection's requests of one kind; a nil bucket allows
// everything. It is a token bucket (burst equal to the rate, at least 1),
// or, with window set, the TypeScript server's counter: at most rate
// requests in a one-second window that opens at the first request after
// the previous window ended.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	tokens float64 // token bucket: tokens left; window: requests counted
	last   time.Time
	window bool
}

func newBucket(rate float64, window bool) *bucket {
	if rate <= 0 {
		return nil
	}
	b := &bucket{rate: rate, last: time.Now(), window: window}
	if !window {
		b.tokens = max(rate, 1)
	}
	return b
}

// take consumes one token, reporting false when none is left.
func (b *bucket) take() bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if b.window {
		if now.Sub(b.last) >= time.Second {
			b.tokens, b.last = 0, now
		}
		if b.tokens >= b.rate {
			return false
		}
		b.tokens++
		return true
	}
	b.tokens = min(max(b.rate, 1), b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
