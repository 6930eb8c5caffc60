package session

import (
	"sync"
	"sync/atomic"
)

// Mailbox carries updates from the actor to one subscription without ever
// blocking the actor. In conflating mode (buffer 0) it holds at most one
// pending update per key: a newer update replaces an undelivered one,
// counts it in Skipped and takes in its Changed paths (see MergeChanged). In buffered mode it holds up to buffer updates;
// when one more arrives it takes no more and, once the queued updates have
// been delivered, ends with ErrSlowConsumer.
//
// The mailbox also decides, under its lock, the lifecycle of the goroutine
// that delivers its updates (the pump) and of the subscription itself:
//
//   - a Push into a mailbox with no pump running calls its owner's
//     startPump, which starts a pump (Session.pump; Push runs on the actor); the pump takes updates
//     with Next until Next reports none, and then exits: no goroutine runs
//     while nothing is pending;
//   - once the mailbox has ended (Fail, or EndAfterDrain and the queue is
//     empty), finish is called exactly once, with the error it ended with,
//     by whoever sees it end with no pump running: the pump itself on its
//     last Next, else the caller of Fail or EndAfterDrain. finish is never
//     called while a pump runs.
type Mailbox struct {
	mu       sync.Mutex
	buffer   int
	queue    []Delivery     // pending updates in delivery order
	index    map[string]int // key → position in queue (conflating mode, several keys)
	head     int
	err      error
	drained  error         // set by EndAfterDrain: the error to end with once the queue is empty
	running  bool          // a pump was started and has not seen the queue empty yet
	finished bool          // finish was called, or is being called
	closing  bool          // the mailbox has ended: ended, if made, is closed or being closed
	ended    chan struct{} // made by Ended for a running pump; dropped when it stops
	stats    *atomic.Uint64
	// owner is the subscriber of the mailbox, whose startPump and
	// finished are the start and finish described above; nil for a
	// mailbox no session pumps (tests take its updates with Next).
	owner *Subscriber
}

// init readies a mailbox; buffer 0 conflates, buffer n > 0 buffers n
// updates. conflated, if not nil, counts replaced updates.
func (m *Mailbox) init(buffer int, conflated *atomic.Uint64, owner *Subscriber) {
	m.buffer, m.stats, m.owner = buffer, conflated, owner
}

func rank(k Kind) int {
	switch k {
	case KindSnapshot, KindCached:
		return 4
	case KindResync:
		return 3
	case KindReplayed:
		return 2
	}
	return 1
}

// Push queues d and, when no pump is running, calls startPump. It never
// blocks; it reports false when the mailbox has ended or is ending (Live
// is then false), including when d overflowed the buffer. Call it only on
// the actor.
func (m *Mailbox) Push(d Delivery) bool {
	m.mu.Lock()
	if m.err != nil || m.drained != nil {
		m.mu.Unlock()
		return false
	}
	if m.buffer > 0 {
		if len(m.queue)-m.head >= m.buffer {
			// The reader fell behind: it still gets what is queued, then
			// the end. A full queue has a pump running to deliver it.
			m.drained = ErrSlowConsumer
			if !m.running {
				m.err = m.drained
			}
			m.endLocked()
			return false
		}
		m.queue = append(m.queue, d)
	} else if i, ok := m.find(d.Key); ok {
		old := &m.queue[i]
		d.Skipped += old.Skipped + 1
		if rank(old.Kind) > rank(d.Kind) {
			d.Kind = old.Kind
		}
		if d.Kind == KindDelta || d.Kind == KindReplayed {
			d.Changed = MergeChanged(old.Changed, d.Changed)
		} else {
			d.Changed = nil
		}
		*old = d
		if m.stats != nil {
			m.stats.Add(1)
		}
	} else {
		m.queue = append(m.queue, d)
		if m.index != nil || len(m.queue)-m.head > 1 {
			m.reindex()
		}
	}
	idle := !m.running
	m.running = true
	m.mu.Unlock()
	if idle && m.owner != nil {
		m.owner.startPump()
	}
	return true
}

// find locates the pending update of key (conflating mode).
func (m *Mailbox) find(key string) (int, bool) {
	if m.index != nil {
		i, ok := m.index[key]
		return i, ok
	}
	for i := m.head; i < len(m.queue); i++ {
		if m.queue[i].Key == key {
			return i, true
		}
	}
	return 0, false
}

// reindex keeps the key index in step with the queue once it holds more
// than one key.
func (m *Mailbox) reindex() {
	if m.index == nil {
		m.index = make(map[string]int)
		for i := m.head; i < len(m.queue); i++ {
			m.index[m.queue[i].Key] = i
		}
		return
	}
	i := len(m.queue) - 1
	m.index[m.queue[i].Key] = i
}

