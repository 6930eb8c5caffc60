package sodp

import (
	"context"
	"errors"
	"time"

	"github.com/sodp-go/client/internal/session"
)

// Hooks are functions a Client calls when something it observes happens:
// a call returns, a connection attempt starts or ends, a resume ends, a
// subscription opens or ends. They are meant for metrics, traces and
// logs; package sodpotel builds them for OpenTelemetry. Every field is
// optional. A client made without WithHooks does no work for hooks at
// all, and a nil field costs nothing.
//
// Where hooks run:
//
//   - Opened runs on the goroutine of New or Dial, before the client is
//     returned and before any other hook of the client.
//   - Call runs on the goroutine that made the call, as the call returns.
//     Calls run concurrently, so Call may run concurrently with itself and
//     with the other hooks.
//   - Connection, Resume, Subscription, Dropped and Closed run on one
//     goroutine that the client starts for its hooks, one at a time, in
//     the order of the events. The client's own goroutines never wait for
//     a hook: they queue what happened (up to 1,024 events; past that
//     events are dropped, and Dropped says how many before the next one is
//     delivered). A hook that blocks delays only the hooks after it, and
//     Close.
//   - Closed runs once, during Close, after every other hook except a Call
//     of a call that was still returning; Close returns after it.
//
// A hook must not call Close on its own client (Close waits for the
// hooks), and must not modify what it is given.
type Hooks struct {
	// Opened is called with the new client.
	Opened func(c *Client)
	// Closed is called with the client as it closes. A Dial that fails
	// closes the client it made: Closed is called then too.
	Closed func(c *Client)
	// Call is called for every Call, Set, Patch, SetIn, Delete and
	// Presence whose arguments were valid, when it returns; ctx is the
	// call's context. Presence entries the client sends again after a
	// reconnect are not calls of the user and are not reported.
	Call func(ctx context.Context, info CallInfo)
	// Connection is called at each step of the connection lifecycle.
	Connection func(ev ConnectionEvent)
	// Resume is called when the resume that follows going live on a
	// connection ends, on each connection where the client resumed at
	// least one key (sent a RESUME): finished, or cut short by the loss
	// of the connection.
	Resume func(ev ResumeEvent)
	// Subscription is called when a subscription opens (one that Watch,
	// WatchMany or WatchPath returns, or that Get makes for a key the
	// client does not hold) and when it ends.
	Subscription func(ev SubscriptionEvent)
	// Dropped is called with the number of events dropped because more
	// than 1,024 were waiting for the hooks, before the next event.
	Dropped func(n uint64)
}

// WithHooks installs hooks (see Hooks for where and when they run). Given
// several times, every set of hooks runs, in the order given. Default:
// none.
func WithHooks(h Hooks) Option {
	return func(o *options) { o.hooks = append(o.hooks, h) }
}

// CallOutcome is how a call ended.
type CallOutcome uint8

// Call outcomes.
const (
	CallOK             CallOutcome = iota + 1 // the server answered with success
	CallServerError                           // the server refused it: a *ServerError
	CallConnectionLost                        // the connection dropped before the answer (ErrConnectionLost)
	CallTimeout                               // its context's deadline or the call timeout ended it
	CallCanceled                              // its context was canceled
	CallClosed                                // the client was closed (ErrClosed)
	// CallFailed: any other error — refused before anything was sent
	// (ErrTooLarge, ErrNotSupported, ErrInvalidPath…), or the client's
	// terminal error.
	CallFailed
)

// String returns "ok", "server_error", "connection_lost", "timeout",
// "canceled", "closed", "error", or "unknown" for any other value.
func (o CallOutcome) String() string {
	switch o {
	case CallOK:
		return "ok"
	case CallServerError:
		return "server_error"
	case CallConnectionLost:
		return "connection_lost"
	case CallTimeout:
		return "timeout"
	case CallCanceled:
		return "canceled"
	case CallClosed:
		return "closed"
	case CallFailed:
		return "error"
	}
	return "unknown"
}

