package sodptest

import (
	"sync"
	"time"
)

// bucket is a token bucket; a nil bucket allows everything.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	tokens float64
	last   time.Time
}

func newBucket(rate float64) *bucket {
	if rate <= 0 {
		return nil
	}
	burst := max(rate, 1)
	return &bucket{rate: rate, tokens: burst, last: time.Now()}
}

// take consumes one token, reporting false when none is left.
func (b *bucket) take() bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	b.tokens = min(max(b.rate, 1), b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
