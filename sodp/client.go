package sodp

import (
	"context"
	"errors"
	"strings"

	"github.com/sodp-go/client/internal/session"
)

// Client is a connection to an SODP server that keeps itself connected
// until Close. It is safe for concurrent use.
//
// One goroutine inside the client owns all session state; the methods
// below talk to it through a channel, so no method blocks on a slow
// subscriber or on the network longer than its context allows.
type Client struct {
	s    *session.Session
	ctxs ctxWatch // the Watch contexts of the subscriptions
	obs  *hookSet // WithHooks; nil without
}

// New returns a Client that connects to url in the background and keeps
// trying, with back-off, until Close: a failed first attempt is retried
// like a lost connection. url is ws://, wss://, or the aliases sodp:// and
// sodps:// (default port 7777). New fails only for an invalid URL
// (ErrInvalidURL) or option (ErrInvalidOption), and then starts nothing.
// Use Ready to wait for the first connection, and Events or WithLogger to
// see failed attempts.
func New(url string, opts ...Option) (*Client, error) {
	o, err := apply(url, opts)
	if err != nil {
		return nil, err
	}
	return newClient(o.cfg, o.hooks)
}

func newClient(cfg session.Config, hooks []Hooks) (*Client, error) {
	c := &Client{}
	obs := newHookSet(c, hooks)
	if obs != nil {
		cfg.Observer = obs
	}
	s, err := session.New(cfg)
	if err != nil {
		return nil, err
	}
	c.s, c.obs = s, obs
	obs.opened()
	return c, nil
}

// Dial connects to url and returns once the session is live: HELLO
// received and, when the server asks for a token, AUTH_OK. When the first
// connection attempt fails (a refused connection, a failed handshake, an
// unreachable host; with WithEndpoints, one attempt on each endpoint),
// Dial returns that attempt's error at once. With WithRetryOnFailedConnect
// it retries with back-off instead, until an attempt succeeds, a terminal
// error (such as ErrUnauthorized) occurs or ctx ends. Whenever Dial fails
// it has closed the client; invalid URLs and options fail as for New.
// Once Dial has returned a client, that client reconnects after any later
// loss of connection, as one made by New does.
func Dial(ctx context.Context, url string, opts ...Option) (*Client, error) {
	if ctx == nil {
		return nil, errors.New("sodp: Dial: nil context")
	}
	o, err := apply(url, opts)
	if err != nil {
		return nil, err
	}
	o.cfg.FailFast = !o.retry
	c, err := newClient(o.cfg, o.hooks)
	if err != nil {
		return nil, err
	}
	if err := c.Ready(ctx); err != nil {
		c.Close()
		if strings.HasPrefix(err.Error(), "sodp: dial ") {
			return nil, err // the attempt's error names the URL already
		}
		return nil, session.Wrap(err, "dial "+session.RedactURL(url))
	}
	return c, nil
}

// Ready waits until the session is live. It returns nil at once if it is;
// the terminal error if the client failed (for example ErrUnauthorized);
// ErrClosed after Close; or ctx's error.
func (c *Client) Ready(ctx context.Context) error {
	if ctx == nil {
		return errors.New("sodp: Ready: nil context")
	}
	return exportErr(c.s.Ready(ctx))
}

// Close ends the client: pending calls fail with ErrClosed, every
// subscription's Updates channel is closed with Err() == ErrClosed, the
// connection is closed, and the Events channel is closed. Close returns
// after every goroutine the client started has exited. It is idempotent
// and always returns nil.
func (c *Client) Close() error { return c.s.Close() }

// State returns the current connection state.
func (c *Client) State() ConnState { return ConnState(c.s.State()) }

// Events returns the channel of connection state changes and session
// errors. It never blocks the client: when the reader falls behind, events
// are dropped and counted in the next Event's Dropped, except the latest
// state change, which is kept until it can be delivered. The channel is
// closed when the client is closed. Reading it is optional.
func (c *Client) Events() <-chan Event { return session.EventsAs(c.s, eventOf) }

// Server returns what is known of the server of the current or last
// session, or nil before the first session went live. Each call returns a
// new copy; changing it changes nothing in the client.
func (c *Client) Server() *ServerInfo { return serverInfoOf(c.s.Server()) }

// OtherErrorCode is the key of Stats.ErrorsByCode that counts server
// errors whose code is neither 0 (no code given) nor between 100 and 599:
// the map holds at most 502 entries, whatever codes a server sends.
const OtherErrorCode = -1

// Stats returns a snapshot of the client's counters.
func (c *Client) Stats() Stats { return statsOf(c.s.Stats()) }
