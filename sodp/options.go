package sodp

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sodp-go/client/internal/session"
)

// Option configures a Client. Each option documents its default and the
// values it accepts; Dial and New refuse any other value with
// ErrInvalidOption instead of adjusting it.
type Option func(*options)

// options collects what the options set.
type options struct {
	cfg   session.Config
	retry bool    // WithRetryOnFailedConnect
	hooks []Hooks // WithHooks, in order
	err   error   // the first invalid option
}

func (o *options) invalid(format string, args ...any) {
	if o.err == nil {
		o.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
	}
}

// positive records an invalid option unless d > 0.
func (o *options) positive(name string, d time.Duration) bool {
	if d <= 0 {
		o.invalid("%s(%v): the duration must be positive", name, d)
		return false
	}
	return true
}

// apply runs opts over a fresh configuration for url.
func apply(url string, opts []Option) (*options, error) {
	o := &options{cfg: session.Config{Endpoints: []string{url}}}
	for _, f := range opts {
		if f != nil {
			f(o)
		}
	}
	if o.err != nil {
		return nil, o.err
	}
	return o, nil
}

// WithToken sets a fixed JWT sent in AUTH when the server asks for one.
// A 401 with a fixed token is terminal: the client stops reconnecting and
// everything waiting fails with ErrUnauthorized. Default: no token.
//
// A server may repeat the token in its texts ("invalid token: …"): in the
// message of an ERROR or a failed RESULT and in the reason of a close
// frame, the token, and each part of it (between dots) of 16 characters or
// more, is replaced by "[redacted]" before the text reaches an error,
// Events or a log line. So is the token a provider returned
// (WithTokenProvider), on its connection. A token under 4 characters is
// not looked for.
func WithToken(token string) Option {
	return func(o *options) { o.cfg.Token = token }
}

// WithTokenProvider sets a function called for a fresh token before every
// connection attempt (with a context that ends when the client closes). After
// a 401 the client reconnects with a new token; a second 401 in a row is
// terminal. It takes precedence over WithToken. Default: none.
func WithTokenProvider(f func(context.Context) (string, error)) Option {
	return func(o *options) { o.cfg.TokenProvider = f }
}

// WithLogger sets the logger for connection events and server errors.
// Tokens never appear in logs. Default: discard everything.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.cfg.Logger = l }
}

// WithCallTimeout bounds calls whose context has no deadline; a call it
// ends fails with an error that says the client's call timeout ended it
// and matches context.DeadlineExceeded. d must be positive. Default: 30 s.
func WithCallTimeout(d time.Duration) Option {
	return func(o *options) {
		if o.positive("WithCallTimeout", d) {
			o.cfg.CallTimeout = d
		}
	}
}

// WithHeartbeat sets how often the client sends a HEARTBEAT and a WebSocket
// ping; a connection with no inbound traffic for two intervals is declared
// dead and re-dialled. d must be positive. Default: 25 s.
func WithHeartbeat(d time.Duration) Option {
	return func(o *options) {
		if o.positive("WithHeartbeat", d) {
			o.cfg.Heartbeat = d
		}
	}
}

// WithHandshakeTimeout bounds dialing plus waiting for HELLO (and AUTH_OK).
// d must be positive. Default: 10 s.
func WithHandshakeTimeout(d time.Duration) Option {
	return func(o *options) {
		if o.positive("WithHandshakeTimeout", d) {
			o.cfg.HandshakeTime = d
		}
	}
}

// WithBackoff sets the reconnection back-off: the first retry waits about
// min, each failed attempt doubles the wait up to max, and random jitter
// (up to a quarter of the wait, at most 500 ms) is added. The wait starts
// over at min only after a connection stayed live for a second with its
// resume finished, so a server that closes right after HELLO, or in the
// middle of the client's resume, sees it grow. The same schedule paces
// re-sending a WATCH the server refused for a passing reason (429, 5xx).
// min must be positive and max at least min. Default: 1 s to 30 s.
func WithBackoff(min, max time.Duration) Option {
	return func(o *options) {
		switch {
		case min <= 0:
			o.invalid("WithBackoff(%v, %v): min must be positive", min, max)
		case max < min:
			o.invalid("WithBackoff(%v, %v): max is below min", min, max)
		default:
			o.cfg.BackoffMin, o.cfg.BackoffMax = min, max
		}
	}
}

// WithoutReconnect makes a lost connection terminal: the client fails with
// ErrConnectionLost instead of dialing again. It does not change how the
// first connection is made (see Dial, New and WithRetryOnFailedConnect).
// Default: reconnect forever.
func WithoutReconnect() Option {
	return func(o *options) { o.cfg.NoReconnect = true }
}

