package session

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Observing the session. A Config.Observer is told of connection attempts
// and their outcome, of the resume that follows going live, and of
// subscriptions opening and ending. The actor never calls it: what the
// actor observes is queued (at most maxObserved events wait; past that
// they are dropped and counted) and handed to the Observer, in order, by
// a goroutine of its own, the observer pump, which Close waits for. A
// session made without an Observer has no queue and no pump, and each
// point of observation costs one nil check.

// maxObserved bounds the events waiting for the Observer.
const maxObserved = 1024

// Observer receives what the session observes. Its methods are called one
// at a time, in the order of the events, on the observer pump, never on
// the actor; Stopped is the last call, made by Close.
type Observer interface {
	Conn(ConnEvent)
	Resume(ResumeEvent)
	Subscription(SubEvent)
	// Dropped reports n events dropped, just before the next one, because
	// more than maxObserved were waiting.
	Dropped(n uint64)
	Stopped()
}

// observer queues events for an Observer and runs its pump.
type observer struct {
	o       Observer
	mu      sync.Mutex
	queue   []any // ConnEvent, ResumeEvent, SubEvent; under mu
	dropped uint64
	stopped bool          // under mu: no event is taken any more
	signal  chan struct{} // pushers → pump: an event waits; capacity 1
	stop    chan struct{} // closed by close → pump: deliver what waits, then Stopped
	done    chan struct{} // closed by the pump as it ends
	once    sync.Once

	// Actor only.
	pending   bool // an attempt started and has neither failed nor gone live
	attempt   uint64
	endpoint  string
	attemptAt time.Time
	liveAt    time.Time
	round     roundStart
}

// roundStart is what the session's counters held when it went live.
type roundStart struct {
	keys                       int
	resumes, replayed, resyncs uint64
}

