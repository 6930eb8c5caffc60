package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sodp-go/client/internal/wire"
)

// Defaults used when a Config field is zero.
const (
	DefaultCallTimeout = 30 * time.Second
	DefaultHeartbeat   = 25 * time.Second
	DefaultHandshake   = 10 * time.Second
	DefaultBackoffMin  = time.Second
	DefaultBackoffMax  = 30 * time.Second
	DefaultMaxMessage  = 1 << 20
	// GoServerMaxMessage is the Go SODP server's message size limit: it
	// closes the connection (1009) on a larger message. It is the outbound
	// limit when the server is recognised as that one and no limit is
	// configured.
	GoServerMaxMessage   = 64 << 10
	DefaultEventBuffer   = 64
	DefaultOutboundQueue = 16384
)

// phase is the actor's view of the connection.
type phase uint8

const (
	phDialing   phase = iota // a dial goroutine is running
	phHandshake              // connected, waiting for HELLO or AUTH_OK
	phLive                   // session live
	phBackoff                // waiting to dial again
	phFailed                 // terminal error; no more dialing
	phClosed
)

type counters struct {
	connects, reconnects, disconnects, resumes, replayed, resyncs, deltas atomic.Uint64
	conflated, callsSent, errors, framesIn, framesOut, decodeErrors       atomic.Uint64
	applyErrors                                                           atomic.Uint64
	bytesIn, bytesOut, snapshots, slowConsumers                           atomic.Uint64
}

// Session is one client's session actor and everything it started.
type Session struct {
	cfg Config
	log *slog.Logger
	rtt rttProbe // round trips of the client's pings (rtt.go)
	// in is the command channel: everything that happens to the session
	// reaches the actor here. Callers (do, post) → actor: command. Dial
	// goroutine → actor: dialResult. Reader → actor: frameIn, connLost.
	// Writer → actor: connLost. Buffered (64) so a reader rarely waits.
	in chan any
	// quit is closed by Close → the actor stops (shutdown); the dial,
	// reader and writer goroutines stop waiting to send on in.
	quit chan struct{}
	// done is closed by the actor as its last act → callers of do and
	// post, Call and WaitVersion waiters, the Events pump and the
	// subscription pumps: the session has stopped.
	done chan struct{}
	wg   sync.WaitGroup // every goroutine the session started; Close waits for it

	closeOnce sync.Once
	stats     counters
	obs       *observer // nil without Config.Observer (observe.go)

	// Published by the actor, read by anyone.
	pub published // the state, errors, gauges and server (published.go)

	evq *eventQueue

	calls callTable // the calls, from their callers to their answers (calltable.go)

	// Actor-only state.
	ph           phase
	conn         *conn
	link         link   // the connection attempts, the handshake, liveness (link.go)
	redial       redial // the reconnect back-off (redial.go)
	retry        alarm  // fires at the earliest retryAt of a key (alarm.go)
	peer         peer   // the server of the current connection (peer.go)
	limitDefault bool   // no MaxMessageSize was configured: the server's known limit applies
	keys         map[string]*keyState
	streams      streamMap // stream ids bound to keys, and their numbering (streams.go)
	presence     map[string]map[string]any
	roster       roster            // the subscriptions attached, and those ending (roster.go)
	inSize       int               // wire size of the frame being handled
	reqQueue     fifo[*subRequest] // WATCH/RESUME requests waiting for flow control

	// Requests, flow control, replays and their timers, per connection
	// unless noted; each type in the file named beside it.
	reqs      requestFIFO // WATCH, RESUME and CALL requests waiting for their answer (reqfifo.go)
	win       window      // the frames the server may owe (flowcontrol.go)
	round     resumeRound // the resume after going live, its replays (resume.go)
	hb        beats       // the HEARTBEATs sent and their echoes (heartbeat.go)
	bar       barrier     // the replay barrier (barrier.go)
	pace      pacer       // spaces WATCH/RESUME frames to the server's announced rate (pacer.go)
	refused   refusals    // 429s that named no request, held (refusals.go)
	deadlines alarm       // request and barrier deadlines, held refusals (alarm.go)
}

type gauges struct {
	subs, keys, calls, presence int
}

// New starts a session; it connects in the background.
func New(cfg Config) (*Session, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("sodp: no server URL")
	}
	for i, e := range cfg.Endpoints {
		u, err := NormalizeURL(e)
		if err != nil {
			return nil, err
		}
		cfg.Endpoints[i] = u
	}
	limitDefault := cfg.MaxMessageSize == 0
	setDefaults(&cfg)
	s := &Session{
		cfg:          cfg,
		limitDefault: limitDefault,
		log:          cfg.Logger,
		in:           make(chan any, 64),
		quit:         make(chan struct{}),
		done:         make(chan struct{}),
		pub:          newPublished(),
		evq:          newEventQueue(cfg.EventBuffer),
		keys:         make(map[string]*keyState),
		calls:        callTable{pfx: fmt.Sprintf("%08x-", rand.Uint32()), sent: make(map[string]*pendingCall)},
		presence:     make(map[string]map[string]any),
		obs:          newObserver(cfg.Observer),
	}
	s.wg.Add(1)
	go s.run()
	return s, nil
}

