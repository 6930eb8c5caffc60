package sodp

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"

	"github.com/sodp-go/client/internal/convert"
	"github.com/sodp-go/client/internal/session"
)

// Update is one value of a watched key.
//
// Every update carries the key's whole value (for WatchPath, the whole
// watched part), so a reader that skips updates (see Skipped) loses no
// state; Changed says what changed.
type Update[T any] struct {
	Key         string // the key (useful with WatchMany)
	Value       T      // the whole value (WatchPath: the watched part), converted into T; the zero T when Err is set or the key (part) holds nothing
	Version     uint64 // the server's version of the key for this value
	Initialized bool   // false when the key was never written or was deleted (WatchPath: or the part does not exist)
	Kind        Kind   // where the update came from
	// Skipped counts the updates of this key that were replaced by this one
	// because the reader was slower than the changes (conflation). Zero in
	// buffered mode. For WatchPath it counts only updates of the watched
	// part: changes elsewhere in the value are not updates of it.
	Skipped uint64
	// Changed lists what changed since the reader's previous update, as
	// JSON Pointers in escaped form ("/players/a~1b/health"), each once; a
	// path stands for everything under it. It is set for KindDelta and
	// KindReplayed: the paths of the delta's ops, merged over the updates
	// that conflation folded into this one (see Skipped). An op that may
	// have moved every element of an array is reported as the array's path:
	// one whose last segment is "-" (an append, or a removal of the last
	// element), and a REMOVE whose last segment is a decimal index (even if
	// it names a field of an object). More than MaxChanged paths,
	// or a change of the whole value, give the single path "/". Changed is
	// nil for KindSnapshot, KindCached and KindResync (anything may have
	// changed) and for KindRefused. For WatchPath the paths are relative to
	// the watched part ("/" being the whole part). The list is the
	// reader's own.
	Changed []string
	// Err is set when the value could not be converted into T (the
	// subscription goes on, and the next good value flows normally), or,
	// for a WatchMany subscription, when the server refused this key (Kind
	// is then KindRefused; the other keys go on, this one gets no more
	// updates).
	Err error
}

// ValidKey reports whether key is a valid SODP key: 1 to 1024 characters,
// dot-separated words of ASCII letters, digits and _, like game.player. It
// returns an error wrapping ErrInvalidKey if not (a key over the limit is
// reported as too long, without repeating it whole). Every method taking a
// key checks it the same way before sending anything.
func ValidKey(key string) error { return session.ValidKey(key) }

// WatchOption configures one subscription.
type WatchOption func(*watchConfig)

type watchConfig struct {
	params map[string]any
	buffer int
	group  *Group
	err    error // the first invalid option
}

// WithParams sets the WATCH params, an opaque map the server echoes back.
// When several subscriptions share a key, the first one's params are used.
// Default: none.
func WithParams(params map[string]any) WatchOption {
	return func(w *watchConfig) { w.params = params }
}

// WithBuffer switches the subscription from conflation to buffering: every
// update is delivered, up to n waiting for the reader; one more ends the
// subscription with ErrSlowConsumer: the n updates already waiting are
// still delivered, then Updates is closed, and the subscription is
// released at once (the server is told to stop sending its keys when no
// other subscription watches them). n == 0 means conflation; a negative n
// makes Watch fail with ErrInvalidOption. Default: conflation (a slow
// reader gets the newest value next, with Skipped set).
//
// What waits for the reader of a buffered Watch or WatchMany is each
// update's changes, not a copy of the value: n waiting updates cost about
// what their changes cost.
func WithBuffer(n int) WatchOption {
	return func(w *watchConfig) {
		if n < 0 && w.err == nil {
			w.err = fmt.Errorf("%w: WithBuffer(%d): the size must not be negative", ErrInvalidOption, n)
		}
		w.buffer = max(n, 0)
	}
}

