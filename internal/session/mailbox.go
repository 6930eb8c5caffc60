package session

import (
	"sync"
	"sync/atomic"
)

// Mailbox carries updates from the actor to one subscription without ever
// blocking the actor. In conflating mode (buffer 0) it holds at most one
// pending update per key: a newer update replaces an undelivered one and
// counts it in Skipped. In buffered mode it holds up to buffer updates and
// fails with ErrSlowConsumer when one more arrives.
type Mailbox struct {
	mu      sync.Mutex
	buffer  int
	queue   []Delivery     // pending updates in delivery order
	index   map[string]int // key → position in queue (conflating mode, several keys)
	head    int
	err     error
	drained error // set by EndAfterDrain: the error to end with once the queue is empty
	signal  chan struct{}
	ended   chan struct{}
	stats   *atomic.Uint64
	closing sync.Once
}

// NewMailbox returns a mailbox; buffer 0 conflates, buffer n > 0 buffers n
// updates. conflated, if not nil, counts replaced updates.
func NewMailbox(buffer int, conflated *atomic.Uint64) *Mailbox {
	return &Mailbox{
		buffer: buffer,
		signal: make(chan struct{}, 1),
		ended:  make(chan struct{}),
		stats:  conflated,
	}
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

// Push queues d. It never blocks; it reports false when the mailbox has
// ended.
func (m *Mailbox) Push(d Delivery) bool {
	m.mu.Lock()
	if m.err != nil || m.drained != nil {
		m.mu.Unlock()
		return false
	}
	if m.buffer > 0 {
		if len(m.queue)-m.head >= m.buffer {
			m.mu.Unlock()
			m.Fail(ErrSlowConsumer)
			return false
		}
		m.queue = append(m.queue, d)
	} else if i, ok := m.find(d.Key); ok {
		old := &m.queue[i]
		d.Skipped += old.Skipped + 1
		if rank(old.Kind) > rank(d.Kind) {
			d.Kind = old.Kind
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
	m.mu.Unlock()
	select {
	case m.signal <- struct{}{}:
	default:
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

// Next pops the oldest pending update; ok is false when none is pending.
func (m *Mailbox) Next() (d Delivery, ok bool) {
	m.mu.Lock()
	if m.head >= len(m.queue) {
		drained := m.drained
		m.mu.Unlock()
		if drained != nil {
			m.Fail(drained)
		}
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

// Signal is readable (once) after a Push.
func (m *Mailbox) Signal() <-chan struct{} { return m.signal }

// Ended is closed when the mailbox fails.
func (m *Mailbox) Ended() <-chan struct{} { return m.ended }

// EndAfterDrain ends the mailbox with err once the updates already queued
// have been taken; nothing more is accepted.
func (m *Mailbox) EndAfterDrain(err error) {
	m.mu.Lock()
	if m.drained == nil {
		m.drained = err
	}
	m.mu.Unlock()
	select {
	case m.signal <- struct{}{}:
	default:
	}
}

// Draining reports whether EndAfterDrain was called.
func (m *Mailbox) Draining() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.drained != nil
}

// Fail ends the mailbox with err at once, dropping what is queued; the
// first error wins.
func (m *Mailbox) Fail(err error) {
	m.mu.Lock()
	if m.err == nil {
		m.err = err
	}
	m.queue, m.index, m.head = nil, nil, 0
	m.mu.Unlock()
	m.closing.Do(func() { close(m.ended) })
}

// Err is the error the mailbox ended with, or nil.
func (m *Mailbox) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}
