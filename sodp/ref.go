package sodp

import (
	"context"
	"errors"
	"fmt"

	"github.com/sodp-go/client/internal/session"
)

// Ref is a typed handle on one key: watch it, read the client's copy, and
// write it, without repeating the key. A Ref is a small value; copy it
// freely. The key is checked by each method, so a Ref with an invalid key
// fails every call with ErrInvalidKey; a Ref made with a nil *Client fails
// every call with ErrClosed.
type Ref[T any] struct {
	c   *Client
	key string
}

// Key returns a typed handle on key. Nothing is checked or sent until a
// method is called.
func Key[T any](c *Client, key string) Ref[T] { return Ref[T]{c: c, key: key} }

// Name returns the key.
func (r Ref[T]) Name() string { return r.key }

var errNilClient = fmt.Errorf("%w: nil client", ErrClosed)

// Watch is Watch[T](ctx, client, key, opts...).
func (r Ref[T]) Watch(ctx context.Context, opts ...WatchOption) (*Subscription[T], error) {
	return Watch[T](ctx, r.c, r.key, opts...)
}

// Cached returns the client's current copy of the key, as the latest
// Update a subscription would carry (Kind KindCached), without asking the
// server. It fails with ErrNotCached when no subscription of this client
// watches the key or its first value has not arrived, and with an error
// matching ErrConvert (the Update then holds the zero T) when the value
// does not convert into T. Get asks the server when nothing is cached.
func (r Ref[T]) Cached(ctx context.Context) (Update[T], error) {
	if ctx == nil {
		return Update[T]{}, errors.New("sodp: Cached: nil context")
	}
	if r.c == nil {
		return Update[T]{}, errNilClient
	}
	if err := session.ValidKey(r.key); err != nil {
		return Update[T]{}, err
	}
	return cachedUpdate[T](ctx, r.c, r.key, &wholeValue)
}

// wholeValue is the part of a key's value that is all of it.
var wholeValue watchPart

// Get is Get[T](ctx, client, key).
func (r Ref[T]) Get(ctx context.Context) (Update[T], error) { return Get[T](ctx, r.c, r.key) }

// Get reads the current value of key once. When a subscription of this
// client already holds the key, Get returns that copy (Kind KindCached)
// without a round trip; otherwise it watches the key, takes its first
// value (Kind KindSnapshot) and stops watching it. A key never written
// comes back with Initialized false and the zero T.
//
// Errors are those of Watch (ErrInvalidKey, ErrClosed, a *ServerError such
// as ErrForbidden for a refused key, the context's error), and an error
// matching ErrConvert when the value does not convert into T (the Update
// then holds the zero T).
func Get[T any](ctx context.Context, c *Client, key string) (Update[T], error) {
	if ctx == nil {
		return Update[T]{}, errors.New("sodp: Get: nil context")
	}
	if c == nil {
		return Update[T]{}, errNilClient
	}
	if err := session.ValidKey(key); err != nil {
		return Update[T]{}, err
	}
	return getPart(ctx, c, key, &wholeValue, func() (*Subscription[T], error) { return Watch[T](ctx, c, key) })
}

// Set is Client.Set for this key.
func (r Ref[T]) Set(ctx context.Context, value T) (uint64, error) {
	if r.c == nil {
		return 0, errNilClient
	}
	return r.c.Set(ctx, r.key, value)
}

// Patch is Client.Patch for this key.
func (r Ref[T]) Patch(ctx context.Context, patch any) (uint64, error) {
	if r.c == nil {
		return 0, errNilClient
	}
	return r.c.Patch(ctx, r.key, patch)
}

// SetIn is Client.SetIn for this key.
func (r Ref[T]) SetIn(ctx context.Context, path string, value any) (uint64, error) {
	if r.c == nil {
		return 0, errNilClient
	}
	return r.c.SetIn(ctx, r.key, path, value)
}

// Delete is Client.Delete for this key.
func (r Ref[T]) Delete(ctx context.Context) (uint64, error) {
	if r.c == nil {
		return 0, errNilClient
	}
	return r.c.Delete(ctx, r.key)
}

// Presence is Client.Presence for this key.
func (r Ref[T]) Presence(ctx context.Context, path string, value any) (uint64, error) {
	if r.c == nil {
		return 0, errNilClient
	}
	return r.c.Presence(ctx, r.key, path, value)
}

// WaitVersion waits until the client's copy of the key reaches version v
// (for example the version Set returned): read-your-writes. The key must
// be watched by a subscription of this client, else it fails at once with
// ErrNotCached; it fails with ErrNotCached too when the key's last
// subscription is closed (or its context ends) while it waits, and with
// the error that ended it when it ended on an error (ErrSlowConsumer, a
// *ServerError such as ErrForbidden, ErrUnauthorized). It returns the
// context's error when ctx ends first, and ErrClosed when the client
// closes.
//
// Version 0 fails at once with ErrNoVersion. A write returns 0 when the
// server did not say which version it made: the TypeScript server never
// does (its writes reach this client's subscriptions of the key before
// the write returns: it sends the writer its change first), and the Go
// server does not for a write that left the value as it was (nothing
// changed, nothing to wait for). Against such a server another client
// cannot tell when it has seen the write.
func (r Ref[T]) WaitVersion(ctx context.Context, v uint64) error {
	return waitVersion(ctx, r.c, r.key, v)
}

func waitVersion(ctx context.Context, c *Client, key string, v uint64) error {
	if ctx == nil {
		return errors.New("sodp: WaitVersion: nil context")
	}
	if c == nil {
		return errNilClient
	}
	if err := session.ValidKey(key); err != nil {
		return err
	}
	if v == 0 {
		return fmt.Errorf("%w: WaitVersion(%s, 0): the write did not report a version (the server gave none)", ErrNoVersion, key)
	}
	return exportErr(c.s.WaitVersion(ctx, key, v))
}
