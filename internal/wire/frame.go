// Package wire encodes and decodes SODP frames.
//
// A frame is a MessagePack array of four elements:
//
//	[frame_type uint8, stream_id uint32, seq uint64, body map-or-nil]
//
// Decoding accepts every MessagePack integer width, ignores unknown body
// fields and reports malformed input as a *DecodeError; it never panics.
// Values inside bodies are normalised (see Normalize) so the rest of the
// SDK deals with one small set of Go types.
//
// # Protocol facts the client relies on
//
//   - One WebSocket binary message holds one frame. Stream 0 is the control
//     stream (HELLO, AUTH, AUTH_OK, CALL, RESULT, HEARTBEAT, session
//     errors); each WATCH opens a stream of its own, on which the server
//     sends the key's STATE_INIT and DELTAs.
//   - Servers write integers in whatever width they like (one writes every
//     header field in fixed width), so every width is accepted; the
//     client writes the most compact form except since_version, a uint64.
//   - Body field names differ between servers: a DELTA names its key in
//     "state", in "key", or not at all (then the stream says which key);
//     an op without "value" has a nil value, and Delta.NoValue says
//     which ADD and UPDATE ops had none.
//   - A DELTA without a version (missing or nil) is malformed: it could
//     not be placed among the key's changes.
//   - An ERROR frame carries a code and a message but no call id; a RESULT
//     with success false names the call (call_id) and carries the message
//     in "error" and sometimes a code.
//   - Values are JSON-compatible: nil, booleans, integers, floats, strings,
//     arrays and maps with string keys (MessagePack bin is read as a
//     string, a timestamp as an RFC 3339 string).
package wire

import (
	"fmt"
	"regexp"

	"github.com/sodp-go/client/internal/delta"
)

// Type is a frame type (the first element of a frame).
type Type uint8

// Frame types of SODP 1.0. Values 0x08 and 0x0E–0xFF are reserved.
const (
	TypeHello     Type = 0x01
	TypeWatch     Type = 0x02
	TypeStateInit Type = 0x03
	TypeDelta     Type = 0x04
	TypeCall      Type = 0x05
	TypeResult    Type = 0x06
	TypeError     Type = 0x07
	TypeHeartbeat Type = 0x09
	TypeResume    Type = 0x0A
	TypeAuth      Type = 0x0B
	TypeAuthOK    Type = 0x0C
	TypeUnwatch   Type = 0x0D
)

// String returns the protocol name of t, or "UNKNOWN(0x..)" for reserved values.
func (t Type) String() string {
	switch t {
	case TypeHello:
		return "HELLO"
	case TypeWatch:
		return "WATCH"
	case TypeStateInit:
		return "STATE_INIT"
	case TypeDelta:
		return "DELTA"
	case TypeCall:
		return "CALL"
	case TypeResult:
		return "RESULT"
	case TypeError:
		return "ERROR"
	case TypeHeartbeat:
		return "HEARTBEAT"
	case TypeResume:
		return "RESUME"
	case TypeAuth:
		return "AUTH"
	case TypeAuthOK:
		return "AUTH_OK"
	case TypeUnwatch:
		return "UNWATCH"
	}
	return fmt.Sprintf("UNKNOWN(0x%02x)", uint8(t))
}

// Known reports whether t is a frame type defined by SODP 1.0.
func (t Type) Known() bool {
	switch t {
	case TypeHello, TypeWatch, TypeStateInit, TypeDelta, TypeCall, TypeResult,
		TypeError, TypeHeartbeat, TypeResume, TypeAuth, TypeAuthOK, TypeUnwatch:
		return true
	}
	return false
}

// ControlStream is the stream id of HELLO, AUTH, CALL, RESULT, ERROR,
// HEARTBEAT and UNWATCH frames.
const ControlStream uint32 = 0

// FirstSubscriptionStream is the lowest stream id a subscription may use;
// ids 1–9 are reserved.
const FirstSubscriptionStream uint32 = 10

// Frame is one decoded or to-be-encoded SODP frame.
//
// Body holds a pointer to the typed body matching Type (*Hello for
// TypeHello, *Watch for TypeWatch, and so on), or nil for HEARTBEAT and for
// frames whose body was nil on the wire. For a frame of an unknown type
// Body holds the normalised raw body (any).
type Frame struct {
	Type   Type
	Stream uint32
	Seq    uint64
	Body   any
}

// Hello is the body of a HELLO frame (server → client).
type Hello struct {
	Protocol     string         // "sodp" per the spec; empty from the Rust server
	Version      string         // "1.0" per the spec; "0.1" from the Rust server
	Server       string         // server name, when sent
	ServerID     string         // "server_id", sent by the Go server
	Auth         bool           // whether AUTH is required
	Capabilities map[string]any // nil when absent
	// Mistyped names the fields, in the order above, that had the wrong
	// type: a text field holding another scalar holds it written as text,
	// any other is left empty. Set by decoding only.
	Mistyped []string
}

// Watch is the body of a WATCH frame: State for one key, States for several.
type Watch struct {
	State  string
	States []string
	Params map[string]any
}

// StateInit is the body of a STATE_INIT frame.
type StateInit struct {
	State       string
	Version     uint64
	Value       any
	Initialized bool
	Params      map[string]any
}

// Delta is the body of a DELTA frame. State is the key named by the body
// ("state", or "key" as one server writes it); empty when the body names none.
type Delta struct {
	Version uint64
	Ops     []delta.Op
	State   string
	// NoValue lists, in order, the indexes in Ops of the ADD and UPDATE
	// ops that have no "value" field (their Value is nil, as for a nil
	// value); nil when there are none. One server leaves out 0, false
	// and "" as well as nil, which the receiver then cannot tell apart.
	NoValue []int
}

// Call is the body of a CALL frame.
type Call struct {
	CallID string
	Method string
	Args   map[string]any
}

// Result is the body of a RESULT frame. For a failed call, Message holds
// the failure text when the server gave one (from "error" or "message", or
// from Data when Data is a string).
type Result struct {
	CallID  string
	Success bool
	Data    any
	Message string
	Code    int // "code" when the server sent one on a failed result; 0 otherwise
}

// Error is the body of an ERROR frame.
type Error struct {
	Code    int
	Message string
}

// Resume is the body of a RESUME frame. SinceVersion is always encoded as a
// MessagePack uint64 (0xcf), whatever its value.
type Resume struct {
	State        string
	SinceVersion uint64
	Params       map[string]any
}

// Auth is the body of an AUTH frame.
type Auth struct {
	Token string
}

// AuthOK is the body of an AUTH_OK frame.
type AuthOK struct {
	Sub string
}

// Unwatch is the body of an UNWATCH frame: State for one key, States for several.
type Unwatch struct {
	State  string
	States []string
}

var keyPattern = regexp.MustCompile(`^[a-zA-Z0-9_]+(\.[a-zA-Z0-9_]+)*$`)

// ValidKeySyntax reports whether key follows the protocol's key syntax:
// dot-separated words of ASCII letters, digits and _ (like game.player),
// no empty word. It does not bound the length.
func ValidKeySyntax(key string) bool { return keyPattern.MatchString(key) }
