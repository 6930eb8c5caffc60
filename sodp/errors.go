package sodp

import (
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
	ErrClosed = errors.New("sodp: client closed")
	// ErrConnectionLost: the connection dropped before the server answered
	// a call. The call may or may not have been applied, unless the error
	// says it was not (after a close 1009, see Client.Call). Also the terminal
	// error of a client made WithoutReconnect whose connection dropped.
	ErrConnectionLost = errors.New("sodp: connection lost")
	// ErrUnauthorized: the server refused the token (401), or it needs one
	// and none was configured. Terminal with a fixed token.
	ErrUnauthorized = errors.New("sodp: unauthorized")
	// ErrForbidden: the server's ACL refused the key (403).
	ErrForbidden = errors.New("sodp: forbidden")
	// ErrNotFound: unknown method (404).
	ErrNotFound = errors.New("sodp: not found")
	// ErrBadRequest: the server found the request malformed (400).
	ErrBadRequest = errors.New("sodp: bad request")
	// ErrInvalidValue: the server's schema rejected the value (422).
	ErrInvalidValue = errors.New("sodp: value rejected by the server's schema")
	// ErrRateLimited: the server's rate limit refused the request (429).
	ErrRateLimited = errors.New("sodp: rate limited")
	// ErrTooLarge: a message over the size limit — an outgoing call
	// refused locally (nothing was sent), a server ERROR 413, a server
	// close 1009, or an incoming frame over the client's limit
	// (WithMaxMessageSize): the subscriptions of its key end with it, or
	// the call its RESULT answers fails with it.
	ErrTooLarge = errors.New("sodp: message too large")
	// ErrServerInternal: the server failed (500).
	ErrServerInternal = errors.New("sodp: server internal error")
	// ErrSlowConsumer ends a buffered subscription (WithBuffer) whose
	// reader fell more than its buffer behind.
	ErrSlowConsumer = errors.New("sodp: subscriber fell behind its buffer")
	// ErrInvalidKey: a key that does not match the protocol's key syntax
	// (see ValidKey), reported before anything is sent.
	ErrInvalidKey = errors.New("sodp: invalid key")
	// ErrInvalidPath: a JSON Pointer that is malformed, or that the
	// server's dialect cannot express; nothing was sent.
	ErrInvalidPath = errors.New("sodp: invalid path")
	// ErrNotSupported: the server does not support the operation (for
	// example presence on the Go SODP server); nothing was sent.
	ErrNotSupported = errors.New("sodp: not supported by this server")
	// ErrProtocol: the server sent something the protocol does not allow
	// (an undecodable frame, an unknown frame type). Reported on Events.
	ErrProtocol = errors.New("sodp: protocol error")
	// ErrDesync: a delta did not apply to the local copy of a key; the key
	// is being re-synchronised. Reported on Events.
	ErrDesync = errors.New("sodp: local copy out of sync; re-synchronising")
	// ErrInvalidURL: a URL given to Dial, New or WithEndpoints that is not
	// a ws://, wss://, sodp:// or sodps:// URL with a host and without
	// user information. Nothing is started.
	ErrInvalidURL = errors.New("sodp: invalid URL")
	// ErrInvalidOption: an option given to Dial or New is out of range or
	// contradicts another (WithBackoff(5*time.Second, time.Second), a
	// negative duration or size). Dial and New then return it, naming the
	// option, and start nothing.
	ErrInvalidOption = errors.New("sodp: invalid option")
	// ErrUnsupportedValue: a value handed to the client has no SODP encoding
	// — a value that contains itself (a cycle through a map, slice or
	// pointer), a channel, a function, a complex number, a NaN or infinite
	// float, a map whose key type is not a string, an integer or an
	// encoding.TextMarshaler, or more than 512 levels of nesting. The error
	// names the JSON Pointer of the offending element inside the value;
	// nothing was sent.
	ErrUnsupportedValue = errors.New("sodp: unsupported value")
	// ErrConnectFailed: a connection attempt failed before the WebSocket
	// was open — the TCP connection was refused, DNS or TLS failed, the
	// upgrade was refused or too long, or the token provider failed. Dial
	// returns it for a failed first attempt; later attempts report it on
	// Events while the client retries.
	ErrConnectFailed = errors.New("sodp: connection attempt failed")
	// ErrConvert: a value does not convert into the Go type asked for (an
	// Update's Err, or Ref.Cached and Get). The error is a *ConvertError.
	ErrConvert = errors.New("sodp: value does not convert")
	// ErrNotCached: Ref.Cached on a key that no subscription of this
	// client watches, or whose first value has not arrived yet; WaitVersion
	// on a key that no subscription of this client watches, or whose last
	// subscription ended (closed, or its context ended) while it waited.
	ErrNotCached = errors.New("sodp: key not watched or not received yet")
	// ErrNoVersion: WaitVersion with version 0, which no write names: a
	// write returns 0 when the server did not say which version it made —
	// the TypeScript server never does, the Go server does not for a write
	// that left the value as it was — so there is nothing to wait for.
	// Nothing was waited for.
	ErrNoVersion = errors.New("sodp: no version to wait for")
)

