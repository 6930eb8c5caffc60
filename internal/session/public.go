package session

import (
	"github.com/sodp-go/client/internal/sodp"
	"github.com/sodp-go/client/internal/wire"
)

// The public API's types, constants and sentinel errors, declared in
// the internal package sodp, under the names the session's code uses.

// Sentinel errors: every error the session makes wraps one of them.
var (
	ErrClosed         = sodp.ErrClosed
	ErrConnectionLost = sodp.ErrConnectionLost
	ErrUnauthorized   = sodp.ErrUnauthorized
	ErrForbidden      = sodp.ErrForbidden
	ErrNotFound       = sodp.ErrNotFound
	ErrBadRequest     = sodp.ErrBadRequest
	ErrInvalidValue   = sodp.ErrInvalidValue
	ErrRateLimited    = sodp.ErrRateLimited
	ErrTooLarge       = sodp.ErrTooLarge
	ErrServerInternal = sodp.ErrServerInternal
	ErrSlowConsumer   = sodp.ErrSlowConsumer
	ErrInvalidKey     = sodp.ErrInvalidKey
	ErrInvalidPath    = sodp.ErrInvalidPath
	ErrNotSupported   = sodp.ErrNotSupported
	ErrProtocol       = sodp.ErrProtocol
	ErrDesync         = sodp.ErrDesync
	ErrInvalidURL     = sodp.ErrInvalidURL
	ErrNotCached      = sodp.ErrNotCached
	ErrConnectFailed  = sodp.ErrConnectFailed
)

type (
	ServerError = sodp.ServerError
	CloseError  = sodp.CloseError
	Attribution = sodp.Attribution
	Kind        = sodp.Kind
	ConnState   = sodp.ConnState
	Dialect     = sodp.Dialect
	Event       = sodp.Event
	ServerInfo  = sodp.ServerInfo
	Stats       = sodp.Stats
	ConnStage   = sodp.ConnStage
	ConnEvent   = sodp.ConnectionEvent
	ResumeEvent = sodp.ResumeEvent
	SubEvent    = sodp.SubscriptionEvent
)

const (
	AttrNone   = sodp.AttrNone
	AttrCallID = sodp.AttrCallID
	AttrStream = sodp.AttrStream
	AttrKey    = sodp.AttrKey
	AttrOrder  = sodp.AttrOrder

	KindSnapshot = sodp.KindSnapshot
	KindCached   = sodp.KindCached
	KindDelta    = sodp.KindDelta
	KindReplayed = sodp.KindReplayed
	KindResync   = sodp.KindResync
	KindRefused  = sodp.KindRefused

	StateConnecting   = sodp.StateConnecting
	StateLive         = sodp.StateLive
	StateReconnecting = sodp.StateReconnecting
	StateFailed       = sodp.StateFailed
	StateClosed       = sodp.StateClosed

	DialectSpec = sodp.DialectSpec
	DialectGo   = sodp.DialectGo
	DialectTS   = sodp.DialectTS
	DialectRust = sodp.DialectRust

	ConnAttempt       = sodp.StageAttempt
	ConnAttemptFailed = sodp.StageAttemptFailed
	ConnLive          = sodp.StageLive
	ConnLost          = sodp.StageLost
	ConnBackoff       = sodp.StageBackoff
	ConnFailed        = sodp.StageFailed

	// OtherErrorCode is the Stats.ErrorsByCode entry that counts the
	// errors whose code is neither 0 (none given) nor between 100 and 599,
	// so that a server sending ever new codes cannot grow the map.
	OtherErrorCode = sodp.OtherErrorCode
	// MaxChanged is the most paths a Delivery's Changed lists; a longer
	// list, or one that would hold the whole value, is the single path "/".
	MaxChanged = sodp.MaxChanged
)

// ValidKey checks a state key (see wire.ValidKey).
func ValidKey(key string) error { return wire.ValidKey(key) }

// BoundedCode is a server error code as Stats.ErrorsByCode counts it (see
// sodp.BoundedCode).
func BoundedCode(code int) int { return sodp.BoundedCode(code) }
