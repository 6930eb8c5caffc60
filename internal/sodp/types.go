package sodp

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind says where an update came from.
type Kind uint8

// Update kinds. The values above KindRefused are the session's own: no
// reader sees them.
const (
	KindSnapshot Kind = iota + 1 // the first value of a subscription, from STATE_INIT
	KindCached                   // the first value, from the copy another subscription holds
	KindDelta                    // a live change
	KindReplayed                 // a change replayed after a reconnect
	KindResync                   // a fresh value that replaced the local copy
	KindRefused                  // no value: one key of a multi-key subscription is refused (Err says why)
)

// String returns "snapshot", "cached", "delta", "replayed", "resync",
// "refused", or "unknown" for any other value.
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

// ConnState is the state of the client's connection.
type ConnState uint8

// Connection states.
const (
	StateConnecting   ConnState = iota + 1 // dialing, or waiting for HELLO / AUTH_OK
	StateLive                              // the session is live
	StateReconnecting                      // the connection dropped; reconnecting with back-off
	StateFailed                            // a terminal error stopped the client (see Event.Err)
	StateClosed                            // Close was called
)

// String returns "connecting", "live", "reconnecting", "failed", "closed",
// or "unknown" for any other value.
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

// Dialect is a known server family, recognised from HELLO.
type Dialect uint8

// Server families.
const (
	DialectSpec Dialect = iota // unknown server, assumed to follow the specification
	DialectGo                  // the Go SODP server library
	DialectTS                  // the TypeScript SODP server library
	DialectRust                // the Rust reference server
)

// String returns "spec", "go", "ts" or "rust", or "Dialect(N)" for a
// value outside the defined set.
func (d Dialect) String() string {
	switch d {
	case DialectSpec:
		return "spec"
	case DialectGo:
		return "go"
	case DialectTS:
		return "ts"
	case DialectRust:
		return "rust"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// ParseDialect returns the dialect named by s, the inverse of String
// (case-insensitive; "typescript" is accepted for "ts", and "" means
// DialectSpec). An unknown name is an error.
func ParseDialect(s string) (Dialect, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "spec", "":
		return DialectSpec, nil
	case "go":
		return DialectGo, nil
	case "ts", "typescript":
		return DialectTS, nil
	case "rust":
		return DialectRust, nil
	}
	return DialectSpec, fmt.Errorf("sodp: unknown dialect %q (want spec, go, ts or rust)", s)
}

// Event is a connection state change or an error that belongs to no caller.
type Event struct {
	Time    time.Time // when the event was made
	State   ConnState // the connection state when the event was made
	Err     error     // nil for a plain state change
	Dropped uint64    // events lost just before this one because the reader fell behind
}

// ServerInfo describes the server of the current or last session.
type ServerInfo struct {
	Name         string         // "server" from HELLO, or its server_id
	Version      string         // the protocol version the server announced
	Dialect      Dialect        // the server family recognised from HELLO
	Capabilities map[string]any // as announced; nil when none
	Subject      string         // the authenticated subject (AUTH_OK sub); "" without auth
	Endpoint     string         // the URL of the connection, without credentials or query
}

// OtherErrorCode is the Stats.ErrorsByCode entry that counts the server
// errors whose code is outside 100–599 (0, no code, has its own entry).
const OtherErrorCode = -1

// BoundedCode is code as Stats.ErrorsByCode counts it: 0 and 100–599 are
// themselves, any other code a server sends is OtherErrorCode, so that a
// server cannot make an entry (or a metric series) per code.
func BoundedCode(code int) int {
	if code == 0 || code >= 100 && code <= 599 {
		return code
	}
	return OtherErrorCode
}

// MaxChanged is the most paths an update's Changed lists; a longer list,
// or one that would hold the whole value, is the single path "/".
const MaxChanged = 64

// Stats are counters since the client was created (the gauges at the end
// are current values). Package sodp documents each field.
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
	ErrorsByCode map[int]uint64 // server errors by code (a copy): 0 (no code) and 100–599 each, every other code under OtherErrorCode (-1)
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
	// that replaced a value subscribers had counts in Resyncs): with
	// Deltas, Replayed and Resyncs, every update received, by Kind.
	Snapshots     uint64
	SlowConsumers uint64 // buffered subscriptions ended by ErrSlowConsumer
	OutboundQueue int    // frames waiting to be written on the current connection (a gauge)
	// RTT is the last round trip measured to the server: the time between
	// a WebSocket ping and its pong, measured with every heartbeat and by
	// Ping. 0 before the first pong; it keeps the last value across
	// reconnects.
	RTT time.Duration
}