// CallInfo describes one call that returned.
type CallInfo struct {
	Method   string // "state.set", or the method given to Call
	Key      string // the key written; "" for Call
	Start    time.Time
	Duration time.Duration // until the call returned to its caller
	// Sent tells whether the CALL frame was queued on a connection: a call
	// refused locally, or that timed out while the client was
	// reconnecting, was not.
	Sent bool
	// Dialect and Endpoint are of the server the call was sent to or,
	// when it was not sent, of the last server the client knew (the zero
	// values before the first).
	Dialect  Dialect
	Endpoint string
	Outcome  CallOutcome
	// Code and Attribution are those of a *ServerError (Outcome
	// CallServerError); 0 and AttrNone otherwise.
	Code        int
	Attribution Attribution
	Err         error // what the call returned
}

// ConnStage is a step of the connection lifecycle. Its String method
// returns "attempt", "attempt_failed", "live", "lost", "backoff",
// "failed", or "unknown" for any other value.
type ConnStage = connStage

// Connection lifecycle steps.
const (
	StageAttempt       ConnStage = stageAttempt       // a connection attempt starts
	StageAttemptFailed ConnStage = stageAttemptFailed // the attempt failed before the session went live (dial, handshake, or a loss during the handshake)
	StageLive          ConnStage = stageLive          // the session went live on the connection
	StageLost          ConnStage = stageLost          // a live connection was lost
	StageBackoff       ConnStage = stageBackoff       // the client waits Delay before the next attempt
	StageFailed        ConnStage = stageFailed        // a terminal error stopped the client
)

// ConnectionEvent is one step of the connection lifecycle. Its fields:
//
//	Time     time.Time
//	Stage    ConnStage
//	Endpoint string  // the URL of the attempt, without credentials or query
//	Attempt  uint64  // the number of the attempt, from 1
//	Dialect  Dialect // StageLive, StageLost: the server family
//	// Err says why, for StageAttemptFailed, StageLost and StageFailed.
//	Err error
//	// Duration is, for StageAttemptFailed and StageLive, the time since the
//	// attempt started; for StageLost, how long the session was live.
//	Duration time.Duration
//	Delay    time.Duration // StageBackoff: the wait before the next attempt
type ConnectionEvent = connectionEvent

// ResumeEvent is the outcome of the resume that followed going live on a
// connection where the client resumed at least one key. Its fields:
//
//	Time     time.Time
//	Endpoint string
//	Dialect  Dialect
//	Keys     int    // keys watched when the session went live
//	Resumed  uint64 // RESUME frames sent during the resume
//	Replayed uint64 // deltas applied from replays during it
//	Resynced uint64 // fresh values that replaced a local copy during it (a gap that could not be replayed)
//	Duration time.Duration
//	// Err is nil when the resume finished, else the loss of the
//	// connection that cut it short.
//	Err error
type ResumeEvent = resumeEvent

// EndReason says why a subscription ended. Its String method returns
// "open", "closed", "context", "client_closed", "slow_consumer",
// "refused", "unauthorized", "failed", or "unknown" for any other value.
type EndReason = endReason

// Reasons a subscription ended.
const (
	EndNone         EndReason = endNone         // the subscription is open
	EndClosed       EndReason = endClosed       // its owner called Close
	EndContext      EndReason = endContext      // its Watch context ended
	EndClientClosed EndReason = endClientClosed // the client was closed
	EndSlowConsumer EndReason = endSlowConsumer // a buffered reader fell behind (ErrSlowConsumer)
	EndRefused      EndReason = endRefused      // the server refused it (a *ServerError)
	EndUnauthorized EndReason = endUnauthorized // the token was rejected (ErrUnauthorized)
	EndFailed       EndReason = endFailed       // the client stopped on another terminal error
)

// SubscriptionEvent is a subscription opening or ending. Its fields:
//
//	Time     time.Time
//	Opened   bool   // true when it opened, false when it ended
//	Key      string // its first key
//	Keys     int    // how many keys it watches
//	Path     bool   // a WatchPath subscription
//	Buffered bool   // WithBuffer
//	Reason   EndReason
//	Err      error // when it ended: what its Err returns
type SubscriptionEvent = subscriptionEvent

