package sodp

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sodp-go/client/internal/session"
)

// Option configures a Client. Each option documents its default.
type Option func(*session.Config)

// WithToken sets a fixed JWT sent in AUTH when the server asks for one.
// A 401 with a fixed token is terminal: the client stops reconnecting and
// everything waiting fails with ErrUnauthorized. Default: no token.
func WithToken(token string) Option {
	return func(c *session.Config) { c.Token = token }
}

// WithTokenProvider sets a function called for a fresh token before every
// connection attempt (with a context that ends when the client closes). After
// a 401 the client reconnects with a new token; a second 401 in a row is
// terminal. It takes precedence over WithToken. Default: none.
func WithTokenProvider(f func(context.Context) (string, error)) Option {
	return func(c *session.Config) { c.TokenProvider = f }
}

// WithLogger sets the logger for connection events and server errors.
// Tokens never appear in logs. Default: discard everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *session.Config) { c.Logger = l }
}

// WithCallTimeout bounds calls whose context has no deadline. Default: 30 s.
func WithCallTimeout(d time.Duration) Option {
	return func(c *session.Config) { c.CallTimeout = d }
}

// WithHeartbeat sets how often the client sends a HEARTBEAT and a WebSocket
// ping; a connection with no inbound traffic for two intervals is declared
// dead and re-dialled. Default: 25 s.
func WithHeartbeat(d time.Duration) Option {
	return func(c *session.Config) { c.Heartbeat = d }
}

// WithHandshakeTimeout bounds dialing plus waiting for HELLO (and AUTH_OK).
// Default: 10 s.
func WithHandshakeTimeout(d time.Duration) Option {
	return func(c *session.Config) { c.HandshakeTime = d }
}

// WithBackoff sets the reconnection back-off: the first retry waits about
// min, each failed attempt doubles the wait up to max, and random jitter
// (up to a quarter of the wait, at most 500 ms) is added. Default: 1 s to
// 30 s.
func WithBackoff(min, max time.Duration) Option {
	return func(c *session.Config) { c.BackoffMin, c.BackoffMax = min, max }
}

// WithoutReconnect makes a lost connection terminal: the client fails with
// ErrConnectionLost instead of dialing again. Before the first successful
// connection, attempts are still retried until Ready's or Dial's context
// ends. Default: reconnect forever.
func WithoutReconnect() Option {
	return func(c *session.Config) { c.NoReconnect = true }
}

// WithEndpoints adds further server URLs; connection attempts go through
// the URL given to Dial or New and these in turn. Default: none.
func WithEndpoints(urls ...string) Option {
	return func(c *session.Config) { c.Endpoints = append(c.Endpoints, urls...) }
}

// WithMaxMessageSize limits the size of one message in each direction: a
// call that would encode larger fails locally with ErrTooLarge (nothing is
// sent and the connection stays up), and a larger incoming message drops
// the connection. Zero means the default; a negative value means no limit.
// Default: 1 MiB, except for calls to a server recognised as the Go SODP
// server, which closes the connection (1009) on any message over 64 KiB:
// there the outbound default is 64 KiB. A value set here applies to every
// server.
func WithMaxMessageSize(n int64) Option {
	return func(c *session.Config) { c.MaxMessageSize = n }
}

// WithDialer sets the WebSocket dialer (proxy, buffer sizes, net dialer).
// Default: a dialer with the handshake timeout and the environment's proxy.
func WithDialer(d *websocket.Dialer) Option {
	return func(c *session.Config) { c.Dialer = d }
}

// WithHeader adds HTTP headers to the WebSocket handshake. Default: none.
func WithHeader(h http.Header) Option {
	return func(c *session.Config) { c.Header = h.Clone() }
}

// WithTLSConfig sets the TLS configuration for wss:// and sodps:// URLs.
// Default: Go's defaults, which verify the server's certificate against
// the system roots.
func WithTLSConfig(cfg *tls.Config) Option {
	return func(c *session.Config) { c.TLSConfig = cfg }
}

// WithEventBuffer sets the capacity of the Events channel. When the reader
// falls behind, events are dropped (counted in Event.Dropped) except the
// latest state change, which is kept until it can be delivered.
// Default: 64.
func WithEventBuffer(n int) Option {
	return func(c *session.Config) { c.EventBuffer = n }
}

// WithOutboundQueue sets how many frames may wait to be written; a
// connection whose queue fills is stalled and is dropped. The queue grows
// on demand, so an idle connection holds almost nothing. Default: 16384.
func WithOutboundQueue(n int) Option {
	return func(c *session.Config) { c.OutboundQueue = n }
}