// WithRetryOnFailedConnect makes Dial keep trying when its first
// connection attempt fails, with back-off (WithBackoff), until one
// succeeds, a terminal error occurs or Dial's context ends — what New
// always does. Default: Dial returns the first attempt's error (after one
// attempt on each endpoint).
func WithRetryOnFailedConnect() Option {
	return func(o *options) { o.retry = true }
}

// WithEndpoints adds further server URLs; connection attempts go through
// the URL given to Dial or New and these in turn. Default: none.
func WithEndpoints(urls ...string) Option {
	return func(o *options) { o.cfg.Endpoints = append(o.cfg.Endpoints, urls...) }
}

// WithMaxMessageSize limits the size of one message in each direction.
//
// Outgoing: a call that would encode larger fails locally with ErrTooLarge
// (nothing is sent and the connection stays up).
//
// Incoming: a message is read into memory up to n bytes. A larger one is
// not kept: the client reads only as far as its frame type, stream and key
// (or call id), discards the rest as it arrives, and the frame costs what
// it concerns. The subscriptions of its key end with an error matching
// ErrTooLarge that names the key, the frame's size and this option (a
// WatchMany gets an Update of Kind KindRefused for the key and goes on
// with its other keys); the same error is reported on Events, the key is
// no longer watched and its cached copy is dropped, and a later Watch of
// it tries again. A RESULT over the limit fails its call the same way
// (the server did answer it). The connection and every other key go on.
// Only a HELLO (or AUTH_OK) over the limit fails the connection attempt:
// the session cannot start without it. A message within the limit whose
// values would take more than 16*n bytes of memory once decoded is refused
// the same way, before it is decoded.
//
// Memory: the message being read takes up to n bytes (in a buffer of up
// to 2*n while it grows), its decoded values at most 16*n (an array of
// small numbers takes about 16 times its size on the wire, objects of a few
// fields about 5 to 12 times, an array of one-field objects about 60
// times), and the client keeps the decoded value of every watched key.
// A message over the limit costs a few KiB, whatever its size.
//
// n must be positive. Default for incoming messages: 8 MiB (so at most
// 128 MiB once decoded), eight times the largest message the TypeScript and
// Rust servers accept, as every server lets a value grow past its own limit
// through state.set_in and state.patch. Default for outgoing messages:
// 1 MiB, except for a server recognised as the Go SODP server, which closes
// the connection (1009) on any message over 64 KiB: there it is 64 KiB. A
// value set here applies in both directions and to every server.
func WithMaxMessageSize(n int64) Option {
	return func(o *options) {
		if n <= 0 {
			o.invalid("WithMaxMessageSize(%d): the size must be positive", n)
			return
		}
		o.cfg.MaxMessageSize = n
	}
}

// WithDialer sets the WebSocket dialer (proxy, buffer sizes, net dialer).
// Its HandshakeTimeout and EnableCompression are not used: the handshake
// is bounded by WithHandshakeTimeout, and the client negotiates no
// WebSocket extension (an upgrade response that turns one on fails the
// attempt with ErrProtocol). Default: a dialer with the environment's
// proxy.
func WithDialer(d *websocket.Dialer) Option {
	return func(o *options) { o.cfg.Dialer = d }
}

// WithHeader adds HTTP headers to the WebSocket handshake. Default: none.
func WithHeader(h http.Header) Option {
	return func(o *options) { o.cfg.Header = h.Clone() }
}

// WithTLSConfig sets the TLS configuration for wss:// and sodps:// URLs.
// Default: Go's defaults, which verify the server's certificate against
// the system roots.
func WithTLSConfig(cfg *tls.Config) Option {
	return func(o *options) { o.cfg.TLSConfig = cfg }
}

// WithEventBuffer sets the capacity of the Events channel. When the reader
// falls behind, events are dropped (counted in Event.Dropped) except the
// latest state change, which is kept until it can be delivered. n must
// be positive. Default: 64.
func WithEventBuffer(n int) Option {
	return func(o *options) {
		if n <= 0 {
			o.invalid("WithEventBuffer(%d): the size must be positive", n)
			return
		}
		o.cfg.EventBuffer = n
	}
}

// WithOutboundQueue sets how many frames may wait to be written; a
// connection whose queue fills is stalled and is dropped. The queue grows
// on demand, so an idle connection holds almost nothing. n must be
// positive. Default: 16384.
func WithOutboundQueue(n int) Option {
	return func(o *options) {
		if n <= 0 {
			o.invalid("WithOutboundQueue(%d): the size must be positive", n)
			return
		}
		o.cfg.OutboundQueue = n
	}
}