// Next pops the oldest pending update for the pump; ok is false when none
// is pending, and the pump must then exit: Next has marked it stopped, so
// the next Push starts another. If the mailbox has ended (or was draining
// and is now empty), Next calls finish before returning.
func (m *Mailbox) Next() (d Delivery, ok bool) {
	m.mu.Lock()
	if m.head >= len(m.queue) {
		if m.err == nil && m.drained != nil {
			m.err = m.drained
		}
		m.running = false
		if cap(m.queue) == 1 {
			// A mailbox that is given one update at a time, as most
			// idle subscriptions were (their first value), keeps no
			// array between them. One that had several updates waiting
			// keeps its array and key index for the next burst: growing
			// them again each time would cost more than they hold.
			m.queue = nil
		}
		if m.err == nil {
			// Idle: the next pump gets a fresh channel from Ended.
			m.ended = nil
		}
		m.endLocked()
		return d, false
	}
	defer m.mu.Unlock()
	d = m.queue[m.head]
	m.queue[m.head] = Delivery{}
	if m.index != nil {
		delete(m.index, d.Key)
	}
	m.head++
	if m.head == len(m.queue) {
		m.queue = m.queue[:0]
		m.head = 0
	} else if m.head > 64 && m.head*2 > len(m.queue) {
		n := copy(m.queue, m.queue[m.head:])
		clear(m.queue[n:])
		m.queue = m.queue[:n]
		m.head = 0
		if m.index != nil {
			for i := range m.queue {
				m.index[m.queue[i].Key] = i
			}
		}
	}
	return d, true
}

// endLocked is called with m.mu held and releases it. Once the mailbox
// has an error it drops what is queued and closes Ended; if, besides, no
// pump runs and finish was not called yet, it calls finish (after
// unlocking).
func (m *Mailbox) endLocked() {
	err := m.err
	if err == nil {
		m.mu.Unlock()
		return
	}
	m.queue, m.index, m.head = nil, nil, 0
	var ended chan struct{}
	if !m.closing {
		m.closing = true
		ended = m.ended
	}
	call := !m.running && !m.finished
	if call {
		m.finished = true
	}
	m.mu.Unlock()
	if ended != nil {
		close(ended)
	}
	if call && m.owner != nil {
		m.owner.finished(err)
	}
}

// closedChan is what Ended returns once the mailbox has ended.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// Ended returns a channel that is closed when the mailbox ends (Fail, or
// EndAfterDrain once the queue is empty), for the running pump to wait on
// while it delivers; it then calls Next, which finishes. The channel is
// valid until that pump's Next reports no update: only a pump that is
// running may call Ended, and it must not keep the channel afterwards.
func (m *Mailbox) Ended() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing {
		return closedChan
	}
	if m.ended == nil {
		m.ended = make(chan struct{})
	}
	return m.ended
}

// EndAfterDrain ends the mailbox with err once the updates already queued
// have been taken; nothing more is accepted. When nothing is queued it ends
// at once. Call it only on the actor.
func (m *Mailbox) EndAfterDrain(err error) {
	m.mu.Lock()
	if m.drained == nil {
		m.drained = err
	}
	if m.err == nil && !m.running {
		// No pump runs, so nothing is queued: end now.
		m.err = m.drained
	}
	m.endLocked()
}

// Live reports whether the mailbox still accepts updates: it has neither
// ended nor been told to end after draining.
func (m *Mailbox) Live() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err == nil && m.drained == nil
}

// Reason returns the error the mailbox ended, or is ending, with; nil
// while it is live.
func (m *Mailbox) Reason() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	return m.drained
}

// Fail ends the mailbox with err at once, dropping what is queued; the
// first error wins. If no pump runs, Fail calls finish itself; otherwise
// the pump does once it sees Ended.
func (m *Mailbox) Fail(err error) {
	m.mu.Lock()
	if m.err == nil {
		m.err = err
	}
	m.endLocked()
}

// startPump is a subscription mailbox's start: on the actor, it starts the
// goroutine that delivers the mailbox's updates.
func (s *Session) startPump(sub *Subscriber) {
	s.wg.Add(1)
	go func() {
		// Done after pump has returned: once Close has seen every
		// goroutine done, no pump is left even on its way out.
		defer s.wg.Done()
		s.pump(sub)
	}()
}

// pump delivers the queued updates of sub, one at a time, through
// sub.Receiver, and returns when the mailbox is empty. When the mailbox has
// ended, its last Next calls Finish: no Deliver is in progress then. For a
// subscriber that keeps its own copies, each update is first made from
// its copy (OwnCopies.Resolve): the Receiver is given finished updates.
func (s *Session) pump(sub *Subscriber) {
	mb := &sub.Mailbox
	ended := mb.Ended()
	for {
		d, ok := mb.Next()
		if !ok {
			return
		}
		if sub.ownCopy {
			if sub.copies == nil {
				sub.copies = &OwnCopies{Shared: sub.shared}
			}
			if d.Kind == KindForget {
				sub.copies.drop(d.Key)
			} else {
				d = sub.copies.Resolve(d)
			}
		}
		if !sub.Receiver.Deliver(d, ended, s.done) {
			// Only a subscription draining its refusals is still running
			// when the session stops; the others ended first.
			mb.Fail(ErrClosed)
		}
	}
}
