package session

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/sodp-go/client/internal/wire"
)

type callResult struct {
	data any
	err  error
}

// pendingCall is one CALL from sending to its answer.
type pendingCall struct {
	id       string
	method   string
	key      string
	body     wire.Raw
	adapt    func(Dialect) (wire.Raw, error) // builds the body for the server's dialect
	reply    chan callResult                 // actor (finish) → the caller of Call: the answer; capacity 1, sent once
	finished bool
	onOK     func()      // runs on the actor after a successful result
	onFail   func(error) // runs on the actor when a call no caller waits for fails
	seq      uint64      // the number of its CALL frame on the connection it was sent on (see conn.queued)
	trace    *CallTrace
	// ctx is the caller's context (with the call timeout): a call whose
	// caller has left is not sent.
	ctx context.Context
	qi  int // index in callTable.queued (fifo)
	// nextLeft links the calls whose callers left, from the caller that
	// pushed it (leave) to the actor (cancelCalls).
	nextLeft *pendingCall
	// sending is set by the actor when it starts sending the call (sendCall).
	sending atomic.Bool
}

func (pc *pendingCall) fifoIndex() *int { return &pc.qi }

func (pc *pendingCall) finish(data any, err error) {
	if pc.finished {
		return
	}
	pc.finished = true
	if pc.reply != nil {
		pc.reply <- callResult{data: data, err: err}
	} else if err != nil && pc.onFail != nil {
		pc.onFail(err)
	}
}

// CallSpec describes one call for Session.Call.
type CallSpec struct {
	Method string
	Key    string         // the key concerned, for errors; may be empty
	Args   map[string]any // encoded before the call is queued
	// State, when set, makes the call that state method (Method and Key
	// name it, Args is not used): its body is built by the session for
	// the server's dialect (see StateCall), and a successful presence
	// entry is remembered and re-sent after every reconnect.
	State *StateCall
	// Trace, when set, records whether the call was sent, and where.
	Trace *CallTrace
}

// presenceEntry is one remembered presence value.
type presenceEntry struct {
	Key, Path string
	Value     any
}

// Call sends a CALL and waits for its result. Without a deadline in ctx the
// configured call timeout applies.
func (s *Session) Call(ctx context.Context, spec CallSpec) (any, error) {
	if ctx == nil {
		return nil, fmt.Errorf("sodp: call %s: nil context", spec.Method)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sodp: call %s: %w", spec.Method, err)
	}
	var timeout error // the cause of our call timeout, when it applies
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		timeout = &withCause{
			msg:     fmt.Sprintf("no answer within the client's call timeout (%s, WithCallTimeout): %s", s.cfg.CallTimeout, context.DeadlineExceeded),
			primary: context.DeadlineExceeded, cause: context.DeadlineExceeded,
		}
		ctx, cancel = context.WithTimeoutCause(ctx, s.cfg.CallTimeout, timeout)
		defer cancel()
	}
	ctxErr := func() error {
		if timeout != nil && context.Cause(ctx) == timeout {
			return fmt.Errorf("sodp: call %s: %w", spec.Method, timeout)
		}
		return fmt.Errorf("sodp: call %s: %w", spec.Method, ctx.Err())
	}
	pc := &pendingCall{
		id:     s.calls.newID(),
		method: spec.Method,
		key:    spec.Key,
		reply:  make(chan callResult, 1),
		trace:  spec.Trace,
		ctx:    ctx,
	}
	if spec.State != nil {
		if err := s.prepareState(pc, *spec.State); err != nil {
			return nil, err
		}
	} else {
		body, err := s.encodeCall(pc.id, spec.Method, spec.Args)
		if err != nil {
			return nil, err
		}
		pc.body = body
	}
	select {
	case s.in <- command{f: func() { s.startCall(pc) }}:
	case <-s.done:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, s.notSent(spec.Method, timeout, ctx)
	}
	select {
	case r := <-pc.reply:
		if r.err != nil {
			return nil, r.err
		}
		return r.data, nil
	case <-ctx.Done():
		s.leave(pc)
		if !pc.sending.Load() {
			return nil, s.notSent(spec.Method, timeout, ctx)
		}
		return nil, ctxErr()
	case <-s.done:
		select {
		case r := <-pc.reply:
			return r.data, r.err
		default:
		}
		return nil, ErrClosed
	}
}

// encodeCall builds a CALL body and checks it against the size limit.
func (s *Session) encodeCall(id, method string, args map[string]any) (wire.Raw, error) {
	if args == nil {
		args = map[string]any{}
	}
	body, err := wire.AppendValue(nil, map[string]any{"call_id": id, "method": method, "args": args})
	if err != nil {
		return nil, fmt.Errorf("sodp: call %s: %w", method, err)
	}
	if err := checkSize(method, body, s.cfg.MaxMessageSize, ""); err != nil {
		return nil, err
	}
	return wire.Raw(body), nil
}

