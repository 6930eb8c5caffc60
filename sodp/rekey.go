package sodp

import (
	"context"
	"errors"
	"fmt"

	"github.com/sodp-go/client/internal/session"
)

// AddKeys adds keys to a live subscription of whole values (Watch or
// WatchMany; not WatchPath). Each key added comes as a key of WatchMany
// does: KindCached at once when another subscription of the client
// watches it already, else KindSnapshot from the server; the keys no
// subscription watched go out in one WATCH frame (the server shares
// nothing twice). Keys the subscription already watches are ignored, as
// are duplicates. WithParams gives the WATCH params of the keys added.
//
// Keys past a limit the server announced (max_watches) are refused as
// WatchMany refuses them (an Update of Kind KindRefused); when none fits,
// AddKeys returns that error (matching ErrRateLimited) and adds nothing.
// Other errors: ErrInvalidKey for a malformed key (nothing is added) or a
// WatchPath subscription; ErrClosed once the subscription or the client
// has ended; ctx's error.
func (s *Subscription[T]) AddKeys(ctx context.Context, keys []string, opts ...WatchOption) error {
	if ctx == nil {
		return errors.New("sodp: AddKeys: nil context")
	}
	for _, k := range keys {
		if err := session.ValidKey(k); err != nil {
			return err
		}
	}
	if len(keys) == 0 {
		return nil
	}
	var wc watchConfig
	for _, o := range opts {
		if o != nil {
			o(&wc)
		}
	}
	if wc.err != nil {
		return wc.err
	}
	if wc.buffer != 0 {
		return fmt.Errorf("%w: AddKeys: WithBuffer applies to a subscription, not to the keys added", ErrInvalidOption)
	}
	params, err := encodeMap("watch params", wc.params)
	if err != nil {
		return err
	}
	return ctxWrap(ctx, "add keys", s.c.s.AddKeys(ctx, &s.sub, keys, params, s.setKeys))
}

// RemoveKeys stops watching keys; keys the subscription does not watch
// are ignored. Once it returns, no update of a removed key is delivered
// but, possibly, the one already being handed to the reader. A key no
// other subscription of the client watches is unwatched on the server,
// all such keys in one UNWATCH frame; a key another subscription watches
// stays watched.
//
// It fails with ErrInvalidKey, changing nothing, when it would leave the
// subscription no key it watches (keys the server refused do not count):
// Close the subscription instead. Other errors are as for AddKeys.
func (s *Subscription[T]) RemoveKeys(ctx context.Context, keys []string) error {
	if ctx == nil {
		return errors.New("sodp: RemoveKeys: nil context")
	}
	if len(keys) == 0 {
		return nil
	}
	return ctxWrap(ctx, "remove keys", s.c.s.RemoveKeys(ctx, &s.sub, keys, s.setKeys))
}

// setKeys is the session's commit of a new key list: on the actor, under
// the lock Keys and WaitKeyVersion read the list with.
func (s *Subscription[T]) setKeys(keys []string) {
	s.mu.Lock()
	s.sub.Keys = keys
	s.mu.Unlock()
}

// forgetKey drops, on the pump, what the subscription kept of a key it no
// longer watches (the session's pump has dropped its own copy).
func (s *Subscription[T]) forgetKey(key string) {
	if s.conv == nil {
		return
	}
	if s.conv.key == key {
		s.forget()
	}
}
