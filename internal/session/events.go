package session

import "sync"

// eventQueue carries events from the actor to the Events channel. The actor
// never blocks on it: at most limit events wait; past that an event is
// dropped and counted (the count travels on the next event delivered),
// except a state change, which replaces the kept-back latest state so the
// reader always learns the current state as soon as it reads again.
type eventQueue struct {
	mu      sync.Mutex
	queue   []Event
	limit   int
	dropped uint64
	latest  *Event        // a state change that did not fit
	signal  chan struct{} // actor (push) → Events pump: an event is queued; capacity 1
	out     chan Event    // the Events channel, once started
	stopped bool          // the session is stopping: no Events pump may start
}

// stop tells that the session is stopping: a later Events gets a closed
// channel and starts no pump.
func (q *eventQueue) stop() {
	q.mu.Lock()
	q.stopped = true
	q.mu.Unlock()
}

func newEventQueue(limit int) *eventQueue {
	return &eventQueue{limit: limit, signal: make(chan struct{}, 1)}
}

func (q *eventQueue) push(ev Event, isState bool) {
	q.mu.Lock()
	if len(q.queue) < q.limit {
		q.queue = append(q.queue, ev)
	} else {
		q.dropped++
		if isState {
			q.latest = &ev
		}
	}
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// next pops the event to deliver: queued events in order, then a kept-back
// state change.
func (q *eventQueue) next() (Event, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var ev Event
	switch {
	case len(q.queue) > 0:
		ev = q.queue[0]
		copy(q.queue, q.queue[1:])
		q.queue[len(q.queue)-1] = Event{}
		q.queue = q.queue[:len(q.queue)-1]
	case q.latest != nil:
		ev = *q.latest
		q.latest = nil
	default:
		return ev, false
	}
	ev.Dropped, q.dropped = q.dropped, 0
	return ev, true
}

// pump delivers events to out until done is closed;
// then it hands over what is still queued as far as the channel takes it
// without waiting (so the final StateClosed event reaches a reader that
// keeps up) and closes the channel.
func pump(q *eventQueue, done <-chan struct{}, out chan Event) {
	defer close(out)
	for {
		ev, ok := q.next()
		if !ok {
			select {
			case <-q.signal:
				continue
			case <-done:
				drain(q, out)
				return
			}
		}
		select {
		case out <- ev:
		case <-done:
			select {
			case out <- ev:
				drain(q, out)
			default:
			}
			return
		}
	}
}

func drain(q *eventQueue, out chan Event) {
	for {
		ev, ok := q.next()
		if !ok {
			return
		}
		select {
		case out <- ev:
		default:
			return
		}
	}
}
