package sodp

import "time"

// ConnStage is a step of the connection lifecycle.
type ConnStage uint8

// Connection lifecycle steps.
const (
	StageAttempt       ConnStage = iota + 1 // a connection attempt starts
	StageAttemptFailed                      // the attempt failed before the session went live
	StageLive                               // the session went live on the connection
	StageLost                               // a live connection was lost
	StageBackoff                            // the next attempt waits Delay
	StageFailed                             // a terminal error stopped the client
)

// String returns "attempt", "attempt_failed", "live", "lost", "backoff",
// "failed", or "unknown" for any other value.
func (s ConnStage) String() string {
	switch s {
	case StageAttempt:
		return "attempt"
	case StageAttemptFailed:
		return "attempt_failed"
	case StageLive:
		return "live"
	case StageLost:
		return "lost"
	case StageBackoff:
		return "backoff"
	case StageFailed:
		return "failed"
	}
	return "unknown"
}

// ConnectionEvent is one step of the connection lifecycle.
type ConnectionEvent struct {
	Time     time.Time
	Stage    ConnStage
	Endpoint string  // the URL of the attempt, without credentials or query
	Attempt  uint64  // the number of the attempt, from 1
	Dialect  Dialect // StageLive, StageLost: the server family
	// Err says why, for StageAttemptFailed, StageLost and StageFailed.
	Err error
	// Duration is, for StageAttemptFailed and StageLive, the time since the
	// attempt started; for StageLost, how long the session was live.
	Duration time.Duration
	Delay    time.Duration // StageBackoff: the wait before the next attempt
}

// ResumeEvent is the outcome of the resume that followed going live on a
// connection where at least one key was resumed (a RESUME was sent).
type ResumeEvent struct {
	Time     time.Time
	Endpoint string
	Dialect  Dialect
	Keys     int    // keys watched when the session went live
	Resumed  uint64 // RESUME frames sent during the resume
	Replayed uint64 // deltas applied from replays during it
	Resynced uint64 // fresh values that replaced a local copy during it
	Duration time.Duration
	// Err is nil when the resume finished, else the loss of the
	// connection that cut it short.
	Err error
}

// EndReason says why a subscription ended.
type EndReason uint8

// Reasons a subscription ended.
const (
	EndNone         EndReason = iota // the subscription is open
	EndClosed                        // its owner called Close
	EndContext                       // its Watch context ended
	EndClientClosed                  // the client was closed
	EndSlowConsumer                  // a buffered reader fell behind (ErrSlowConsumer)
	EndRefused                       // the server refused it (a *ServerError)
	EndUnauthorized                  // the token was rejected (ErrUnauthorized)
	EndFailed                        // the client stopped on another terminal error
)

// String returns "open", "closed", "context", "client_closed",
// "slow_consumer", "refused", "unauthorized", "failed", or "unknown" for
// any other value.
func (r EndReason) String() string {
	switch r {
	case EndNone:
		return "open"
	case EndClosed:
		return "closed"
	case EndContext:
		return "context"
	case EndClientClosed:
		return "client_closed"
	case EndSlowConsumer:
		return "slow_consumer"
	case EndRefused:
		return "refused"
	case EndUnauthorized:
		return "unauthorized"
	case EndFailed:
		return "failed"
	}
	return "unknown"
}

// SubscriptionEvent is a subscription opening or ending. The session
// fills every field but Reason, which the public package derives from Err.
type SubscriptionEvent struct {
	Time     time.Time
	Opened   bool   // true when it opened, false when it ended
	Key      string // its first key
	Keys     int    // how many keys it watches
	Path     bool   // a subscription of a part of a value (WatchPath)
	Buffered bool   // a buffered (not conflating) subscription
	Reason   EndReason
	Err      error // when it ended: why
}