func setDefaults(c *Config) {
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.HandshakeTime <= 0 {
		c.HandshakeTime = DefaultHandshake
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = DefaultBackoffMin
	}
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = max(DefaultBackoffMax, c.BackoffMin)
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = DefaultMaxMessage
	}
	if c.EventBuffer <= 0 {
		c.EventBuffer = DefaultEventBuffer
	}
	if c.OutboundQueue <= 0 {
		c.OutboundQueue = DefaultOutboundQueue
	}
}

// Close stops the session: pending calls fail with ErrClosed, every
// subscription ends with ErrClosed, the connection closes, and Close
// returns after every goroutine the session started has exited.
func (s *Session) Close() error {
	s.closeOnce.Do(func() { close(s.quit) })
	s.wg.Wait()
	s.obs.close()
	return nil
}

// Done is closed when the actor has stopped.
func (s *Session) Done() <-chan struct{} { return s.done }

// Events returns the event channel. It is closed after Close.
//
// The goroutine that feeds the channel starts on the first call, so a
// client whose events nobody reads runs none.
func (s *Session) Events() <-chan Event {
	q := s.evq
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.out != nil {
		return q.out
	}
	out := make(chan Event, 1)
	q.out = out
	if q.stopped {
		close(out)
	} else {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			pump(s.evq, s.done, out)
		}()
	}
	return out
}

// Server returns what is known of the server, or nil before the first HELLO.
func (s *Session) Server() *ServerInfo { return s.pub.server.Load() }

// Stats returns a snapshot of the counters.
func (s *Session) Stats() Stats {
	st := Stats{
		Connects:     s.stats.connects.Load(),
		Reconnects:   s.stats.reconnects.Load(),
		Disconnects:  s.stats.disconnects.Load(),
		Resumes:      s.stats.resumes.Load(),
		Replayed:     s.stats.replayed.Load(),
		Resyncs:      s.stats.resyncs.Load(),
		Deltas:       s.stats.deltas.Load(),
		Conflated:    s.stats.conflated.Load(),
		CallsSent:    s.stats.callsSent.Load(),
		Errors:       s.stats.errors.Load(),
		FramesIn:     s.stats.framesIn.Load(),
		FramesOut:    s.stats.framesOut.Load(),
		DecodeErrors: s.stats.decodeErrors.Load(),
		ApplyErrors:  s.stats.applyErrors.Load(),
		ErrorsByCode: map[int]uint64{},
		RTT:          s.rtt.Last(),
	}
	s.moreStats(&st)
	s.pub.fill(&st)
	return st
}

// do runs f on the actor and waits for it; it fails with ErrClosed when the
// actor is gone and with ctx's error when ctx ends first.
func (s *Session) do(ctx context.Context, f func()) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	cmd := command{f: f, done: make(chan struct{})}
	select {
	case s.in <- cmd:
	case <-s.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-cmd.done:
		return nil
	case <-s.done:
		// The actor may have run f just before stopping.
		select {
		case <-cmd.done:
			return nil
		default:
		}
		return ErrClosed
	}
}

// post runs f on the actor without waiting; false if the actor is gone.
func (s *Session) post(f func()) bool {
	select {
	case s.in <- command{f: f}:
		return true
	case <-s.done:
		return false
	}
}

// command is a function a caller runs on the actor (do, post).
type command struct {
	f    func()
	done chan struct{} // actor closes it once f returned → the caller of do; nil for post
}

func (s *Session) run() {
	defer s.wg.Done()
	tick := time.NewTicker(s.cfg.Heartbeat / 4)
	defer tick.Stop()
	s.redial = newRedial()
	s.link = newLink()
	defer s.link.stop()
	s.retry, s.deadlines = newAlarm(), newAlarm()
	defer s.retry.stop()
	defer s.deadlines.stop()
	s.startDial()
	for {
		select {
		case <-s.quit:
			s.shutdown()
			return
		case msg := <-s.in:
			s.handle(msg)
			s.drainIn()
		case <-tick.C:
			s.onTick()
		case <-s.redial.C():
			if s.ph == phBackoff {
				s.startDial()
			}
		case <-s.link.C():
			s.checkHandshake(time.Now())
		case <-s.retry.C():
			s.retryKeys(time.Now())
		case now := <-s.deadlines.C():
			s.onWake(now)
			s.pumpCalls()
		}
	}
}

// drainBatch is how many queued messages the actor handles in a row
// before it looks at its timers and quit again.
const drainBatch = 64

// drainIn handles the messages already queued on s.in, up to drainBatch,
// with a receive that costs much less than the actor's full select: under
// a stream of frames, most of them are taken this way.
func (s *Session) drainIn() {
	for range drainBatch {
		select {
		case msg := <-s.in:
			s.handle(msg)
		default:
			return
		}
		select {
		case <-s.quit:
			return
		default:
		}
	}
}