// Subscription is a live view of one or more keys. Read updates from
// Updates; call Close (or cancel the context given to Watch) when done.
//
// An idle subscription runs no goroutine: one is started when updates
// arrive and exits once the reader has taken them all (or the subscription
// ends), so thousands of quiet subscriptions cost little more than their
// values.
type Subscription[T any] struct {
	c *Client
	// sub, its mailbox included, lives in the Subscription: an idle
	// subscription is this one allocation and its channel.
	sub session.Subscriber
	out chan Update[T]
	key [1]string // sub.Keys of a single-key subscription

	// conv holds, for convert.Reusing, the previous value converted into T
	// and the variable the next one is converted into; only the pump uses
	// it (pumps run one after the other).
	conv *convState[T]
	ext  *subExtra // what few subscriptions have; nil for none of it

	mu        sync.Mutex
	err       error         // why the subscription ended; set just before out is closed
	waiters   chan struct{} // made by a Close that has to wait for closed; closed with it
	ctxGroup  *ctxGroup     // the subscriptions whose Watch context ends with this one's (c.ctxs); nil for a context that never ends
	closed    bool          // out is closed
	reuse     bool          // T has parts convert.Reusing can take over
	byPath    bool          // T holds a Map: convert by the Changed paths where known
	converted bool          // a value was converted: the next one starts keeping conv
	ownsCopy  bool          // the session's pump resolves own copies for it (set on the actor by Subscribe's start)
}

// receiver is what the session hands a Subscription's updates to; a
// single pointer, it makes no allocation as an interface value.
type receiver[T any] struct{ s *Subscription[T] }

func (r receiver[T]) Deliver(d session.Delivery, ended, done <-chan struct{}) bool {
	return r.s.deliver(d, ended, done)
}

func (r receiver[T]) Finish(err error) { r.s.finish(err) }

// Watch subscribes to key and returns at once; the subscription works in
// the background and survives reconnections.
//
// The first update on Updates is the key's current value: KindCached from
// the local copy if another subscription already watches the key, else
// KindSnapshot from the server. Then every change follows (KindDelta; after
// a reconnect KindReplayed or KindResync). For one subscription, versions
// never go backwards within a connection and no version is delivered twice
// (one server family restarts a key's versions at 1 after a delete; the
// delete itself is delivered).
//
// Updates is closed exactly once: when ctx ends (Err returns ctx.Err()),
// when Close is called or the client closes (ErrClosed), or when a terminal
// error hits the subscription: the server refused the key (a *ServerError
// matching ErrForbidden, for instance), the token was rejected
// (ErrUnauthorized) or, in buffered mode, the reader fell behind
// (ErrSlowConsumer).
//
// Watch fails at once with ErrInvalidKey for a malformed key, ErrClosed
// for a closed client, the client's terminal error, or an error matching
// ErrRateLimited when the server announced a limit on watched keys (the Go
// server's max_watches) and the client already watches that many (nothing
// is sent). A WATCH the server refuses for a passing reason (429 rate or
// watch limit, 5xx) is retried with the client's back-off (WithBackoff),
// doubling per refusal, each refusal reported on Events; the subscription
// waits for its first value meanwhile.
//
// T may be any, a struct, a map, a slice, a scalar, a Map or a List
// (immutable collections built at the cost of each change); with any, the
// value is a tree of nil, bool, int64, uint64, float64, string, []any and
// map[string]any. A struct is filled by the rules Set encodes with: each
// exported field is named by its `msgpack` tag, else its `json` tag, else
// the field's name, and a tag of "-" skips it; a key matches a field by
// its exact name, else case-insensitively; fields of embedded structs are
// promoted as in encoding/json; a type implementing json.Unmarshaler
// (json.RawMessage, for one) is handed the value written as JSON, whatever
// its kind; a type implementing encoding.TextUnmarshaler (time.Time, for
// one) is filled from a string; a time.Duration is read from a number of
// nanoseconds or from a string such as "1m30s". Unknown keys are ignored
// and missing ones leave the zero value. A value that does not fit T
// gives an Update with Err set, and so does a struct type none of whose
// fields a key can name (all unexported) with no unmarshaling method:
// never a silent zero. Values handed out are never modified afterwards.
//
// Every delivered T is the reader's own: modifying it, including its maps
// and slices, never affects a later update nor any other subscription. For
// a struct T, each value is built from the previous one of the same key:
// the parts a change did not touch that hold no reference (numbers,
// strings, and structs and arrays of them) are copied from it, and the
// rest is converted afresh, so a change deep inside a large struct costs
// little more than the part it changed. With any, the value is the
// client's own tree, shared with every untyped subscriber of the key: it
// must not be modified (WithMutationCheck checks it in tests).
func Watch[T any](ctx context.Context, c *Client, key string, opts ...WatchOption) (*Subscription[T], error) {
	if err := session.ValidKey(key); err != nil {
		return nil, err
	}
	return subscribe[T](ctx, c, key, nil, opts, nil)
}

