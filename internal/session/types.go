package session

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sodp-go/client/internal/delta"
)

// Kind says where an update came from.
type Kind uint8

// Update kinds.
const (
	// KindSnapshot is the first value of a subscription, from the server's
	// STATE_INIT.
	KindSnapshot Kind = iota + 1
	// KindCached is the first value of a subscription, taken from the local
	// copy another subscription of the same key already holds.
	KindCached
	// KindDelta is a live change.
	KindDelta
	// KindReplayed is a change missed while disconnected and replayed by
	// the server after a reconnect.
	KindReplayed
	// KindResync is a fresh value that replaced the local copy because the
	// missed changes could not be replayed, because the local copy could
	// no longer be trusted (a delta that did not apply, a stale DELTA), or
	// because the client moved to a server whose versions are not
	// comparable.
	KindResync
	// KindRefused carries no value: the server refused one key of a
	// multi-key subscription, or a frame of the key was over the size
	// limit (Err says why); the other keys go on.
	KindRefused
)

func (k Kind) String() string {
	switch k {
	case KindSnapshot:
		return "snapshot"
	case KindCached:
		return "cached"
	case KindDelta:
		return "delta"
	case KindReplayed:
		return "replayed"
	case KindResync:
		return "resync"
	case KindRefused:
		return "refused"
	}
	return "unknown"
}

// Delivery is one untyped update on its way to a subscriber. Its fields
// are laid out so that it takes 120 bytes: every update waiting for a
// buffered reader is one.
type Delivery struct {
	Key     string
	Value   any
	Version uint64
	Skipped uint64
	Changed []string // paths changed since the reader's previous update (nil: anything may have)
	Err     error    // a per-key error for a multi-key subscription (the key is no longer watched)
	// Ops and Limit are the ops of a delta and the containers they may
	// create, queued in place of the value and the Changed list for a
	// subscriber that keeps its own copy (Subscriber.KeepOwnCopy), whose
	// pump makes both from them.
	Ops         []delta.Op
	Limit       int32
	Initialized bool
	Kind        Kind
	// InPlace is set by OwnCopies.Resolve: Value is the subscriber's own
	// copy, changed in place by the next delta, so it may be read only
	// until the next Resolve, and it differs from the value resolved
	// before at the Changed paths only.
	InPlace bool
}

// ConnState is the state of the client's connection.
type ConnState uint8

// Connection states.
const (
	StateConnecting   ConnState = iota + 1 // dialing, or waiting for HELLO / AUTH_OK
	StateLive                              // the session is live
	StateReconnecting                      // the connection dropped; waiting to dial again
	StateFailed                            // a terminal error stopped reconnecting (see Event.Err)
	StateClosed                            // Close was called
)

func (s ConnState) String() string {
	switch s {
	case StateConnecting:
		return "connecting"
	case StateLive:
		return "live"
	case StateReconnecting:
		return "reconnecting"
	case StateFailed:
		return "failed"
	case StateClosed:
		return "closed"
	}
	return "unknown"
}

// Event is a connection state change or an error that belongs to no caller.
type Event struct {
	Time    time.Time
	State   ConnState // the connection state when the event was made
	Err     error     // nil for a plain state change
	Dropped uint64    // events lost before this one because the reader fell behind
}

// ServerInfo describes the server of the current (or last) session.
type ServerInfo struct {
	Name         string         // "server" from HELLO, or the server_id
	Version      string         // protocol version the server announced
	Dialect      Dialect        // the server family recognised from HELLO
	Capabilities map[string]any // as announced; nil when none
	Subject      string         // the authenticated subject (AUTH_OK sub), "" without auth
	Endpoint     string         // the URL of the current connection
}

// Dialect is a known server family.
type Dialect uint8

// Known server families (see the protocol reference, section 9).
const (
	DialectSpec Dialect = iota // an unknown server, assumed to follow the specification
	DialectGo
	DialectTS
	DialectRust
)

func (d Dialect) String() string {
	switch d {
	case DialectGo:
		return "go"
	case DialectTS:
		return "ts"
	case DialectRust:
		return "rust"
	}
	return "spec"
}

// Stats are counters since the client was created.
type Stats struct {
	Connects     uint64         // successful connections (HELLO received)
	Reconnects   uint64         // connections after the first
	Disconnects  uint64         // connections lost
	Resumes      uint64         // RESUME frames sent
	Replayed     uint64         // deltas applied from a RESUME replay
	Resyncs      uint64         // fresh values that replaced a local copy
	Deltas       uint64         // live deltas applied
	Conflated    uint64         // updates replaced by a newer one before a slow reader took them
	CallsSent    uint64         // CALL frames sent
	Errors       uint64         // server errors received (ERROR frames and failed RESULTs)
	ErrorsByCode map[int]uint64 // server errors by code: 0 (no code) and 100–599 each, every other code under OtherErrorCode (-1)
	FramesIn     uint64         // frames received
	FramesOut    uint64         // frames sent
	// DecodeErrors counts frames received that could not be decoded (not
	// MessagePack, not a four-element frame, a body of the wrong shape, an
	// unknown frame type). A DELTA that decoded but did not apply is not
	// counted here but in ApplyErrors.
	DecodeErrors uint64
	// ApplyErrors counts DELTAs that decoded but could not be applied to the
	// local copy (an unknown op, a malformed path, an array index out of
	// range); each one reached Events as an ErrDesync and its key was
	// watched again. A REMOVE of a path that is not there applies (it
	// changes nothing) and is not counted.
	ApplyErrors     uint64
	Subscriptions   int // open subscriptions
	WatchedKeys     int // keys with at least one subscription
	PendingCalls    int // calls waiting for an answer
	PresenceEntries int // presence entries re-sent after reconnects

	BytesIn  uint64 // bytes of the frames received (WebSocket message payloads)
	BytesOut uint64 // bytes of the frames sent
	// Snapshots counts STATE_INITs that gave a key its first value (one
	// that replaced a value subscribers had counts in Resyncs).
	Snapshots     uint64
	SlowConsumers uint64 // buffered subscriptions ended by ErrSlowConsumer
	OutboundQueue int    // frames waiting to be written on the current connection
}

// Config holds everything the session needs; the public package fills it
// from options.
type Config struct {
	Endpoints     []string
	Token         string
	TokenProvider func(context.Context) (string, error)
	Logger        *slog.Logger
	CallTimeout   time.Duration
	Heartbeat     time.Duration
	HandshakeTime time.Duration
	BackoffMin    time.Duration
	BackoffMax    time.Duration
	NoReconnect   bool
	// FailFast makes the session fail with the attempt's error when, before
	// it was ever live, one attempt on every endpoint has failed.
	FailFast       bool
	MaxMessageSize int64
	Dialer         *websocket.Dialer
	Header         http.Header
	TLSConfig      *tls.Config
	EventBuffer    int
	OutboundQueue  int
	// Observer, when set, is told of the connection lifecycle, resumes
	// and subscriptions (observe.go).
	Observer Observer
}