// The session reports the public sentinels: every error it makes wraps
// one of these values.
func init() {
	session.ErrClosed = ErrClosed
	session.ErrConnectionLost = ErrConnectionLost
	session.ErrUnauthorized = ErrUnauthorized
	session.ErrForbidden = ErrForbidden
	session.ErrNotFound = ErrNotFound
	session.ErrBadRequest = ErrBadRequest
	session.ErrInvalidValue = ErrInvalidValue
	session.ErrRateLimited = ErrRateLimited
	session.ErrTooLarge = ErrTooLarge
	session.ErrServerInternal = ErrServerInternal
	session.ErrSlowConsumer = ErrSlowConsumer
	session.ErrInvalidKey = ErrInvalidKey
	session.ErrInvalidPath = ErrInvalidPath
	session.ErrNotSupported = ErrNotSupported
	session.ErrProtocol = ErrProtocol
	session.ErrDesync = ErrDesync
	session.ErrInvalidURL = ErrInvalidURL
	session.ErrNotCached = ErrNotCached
	session.ErrConnectFailed = ErrConnectFailed
}

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
// 500 ErrServerInternal; other codes match none.
type ServerError struct {
	Code        int         // the protocol error code; 0 when the server gave none
	Message     string      // the server's text
	Key         string      // the state key concerned, when known
	Method      string      // the method of the failed call, when it failed a call
	Attribution Attribution // how the error was matched to the request it fails
}

// Error returns a message such as
//
//	sodp: server error 403: forbidden (state.set on game.player)
func (e *ServerError) Error() string {
	s := fmt.Sprintf("sodp: server error %d", e.Code)
	if e.Message != "" {
		s += ": " + e.Message
	}
	switch {
	case e.Method != "" && e.Key != "":
		s += fmt.Sprintf(" (%s on %s)", e.Method, e.Key)
	case e.Method != "":
		s += " (" + e.Method + ")"
	case e.Key != "":
		s += " (key " + e.Key + ")"
	}
	if e.Attribution == AttrOrder {
		s += " [matched to the oldest waiting request by order; the server did not say which request failed]"
	}
	return s
}

// Is reports whether target is the sentinel of e's code.
func (e *ServerError) Is(target error) bool {
	if target == nil {
		return false
	}
	switch e.Code {
	case 400:
		return target == ErrBadRequest
	case 401:
		return target == ErrUnauthorized
	case 403:
		return target == ErrForbidden
	case 404:
		return target == ErrNotFound
	case 413:
		return target == ErrTooLarge
	case 422:
		return target == ErrInvalidValue
	case 429:
		return target == ErrRateLimited
	case 500:
		return target == ErrServerInternal
	}
	return false
}

