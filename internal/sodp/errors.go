package sodp

import (
	"errors"
	"fmt"
	"strings"
)

// The sentinel errors. Package sodp documents each one.
var (
	ErrClosed           = errors.New("sodp: client closed")
	ErrConnectionLost   = errors.New("sodp: connection lost")
	ErrUnauthorized     = errors.New("sodp: unauthorized")
	ErrForbidden        = errors.New("sodp: forbidden")
	ErrNotFound         = errors.New("sodp: not found")
	ErrBadRequest       = errors.New("sodp: bad request")
	ErrInvalidValue     = errors.New("sodp: value rejected by the server's schema")
	ErrRateLimited      = errors.New("sodp: rate limited")
	ErrTooLarge         = errors.New("sodp: message too large")
	ErrServerInternal   = errors.New("sodp: server internal error")
	ErrSlowConsumer     = errors.New("sodp: subscriber fell behind its buffer")
	ErrInvalidKey       = errors.New("sodp: invalid key")
	ErrInvalidPath      = errors.New("sodp: invalid path")
	ErrNotSupported     = errors.New("sodp: not supported by this server")
	ErrProtocol         = errors.New("sodp: protocol error")
	ErrDesync           = errors.New("sodp: local copy out of sync; re-synchronising")
	ErrInvalidURL       = errors.New("sodp: invalid URL")
	ErrInvalidOption    = errors.New("sodp: invalid option")
	ErrUnsupportedValue = errors.New("sodp: unsupported value")
	ErrConnectFailed    = errors.New("sodp: connection attempt failed")
	ErrConvert          = errors.New("sodp: value does not convert")
	ErrNotCached        = errors.New("sodp: key not watched or not received yet")
	ErrNoVersion        = errors.New("sodp: no version to wait for")
)

// Attribution says how an error frame was matched to the request it fails.
type Attribution int

// How a *ServerError was matched to a request.
const (
	AttrNone   Attribution = iota // the error belongs to no request (a session-level error)
	AttrCallID                    // a RESULT success:false named the call
	AttrStream                    // an ERROR frame's stream id named the subscription
	AttrKey                       // an ERROR frame's message named the key of a waiting request
	AttrOrder                     // a guess: matched to the oldest request still waiting
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

// ServerError is an error the server reported, by an ERROR frame or a
// RESULT with success false. errors.Is matches it against the sentinel of
// its code.
type ServerError struct {
	Code        int         // the protocol error code; 0 when the server gave none
	Message     string      // the server's text
	Key         string      // the state key concerned, when known
	Method      string      // the method of the failed call, when it failed a call
	Attribution Attribution // how the error was matched to the request it fails
}

// Error returns "sodp: server error CODE: MESSAGE (METHOD on KEY)", the
// key left out when the server's text names it already, with a note when
// the error was matched to a request by order only.
func (e *ServerError) Error() string {
	s := fmt.Sprintf("sodp: server error %d", e.Code)
	if e.Message != "" {
		s += ": " + e.Message
	}
	key := e.Key
	if namesKey(e.Message, key) {
		key = "" // the server's text names it already
	}
	switch {
	case e.Method != "" && key != "":
		s += fmt.Sprintf(" (%s on %s)", e.Method, key)
	case e.Method != "":
		s += " (" + e.Method + ")"
	case key != "":
		s += " (key " + key + ")"
	}
	if e.Attribution == AttrOrder {
		s += " [matched to the oldest waiting request by order; the server did not say which request failed]"
	}
	return s
}

// Is reports whether target is the sentinel of e's code.
func (e *ServerError) Is(target error) bool {
	return target != nil && target == CodeSentinel(e.Code)
}

// CodeSentinel returns the sentinel of a server error code: 400
// ErrBadRequest, 401 ErrUnauthorized, 403 ErrForbidden, 404 ErrNotFound,
// 413 ErrTooLarge, 422 ErrInvalidValue, 429 ErrRateLimited, 500
// ErrServerInternal; nil for any other code.
func CodeSentinel(code int) error {
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
// code. It matches ErrConnectionLost; 1009 (message too big) also matches
// ErrTooLarge.
type CloseError struct {
	Code int    // the WebSocket close code
	Text string // the close reason the server gave
}

// Error returns "sodp: server closed the connection (close CODE TEXT)".
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

// namesKey reports whether msg holds key as a whole word: not inside a
// longer key ("game" is not named by "game.score").
func namesKey(msg, key string) bool {
	if key == "" {
		return false
	}
	for i := 0; ; {
		j := strings.Index(msg[i:], key)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(key)
		if (j == 0 || !isKeyByte(msg[j-1])) && (end == len(msg) || !isKeyByte(msg[end]) || msg[end] == '.' && (end+1 == len(msg) || !isKeyByte(msg[end+1]))) {
			return true
		}
		i = j + 1
	}
}

func isKeyByte(b byte) bool {
	return b == '_' || b == '.' || '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
}
