package session

import (
	"sync"
	"testing"
	"time"
)

// recObserver records what it is told; Conn blocks while hold is open.
type recObserver struct {
	mu      sync.Mutex
	got     []string
	dropped uint64
	entered chan struct{} // Conn signals here on entry
	hold    chan struct{} // Conn waits for it to be closed
}

func (r *recObserver) add(s string) {
	r.mu.Lock()
	r.got = append(r.got, s)
	r.mu.Unlock()
}

func (r *recObserver) Conn(ev ConnEvent) {
	select {
	case r.entered <- struct{}{}:
	default:
	}
	<-r.hold
	r.add("conn")
}
func (r *recObserver) Resume(ResumeEvent)    { r.add("resume") }
func (r *recObserver) Subscription(SubEvent) { r.add("sub") }
func (r *recObserver) Stopped()              { r.add("stopped") }
func (r *recObserver) Dropped(n uint64) {
	r.mu.Lock()
	r.dropped += n
	r.mu.Unlock()
	r.add("dropped")
}

// An observer that blocks never blocks the pushers: past maxObserved
// waiting events the rest are counted, reported before the next event
// delivered, and close delivers what waits before Stopped.
func TestObserverBoundedAndOrdered(t *testing.T) {
	r := &recObserver{entered: make(chan struct{}, 1), hold: make(chan struct{})}
	o := newObserver(r)
	o.push(ConnEvent{Stage: ConnAttempt})
	select {
	case <-r.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the pump did not take the first event")
	}
	const more = maxObserved + 500
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range more {
			if i%2 == 0 {
				o.push(SubEvent{})
			} else {
				o.push(ResumeEvent{})
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("push blocked behind a blocked observer")
	}
	close(r.hold)
	o.close()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dropped != more-maxObserved {
		t.Fatalf("dropped %d, want %d", r.dropped, more-maxObserved)
	}
	// conn, dropped, the 1,024 kept in order, stopped.
	if n := len(r.got); n != maxObserved+3 {
		t.Fatalf("%d calls, want %d", n, maxObserved+3)
	}
	if r.got[0] != "conn" || r.got[1] != "dropped" || r.got[len(r.got)-1] != "stopped" {
		t.Fatalf("order: %v … %v", r.got[:3], r.got[len(r.got)-1])
	}
	for i, s := range r.got[2 : len(r.got)-1] {
		want := "sub"
		if i%2 == 1 {
			want = "resume"
		}
		if s != want {
			t.Fatalf("event %d is %s, want %s", i, s, want)
		}
	}
	// Nothing is taken once stopped.
	o.push(SubEvent{})
	if len(o.queue) != 0 {
		t.Fatal("an event was queued after close")
	}
}

// Without an Observer there is no observer, and every method of the nil
// observer does nothing.
func TestObserverNil(t *testing.T) {
	o := newObserver(nil)
	if o != nil {
		t.Fatal("an observer without an Observer")
	}
	o.attemptStart(1, "ws://x")
	o.attemptFailed(nil)
	o.backoff(time.Second)
	o.failed(nil)
	o.subOpened(&Subscriber{}, 0)
	o.close()
	var tr *CallTrace
	tr.sentTo(&ServerInfo{})
}
