package sodp

import shared "github.com/sodp-go/client/internal/sodp"

// The package's types, constants and sentinel errors are declared once, in
// a package the session shares, so that an error, event or update the
// session makes is the public value itself. The exported names refer to
// them through these, which keeps the package's documentation in its own
// terms.

type (
	kind              = shared.Kind
	connState         = shared.ConnState
	dialect           = shared.Dialect
	event             = shared.Event
	serverInfo        = shared.ServerInfo
	stats             = shared.Stats
	serverError       = shared.ServerError
	closeError        = shared.CloseError
	attribution       = shared.Attribution
	connStage         = shared.ConnStage
	connectionEvent   = shared.ConnectionEvent
	resumeEvent       = shared.ResumeEvent
	endReason         = shared.EndReason
	subscriptionEvent = shared.SubscriptionEvent
)

const (
	kindSnapshot = shared.KindSnapshot
	kindCached   = shared.KindCached
	kindDelta    = shared.KindDelta
	kindReplayed = shared.KindReplayed
	kindResync   = shared.KindResync
	kindRefused  = shared.KindRefused

	stateConnecting   = shared.StateConnecting
	stateLive         = shared.StateLive
	stateReconnecting = shared.StateReconnecting
	stateFailed       = shared.StateFailed
	stateClosed       = shared.StateClosed

	dialectSpec = shared.DialectSpec
	dialectGo   = shared.DialectGo
	dialectTS   = shared.DialectTS
	dialectRust = shared.DialectRust

	attrNone   = shared.AttrNone
	attrCallID = shared.AttrCallID
	attrStream = shared.AttrStream
	attrKey    = shared.AttrKey
	attrOrder  = shared.AttrOrder

	stageAttempt       = shared.StageAttempt
	stageAttemptFailed = shared.StageAttemptFailed
	stageLive          = shared.StageLive
	stageLost          = shared.StageLost
	stageBackoff       = shared.StageBackoff
	stageFailed        = shared.StageFailed

	endNone         = shared.EndNone
	endClosed       = shared.EndClosed
	endContext      = shared.EndContext
	endClientClosed = shared.EndClientClosed
	endSlowConsumer = shared.EndSlowConsumer
	endRefused      = shared.EndRefused
	endUnauthorized = shared.EndUnauthorized
	endFailed       = shared.EndFailed

	otherErrorCode = shared.OtherErrorCode
	maxChanged     = shared.MaxChanged
)

var (
	errClosed           = shared.ErrClosed
	errConnectionLost   = shared.ErrConnectionLost
	errUnauthorized     = shared.ErrUnauthorized
	errForbidden        = shared.ErrForbidden
	errNotFound         = shared.ErrNotFound
	errBadRequest       = shared.ErrBadRequest
	errInvalidValue     = shared.ErrInvalidValue
	errRateLimited      = shared.ErrRateLimited
	errTooLarge         = shared.ErrTooLarge
	errServerInternal   = shared.ErrServerInternal
	errSlowConsumer     = shared.ErrSlowConsumer
	errInvalidKey       = shared.ErrInvalidKey
	errInvalidPath      = shared.ErrInvalidPath
	errNotSupported     = shared.ErrNotSupported
	errProtocol         = shared.ErrProtocol
	errDesync           = shared.ErrDesync
	errInvalidURL       = shared.ErrInvalidURL
	errInvalidOption    = shared.ErrInvalidOption
	errUnsupportedValue = shared.ErrUnsupportedValue
	errConnectFailed    = shared.ErrConnectFailed
	errConvert          = shared.ErrConvert
	errNotCached        = shared.ErrNotCached
	errNoVersion        = shared.ErrNoVersion
)
