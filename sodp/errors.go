package sodp

import "github.com/sodp-go/client/internal/session"

// Errors returned by the client. Test with errors.Is; server errors also
// match with errors.As against *ServerError.
var (
	// ErrClosed: the Client was closed, or the subscription was closed by
	// its owner. Calls made after Close fail with it at once.
	ErrClosed = session.ErrClosed
	// ErrConnectionLost: the connection dropped before the server answered
	// a call. The call may or may not have been applied.
	ErrConnectionLost = session.ErrConnectionLost
	// ErrUnauthorized: the server refused the token (401), or it needs one
	// and none was configured. Terminal with a fixed token.
	ErrUnauthorized = session.ErrUnauthorized
	// ErrForbidden: the server's ACL refused the key (403).
	ErrForbidden = session.ErrForbidden
	// ErrNotFound: unknown method (404).
	ErrNotFound = session.ErrNotFound
	// ErrBadRequest: the server found the request malformed (400).
	ErrBadRequest = session.ErrBadRequest
	// ErrInvalidValue: the server's schema rejected the value (422).
	ErrInvalidValue = session.ErrInvalidValue
	// ErrRateLimited: the server's rate limit refused the request (429).
	ErrRateLimited = session.ErrRateLimited
	// ErrTooLarge: a message over the size limit — an outgoing call
	// refused locally, a server ERROR 413, or a server close 1009.
	ErrTooLarge = session.ErrTooLarge
	// ErrServerInternal: the server failed (500).
	ErrServerInternal = session.ErrServerInternal
	// ErrSlowConsumer ends a buffered subscription (WithBuffer) whose
	// reader fell more than its buffer behind.
	ErrSlowConsumer = session.ErrSlowConsumer
	// ErrInvalidKey: a key that does not match the protocol's key syntax,
	// reported before anything is sent.
	ErrInvalidKey = session.ErrInvalidKey
	// ErrInvalidPath: a JSON Pointer that is malformed, or that the
	// server's dialect cannot express.
	ErrInvalidPath = session.ErrInvalidPath
	// ErrNotSupported: the server does not support the operation (for
	// example presence on the Go SODP server); nothing was sent.
	ErrNotSupported = session.ErrNotSupported
	// ErrProtocol: the server sent something the protocol does not allow
	// (an undecodable frame, an unknown frame type). Reported on Events.
	ErrProtocol = session.ErrProtocol
	// ErrDesync: a delta did not apply to the local copy of a key; the key
	// is being re-synchronised. Reported on Events.
	ErrDesync = session.ErrDesync
	// ErrInvalidURL: a URL given to Dial, New or WithEndpoints that is not
	// a ws://, wss://, sodp:// or sodps:// URL with a host and without
	// user information. Nothing is started.
	ErrInvalidURL = session.ErrInvalidURL
)

// ServerError is an error reported by the server, as an ERROR frame or a
// RESULT with success false. Its fields:
//
//	Code        int         the protocol error code (400, 401, 403, 404, 413, 422, 429, 500); 0 if none was given
//	Message     string      the server's text
//	Key         string      the state key concerned, when known
//	Method      string      the method of the failed call, when it failed a call
//	Attribution Attribution how the error was matched to the request it fails
//
// errors.Is matches a ServerError against the sentinel of its code
// (ErrForbidden for 403 and so on).
type ServerError = session.ServerError

// CloseError reports that the server closed the WebSocket with a close
// code (Code, Text); code 1009 (message too big) matches ErrTooLarge.
type CloseError = session.CloseError

// Attribution says how an ERROR frame, which names no call, was matched to
// the request it fails: AttrCallID (a RESULT named the call), AttrStream
// (the frame's stream id), AttrKey (a key named in the message), AttrOrder
// (a guess: the oldest request still waiting; servers answer in order) or
// AttrNone (a session-level error, delivered on Events).
type Attribution = session.Attribution

// Attributions of a *ServerError.
const (
	AttrNone   = session.AttrNone
	AttrCallID = session.AttrCallID
	AttrStream = session.AttrStream
	AttrKey    = session.AttrKey
	AttrOrder  = session.AttrOrder
)