// hookSet is a client's hooks, and the session's Observer.
type hookSet struct {
	c     *Client
	hooks []Hooks
	calls bool          // some Hooks has Call
	ready chan struct{} // closed once Opened returned: the other hooks wait for it
}

func newHookSet(c *Client, hooks []Hooks) *hookSet {
	if len(hooks) == 0 {
		return nil
	}
	h := &hookSet{c: c, hooks: hooks, ready: make(chan struct{})}
	for _, x := range hooks {
		h.calls = h.calls || x.Call != nil
	}
	return h
}

func (h *hookSet) opened() {
	if h == nil {
		return
	}
	for _, x := range h.hooks {
		if x.Opened != nil {
			x.Opened(h.c)
		}
	}
	close(h.ready)
}

// call runs spec, timing it for the Call hooks when there are any.
func (c *Client) call(ctx context.Context, spec session.CallSpec) (any, error) {
	h := c.obs
	if h == nil || !h.calls {
		return c.s.Call(ctx, spec)
	}
	var tr session.CallTrace
	spec.Trace = &tr
	start := time.Now()
	data, err := c.s.Call(ctx, spec)
	info := CallInfo{Method: spec.Method, Key: spec.Key, Start: start, Duration: time.Since(start), Err: err}
	info.Sent, info.Dialect, info.Endpoint = tr.Sent()
	if !info.Sent {
		if si := c.s.Server(); si != nil {
			info.Dialect, info.Endpoint = si.Dialect, si.Endpoint
		}
	}
	info.Outcome = outcomeOf(info.Err)
	var se *ServerError
	if errors.As(info.Err, &se) {
		info.Code, info.Attribution = se.Code, se.Attribution
	}
	for _, x := range h.hooks {
		if x.Call != nil {
			x.Call(ctx, info)
		}
	}
	return data, err
}

// outcomeOf classifies what a call returned.
func outcomeOf(err error) CallOutcome {
	var se *ServerError
	switch {
	case err == nil:
		return CallOK
	case errors.As(err, &se):
		return CallServerError
	case errors.Is(err, context.DeadlineExceeded):
		return CallTimeout
	case errors.Is(err, context.Canceled):
		return CallCanceled
	case errors.Is(err, ErrConnectionLost):
		return CallConnectionLost
	case errors.Is(err, ErrClosed):
		return CallClosed
	}
	return CallFailed
}

// reasonOf classifies the error a subscription ended with.
func reasonOf(err error) EndReason {
	var se *ServerError
	switch {
	case err == errSubscriptionClosed:
		return EndClosed
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return EndContext
	case errors.Is(err, ErrSlowConsumer):
		return EndSlowConsumer
	case errors.Is(err, ErrUnauthorized):
		return EndUnauthorized
	case errors.As(err, &se):
		return EndRefused
	case errors.Is(err, ErrClosed):
		return EndClientClosed
	}
	return EndFailed
}

// Conn implements session.Observer.
func (h *hookSet) Conn(e ConnectionEvent) {
	<-h.ready
	for _, x := range h.hooks {
		if x.Connection != nil {
			x.Connection(e)
		}
	}
}

// Resume implements session.Observer.
func (h *hookSet) Resume(e ResumeEvent) {
	<-h.ready
	for _, x := range h.hooks {
		if x.Resume != nil {
			x.Resume(e)
		}
	}
}

// Subscription implements session.Observer: it adds the Reason an ended
// subscription's error gives.
func (h *hookSet) Subscription(e SubscriptionEvent) {
	<-h.ready
	if !e.Opened {
		e.Reason = reasonOf(e.Err)
	}
	for _, x := range h.hooks {
		if x.Subscription != nil {
			x.Subscription(e)
		}
	}
}

// Dropped implements session.Observer.
func (h *hookSet) Dropped(n uint64) {
	<-h.ready
	for _, x := range h.hooks {
		if x.Dropped != nil {
			x.Dropped(n)
		}
	}
}

// Stopped implements session.Observer.
func (h *hookSet) Stopped() {
	<-h.ready
	for _, x := range h.hooks {
		if x.Closed != nil {
			x.Closed(h.c)
		}
	}
}
