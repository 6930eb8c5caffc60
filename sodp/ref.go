package sodp

import (
	"context"
	"errors"
	"fmt"

	"github.com/sodp-go/client/internal/session"
	"github.com/sodp-go/client/internal/wire"
)

// ErrNotCached is returned by Ref.Get when no subscription of the client
// holds a copy of the key yet.
var ErrNotCached = errors.New("sodp: key not watched or not received yet")

// Ref is a typed handle on one key: watch it, read the client's copy, and
// write it, without repeating the key. A Ref is a small value; copy it
// freely. The key is checked by each method, so a Ref with an invalid key
// fails every call with ErrInvalidKey.
type Ref[T any] struct {
	c   *Client
	key string
}

// Key returns a typed handle on key.
func Key[T any](c *Client, key string) Ref[T] { return Ref[T]{c: c, key: key} }

// Name returns the key.
func (r Ref[T]) Name() string { return r.key }

// Watch is Watch[T](ctx, client, key, opts...).
func (r Ref[T]) Watch(ctx context.Context, opts ...WatchOption) (*Subscription[T], error) {
	return Watch[T](ctx, r.c, r.key, opts...)
}

// Get returns the client's current copy of the key, as the latest Update a
// subscription would carry (Kind KindCached). It fails with ErrNotCached
// when no subscription of this client watches the key or its first value
// has not arrived; nothing is sent to the server.
func (r Ref[T]) Get(ctx context.Context) (Update[T], error) {
	if ctx == nil {
		return Update[T]{}, errors.New("sodp: Get: nil context")
	}
	if err := session.ValidKey(r.key); err != nil {
		return Update[T]{}, err
	}
	v, ver, init, ok, err := r.c.s.Cached(ctx, r.key)
	if err != nil {
		return Update[T]{}, err
	}
	if !ok {
		return Update[T]{}, fmt.Errorf("%w: %s", ErrNotCached, r.key)
	}
	u := Update[T]{Key: r.key, Version: ver, Initialized: init, Kind: KindCached}
	if v != nil {
		if err := wire.Convert(v, &u.Value); err != nil {
			return u, fmt.Errorf("sodp: value of %s does not convert into %T: %w", r.key, u.Value, err)
		}
	}
	return u, nil
}

// Set is Client.Set for this key.
func (r Ref[T]) Set(ctx context.Context, value T) (uint64, error) { return r.c.Set(ctx, r.key, value) }

// Patch is Client.Patch for this key.
func (r Ref[T]) Patch(ctx context.Context, patch any) (uint64, error) {
	return r.c.Patch(ctx, r.key, patch)
}

// SetIn is Client.SetIn for this key.
func (r Ref[T]) SetIn(ctx context.Context, path string, value any) (uint64, error) {
	return r.c.SetIn(ctx, r.key, path, value)
}

// Delete is Client.Delete for this key.
func (r Ref[T]) Delete(ctx context.Context) (uint64, error) { return r.c.Delete(ctx, r.key) }

// Presence is Client.Presence for this key.
func (r Ref[T]) Presence(ctx context.Context, path string, value any) (uint64, error) {
	return r.c.Presence(ctx, r.key, path, value)
}

// WaitVersion waits until the client's copy of the key reaches version v
// (for example the version Set returned): read-your-writes. The key must
// be watched by a subscription of this client. A v of 0 (a write whose
// server reported no version) is reached as soon as the copy holds a
// value.
func (r Ref[T]) WaitVersion(ctx context.Context, v uint64) error {
	return r.c.s.WaitVersion(ctx, r.key, v)
}