// frameHeader bounds the bytes a frame adds around its body.
const frameHeader = 24

// checkSize fails a call body that, framed, would be larger than limit
// (no limit when limit <= 0). whose, appended to the message, says whose
// limit it is when it is not the configured one.
func checkSize(method string, body []byte, limit int64, whose string) error {
	if limit <= 0 || int64(len(body))+frameHeader <= limit {
		return nil
	}
	return fmt.Errorf("%w: call %s encodes to %d bytes, over the %d-byte message limit%s", ErrTooLarge, method, len(body), limit, whose)
}

// sendLimit is the size limit for one outgoing message on the current
// connection: the configured one or, when none was configured, the known
// limit of the server family (64 KiB for the Go server, which closes the
// connection on a larger message; the configured default otherwise).
func (s *Session) sendLimit() (limit int64, whose string) {
	if s.limitDefault && s.peer.info.Dialect == DialectGo {
		return GoServerMaxMessage, " of the Go SODP server (WithMaxMessageSize overrides it)"
	}
	return s.cfg.MaxMessageSize, ""
}

func (s *Session) startCall(pc *pendingCall) {
	switch s.ph {
	case phClosed:
		pc.finish(nil, ErrClosed)
	case phFailed:
		pc.finish(nil, s.pub.failErr)
	default:
		s.calls.queued.push(pc)
		s.pumpCalls()
	}
	s.publishGauges()
}

func (s *Session) sendCall(pc *pendingCall) {
	if pc.finished {
		return
	}
	// Set before the context is looked at: a caller who left and finds it
	// unset knows the frame was not, and will not be, sent.
	pc.sending.Store(true)
	if pc.ctx != nil && pc.ctx.Err() != nil {
		// The caller has left (or is leaving) with its context's error:
		// the call is not sent, takes no place in the window, and no
		// answer is sent to a caller who does not wait for one (waking
		// each of many callers that share a deadline would cost the actor
		// a goroutine switch apiece).
		pc.finished = true
		pc.body, pc.adapt = nil, nil
		return
	}
	body := pc.body
	if pc.adapt != nil {
		b, err := pc.adapt(s.peer.info.Dialect)
		if err != nil {
			pc.finish(nil, err)
			return
		}
		body = b
	}
	if limit, whose := s.sendLimit(); limit != s.cfg.MaxMessageSize {
		// Checked here, when the server is known; nothing is sent and the
		// connection stays up.
		if err := checkSize(pc.method, body, limit, whose); err != nil {
			pc.finish(nil, err)
			return
		}
	}
	s.calls.sent[pc.id] = pc
	s.newRequest(&request{kind: reqCall, call: pc})
	s.stats.callsSent.Add(1)
	pc.trace.sentTo(&s.peer.info)
	if s.send(wire.TypeCall, wire.ControlStream, body) && s.conn != nil {
		pc.seq = s.conn.queued
	}
}

// leave tells the actor that the caller of pc has left, without waiting
// for it: callers that leave together (calls sharing one deadline) push
// their calls on one lock-free stack that the actor takes whole
// (cancelCalls), and only the first of them posts a command.
func (s *Session) leave(pc *pendingCall) {
	if s.calls.pushLeft(pc) {
		s.post(s.cancelCalls)
	}
}

// cancelCalls gives up on the calls whose callers left (leave).
func (s *Session) cancelCalls() {
	for pc := s.calls.takeLeft(); pc != nil; {
		next := pc.nextLeft
		pc.nextLeft = nil
		s.cancelCall(pc)
		pc = next
	}
	s.pumpCalls() // their slots are free
	s.publishGauges()
}

// cancelCall gives up on a call whose caller left. A call already sent
// keeps its place in the request FIFO so the server's answer is still
// matched to it.
//
// Only a placeholder stays: the encoded arguments are released, and when
// more than maxAbandonedCalls placeholders wait (a server that answers
// nothing), the oldest is dropped. A call still queued is taken out of
// the queue at constant cost, so that many callers leaving at once cost
// the actor time in proportion to their number.
func (s *Session) cancelCall(pc *pendingCall) {
	pc.finished = true
	pc.body, pc.adapt = nil, nil
	s.calls.queued.remove(pc)
	if s.calls.sent[pc.id] == pc {
		delete(s.calls.sent, pc.id)
		s.calls.abandoned++
		if s.calls.abandoned > maxAbandonedCalls {
			s.dropAbandoned()
		}
	}
}

func (s *Session) rememberPresence(p presenceEntry) {
	if p.Value == nil {
		if m := s.presence[p.Key]; m != nil {
			delete(m, p.Path)
			if len(m) == 0 {
				delete(s.presence, p.Key)
			}
		}
	} else {
		m := s.presence[p.Key]
		if m == nil {
			m = make(map[string]any)
			s.presence[p.Key] = m
		}
		m[p.Path] = p.Value
	}
	s.publishGauges()
}