// newObserver starts the pump of o; nil when o is nil.
func newObserver(o Observer) *observer {
	if o == nil {
		return nil
	}
	ob := &observer{o: o, signal: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go ob.run()
	return ob
}

// push queues an event without blocking.
func (o *observer) push(ev any) {
	o.mu.Lock()
	switch {
	case o.stopped:
	case len(o.queue) < maxObserved:
		o.queue = append(o.queue, ev)
	default:
		o.dropped++
	}
	o.mu.Unlock()
	select {
	case o.signal <- struct{}{}:
	default:
	}
}

// take returns the waiting events and the count of dropped ones.
func (o *observer) take(spare []any) ([]any, uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	batch, n := o.queue, o.dropped
	o.queue, o.dropped = spare[:0], 0
	return batch, n
}

func (o *observer) run() {
	defer close(o.done)
	var batch []any
	for {
		var dropped uint64
		batch, dropped = o.take(batch)
		if o.deliver(batch, dropped) {
			continue
		}
		select {
		case <-o.signal:
		case <-o.stop:
			o.mu.Lock()
			o.stopped = true
			o.mu.Unlock()
			batch, dropped = o.take(batch)
			o.deliver(batch, dropped)
			o.o.Stopped()
			return
		}
	}
}

// deliver hands batch to the Observer, after the count of the events
// dropped before it; it reports whether there was anything to hand.
func (o *observer) deliver(batch []any, dropped uint64) bool {
	if dropped > 0 {
		o.o.Dropped(dropped)
	}
	for i, ev := range batch {
		switch e := ev.(type) {
		case ConnEvent:
			o.o.Conn(e)
		case ResumeEvent:
			o.o.Resume(e)
		case SubEvent:
			o.o.Subscription(e)
		}
		batch[i] = nil
	}
	return len(batch) > 0 || dropped > 0
}

// close delivers what waits, calls Stopped and waits for the pump. Called
// by Close once every goroutine of the session has ended.
func (o *observer) close() {
	if o == nil {
		return
	}
	o.once.Do(func() { close(o.stop) })
	<-o.done
}

func (o *observer) conn(ev ConnEvent) {
	ev.Time = time.Now()
	o.push(ev)
}

// attemptStart notes a connection attempt starting (actor).
func (o *observer) attemptStart(n uint64, endpoint string) {
	if o == nil {
		return
	}
	o.attempt, o.endpoint, o.attemptAt, o.pending = n, RedactURL(endpoint), time.Now(), true
	o.conn(ConnEvent{Stage: ConnAttempt, Endpoint: o.endpoint, Attempt: n})
}

// attemptFailed notes the failure of the attempt under way (actor).
func (o *observer) attemptFailed(err error) {
	if o == nil {
		return
	}
	o.pending = false
	o.conn(ConnEvent{Stage: ConnAttemptFailed, Endpoint: o.endpoint, Attempt: o.attempt, Err: err, Duration: time.Since(o.attemptAt)})
}

// live notes the session going live and what the counters hold as its
// resume starts (actor).
func (o *observer) live(s *Session) {
	if o == nil {
		return
	}
	o.liveAt, o.pending = time.Now(), false
	o.round = roundStart{keys: len(s.keys), resumes: s.stats.resumes.Load(), replayed: s.stats.replayed.Load(), resyncs: s.stats.resyncs.Load()}
	o.conn(ConnEvent{Stage: ConnLive, Endpoint: o.endpoint, Attempt: o.attempt, Dialect: s.peer.info.Dialect, Duration: o.liveAt.Sub(o.attemptAt)})
}

// lost notes the loss of the connection: of a live session, with the
// resume it cut short if one was under way, or of an attempt still in
// its handshake (actor).
func (o *observer) lost(s *Session, wasLive bool, err error) {
	if o == nil {
		return
	}
	if err == nil {
		err = ErrConnectionLost
	}
	if !wasLive {
		o.attemptFailed(err)
		return
	}
	if s.round.active {
		o.resumeEnd(s, err)
	}
	o.conn(ConnEvent{Stage: ConnLost, Endpoint: o.endpoint, Attempt: o.attempt, Dialect: s.peer.info.Dialect, Err: err, Duration: time.Since(o.liveAt)})
}

// resumeEnd notes the end of the resume that followed going live (actor).
func (o *observer) resumeEnd(s *Session, err error) {
	if o == nil {
		return
	}
	r := o.round
	o.push(ResumeEvent{
		Time: time.Now(), Endpoint: o.endpoint, Dialect: s.peer.info.Dialect, Keys: r.keys,
		Resumed:  s.stats.resumes.Load() - r.resumes,
		Replayed: s.stats.replayed.Load() - r.replayed,
		Resynced: s.stats.resyncs.Load() - r.resyncs,
		Duration: time.Since(o.liveAt), Err: err,
	})
}

// backoff notes the wait before the next attempt (actor).
func (o *observer) backoff(d time.Duration) {
	if o == nil {
		return
	}
	o.conn(ConnEvent{Stage: ConnBackoff, Endpoint: o.endpoint, Attempt: o.attempt, Delay: d})
}

// failed notes the session's terminal error, and the failure of the
// attempt under way if it caused it (a 401 in the handshake) (actor).
func (o *observer) failed(err error) {
	if o == nil {
		return
	}
	if o.pending {
		o.attemptFailed(err)
	}
	o.conn(ConnEvent{Stage: ConnFailed, Endpoint: o.endpoint, Attempt: o.attempt, Err: err})
}

// subOpened notes a subscription registered by Subscribe (actor).
func (o *observer) subOpened(sub *Subscriber, buffer int) {
	if o == nil {
		return
	}
	o.push(subEvent(sub, buffer > 0, true, nil))
}

// subEnded counts a subscription ended by ErrSlowConsumer and tells the
// observer that sub ended with err. It runs where the subscription is
// finished: on its pump, on the actor, or on the goroutine that ended it.
func (s *Session) subEnded(sub *Subscriber, err error) {
	if errors.Is(err, ErrSlowConsumer) {
		s.stats.slowConsumers.Add(1)
	}
	if s.obs != nil {
		s.obs.push(subEvent(sub, sub.Mailbox.buffer > 0, false, err))
	}
}

func subEvent(sub *Subscriber, buffered, opened bool, err error) SubEvent {
	ev := SubEvent{Time: time.Now(), Opened: opened, Keys: len(sub.Keys), Path: sub.Part != nil, Buffered: buffered, Err: err}
	if len(sub.Keys) > 0 {
		ev.Key = sub.Keys[0]
	}
	return ev
}

// CallTrace records for an observer whether a call's CALL frame was
// queued, and for which server. The actor writes it once; the caller
// reads it after the call returned.
type CallTrace struct {
	sent     atomic.Bool
	dialect  Dialect
	endpoint string
}

// sentTo records that the call went out to the server of info (actor).
func (t *CallTrace) sentTo(info *ServerInfo) {
	if t == nil {
		return
	}
	t.dialect, t.endpoint = info.Dialect, info.Endpoint
	t.sent.Store(true)
}

// Sent reports whether the CALL frame was queued on a connection and, if
// so, the dialect and endpoint of that connection's server.
func (t *CallTrace) Sent() (sent bool, d Dialect, endpoint string) {
	if !t.sent.Load() {
		return false, 0, ""
	}
	return true, t.dialect, t.endpoint
}

// countSnapshot counts a STATE_INIT that gave a key its first value
// (first: it changed the key and no subscriber had a value of it).
func (s *Session) countSnapshot(first bool) {
	if first {
		s.stats.snapshots.Add(1)
	}
}

// moreStats fills the counters of st that observing needs.
func (s *Session) moreStats(st *Stats) {
	st.BytesIn, st.BytesOut = s.stats.bytesIn.Load(), s.stats.bytesOut.Load()
	st.Snapshots, st.SlowConsumers = s.stats.snapshots.Load(), s.stats.slowConsumers.Load()
	st.OutboundQueue = s.outboundDepth()
}

// outboundDepth is the number of frames waiting to be written on the
// current connection.
func (s *Session) outboundDepth() int {
	c := s.pub.conn.Load()
	if c == nil {
		return 0
	}
	select {
	case <-c.done:
		return 0
	default:
	}
	c.outMu.Lock()
	defer c.outMu.Unlock()
	return len(c.out)
}