// WatchMany subscribes to several keys with one WATCH frame; their updates
// arrive on one channel and name their key. Each key's first update comes
// as with Watch. A key the server refuses is reported as an Update of Kind
// KindRefused with that Key and Err set, and the other keys go on; when
// every key has been refused, the subscription ends with the last refusal
// as Err (so a one-key WatchMany behaves like Watch). Keys past a limit
// the server announced (max_watches) are refused at once the same way,
// with an Err matching ErrRateLimited, and are not sent; when none fits,
// WatchMany fails with that error. keys must not be empty; duplicates are
// ignored. The lifecycle is otherwise that of Watch.
func WatchMany[T any](ctx context.Context, c *Client, keys []string, opts ...WatchOption) (*Subscription[T], error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: WatchMany needs at least one key", ErrInvalidKey)
	}
	seen := make(map[string]bool, len(keys))
	uniq := make([]string, 0, len(keys))
	for _, k := range keys {
		if err := session.ValidKey(k); err != nil {
			return nil, err
		}
		if !seen[k] {
			seen[k] = true
			uniq = append(uniq, k)
		}
	}
	return subscribe[T](ctx, c, "", uniq, opts, nil)
}

// subscribe starts a subscription of keys (when keys is nil, of key alone)
// or, when part is set, of the part of key's value at part.segs.
func subscribe[T any](ctx context.Context, c *Client, key string, keys []string, opts []WatchOption, part *watchPart) (*Subscription[T], error) {
	if ctx == nil {
		return nil, errors.New("sodp: Watch: nil context")
	}
	if c == nil {
		return nil, fmt.Errorf("%w: nil client", ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		if keys == nil {
			keys = []string{key}
		}
		return nil, watchErr(keys, err)
	}
	var wc watchConfig
	for _, o := range opts {
		if o != nil {
			o(&wc)
		}
	}
	if wc.err != nil {
		return nil, wc.err
	}
	params, err := encodeMap("watch params", wc.params)
	if err != nil {
		return nil, err
	}
	s := &Subscription[T]{c: c, out: make(chan Update[T]), reuse: convert.Reuses[T](), byPath: convert.ByPath[T]()}
	if part != nil || wc.group != nil {
		s.ext = &subExtra{part: part, group: wc.group}
	}
	if keys == nil {
		s.key[0] = key
		keys = s.key[:]
	}
	s.sub.Keys, s.sub.Receiver = keys, receiver[T]{s}
	// A buffered subscription of whole values is given every change: its
	// pump keeps its own copy of each value and is queued the changes
	// instead of a version of the value per update (the session decides,
	// and takes no part subscription or conflating one). A T that keeps
	// parts of the value (an interface) must be handed values that never
	// change: the copy is then frozen at each update and copied where the
	// next one changes it.
	s.sub.KeepOwnCopy(!convert.Detaches[T]())
	if part != nil {
		s.sub.Part = &session.Part{Path: part.segs}
	}
	// start runs on the actor, before any update can be queued or the
	// subscription end: the pump finds ownsCopy set, and finish always
	// finds ctxGroup set. A context that can end is watched; one that
	// never ends (as context.Background) costs nothing to watch.
	watchCtx := ctx.Done() != nil
	start := func() {
		s.ownsCopy = s.sub.OwnsCopy()
		if watchCtx {
			s.mu.Lock()
			s.ctxGroup = c.ctxs.add(ctx, s)
			s.mu.Unlock()
		}
	}
	if g := wc.group; g != nil {
		// Joined before any update can be sent: Close of the group
		// finds every member that may send.
		if !g.join(s) {
			return nil, errGroupClosedWatch
		}
	}
	err = c.s.Subscribe(ctx, &s.sub, params, wc.buffer, start)
	if err != nil {
		if g := wc.group; g != nil {
			g.leave(s)
		}
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return nil, watchErr(keys, err)
		}
		return nil, err
	}
	return s, nil
}

// watchErr says which watch a context error ended, as calls do.
func watchErr(keys []string, err error) error {
	what := "watch " + keys[0]
	if len(keys) > 1 {
		what = fmt.Sprintf("watch %s and %d more", keys[0], len(keys)-1)
	}
	return fmt.Errorf("sodp: %s: %w", what, err)
}

// Updates returns the channel of updates. It is closed exactly once, after
// which Err says why.
func (s *Subscription[T]) Updates() <-chan Update[T] { return s.out }