// resendPresence sends every remembered presence entry again; the server
// removed them when the old session ended. A server without presence gets
// none of them: that is reported on Events, and the entries are kept for a
// later connection to a server that has presence. A refusal of an entry
// sent again is reported on Events too (see presenceRefused).
func (s *Session) resendPresence() {
	if len(s.presence) == 0 {
		return
	}
	if !hasPresence(s.peer.info.Dialect) {
		keys := slices.Sorted(maps.Keys(s.presence))
		if len(keys) > 5 {
			keys = append(keys[:5], "…")
		}
		s.reportErr(fmt.Errorf("%w: state.presence (the Go SODP server has no presence): the presence entries of keys %s are not restored on this server; they are kept for a server that has presence",
			ErrNotSupported, strings.Join(keys, ", ")))
		return
	}
	for key, m := range s.presence {
		for path, v := range m {
			pc := &pendingCall{id: s.calls.newID(), method: OpPresence.Method(), key: key}
			pc.onFail = func(err error) { s.presenceRefused(key, path, err) }
			args, err := stateBody(s.peer.info.Dialect, StateCall{Op: OpPresence, Key: key, Path: path, Value: v})
			var body wire.Raw
			if err == nil {
				body, err = s.encodeCall(pc.id, pc.method, args)
			}
			if err != nil {
				s.reportErr(err, "key", key)
				continue
			}
			pc.body = body
			s.sendCall(pc)
		}
	}
}

// presenceRefused reports a presence entry sent again after a reconnect
// that did not get through. The server refused it: the entry is forgotten,
// unless the refusal is a passing one (429, a server error), and is then
// sent again after the next reconnect. The connection was lost or the
// client closes: it is sent again on the next connection, or never.
func (s *Session) presenceRefused(key, path string, err error) {
	if errors.Is(err, ErrConnectionLost) || errors.Is(err, ErrClosed) {
		return
	}
	what := "forgotten"
	var se *ServerError
	if errors.As(err, &se) && (se.Code == 429 || se.Code == 0 || se.Code >= 500) {
		what = "kept, to be sent again after the next reconnect"
	} else {
		s.rememberPresence(presenceEntry{Key: key, Path: path})
	}
	s.reportErr(fmt.Errorf("sodp: presence entry %s %s not restored after reconnecting (%s): %w", key, path, what, err), "key", key)
}

// onResult matches a RESULT to its call by call_id.
func (s *Session) onResult(b *wire.Result) {
	pc := s.takeAnswered(b.CallID)
	if b.Success {
		if pc != nil {
			if pc.onOK != nil {
				pc.onOK()
			}
			pc.finish(b.Data, nil)
		}
	} else {
		se := &ServerError{Code: b.Code, Message: b.Message, Attribution: AttrCallID}
		if pc != nil {
			se.Method, se.Key = pc.method, pc.key
		}
		s.countError(se.Code)
		if pc == nil || pc.finished {
			s.reportErr(se)
		} else {
			pc.finish(nil, se)
		}
	}
}

// pumpCalls sends queued calls while few enough wait for their result.
func (s *Session) pumpCalls() {
	limit := s.win.callLimit()
	for s.ph == phLive && s.conn != nil && len(s.calls.sent) < limit {
		pc, ok := s.calls.queued.pop()
		if !ok {
			break
		}
		s.sendCall(pc)
	}
}

// dropAbandoned drops the oldest placeholder of a call whose caller left
// when more than maxAbandonedCalls wait, recounting them on the way.
func (s *Session) dropAbandoned() {
	n, oldest := 0, -1
	for i, r := range s.reqs.list {
		if r.kind == reqCall && r.call.finished {
			if oldest < 0 {
				oldest = i
			}
			n++
		}
	}
	if n > maxAbandonedCalls {
		s.reqs.list = slices.Delete(s.reqs.list, oldest, oldest+1)
		n--
	}
	s.calls.abandoned = n
}

// takeAnswered takes the call a RESULT with id answers out of the request
// FIFO and the calls sent, and returns it (nil when none waits: a call
// whose caller left, or an id never sent). The gauges are published before
// the caller hears back, so a caller that reads Stats right after its call
// returns sees the call gone.
func (s *Session) takeAnswered(id string) *pendingCall {
	var pc *pendingCall
	if id != "" {
		if idx := s.reqs.call(id); idx >= 0 {
			pc = s.reqs.list[idx].call
			s.popRequest(idx)
		}
		if p := s.calls.sent[id]; p != nil {
			pc = p
			delete(s.calls.sent, id)
		}
	}
	s.publishGauges()
	return pc
}
