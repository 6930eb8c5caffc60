package sodp

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/sodp-go/client/internal/session"
)

// Kind says where an update came from. A reader can tell "the value
// changed" (KindDelta, KindReplayed) from "the client re-synchronised"
// (KindResync) without guessing.
type Kind uint8

// Update kinds.
const (
	// KindSnapshot: the first update of a subscription, from the server's
	// STATE_INIT.
	KindSnapshot Kind = iota + 1
	// KindCached: the first update of a subscription, from the copy another
	// subscription of the same key already holds (no round trip); also the
	// Kind of what Ref.Cached returns.
	KindCached
	// KindDelta: a live change.
	KindDelta
	// KindReplayed: a change made while the client was disconnected,
	// replayed by the server after the reconnect.
	KindReplayed
	// KindResync: a fresh value that replaced the local copy, because the
	// missed changes could not be replayed after a reconnect, or because
	// the local copy could not be trusted any more (a delta that did not
	// apply, or a DELTA at or below the version held), or because the
	// client moved to another server, whose STATE_INIT is authoritative.
	// Changes between the previous update and this one are lost; the value
	// itself is exact.
	KindResync
	// KindRefused: an update of a WatchMany subscription that carries no
	// value: the server refused its Key (Err says why, for example a
	// *ServerError matching ErrForbidden), or a frame of the key was over
	// the size limit (Err matches ErrTooLarge, see WithMaxMessageSize);
	// the key is no longer watched, and the other keys go on.
	KindRefused
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

// ConnState is the state of a Client's connection.
type ConnState uint8

// Connection states reported by State and Events.
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

// Dialect is a known SODP server family, recognised from HELLO. The client
// adapts to it where it can: dotted set_in paths and no presence for
// DialectGo, for instance. Package sodptest reproduces each one.
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

// Event is a connection state change, or an error that belongs to no
// caller: a server ERROR that matched no request, a frame that could not be
// decoded, a delta that did not apply (the key is re-synchronised), a
// failed connection attempt.
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
	Capabilities map[string]any // as announced (a copy); nil when none
	Subject      string         // the authenticated subject (AUTH_OK sub); "" without auth
	Endpoint     string         // the URL of the connection, without credentials or query
}

// Stats are counters since the client was created (the gauges at the end
// are current values). Stats returns a copy; nothing in it changes
// afterwards.
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
}

// statsOf copies the session's counters field by field, by name; a test
// checks that every field of one exists in the other.
func statsOf(in session.Stats) Stats {
	var out Stats
	src := reflect.ValueOf(in)
	dst := reflect.ValueOf(&out).Elem()
	for i := range src.NumField() {
		if f := dst.FieldByName(src.Type().Field(i).Name); f.IsValid() {
			f.Set(src.Field(i))
		}
	}
	return out
}

func serverInfoOf(in *session.ServerInfo) *ServerInfo {
	if in == nil {
		return nil
	}
	return &ServerInfo{
		Name:         in.Name,
		Version:      in.Version,
		Dialect:      Dialect(in.Dialect),
		Capabilities: copyTree(in.Capabilities),
		Subject:      in.Subject,
		Endpoint:     in.Endpoint,
	}
}

func eventOf(ev session.Event) Event {
	return Event{Time: ev.Time, State: ConnState(ev.State), Err: exportErr(ev.Err), Dropped: ev.Dropped}
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