// CloseError reports that the server closed the WebSocket with a close
// code (Code, Text). It matches ErrConnectionLost; code 1009 (message too
// big) also matches ErrTooLarge.
type CloseError struct {
	Code int    // the WebSocket close code
	Text string // the close reason the server gave
}

// Error returns a message such as
//
//	sodp: server closed the connection (close 1001 going away)
func (e *CloseError) Error() string {
	if e.Code == 1009 {
		return fmt.Sprintf("sodp: server closed the connection: message too big (close 1009 %s)", e.Text)
	}
	return fmt.Sprintf("sodp: server closed the connection (close %d %s)", e.Code, e.Text)
}

// Is matches ErrConnectionLost, and ErrTooLarge for close code 1009.
func (e *CloseError) Is(target error) bool {
	return target == ErrConnectionLost || e.Code == 1009 && target == ErrTooLarge
}

// Attribution says how an ERROR frame, which names no call, was matched to
// the request it fails.
type Attribution int

// Attributions of a *ServerError.
const (
	// AttrNone: the error belongs to no request (a session-level error,
	// delivered on Events).
	AttrNone Attribution = iota
	// AttrCallID: a RESULT named the call.
	AttrCallID
	// AttrStream: the frame's stream id named the subscription.
	AttrStream
	// AttrKey: the error message named the key of a waiting request.
	AttrKey
	// AttrOrder: a guess. Nothing in the frame named the request; it was
	// matched to the oldest request still waiting (servers answer in
	// order).
	AttrOrder
)

// String returns "none", "call_id", "stream", "key" or "order".
func (a Attribution) String() string {
	switch a {
	case AttrCallID:
		return "call_id"
	case AttrStream:
		return "stream"
	case AttrKey:
		return "key"
	case AttrOrder:
		return "order"
	}
	return "none"
}

// ConvertError reports a value that does not convert into the Go type it
// was asked for. It matches ErrConvert with errors.Is; Err, when set, is
// what refused the value (an UnmarshalText error, a range error…).
type ConvertError struct {
	Key     string // the key whose value it is
	Version uint64 // the version of that value
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
func (e *ConvertError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sodp: value of %s (version %d) does not convert into %s: %s into %s", e.Key, e.Version, e.Type, e.Got, e.Want)
	if e.Path == "" {
		b.WriteString(" at the root")
	} else {
		fmt.Fprintf(&b, " at %q", e.Path)
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

// exportErr turns the session's error types into the package's own: a
// *ServerError or *CloseError itself is copied; one inside a chain is
// found by errors.As through a wrapper.
func exportErr(err error) error {
	switch e := err.(type) {
	case nil:
		return nil
	case *session.ServerError:
		return serverErrorOf(e)
	case *session.CloseError:
		return &CloseError{Code: e.Code, Text: e.Text}
	}
	var se *session.ServerError
	var ce *session.CloseError
	if errors.As(err, &se) || errors.As(err, &ce) {
		return &exported{err}
	}
	return err
}

func serverErrorOf(e *session.ServerError) *ServerError {
	return &ServerError{Code: e.Code, Message: e.Message, Key: e.Key, Method: e.Method, Attribution: Attribution(e.Attribution)}
}

// exported wraps an error chain that holds one of the session's error
// types, so that errors.As finds the package's own type.
type exported struct{ err error }

func (e *exported) Error() string { return e.err.Error() }
func (e *exported) Unwrap() error { return e.err }

func (e *exported) As(target any) bool {
	switch t := target.(type) {
	case **ServerError:
		var se *session.ServerError
		if errors.As(e.err, &se) {
			*t = serverErrorOf(se)
			return true
		}
	case **CloseError:
		var ce *session.CloseError
		if errors.As(e.err, &ce) {
			*t = &CloseError{Code: ce.Code, Text: ce.Text}
			return true
		}
	}
	return false
}
