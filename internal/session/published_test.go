package session

import (
	"errors"
	"testing"
)

// TestPublishedState checks the state published for other goroutines: a
// change closes the channel of the previous one, a repeat does not, the
// terminal error is kept with StateFailed, and the last connection error
// survives state changes.
func TestPublishedState(t *testing.T) {
	p := newPublished()
	st, ch, _ := p.current()
	if st != StateConnecting {
		t.Fatalf("initial state %v", st)
	}
	if p.set(StateConnecting, nil) {
		t.Fatal("the same state with no error counted as a change")
	}
	select {
	case <-ch:
		t.Fatal("a repeat closed the change channel")
	default:
	}
	p.setLast(nil)
	boom := errors.New("boom")
	p.setLast(boom)
	if !p.set(StateLive, nil) {
		t.Fatal("a new state was not a change")
	}
	<-ch // closed by the change
	if st, last := p.stateAndLast(); st != StateLive || last != boom {
		t.Fatalf("state %v, last error %v", st, last)
	}
	p.set(StateFailed, ErrUnauthorized)
	if st, _, err := p.current(); st != StateFailed || err != ErrUnauthorized {
		t.Fatalf("failed: %v, %v", st, err)
	}
	p.count(429)
	p.count(429)
	p.setGauges(gauges{subs: 2, keys: 3})
	st2 := Stats{ErrorsByCode: map[int]uint64{}}
	p.fill(&st2)
	if st2.ErrorsByCode[429] != 2 || st2.Subscriptions != 2 || st2.WatchedKeys != 3 {
		t.Fatalf("stats %+v", st2)
	}
}