// Err returns nil while the subscription is active, and why it ended once
// Updates is closed: ErrClosed, the context's error, or a terminal error.
func (s *Subscription[T]) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Keys returns the keys the subscription watches (see AddKeys and
// RemoveKeys).
func (s *Subscription[T]) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.sub.Keys...)
}

// Close ends the subscription: Updates is closed, Err returns ErrClosed,
// and, when no other subscription watches its keys, the server is told to
// stop sending them. Close returns once Updates is closed and the
// goroutine delivering updates, if one was running, has finished; it is
// idempotent and returns nil.
func (s *Subscription[T]) Close() error {
	s.stop(errSubscriptionClosed)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	if s.waiters == nil {
		s.waiters = make(chan struct{})
	}
	w := s.waiters
	s.mu.Unlock()
	<-w
	return nil
}

// WaitVersion waits until the subscription's key has reached version v
// (for example the version a write returned) in the client's copy; the
// update carrying it is on its way to Updates, or was conflated into a
// newer one. A WatchMany subscription has several keys: WaitVersion waits
// on its first key (Keys()[0]); use WaitKeyVersion for another. It
// returns the context's error when ctx ends first; ErrNotCached when the
// key is no longer watched (this subscription and every other of the key
// closed, or their contexts ended); the error that ended the subscription
// when it ended on one (ErrSlowConsumer, a *ServerError such as
// ErrForbidden, ErrUnauthorized); and ErrClosed when the client closes.
// Version 0 fails at once with ErrNoVersion (see Ref.WaitVersion).
func (s *Subscription[T]) WaitVersion(ctx context.Context, v uint64) error {
	s.mu.Lock()
	key := s.sub.Keys[0]
	s.mu.Unlock()
	return waitVersion(ctx, s.c, key, v)
}

// WaitKeyVersion is WaitVersion for one key of the subscription: it fails
// at once with ErrInvalidKey when the subscription does not watch key.
func (s *Subscription[T]) WaitKeyVersion(ctx context.Context, key string, v uint64) error {
	s.mu.Lock()
	watched := slices.Contains(s.sub.Keys, key)
	s.mu.Unlock()
	if watched {
		return waitVersion(ctx, s.c, key, v)
	}
	return fmt.Errorf("%w: %q is not a key of this subscription", ErrInvalidKey, key)
}

// deliver is the subscriber's Deliver: on the session's pump goroutine
// for this subscription, it converts one update to T and sends it on
// Updates, unless the subscription ends (ended) or the client closes
// (done, reported as false) first.
func (s *Subscription[T]) deliver(d session.Delivery, ended, done <-chan struct{}) bool {
	if d.Kind == session.KindForget {
		s.forgetKey(d.Key)
		return true
	}
	u := s.convert(d)
	if m := s.c.mut; m != nil {
		m.handOut(s, u.Key, u.Version, any(u.Value))
	}
	if g := s.groupOf(); g != nil {
		return g.send(Notice{Key: u.Key, Err: u.Err, sub: s, update: u}, ended, done)
	}
	// A reader waiting on Updates takes it at once; the select below
	// costs more.
	select {
	case s.out <- u:
		return true
	default:
	}
	select {
	case s.out <- u:
	case <-ended:
	case <-done:
		return false
	}
	return true
}

// stop ends the subscription from the reader's side (Close or the end of
// the Watch context): the client is told to drop it, and the mailbox ends
// with err, which closes Updates now if no update is being delivered, else
// once the pump sees it.
func (s *Subscription[T]) stop(err error) {
	mb := &s.sub.Mailbox
	if mb.Live() {
		s.c.s.Unsubscribe(&s.sub, err)
	}
	mb.Fail(err)
}

// finish is called by the mailbox, exactly once, when the subscription has
// ended and no pump is running: it records why, closes Updates, and
// releases the Close calls waiting for that.
func (s *Subscription[T]) finish(err error) {
	s.mu.Lock()
	s.err = err
	g := s.ctxGroup
	s.mu.Unlock()
	if g != nil {
		s.c.ctxs.remove(g, s)
	}
	if m := s.c.mut; m != nil {
		m.release(s)
	}
	if g := s.groupOf(); g != nil {
		g.ended(s, Notice{Key: s.firstKey(), End: true, Err: s.err, sub: s})
	}
	close(s.out)
	s.mu.Lock()
	s.closed = true
	w := s.waiters
	s.mu.Unlock()
	if w != nil {
		close(w)
	}
}

