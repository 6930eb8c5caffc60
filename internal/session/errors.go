package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. The public package re-exports them.
var (
	ErrClosed         = errors.New("sodp: client closed")
	ErrConnectionLost = errors.New("sodp: connection lost before the server answered (the call may or may not have been applied)")
	ErrUnauthorized   = errors.New("sodp: unauthorized")
	ErrForbidden      = errors.New("sodp: forbidden")
	ErrNotFound       = errors.New("sodp: not found")
	ErrBadRequest     = errors.New("sodp: bad request")
	ErrInvalidValue   = errors.New("sodp: value rejected by the server's schema")
	ErrRateLimited    = errors.New("sodp: rate limited")
	ErrTooLarge       = errors.New("sodp: message too large")
	ErrServerInternal = errors.New("sodp: server internal error")
	ErrSlowConsumer   = errors.New("sodp: subscriber fell behind its buffer")
	ErrInvalidKey     = errors.New("sodp: invalid key")
	ErrInvalidPath    = errors.New("sodp: invalid path")
	ErrNotSupported   = errors.New("sodp: not supported by this server")
	ErrProtocol       = errors.New("sodp: protocol error")
	ErrDesync         = errors.New("sodp: local copy out of sync; re-synchronising")
	ErrInvalidURL     = errors.New("sodp: invalid URL")
	ErrNotCached      = errors.New("sodp: key not watched or not received yet")
	ErrConnectFailed  = errors.New("sodp: connection attempt failed")
)

// notWatched is the error a WaitVersion on key gets when the key's last
// subscription ends with why: ErrClosed when the client closes (closing);
// why itself when it is an error of the key or of the session (a server's
// refusal, ErrSlowConsumer, a terminal failure such as ErrUnauthorized);
// and, when the subscription was closed by its owner or its context ended,
// ErrNotCached, as for a key no subscription watches.
func notWatched(key string, why error, closing bool) error {
	switch {
	case closing:
		return ErrClosed
	case why == nil || errors.Is(why, ErrClosed) || errors.Is(why, context.Canceled) || errors.Is(why, context.DeadlineExceeded):
		return fmt.Errorf("%w (WaitVersion on %s): its last subscription ended", ErrNotCached, key)
	}
	return why
}

// Attribution says how an error frame was matched to the request it fails.
type Attribution int

// How a *ServerError was matched to a request.
const (
	// AttrNone: the error belongs to no request (a session-level error).
	AttrNone Attribution = iota
	// AttrCallID: a RESULT success:false named the call.
	AttrCallID
	// AttrStream: an ERROR frame's stream id named the subscription.
	AttrStream
	// AttrKey: an ERROR frame's message named the key of a waiting request.
	AttrKey
	// AttrOrder: nothing in the frame named the request; it was matched to
	// the oldest request still waiting for an answer (servers answer
	// requests in order).
	AttrOrder
)

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

// ServerError is an error the server reported, by an ERROR frame or a
// RESULT with success false. errors.Is matches it against the sentinel of
// its code: 400 ErrBadRequest, 401 ErrUnauthorized, 403 ErrForbidden, 404
// ErrNotFound, 413 ErrTooLarge, 422 ErrInvalidValue, 429 ErrRateLimited,
// 500 ErrServerInternal.
type ServerError struct {
	Code        int         // the protocol error code; 0 when the server gave none
	Message     string      // the server's text
	Key         string      // the state key concerned, when known
	Method      string      // the call's method, when the error failed a call
	Attribution Attribution // how the error was matched to the request
}

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

// Is reports whether target is the sentinel for e's code.
func (e *ServerError) Is(target error) bool {
	return target != nil && target == codeSentinel(e.Code)
}

func codeSentinel(code int) error {
	switch code {
	case 400:
		return ErrBadRequest
	case 401:
		return ErrUnauthorized
	case 403:
		return ErrForbidden
	case 404:
		return ErrNotFound
	case 413:
		return ErrTooLarge
	case 422:
		return ErrInvalidValue
	case 429:
		return ErrRateLimited
	case 500:
		return ErrServerInternal
	}
	return nil
}

// CloseError reports that the server closed the WebSocket with a close
// code; 1009 (message too big) matches ErrTooLarge.
type CloseError struct {
	Code int
	Text string
}

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

// Detail returns err's message without the "sodp: " prefix, for messages
// that embed it after their own prefix.
func Detail(err error) string { return strings.TrimPrefix(err.Error(), "sodp: ") }

// Wrap returns an error reading "sodp: what: " and err's message (without
// a second "sodp: "), that unwraps to err.
func Wrap(err error, what string) error {
	return &wrapped{msg: "sodp: " + what + ": " + Detail(err), err: err}
}

type wrapped struct {
	msg string
	err error
}

func (e *wrapped) Error() string { return e.msg }
func (e *wrapped) Unwrap() error { return e.err }

// withCause reads as primary's message with cause's detail in
// parentheses, and matches both.
type withCause struct {
	msg            string
	primary, cause error
}

func (e *withCause) Error() string   { return e.msg }
func (e *withCause) Unwrap() []error { return []error{e.primary, e.cause} }
