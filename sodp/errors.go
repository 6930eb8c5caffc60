package sodp

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sodp-go/client/internal/convert"
	"github.com/sodp-go/client/internal/session"
)

// Errors returned by the client. Every error the client returns or
// delivers matches one of them (or a context error) with errors.Is; server
// errors also match *ServerError and conversion failures *ConvertError
// with errors.As.
var (
	// ErrClosed: the Client was closed, or the subscription was closed by
	// its owner (the message then says the subscription was closed). Calls
	// made after Close fail with it at once.
	ErrClosed = errClosed
	// ErrConnectionLost: the connection dropped before the server answered
	// a call. The call may or may not have been applied, unless the error
	// says it was not (after a close 1009, see Client.Call). Also the terminal
	// error of a client made WithoutReconnect whose connection dropped.
	ErrConnectionLost = errConnectionLost
	// ErrUnauthorized: the server refused the token (401), or it needs one
	// and none was configured. Terminal with a fixed token.
	ErrUnauthorized = errUnauthorized
	// ErrForbidden: the server's ACL refused the key (403).
	ErrForbidden = errForbidden
	// ErrNotFound: unknown method (404).
	ErrNotFound = errNotFound
	// ErrBadRequest: the server found the request malformed (400).
	ErrBadRequest = errBadRequest
	// ErrInvalidValue: the server's schema rejected the value (422).
	ErrInvalidValue = errInvalidValue
	// ErrRateLimited: the server's rate limit refused the request (429).
	ErrRateLimited = errRateLimited
	// ErrTooLarge: a message over the size limit — an outgoing call
	// refused locally (nothing was sent), a server ERROR 413, a server
	// close 1009, or an incoming frame over the client's limit
	// (WithMaxMessageSize): the subscriptions of its key end with it, or
	// the call its RESULT answers fails with it.
	ErrTooLarge = errTooLarge
	// ErrServerInternal: the server failed (500).
	ErrServerInternal = errServerInternal
	// ErrSlowConsumer ends a buffered subscription (WithBuffer) whose
	// reader fell more than its buffer behind.
	ErrSlowConsumer = errSlowConsumer
	// ErrInvalidKey: a key that does not match the protocol's key syntax
	// (see ValidKey), reported before anything is sent.
	ErrInvalidKey = errInvalidKey
	// ErrInvalidPath: a JSON Pointer that is malformed, or that the
	// server's dialect cannot express; nothing was sent.
	ErrInvalidPath = errInvalidPath
	// ErrNotSupported: the server does not support the operation (for
	// example presence on the Go SODP server); nothing was sent.
	ErrNotSupported = errNotSupported
	// ErrProtocol: the server sent something the protocol does not allow
	// (an undecodable frame, an unknown frame type). Reported on Events.
	ErrProtocol = errProtocol
	// ErrDesync: a delta did not apply to the local copy of a key; the key
	// is being re-synchronised. Reported on Events.
	ErrDesync = errDesync
	// ErrInvalidURL: a URL given to Dial, New or WithEndpoints that is not
	// a ws://, wss://, sodp:// or sodps:// URL with a host and without
	// user information. Nothing is started.
	ErrInvalidURL = errInvalidURL
	// ErrInvalidOption: an option given to Dial or New is out of range or
	// contradicts another (WithBackoff(5*time.Second, time.Second), a
	// negative duration or size). Dial and New then return it, naming the
	// option, and start nothing.
	ErrInvalidOption = errInvalidOption
	// ErrUnsupportedValue: a value handed to the client has no SODP encoding
	// — a value that contains itself (a cycle through a map, slice or
	// pointer), a channel, a function, a complex number, a NaN or infinite
	// float, a map whose key type is not a string, an integer or an
	// encoding.TextMarshaler, or more than 512 levels of nesting. The error
	// names the JSON Pointer of the offending element inside the value;
	// nothing was sent.
	ErrUnsupportedValue = errUnsupportedValue
	// ErrConnectFailed: a connection attempt failed before the WebSocket
	// was open — the TCP connection was refused, DNS or TLS failed, the
	// upgrade was refused or too long, or the token provider failed. Dial
	// returns it for a failed first attempt; later attempts report it on
	// Events while the client retries.
	ErrConnectFailed = errConnectFailed
	// ErrConvert: a value does not convert into the Go type asked for (an
	// Update's Err, or Ref.Cached and Get). The error is a *ConvertError.
	ErrConvert = errConvert
	// ErrNotCached: Ref.Cached on a key that no subscription of this
	// client watches, or whose first value has not arrived yet; WaitVersion
	// on a key that no subscription of this client watches, or whose last
	// subscription ended (closed, or its context ended) while it waited.
	ErrNotCached = errNotCached
	// ErrNoVersion: WaitVersion with version 0, which no write names: a
	// write returns 0 when the server did not say which version it made —
	// the TypeScript server never does, the Go server does not for a write
	// that left the value as it was — so there is nothing to wait for.
	// Nothing was waited for.
	ErrNoVersion = errNoVersion
)

