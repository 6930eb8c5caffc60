package sodp

import (
	"fmt"
	"sync"
)

// Group merges the updates of several subscriptions, of any types and
// clients, into one channel, without a goroutine per subscription: a
// member's updates are sent on the group's channel by the goroutine that
// would have sent them on its own Updates channel, which runs only while
// the member has updates waiting. A reader of 1,000 subscriptions thus
// reads one channel, and 1,000 idle members run no goroutine at all.
//
// Subscriptions join at Watch (InGroup). Each update comes as a Notice;
// the member's From turns it back into its typed Update:
//
//	for n := range g.Notices() {
//		if u, ok := cfg.From(n); ok {
//			apply(u.Value)
//		} else if u, ok := stats.From(n); ok {
//			show(u.Value)
//		}
//	}
//
// A member's Updates channel carries nothing and is closed when it ends,
// as for any subscription; its end is also a Notice with End set. The
// rules of each member are otherwise unchanged: per member, versions never
// go backwards, a conflating member's updates are conflated while the
// reader is busy with the others, and a buffered one's are buffered.
//
// The zero Group is not usable; make one with NewGroup and Close it when
// done.
type Group struct {
	ch   chan Notice
	done chan struct{} // closed by Close: nothing more is sent
	wg   sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	members map[stopper]struct{}
	ends    []Notice // member ends waiting to be sent
	pumping bool     // a goroutine is sending ends
}

// Notice is one update, or the end, of a member of a Group.
type Notice struct {
	Key string // the update's key; for an end, the member's first key
	// End is set on the member's last Notice: it has ended, for Err
	// (its context ended, the server refused its key, the client closed
	// …). A member closed by its own Close, or by the group's, sends none.
	End bool
	// Err is the update's error (Update.Err), or why the member ended
	// (as its Err would say).
	Err error

	sub    any // the member, a *Subscription[T]
	update any // the Update[T]; nil for an end
}

// NewGroup returns an empty Group.
func NewGroup() *Group {
	return &Group{ch: make(chan Notice), done: make(chan struct{}), members: make(map[stopper]struct{})}
}

// InGroup makes the subscription a member of g: its updates and its end
// are sent on g's channel instead of its own (see Group). Watch fails with
// ErrClosed when g is closed, and with ErrInvalidOption for a nil g.
func InGroup(g *Group) WatchOption {
	return func(w *watchConfig) {
		if g == nil && w.err == nil {
			w.err = fmt.Errorf("%w: InGroup(nil)", ErrInvalidOption)
		}
		w.group = g
	}
}

// Notices returns the group's channel. It is closed by Close, once no
// member can send on it any more.
func (g *Group) Notices() <-chan Notice { return g.ch }

// Close ends every member still running (their Err is ErrClosed, and no
// Notice of their end is sent) and then closes the channel: the Notices
// not taken by then are dropped. It is idempotent and returns nil; it does
// not wait for the channel to be read.
func (g *Group) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	members := make([]stopper, 0, len(g.members))
	for m := range g.members {
		members = append(members, m)
	}
	g.members, g.ends = nil, nil
	g.mu.Unlock()
	close(g.done)
	for _, m := range members {
		m.stop(errGroupClosed)
	}
	g.wg.Wait()
	close(g.ch)
	return nil
}

var errGroupClosed error = &closedError{"sodp: subscription's group closed"}

var errGroupClosedWatch = fmt.Errorf("%w: the group is closed", ErrClosed)

// join adds a member; false when g is closed.
func (g *Group) join(m stopper) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.members[m] = struct{}{}
	return true
}

// send hands a member's update to the reader, unless the member ends
// (ended), the client closes (done: false) or the group closes first.
func (g *Group) send(n Notice, ended, done <-chan struct{}) bool {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return true
	}
	g.wg.Add(1)
	g.mu.Unlock()
	defer g.wg.Done()
	select {
	case g.ch <- n:
	case <-ended:
	case <-g.done:
	case <-done:
		return false
	}
	return true
}

// ended queues the Notice of a member's end, sent by a goroutine that
// runs while ends wait (the caller must not block: it may be the
// client's own goroutine).
func (g *Group) ended(m stopper, n Notice) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	delete(g.members, m)
	if n.Err == errSubscriptionClosed {
		// Closed by its owner, who knows.
		return
	}
	g.ends = append(g.ends, n)
	if g.pumping {
		return
	}
	g.pumping = true
	g.wg.Add(1)
	go g.sendEnds()
}

func (g *Group) sendEnds() {
	defer g.wg.Done()
	for {
		g.mu.Lock()
		if len(g.ends) == 0 || g.closed {
			g.pumping = false
			g.mu.Unlock()
			return
		}
		n := g.ends[0]
		g.ends[0] = Notice{}
		g.ends = g.ends[1:]
		g.mu.Unlock()
		select {
		case g.ch <- n:
		case <-g.done:
		}
	}
}

// From returns the update n carries when n is one of this subscription's,
// and ok; for the Notice of its end, the zero Update with Err set to why
// it ended (and ok). For a Notice of another member it returns ok false.
func (s *Subscription[T]) From(n Notice) (u Update[T], ok bool) {
	if n.sub != any(s) {
		return u, false
	}
	if n.End {
		return Update[T]{Key: n.Key, Err: n.Err}, true
	}
	u, _ = n.update.(Update[T])
	return u, true
}

// leave drops a member that never started.
func (g *Group) leave(m stopper) {
	g.mu.Lock()
	delete(g.members, m)
	g.mu.Unlock()
}

// firstKey names the subscription in the Notice of its end.
func (s *Subscription[T]) firstKey() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sub.Keys[0]
}
