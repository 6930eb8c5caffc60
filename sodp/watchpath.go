package sodp

import (
	"context"
	"errors"
	"fmt"

	"github.com/sodp-go/client/internal/convert"
	"github.com/sodp-go/client/internal/delta"
	"github.com/sodp-go/client/internal/session"
)

// MaxChanged is the most paths an Update's Changed lists; beyond it the
// list collapses to the single path "/" (anything may have changed).
const MaxChanged = maxChanged

// watchPart is the part a WatchPath subscription watches.
type watchPart struct {
	pointer string   // escaped, canonical; "" for the whole value
	segs    []string // decoded
}

// parsePart checks a JSON Pointer given by the caller.
func parsePart(pointer string) (*watchPart, error) {
	segs, err := delta.ParsePointer(pointer)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrInvalidPath, pointer, err)
	}
	p := &watchPart{segs: segs}
	if len(segs) > 0 {
		p.pointer = delta.FormatPointer(segs)
	}
	return p, nil
}

// WatchPath subscribes to the part of key's value at the JSON Pointer
// pointer, such as "/players/alice/health": each Update's Value is that
// part alone, converted into T, and an update comes only when the part
// changed. Only the part is converted, so watching 10 bytes of a 1 MB
// value costs a conversion of 10 bytes per change.
//
// The pointer follows RFC 6901 in its escaped form: each segment starts
// with "/", "~1" stands for "/" and "~0" for "~" inside a segment. In an
// object a segment names a field; in an array it is a decimal index ("-",
// one past the last element, names nothing). "" and "/" are the whole
// value. A malformed pointer fails at once with ErrInvalidPath.
//
// When the part changes: a delta changes it when one of its ops is at the
// part or below it (segment by segment, so "/a" and "/ab" are unrelated),
// and then the update's Changed lists the ops' paths relative to the part.
// An op above the part (writing or removing an ancestor, or the whole
// value) and an op that may move the elements of an array holding the part
// or one of its ancestors (an append, a removal of an element; see
// Update.Changed) deliver an update only if the part now differs from what
// this subscription last delivered, with Changed ["/"]; so does a resync,
// with Changed nil. Changes elsewhere in the value deliver nothing
// and do not count in Skipped.
//
// The part not existing is a normal state, not an error: Initialized is
// false and Value the zero T, as for a key never written; when the part
// appears (or disappears) an update says so. The first update is the part
// of the key's current value (KindCached or KindSnapshot), present or not.
//
// WatchPath shares the key's server subscription with every other Watch
// and WatchPath of the key: one WATCH, and UNWATCH once the last of them
// ends. Options, conflation, buffering, conversion rules, errors and the
// subscription's lifecycle are those of Watch; a value that does not
// convert into T gives an Update whose Err is a *ConvertError whose Path
// counts from the root of the key's value.
func WatchPath[T any](ctx context.Context, c *Client, key, pointer string, opts ...WatchOption) (*Subscription[T], error) {
	if err := session.ValidKey(key); err != nil {
		return nil, err
	}
	part, err := parsePart(pointer)
	if err != nil {
		return nil, err
	}
	return subscribe[T](ctx, c, key, nil, opts, part)
}

// PathRef is a typed handle on the part of one key's value at a JSON
// Pointer; make one with RefPath. Like Ref, it is a small value, and
// checks its key (and pointer) on each call: an invalid one fails every
// call with ErrInvalidKey (ErrInvalidPath).
type PathRef[U any] struct {
	c       *Client
	key     string
	pointer string
}

// RefPath returns a typed handle on the part of r's key at pointer (see
// WatchPath for the pointer syntax), with its own type U (T, r's type, is
// inferred). Nothing is checked or sent until a method is called:
//
//	game := sodp.Key[Game](c, "game.state")
//	health := sodp.RefPath[int](game, "/players/alice/health")
//	sub, err := health.Watch(ctx)
func RefPath[U, T any](r Ref[T], pointer string) PathRef[U] {
	return PathRef[U]{c: r.c, key: r.key, pointer: pointer}
}

// Name returns the key.
func (p PathRef[U]) Name() string { return p.key }

// Pointer returns the JSON Pointer of the part, as given to RefPath.
func (p PathRef[U]) Pointer() string { return p.pointer }