// errSubscriptionClosed ends a subscription its owner closed.
var errSubscriptionClosed error = &closedError{"sodp: subscription closed"}

// closedError is an ErrClosed with its own message.
type closedError struct{ msg string }

func (e *closedError) Error() string        { return e.msg }
func (e *closedError) Is(target error) bool { return target == ErrClosed }

// ServerError is an error reported by the server, as an ERROR frame or a
// RESULT with success false. errors.Is matches it against the sentinel of
// its code: 400 ErrBadRequest, 401 ErrUnauthorized, 403 ErrForbidden, 404
// ErrNotFound, 413 ErrTooLarge, 422 ErrInvalidValue, 429 ErrRateLimited,
// 500 ErrServerInternal; other codes match none. Its fields:
//
//	Code        int         // the protocol error code; 0 when the server gave none
//	Message     string      // the server's text
//	Key         string      // the state key concerned, when known
//	Method      string      // the method of the failed call, when it failed a call
//	Attribution Attribution // how the error was matched to the request it fails
//
// Its Error method returns a message such as
//
//	sodp: server error 403: forbidden (state.set on game.player)
//
// The key is left out of the parentheses when the server's text names it
// already ("forbidden: game.player (state.set)").
type ServerError = serverError

// CloseError reports that the server closed the WebSocket with a close
// code (Code int, the WebSocket close code; Text string, the close reason
// the server gave). It matches ErrConnectionLost; code 1009 (message too
// big) also matches ErrTooLarge. Its Error method returns a message such
// as
//
//	sodp: server closed the connection (close 1001 going away)
type CloseError = closeError

// Attribution says how an ERROR frame, which names no call, was matched to
// the request it fails. Its String method returns "none", "call_id",
// "stream", "key" or "order".
type Attribution = attribution

// Attributions of a *ServerError.
const (
	// AttrNone: the error belongs to no request (a session-level error,
	// delivered on Events).
	AttrNone Attribution = attrNone
	// AttrCallID: a RESULT named the call.
	AttrCallID Attribution = attrCallID
	// AttrStream: the frame's stream id named the subscription.
	AttrStream Attribution = attrStream
	// AttrKey: the error message named the key of a waiting request.
	AttrKey Attribution = attrKey
	// AttrOrder: a guess. Nothing in the frame named the request; it was
	// matched to the oldest request still waiting (servers answer in
	// order).
	AttrOrder Attribution = attrOrder
)

