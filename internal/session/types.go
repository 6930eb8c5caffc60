package session

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/sodp-go/client/internal/delta"
)

// KindForget carries nothing for the reader: a subscriber that keeps its
// own copies drops its copy of Key, which it no longer watches
// (RemoveKeys). Its Receiver must not hand it out.
const KindForget = KindRefused + 1

// Delivery is one untyped update on its way to a subscriber. Its fields
// are laid out so that it takes 120 bytes: every update waiting for a
// buffered reader is one.
type Delivery struct {
	Key     string
	Value   any
	Version uint64
	Skipped uint64
	Changed []string // paths changed since the reader's previous update (nil: anything may have)
	Err     error    // a per-key error for a multi-key subscription (the key is no longer watched)
	// Ops and Limit are the ops of a delta and the containers they may
	// create, queued in place of the value and the Changed list for a
	// subscriber that keeps its own copy (Subscriber.KeepOwnCopy), whose
	// pump makes both from them.
	Ops         []delta.Op
	Limit       int32
	Initialized bool
	Kind        Kind
	// InPlace is set by OwnCopies.Resolve: Value is the subscriber's own
	// copy, changed in place by the next delta, so it may be read only
	// until the next Resolve, and it differs from the value resolved
	// before at the Changed paths only.
	InPlace bool
}

// Config holds everything the session needs; the public package fills it
// from options.
type Config struct {
	Endpoints     []string
	Token         string
	TokenProvider func(context.Context) (string, error)
	Logger        *slog.Logger
	CallTimeout   time.Duration
	Heartbeat     time.Duration
	HandshakeTime time.Duration
	BackoffMin    time.Duration
	BackoffMax    time.Duration
	NoReconnect   bool
	// FailFast makes the session fail with the attempt's error when, before
	// it was ever live, one attempt on every endpoint has failed.
	FailFast       bool
	MaxMessageSize int64
	// NetDialContext opens the connection the WebSocket runs over (TLS is
	// added on it for wss:// URLs); nil: a net.Dialer's.
	NetDialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Proxy gives the proxy of a request to upgrade; nil: none.
	Proxy         func(*http.Request) (*url.URL, error)
	Header        http.Header
	TLSConfig     *tls.Config
	EventBuffer   int
	OutboundQueue int
	// Observer, when set, is told of the connection lifecycle, resumes
	// and subscriptions (observe.go).
	Observer Observer
}