func (s *Session) handle(msg any) {
	defer s.releaseEnding()
	switch m := msg.(type) {
	case command:
		m.f()
		if m.done != nil {
			close(m.done)
		}
	case dialResult:
		s.onDialed(m)
	case frameIn:
		if s.conn == nil || m.epoch != s.conn.epoch {
			return
		}
		s.stats.framesIn.Add(1)
		s.stats.bytesIn.Add(uint64(m.size))
		s.inSize = m.size
		s.onFrame(m.frame, m.err)
		s.pumpRequests()
		s.pumpCalls()
	case connLost:
		if s.conn == nil || m.epoch != s.conn.epoch {
			return
		}
		s.connectionLost(m.err)
	}
}

// setState publishes a connection state change and emits an event.
func (s *Session) setState(st ConnState, err error) {
	if !s.pub.set(st, err) {
		return
	}
	s.emit(Event{Time: time.Now(), State: st, Err: err}, true)
}

// emit queues an event for the Events channel without blocking.
func (s *Session) emit(ev Event, isState bool) { s.evq.push(ev, isState) }

func (s *Session) setLastErr(err error) { s.pub.setLast(err) }

// reportErr makes err visible: logged, and sent as an event.
func (s *Session) reportErr(err error, attrs ...any) {
	s.log.Warn(logMessage(err), append([]any{"err", err}, attrs...)...)
	s.emit(Event{Time: time.Now(), State: s.State(), Err: err}, false)
}

func (s *Session) publishGauges() {
	n := 0
	for _, p := range s.presence {
		n += len(p)
	}
	s.pub.setGauges(gauges{subs: s.roster.attached, keys: len(s.keys), calls: s.calls.waiting(), presence: n})
}

// send queues a frame on the current connection; a full queue means the
// connection is stalled and it is dropped.
func (s *Session) send(t wire.Type, stream uint32, body any) bool {
	if s.conn == nil {
		return false
	}
	if !s.conn.send(outFrame{typ: t, stream: stream, body: body}) {
		s.dropConn(fmt.Errorf("%w: outbound queue full (%d frames); the connection is stalled", ErrConnectionLost, s.cfg.OutboundQueue))
		return false
	}
	return true
}

// fail makes the session terminally failed with err.
func (s *Session) fail(err error) {
	if s.conn != nil {
		c := s.conn
		s.conn = nil
		c.close()
	}
	s.ph = phFailed
	s.obs.failed(err)
	s.redial.stop()
	s.link.stopDial()
	// Published before anyone is told: a caller or subscriber that gets
	// err reads StateFailed from State.
	s.setState(StateFailed, err)
	for id, pc := range s.calls.sent {
		pc.finish(nil, err)
		delete(s.calls.sent, id)
	}
	for pc := range s.calls.queued.all {
		pc.finish(nil, err)
	}
	s.calls.queued.reset()
	s.reqs.reset()
	s.calls.abandoned = 0
	s.removeAllSubs(err)
	s.log.Error("sodp: session failed", "err", err)
	s.publishGauges()
}

func (s *Session) shutdown() {
	s.ph = phClosed
	s.redial.stop()
	s.link.stopDial()
	if s.conn != nil {
		c := s.conn
		s.conn = nil
		_ = c.ws.Write(msgClose, []byte("client closed"), time.Now().Add(100*time.Millisecond))
		c.close()
	}
	for _, pc := range s.calls.sent {
		pc.finish(nil, ErrClosed)
	}
	for pc := range s.calls.queued.all {
		pc.finish(nil, ErrClosed)
	}
	s.calls.sent = nil
	s.calls.queued.reset()
	s.removeAllSubs(ErrClosed)
	s.setState(StateClosed, nil)
	s.publishGauges()
	s.evq.stop()
	close(s.done)
}

// logMessage names the kind of a reported error for a log line's message;
// the error itself goes in the err attribute.
func logMessage(err error) string {
	var se *ServerError
	var ce *CloseError
	switch {
	case errors.As(err, &se):
		return "sodp: server error"
	case errors.As(err, &ce):
		return "sodp: server closed the connection"
	case errors.Is(err, ErrDesync):
		return "sodp: local copy out of sync"
	case errors.Is(err, ErrProtocol):
		return "sodp: protocol error"
	case errors.Is(err, ErrTooLarge):
		return "sodp: message too large"
	}
	return "sodp: error"
}

// callRefused is the error of a call the server never read: it closed
// the connection with 1009 (message too big) at this call's frame or at
// an earlier one.
func callRefused(method string, cause error) error {
	msg := "sodp: " + method + " not applied: the server closed the connection on a message too big, this call's or one sent before it, and read nothing after it"
	return &withCause{msg: msg + ": " + Detail(cause), primary: ErrConnectionLost, cause: cause}
}

// callLost is the error of a call whose connection ended before the
// answer.
func callLost(method string, cause error) error {
	msg := "sodp: connection lost before the server answered " + method + " (it may or may not have been applied)"
	if cause == nil || cause == ErrConnectionLost {
		return &withCause{msg: msg, primary: ErrConnectionLost, cause: ErrConnectionLost}
	}
	return &withCause{msg: msg + ": " + Detail(cause), primary: ErrConnectionLost, cause: cause}
}