// Watch is WatchPath[U](ctx, client, key, pointer, opts...).
func (p PathRef[U]) Watch(ctx context.Context, opts ...WatchOption) (*Subscription[U], error) {
	return WatchPath[U](ctx, p.c, p.key, p.pointer, opts...)
}

// Cached returns the part of the client's current copy of the key, as an
// Update a WatchPath subscription would carry (Kind KindCached;
// Initialized false and the zero U when the part does not exist), without
// asking the server. It fails with ErrNotCached when no subscription of
// this client watches the key or its first value has not arrived, and with
// an error matching ErrConvert when the part does not convert into U.
func (p PathRef[U]) Cached(ctx context.Context) (Update[U], error) {
	part, err := p.check(ctx, "Cached")
	if err != nil {
		return Update[U]{}, err
	}
	return cachedUpdate[U](ctx, p.c, p.key, part)
}

// Get returns the part from the client's copy when it holds one (as
// Cached), else watches the part until its first update and returns that.
func (p PathRef[U]) Get(ctx context.Context) (Update[U], error) {
	part, err := p.check(ctx, "Get")
	if err != nil {
		return Update[U]{}, err
	}
	return getPart(ctx, p.c, p.key, part, func() (*Subscription[U], error) { return p.Watch(ctx) })
}

// Set writes value at the part: Client.SetIn of the pointer, or Client.Set
// of the whole key when the pointer is "" or "/".
func (p PathRef[U]) Set(ctx context.Context, value U) (uint64, error) {
	if p.c == nil {
		return 0, errNilClient
	}
	if p.pointer == "" || p.pointer == "/" {
		return p.c.Set(ctx, p.key, value)
	}
	if _, err := parsePart(p.pointer); err != nil {
		return 0, err
	}
	return p.c.SetIn(ctx, p.key, p.pointer, value)
}

func (p PathRef[U]) check(ctx context.Context, what string) (*watchPart, error) {
	if ctx == nil {
		return nil, errors.New("sodp: " + what + ": nil context")
	}
	if p.c == nil {
		return nil, errNilClient
	}
	if err := session.ValidKey(p.key); err != nil {
		return nil, err
	}
	return parsePart(p.pointer)
}

// cachedUpdate is what Cached returns for a part of key's value: the
// client's copy of it, ErrNotCached without one, or the conversion error.
func cachedUpdate[U any](ctx context.Context, c *Client, key string, part *watchPart) (Update[U], error) {
	u, ok, err := cachedPart[U](ctx, c, key, part)
	if err != nil {
		return u, err
	}
	if !ok {
		return Update[U]{}, fmt.Errorf("%w: %s", ErrNotCached, key)
	}
	return u, u.Err
}

// getPart is what Get returns for a part of key's value: the client's copy
// of it when there is one, else the first update of the subscription that
// watch makes, which is then closed.
func getPart[U any](ctx context.Context, c *Client, key string, part *watchPart, watch func() (*Subscription[U], error)) (Update[U], error) {
	if u, ok, err := cachedPart[U](ctx, c, key, part); err != nil || ok {
		if err == nil {
			err = u.Err
		}
		return u, err
	}
	sub, err := watch()
	if err != nil {
		return Update[U]{}, err
	}
	defer sub.Close()
	u, ok := <-sub.Updates()
	if !ok {
		what := "get " + key
		if part.pointer != "" {
			what += " " + part.pointer
		}
		return Update[U]{}, ctxWrap(ctx, what, sub.Err())
	}
	return u, u.Err
}

// cachedPart reads a part of the client's copy of key; ok is false when
// there is no copy.
func cachedPart[U any](ctx context.Context, c *Client, key string, part *watchPart) (u Update[U], ok bool, err error) {
	v, ver, has, ok, err := c.s.CachedPart(ctx, key, part.segs)
	if err != nil || !ok {
		return Update[U]{}, false, err
	}
	u = Update[U]{Key: key, Version: ver, Initialized: has, Kind: KindCached}
	if v != nil {
		if err := convert.To(v, &u.Value); err != nil {
			var zero U
			u.Value = zero
			u.Err = convertErrorAt(key, ver, typeName[U](), part.pointer, err)
		}
	}
	return u, true, nil
}