// ConvertError reports a value that does not convert into the Go type it
// was asked for. It matches ErrConvert with errors.Is; Err, when set, is
// what refused the value (an UnmarshalText error, a range error…).
type ConvertError struct {
	Key     string // the key whose value it is; empty for a call's result
	Version uint64 // the version of that value
	Method  string // for a call's result (CallAs), the method called
	// Path is the JSON Pointer of the element that does not fit, such as
	// "/items/3/qty"; empty for the value itself.
	Path string
	Type string // the Go type asked for, such as "main.Player"
	Want string // the Go type of the element that does not fit, such as "uint8"
	Got  string // what the element holds: "nil", "bool", "integer", "float", "string", "array", "map" or "map key"
	Err  error
}

// Error returns a message such as
//
//	sodp: value of game.player (version 7) does not convert into main.Player: integer into uint8 at "/level": 300 is out of range
//
// or, for a call's result, "sodp: result of game.stats does not convert
// into …".
func (e *ConvertError) Error() string {
	var b strings.Builder
	if e.Method != "" && e.Key == "" {
		fmt.Fprintf(&b, "sodp: result of %s does not convert into %s: %s into %s", e.Method, e.Type, e.Got, e.Want)
	} else {
		fmt.Fprintf(&b, "sodp: value of %s (version %d) does not convert into %s: %s into %s", e.Key, e.Version, e.Type, e.Got, e.Want)
	}
	if e.Path == "" {
		b.WriteString(" at the root")
	} else {
		fmt.Fprintf(&b, " at %q", shortPointer(e.Path))
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Is reports whether target is ErrConvert.
func (e *ConvertError) Is(target error) bool { return target == ErrConvert }

// Unwrap returns Err.
func (e *ConvertError) Unwrap() error { return e.Err }

// convertError turns a failed conversion of key's value into a
// *ConvertError.
// convertErrorAt is convertError for the part of the value at the pointer
// at ("" for the whole value): the error's Path counts from the root.
func convertErrorAt(key string, version uint64, typ, at string, err error) error {
	e := convertError(key, version, typ, err)
	if ce, ok := e.(*ConvertError); ok && at != "" {
		ce.Path = at + ce.Path
	}
	return e
}

func convertError(key string, version uint64, typ string, err error) error {
	ce := &ConvertError{Key: key, Version: version, Type: typ}
	var we *convert.Error
	if errors.As(err, &we) {
		ce.Path, ce.Want, ce.Got, ce.Err = we.Path, we.Want, we.Got, we.Err
	} else {
		ce.Got, ce.Want, ce.Err = "value", typ, err
	}
	return ce
}

// alsoErr is error, with its message, that also matches also.
type alsoErr struct {
	error
	also error
}

func (e *alsoErr) Unwrap() []error { return []error{e.error, e.also} }

// ctxWrap gives an error that ctx's end caused the "sodp: what: " prefix
// that the client's other errors carry; any other error is returned as it
// is.
func ctxWrap(ctx context.Context, what string, err error) error {
	if err == nil || strings.HasPrefix(err.Error(), "sodp: ") {
		return err
	}
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		return session.Wrap(err, what)
	}
	return err
}

// maxShownPointer bounds the length of a JSON Pointer in an error message;
// the error's Path field keeps it whole.
const maxShownPointer = 120

// shortPointer shortens a long JSON Pointer for a message: its first
// segments, "…" with the number of segments left out, and its last ones.
func shortPointer(p string) string {
	if len(p) <= maxShownPointer {
		return p
	}
	segs := strings.Split(p[1:], "/")
	head, tail := 0, len(segs)
	for n := 0; head < len(segs) && n+len(segs[head])+1 <= maxShownPointer/2; head++ {
		n += len(segs[head]) + 1
	}
	for n := 0; tail > head && n+len(segs[tail-1])+1 <= maxShownPointer/2; tail-- {
		n += len(segs[tail-1]) + 1
	}
	if tail-head == 0 || tail-head == len(segs) {
		return p
	}
	gap := fmt.Sprintf("…%d levels…", tail-head)
	if tail-head == 1 {
		gap = "…1 level…"
	}
	parts := append(append(segs[:head:head], gap), segs[tail:]...)
	return "/" + strings.Join(parts, "/")
}