// convState is what convert keeps between updates: vals[cur] is the
// previous value, converted from tree, of key; vals[1-cur] is where the
// next value is converted, so that no T is allocated per update. vals is
// made with the first value kept: a subscription whose key never changes
// keeps no T.
type convState[T any] struct {
	key  string
	tree any
	vals *[2]T
	cur  int
	ok   bool
}

// convert turns a delivery into an Update. A struct T is built from the
// previous T of the same key where parts of it are unchanged: those parts
// hold no reference (numbers, strings, and structs and arrays of them), so
// the previous T and the new one share nothing the reader could modify.
// What is unchanged is told by the values themselves (values handed out
// are never modified, and a key's consecutive values share the containers
// that did not change) or, for a subscription that keeps its own copy,
// changed in place (InPlace, made so by the session's pump), by the paths
// the update changed.
func (s *Subscription[T]) convert(d session.Delivery) Update[T] {
	u := Update[T]{Key: d.Key, Version: d.Version, Initialized: d.Initialized, Kind: d.Kind, Skipped: d.Skipped, Changed: d.Changed, Err: d.Err}
	if d.Err != nil || d.Value == nil {
		if s.conv != nil && d.Key == s.conv.key {
			s.forget()
		}
		return u
	}
	if isAny[T]() {
		// An untyped reader is handed the value itself.
		u.Value, _ = d.Value.(T)
		return u
	}
	var v *T
	var err error
	switch {
	case !s.reuse || !s.converted:
		// Converted on its own. With reuse, the first value too: a
		// subscription whose key never changes keeps nothing for reuse.
		// The T is allocated here only: a T on the reusing path would
		// cost an allocation of the whole value per update.
		s.converted = true
		v = new(T)
		err = convert.To(d.Value, v)
	default:
		if s.conv == nil {
			s.conv = new(convState[T])
		}
		cs := s.conv
		if cs.vals == nil {
			cs.vals = new([2]T)
		}
		v = &cs.vals[1-cs.cur]
		switch {
		case !cs.ok || cs.key != d.Key:
			err = convert.To(d.Value, v)
		case d.InPlace, s.byPath && d.Changed != nil:
			// The session's copy of the value, changed in place since
			// the previous update at the Changed paths only; or, for a
			// T holding a Map, a value that differs from the previous
			// one at those paths only (a Map's entries are found by
			// path, not by comparing every one).
			err = convert.ReusingChanged(d.Value, d.Changed, &cs.vals[cs.cur], v)
		default:
			err = convert.Reusing(d.Value, cs.tree, &cs.vals[cs.cur], v)
		}
		if err == nil {
			cs.key, cs.tree, cs.cur, cs.ok = d.Key, d.Value, 1-cs.cur, true
			if d.InPlace {
				// Changed in place later: nothing to compare with.
				cs.tree = nil
			}
		}
	}
	if err != nil {
		// Nothing of a value that converts only in part is handed out.
		s.forget()
		u.Err = convertErrorAt(d.Key, d.Version, typeName[T](), s.pointerOf(), err)
		return u
	}
	u.Value = *v
	return u
}

// forget drops what convert kept of the previous value. A subscription
// that keeps its own copies is given every change: it keeps the room for
// its values, which the next update fills.
func (s *Subscription[T]) forget() {
	switch {
	case s.conv == nil:
	case s.ownsCopy:
		s.conv.tree, s.conv.ok = nil, false
	default:
		s.conv = nil
	}
}

// subExtra is what only some subscriptions have.
type subExtra struct {
	part  *watchPart // WatchPath: the part watched; nil for the whole value
	group *Group     // InGroup: updates go to the group's channel
}

// groupOf returns the subscription's Group, nil when it has none.
func (s *Subscription[T]) groupOf() *Group {
	if s.ext == nil {
		return nil
	}
	return s.ext.group
}

// isAny reports whether T is the empty interface, which takes every value
// as it is.
func isAny[T any]() bool {
	_, ok := any((*T)(nil)).(*any)
	return ok
}

// typeName names T for errors.
func typeName[T any]() string { return reflect.TypeFor[T]().String() }

// pointerOf names the part watched, escaped: "" for the whole value.
func (s *Subscription[T]) pointerOf() string {
	if s.ext == nil || s.ext.part == nil {
		return ""
	}
	return s.ext.part.pointer
}
