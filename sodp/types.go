package sodp

import shared "github.com/sodp-go/client/internal/sodp"

// Kind says where an update came from. A reader can tell "the value
// changed" (KindDelta, KindReplayed) from "the client re-synchronised"
// (KindResync) without guessing. Its String method returns "snapshot",
// "cached", "delta", "replayed", "resync", "refused", or "unknown" for any
// other value.
type Kind = kind

// Update kinds.
const (
	// KindSnapshot: the first update of a subscription, from the server's
	// STATE_INIT.
	KindSnapshot Kind = kindSnapshot
	// KindCached: the first update of a subscription, from the copy another
	// subscription of the same key already holds (no round trip); also the
	// Kind of what Ref.Cached returns.
	KindCached Kind = kindCached
	// KindDelta: a live change.
	KindDelta Kind = kindDelta
	// KindReplayed: a change made while the client was disconnected,
	// replayed by the server after the reconnect.
	KindReplayed Kind = kindReplayed
	// KindResync: a fresh value that replaced the local copy, because the
	// missed changes could not be replayed after a reconnect, or because
	// the local copy could not be trusted any more (a delta that did not
	// apply, or a DELTA at or below the version held), or because the
	// client moved to another server, whose STATE_INIT is authoritative.
	// Changes between the previous update and this one are lost; the value
	// itself is exact.
	KindResync Kind = kindResync
	// KindRefused: an update of a WatchMany subscription that carries no
	// value: the server refused its Key (Err says why, for example a
	// *ServerError matching ErrForbidden), or a frame of the key was over
	// the size limit (Err matches ErrTooLarge, see WithMaxMessageSize);
	// the key is no longer watched, and the other keys go on.
	KindRefused Kind = kindRefused
)

// ConnState is the state of a Client's connection. Its String method
// returns "connecting", "live", "reconnecting", "failed", "closed", or
// "unknown" for any other value.
type ConnState = connState

// Connection states reported by State and Events.
const (
	StateConnecting   ConnState = stateConnecting   // dialing, or waiting for HELLO / AUTH_OK
	StateLive         ConnState = stateLive         // the session is live
	StateReconnecting ConnState = stateReconnecting // the connection dropped; reconnecting with back-off
	StateFailed       ConnState = stateFailed       // a terminal error stopped the client (see Event.Err)
	StateClosed       ConnState = stateClosed       // Close was called
)

// Dialect is a known SODP server family, recognised from HELLO. The client
// adapts to it where it can: dotted set_in paths and no presence for
// DialectGo, for instance. Package sodptest reproduces each one. Its String
// method returns "spec", "go", "ts" or "rust", or "Dialect(N)" for a value
// outside the defined set; ParseDialect is its inverse.
type Dialect = dialect

// Server families.
const (
	DialectSpec Dialect = dialectSpec // unknown server, assumed to follow the specification
	DialectGo   Dialect = dialectGo   // the Go SODP server library
	DialectTS   Dialect = dialectTS   // the TypeScript SODP server library
	DialectRust Dialect = dialectRust // the Rust reference server
)

// ParseDialect returns the dialect named by s, the inverse of String
// (case-insensitive; "typescript" is accepted for "ts", and "" means
// DialectSpec). An unknown name is an error.
func ParseDialect(s string) (Dialect, error) { return shared.ParseDialect(s) }

// Event is a connection state change, or an error that belongs to no
// caller: a server ERROR that matched no request, a frame that could not be
// decoded, a delta that did not apply (the key is re-synchronised), a
// failed connection attempt. Its fields:
//
//	Time    time.Time // when the event was made
//	State   ConnState // the connection state when the event was made
//	Err     error     // nil for a plain state change
//	Dropped uint64    // events lost just before this one because the reader fell behind
type Event = event

// ServerInfo describes the server of the current or last session. Its
// fields:
//
//	Name         string         // "server" from HELLO, or its server_id
//	Version      string         // the protocol version the server announced
//	Dialect      Dialect        // the server family recognised from HELLO
//	Capabilities map[string]any // as announced (a copy); nil when none
//	Subject      string         // the authenticated subject (AUTH_OK sub); "" without auth
//	Endpoint     string         // the URL of the connection, without credentials or query
type ServerInfo = serverInfo

// Stats are counters since the client was created (the gauges at the end
// are current values). Stats returns a copy; nothing in it changes
// afterwards. Its fields:
//
//	Connects     uint64         // successful connections (HELLO received)
//	Reconnects   uint64         // connections after the first
//	Disconnects  uint64         // connections lost
//	Resumes      uint64         // RESUME frames sent
//	Replayed     uint64         // deltas applied from a RESUME replay
//	Resyncs      uint64         // fresh values that replaced a local copy
//	Deltas       uint64         // live deltas applied
//	Conflated    uint64         // updates replaced by a newer one before a slow reader took them
//	CallsSent    uint64         // CALL frames sent
//	Errors       uint64         // server errors received (ERROR frames and failed RESULTs)
//	ErrorsByCode map[int]uint64 // server errors by code (a copy): 0 (no code) and 100–599 each, every other code under OtherErrorCode (-1)
//	FramesIn     uint64         // frames received
//	FramesOut    uint64         // frames sent
//	// DecodeErrors counts frames received that could not be decoded (not
//	// MessagePack, not a four-element frame, a body of the wrong shape, an
//	// unknown frame type). A DELTA that decoded but did not apply is not
//	// counted here but in ApplyErrors.
//	DecodeErrors uint64
//	// ApplyErrors counts DELTAs that decoded but could not be applied to the
//	// local copy (an unknown op, a malformed path, an array index out of
//	// range); each one reached Events as an ErrDesync and its key was
//	// watched again. A REMOVE of a path that is not there applies (it
//	// changes nothing) and is not counted.
//	ApplyErrors     uint64
//	Subscriptions   int // open subscriptions
//	WatchedKeys     int // keys with at least one subscription
//	PendingCalls    int // calls waiting for an answer
//	PresenceEntries int // presence entries re-sent after reconnects
//
//	BytesIn  uint64 // bytes of the frames received (WebSocket message payloads)
//	BytesOut uint64 // bytes of the frames sent
//	// Snapshots counts STATE_INITs that gave a key its first value (one
//	// that replaced a value subscribers had counts in Resyncs): with
//	// Deltas, Replayed and Resyncs, every update received, by Kind.
//	Snapshots     uint64
//	SlowConsumers uint64 // buffered subscriptions ended by ErrSlowConsumer
//	OutboundQueue int    // frames waiting to be written on the current connection (a gauge)
//	// RTT is the last round trip measured to the server: the time between
//	// a WebSocket ping and its pong, measured with every heartbeat (about
//	// every 25 s, WithHeartbeat) and by Ping. 0 before the first pong; it
//	// keeps the last value across reconnects.
//	RTT time.Duration
type Stats = stats

// serverInfoCopy returns a copy of in that shares nothing with it.
func serverInfoCopy(in *ServerInfo) *ServerInfo {
	if in == nil {
		return nil
	}
	out := *in
	out.Capabilities = copyTree(in.Capabilities)
	return &out
}

// copyTree copies the maps and slices of a decoded value, so a caller
// that modifies what it was given changes nothing inside the client.
func copyTree[T any](v T) T {
	c, _ := copyValue(any(v)).(T)
	return c
}

func copyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if x == nil {
			return x
		}
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = copyValue(e)
		}
		return m
	case []any:
		if x == nil {
			return x
		}
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = copyValue(e)
		}
		return s
	}
	return v
}
