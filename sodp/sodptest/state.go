package sodptest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/shamaton/msgpack/v2"

	"github.com/sodp-go/client/internal/delta"
	"github.com/sodp-go/client/internal/wire"
)

// keyState is one key's value and history. Values are never modified in
// place: every mutation stores a new tree (sharing unchanged parts).
type keyState struct {
	value       any
	version     uint64
	initialized bool
	log         []logEntry // newest last; only the last cfg.deltaLog count
}

type logEntry struct {
	prev    uint64 // the key's version before this change
	version uint64
	ops     []delta.Op
}

type subscription struct {
	conn   *Conn
	key    string
	stream uint32
}

type presenceEntry struct {
	key     string
	pointer string
}

// mutation computes a key's new value from the old one (nil when the key
// holds no value). del reports a deletion.
type mutation func(old any, initialized bool) (value any, del bool, err error)

// errFrozen refuses a change on a cluster node that is being stopped: its
// callers get no answer, as from a process that was killed.
var errFrozen = errors.New("sodptest: node stopping")

// errNoOp marks a mutation that found nothing to do (a presence path that
// is already gone).
var errNoOp = errors.New("sodptest: nothing to change")

// errUnchanged reports a write that left the value as it was, in the
// dialects that then assign no version and send no DELTA.
var errUnchanged = errors.New("sodptest: the value did not change")

// logged returns the entries RESUME may use.
func (s *Server) logged(k *keyState) []logEntry {
	n := s.cfg.deltaLog
	if n <= 0 {
		return nil
	}
	if len(k.log) > n {
		return k.log[len(k.log)-n:]
	}
	return k.log
}

// mutate applies fn to key under the server lock. See mutateLocked.
func (s *Server) mutate(key string, fn mutation, before func(version uint64)) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mutateLocked(key, fn, before)
}

// mutateLocked applies fn to key, assigns the next version, logs the DELTA
// and queues it to every subscriber, in that order, so every connection
// sees a key's DELTAs in version order (unless WithOutOfOrderDeltas
// reorders the fan-out). before, when not nil, runs after the
// version is assigned and before the fan-out. Deleting a key that holds no
// value changes nothing and returns its current version. In the dialects
// that skip unchanged writes (sodp.DialectGo), a write whose diff is empty
// assigns no version, sends nothing, skips before and returns 0 and
// errUnchanged. s.mu must be held.
func (s *Server) mutateLocked(key string, fn mutation, before func(version uint64)) (uint64, error) {
	if s.frozen {
		return 0, errFrozen
	}
	k := s.keys[key]
	if k == nil {
		k = &keyState{}
	}
	var old any
	if k.initialized {
		old = k.value
	}
	val, del, err := fn(old, k.initialized)
	if err != nil {
		return 0, err
	}
	if del && !k.initialized {
		if before != nil {
			before(k.version)
		}
		return k.version, nil
	}
	s.keys[key] = k
	var ops []delta.Op
	switch {
	case del:
		ops = []delta.Op{{Op: delta.OpRemove, Path: "/"}}
		val = nil
	case !k.initialized:
		ops = []delta.Op{{Op: s.tr.firstOp, Path: "/", Value: val}}
	default:
		ops = s.shapeOps(delta.Diff(old, val))
		if len(ops) == 0 && s.tr.skipUnchanged {
			return 0, errUnchanged
		}
	}
	if ops == nil {
		ops = []delta.Op{}
	}
	k.value, k.initialized = val, !del
	v := s.publishLocked(key, k, ops, before)
	if del && s.tr.perKeyVersions {
		// The TypeScript server forgets the key: its next write is version 1.
		k.version, k.log = 0, nil
	}
	s.log.Debug("sodptest: mutation", "key", key, "version", v, "ops", len(ops), "deleted", del)
	return v, nil
}

// publishLocked gives k, whose value is already changed, the next version,
// logs ops under it, runs before (when not nil) and queues the DELTA to
// every subscriber of key. It returns the version. s.mu must be held.
func (s *Server) publishLocked(key string, k *keyState, ops []delta.Op, before func(version uint64)) uint64 {
	prev := k.version
	var v uint64
	if s.tr.perKeyVersions {
		v = k.version + 1
	} else {
		s.version++
		v = s.version
	}
	k.version = v
	if n := s.cfg.deltaLog; n > 0 {
		k.log = append(k.log, logEntry{prev: prev, version: v, ops: ops})
		if len(k.log) >= 2*n {
			k.log = slices.Clone(k.log[len(k.log)-n:])
		}
	}
	s.count(func(st *Stats) { st.Mutations++ })
	s.changedLocked(key, v, ops, k, false)
	if before != nil {
		before(v)
	}
	s.fanoutLocked(key, v, ops)
	return v
}

// changedLocked tells the change hooks about a change just applied.
// s.mu must be held.
func (s *Server) changedLocked(key string, v uint64, ops []delta.Op, k *keyState, relayed bool) {
	if s.cfg.applied != nil {
		s.cfg.applied(key, v, ops, k.value, k.initialized, relayed)
	}
	if s.cfg.onChange != nil {
		s.cfg.onChange(Change{URL: s.URL, Key: key, Version: v, Value: k.value, Initialized: k.initialized, Relayed: relayed})
	}
}

// fanoutLocked queues a key's DELTA to every subscriber of the key, in
// order, or, with WithOutOfOrderDeltas, possibly held back behind the next
// one. s.mu must be held.
func (s *Server) fanoutLocked(key string, v uint64, ops []delta.Op) {
	subs := s.subs[key]
	if s.reorder == nil {
		for _, sub := range subs {
			sub.conn.sendFrame(deltaFrame(sub.stream, key, v, ops))
		}
		return
	}
	out := make([]heldDelta, 0, len(subs))
	for _, sub := range subs {
		out = append(out, heldDelta{conn: sub.conn, frame: deltaFrame(sub.stream, key, v, ops)})
	}
	s.reorder.fanout(key, out)
}

// applyRelayLocked applies a change another node of a Cluster made, with
// that node's version: a change at or below the version this node holds
// for the key is dropped; otherwise its ops are applied to this node's own
// value (the origin's value stands in when they do not apply), logged and
// fanned out. s.mu must be held.
func (s *Server) applyRelayLocked(key string, v uint64, ops []delta.Op, value any, initialized bool) {
	if s.frozen {
		return
	}
	k := s.keys[key]
	if k != nil && v <= k.version {
		return
	}
	if k == nil {
		k = &keyState{}
		s.keys[key] = k
	}
	var old any
	if k.initialized {
		old = k.value
	}
	nv, deleted, err := delta.Apply(old, ops)
	if err != nil {
		nv, deleted = value, !initialized
		ops = s.shapeOps(delta.Diff(old, nv))
		if deleted {
			ops = []delta.Op{{Op: delta.OpRemove, Path: "/"}}
		}
	}
	if deleted {
		nv = nil
	}
	prev := k.version
	k.value, k.version, k.initialized = nv, v, !deleted
	s.version = max(s.version, v)
	if n := s.cfg.deltaLog; n > 0 {
		k.log = append(k.log, logEntry{prev: prev, version: v, ops: ops})
		if len(k.log) >= 2*n {
			k.log = slices.Clone(k.log[len(k.log)-n:])
		}
	}
	s.changedLocked(key, v, ops, k, true)
	s.fanoutLocked(key, v, ops)
}

// shapeOps rewrites diff paths without ~0/~1 escaping for the dialects that
// do not escape.
func (s *Server) shapeOps(ops []delta.Op) []delta.Op {
	if !s.tr.rawPaths {
		return ops
	}
	for i := range ops {
		segs, err := delta.ParsePointer(ops[i].Path)
		if err == nil && len(segs) > 0 {
			ops[i].Path = "/" + strings.Join(segs, "/")
		}
	}
	return ops
}

func deltaFrame(stream uint32, key string, version uint64, ops []delta.Op) wire.Frame {
	return wire.Frame{Type: wire.TypeDelta, Stream: stream, Body: &wire.Delta{Version: version, Ops: ops, State: key}}
}

// subscribeLocked registers c's subscription to key, or finds the existing
// one in the deduplicating dialects. With own set, a new subscription gets
// the connection's next own stream id; otherwise stream. s.mu must be held.
func (s *Server) subscribeLocked(c *Conn, key string, stream uint32, own bool) *subscription {
	if s.tr.dedup {
		for _, sub := range c.subs {
			if sub.key == key {
				if !own {
					sub.stream = stream
				}
				return sub
			}
		}
	}
	if own {
		stream = c.allocStream()
	}
	sub := &subscription{conn: c, key: key, stream: stream}
	c.subs = append(c.subs, sub)
	s.subs[key] = append(s.subs[key], sub)
	return sub
}

// unsubscribeLocked removes c's subscriptions matching match and returns
// how many went. s.mu must be held.
func (s *Server) unsubscribeLocked(c *Conn, match func(*subscription) bool) int {
	n := 0
	c.subs = slices.DeleteFunc(c.subs, func(sub *subscription) bool {
		if !match(sub) {
			return false
		}
		n++
		l := slices.DeleteFunc(s.subs[sub.key], func(x *subscription) bool { return x == sub })
		if len(l) == 0 {
			delete(s.subs, sub.key)
		} else {
			s.subs[sub.key] = l
		}
		return true
	})
	return n
}

// stateInitLocked queues the STATE_INIT of sub's key. s.mu must be held.
func (s *Server) stateInitLocked(sub *subscription, params map[string]any) {
	b := &wire.StateInit{State: sub.key, Params: params}
	if k := s.keys[sub.key]; k != nil {
		b.Version, b.Value, b.Initialized = k.version, k.value, k.initialized
	}
	sub.conn.sendFrame(wire.Frame{Type: wire.TypeStateInit, Stream: sub.stream, Body: b})
}

// resumeLocked registers the subscription and answers a RESUME with the
// dialect's replay policy. It returns the subscription and the replay;
// sent is false when the dialect queues the replay after its subscription
// is live, which the caller does once s.mu is released. s.mu must be held.
func (s *Server) resumeLocked(c *Conn, key string, since uint64, stream uint32, own bool, params map[string]any) (sub *subscription, replay []logEntry, sent bool) {
	sub = s.subscribeLocked(c, key, stream, own)
	sendInit := true
	if k := s.keys[key]; k != nil {
		log := s.logged(k)
		i := sort.Search(len(log), func(i int) bool { return log[i].version > since })
		newer := log[i:]
		covered := len(newer) == 0 || newer[0].prev <= since
		missed := since < k.version && len(newer) > 0
		switch s.tr.resume {
		case resumeSpec:
			if missed && covered {
				replay = newer
			}
		case resumeNoInit:
			if missed && covered {
				replay, sendInit = newer, false
			}
		case resumePartial:
			replay = newer
		}
	}
	if s.tr.liveBeforeReplay && !sendInit {
		// Log entries are never changed once written: the caller may send
		// them unlocked.
		return sub, replay, false
	}
	for _, e := range replay {
		c.sendFrame(deltaFrame(sub.stream, key, e.version, e.ops))
	}
	if sendInit {
		s.stateInitLocked(sub, params)
	}
	return sub, replay, true
}

// dropConnLocked forgets a closed connection: its subscriptions go and its
// presence entries are removed from the state, each removal broadcast as a
// DELTA. s.mu must be held.
func (s *Server) dropConnLocked(c *Conn) {
	if i := slices.Index(s.conns, c); i >= 0 {
		s.conns = slices.Delete(s.conns, i, i+1)
		s.notifyConnsLocked()
	}
	s.unsubscribeLocked(c, func(*subscription) bool { return true })
	for _, p := range c.presence {
		if s.tr.presenceAlways {
			s.publishRemoveLocked(p.key, p.pointer)
			continue
		}
		if _, err := s.mutateLocked(p.key, removeAt(p.pointer), nil); err == nil {
			s.log.Debug("sodptest: presence removed", "conn", c.id, "key", p.key, "path", p.pointer)
		}
	}
	c.presence = nil
}

// publishRemoveLocked removes pointer from key's value, if it is there, and
// broadcasts REMOVE pointer under a new version either way, as the
// TypeScript server does for every presence entry of a session that ended.
// A key that holds no value keeps holding none. s.mu must be held.
func (s *Server) publishRemoveLocked(key, pointer string) {
	if s.frozen {
		return
	}
	k := s.keys[key]
	if k == nil {
		k = &keyState{}
		s.keys[key] = k
	}
	ops := []delta.Op{{Op: delta.OpRemove, Path: pointer}}
	if k.initialized {
		if nv, _, err := delta.Apply(k.value, ops); err == nil {
			k.value = nv
		}
	}
	v := s.publishLocked(key, k, ops, nil)
	s.log.Debug("sodptest: presence REMOVE published", "key", key, "version", v, "path", pointer)
}

// allocStream returns the connection's next own stream id. Only the
// connection's reader calls it.
func (c *Conn) allocStream() uint32 {
	id := c.nextStream
	c.nextStream++
	if c.nextStream == 0 {
		c.nextStream = wire.FirstSubscriptionStream
	}
	return id
}

// Mutation builders, shared by CALLs and the server-side API.

func setValue(v any) mutation {
	return func(any, bool) (any, bool, error) { return v, false, nil }
}

func deleteKey(any, bool) (any, bool, error) { return nil, true, nil }

func patchValue(patch map[string]any, deep bool) mutation {
	return func(old any, _ bool) (any, bool, error) {
		if deep {
			return mergeDeep(old, patch), false, nil
		}
		out := make(map[string]any, len(patch))
		if m, ok := old.(map[string]any); ok {
			maps.Copy(out, m)
		}
		maps.Copy(out, patch)
		return out, false, nil
	}
}

func mergeDeep(old any, patch map[string]any) map[string]any {
	out := make(map[string]any, len(patch))
	if m, ok := old.(map[string]any); ok {
		maps.Copy(out, m)
	}
	for k, v := range patch {
		if pm, ok := v.(map[string]any); ok {
			if om, ok := out[k].(map[string]any); ok {
				out[k] = mergeDeep(om, pm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

func setAt(segs []string, v any) mutation {
	ptr := delta.FormatPointer(segs)
	return func(old any, _ bool) (any, bool, error) {
		nv, del, err := delta.Apply(old, []delta.Op{{Op: delta.OpAdd, Path: ptr, Value: v}})
		if err != nil {
			return nil, false, fmt.Errorf("cannot set %s: %w", ptr, err)
		}
		return nv, del, nil
	}
}

func removeAt(ptr string) mutation {
	return func(old any, initialized bool) (any, bool, error) {
		if !initialized {
			return nil, false, errNoOp
		}
		nv, del, err := delta.Apply(old, []delta.Op{{Op: delta.OpRemove, Path: ptr}})
		if err != nil || !del && delta.Equal(nv, old) {
			return nil, false, errNoOp // the path is not there
		}
		return nv, del, nil
	}
}

func appendValue(v any) mutation {
	return func(old any, _ bool) (any, bool, error) {
		switch x := old.(type) {
		case nil:
			return []any{v}, false, nil
		case []any:
			nv, _, err := delta.Apply(x, []delta.Op{{Op: delta.OpAdd, Path: "/-", Value: v}})
			return nv, false, err
		}
		return nil, false, errors.New("the value is not an array")
	}
}

// normalizeValue turns any encodable Go value into the normalised value tree
// (via a MessagePack round trip), so tests may pass structs, ints of any
// width, []string and so on.
func normalizeValue(v any) (any, error) {
	b, err := wire.AppendValue(nil, v)
	if err != nil {
		return nil, err
	}
	var raw any
	if err := msgpack.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	return wire.Normalize(raw)
}

func mustNormalize(method string, v any) any {
	n, err := normalizeValue(v)
	if err != nil {
		panic(fmt.Sprintf("sodptest: %s: value cannot be encoded: %v", method, err))
	}
	return n
}

// Set replaces key's value, as the state.set method does, and returns the
// new version. Watchers receive a DELTA (ADD or UPDATE "/" when the key held
// no value, the diff otherwise). For sodp.DialectGo, as for every write there, a
// Set that leaves the value as it was assigns no version, sends no DELTA and
// returns 0; the other dialects send an empty DELTA with a new version.
// value may be any value the wire encoder accepts (structs with msgpack tags
// included); it is copied. Set panics if value cannot be encoded. Keys are
// not validated, so a test can store a key no client may name.
func (s *Server) Set(key string, value any) uint64 {
	v, _ := s.mutate(key, setValue(mustNormalize("Set", value)), nil)
	return v
}

// Patch merges patch into key's value as the state.patch method does (top
// level; recursively into nested maps for sodp.DialectRust) and returns the new
// version (0 for sodp.DialectGo when nothing changed, as for Set). A key without
// a map value is treated as an empty map. A nil field value sets the field
// to nil. Patch panics if patch cannot be encoded.
func (s *Server) Patch(key string, patch map[string]any) uint64 {
	p, _ := mustNormalize("Patch", patch).(map[string]any)
	if p == nil {
		p = map[string]any{}
	}
	v, _ := s.mutate(key, patchValue(p, s.tr.deepPatch), nil)
	return v
}

// SetIn sets the location named by the JSON Pointer (RFC 6901; "" and "/"
// mean the whole value) to value, creating missing parents as objects or
// arrays, and returns the new version (0 for sodp.DialectGo when nothing
// changed, as for Set). Unlike the Go dialect's state.set_in, the pointer is
// always a JSON Pointer. A malformed pointer or an array index past the end
// is an error and changes nothing. SetIn panics if value cannot be encoded.
func (s *Server) SetIn(key, pointer string, value any) (uint64, error) {
	segs, err := delta.ParsePointer(pointer)
	if err != nil {
		return 0, fmt.Errorf("sodptest: SetIn: %w", err)
	}
	v, err := s.mutate(key, setAt(segs, mustNormalize("SetIn", value)), nil)
	if errors.Is(err, errUnchanged) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sodptest: SetIn: %w", err)
	}
	return v, nil
}

// Delete deletes key, as state.delete does: watchers receive REMOVE "/",
// and the key then reads as nil, not initialized. It returns the deletion's
// version. Deleting a key that holds no value changes nothing and returns
// its current version (0 for a key never written; for sodp.DialectTS, whose
// versions restart after a delete, also 0 after a delete).
func (s *Server) Delete(key string) uint64 {
	v, _ := s.mutate(key, deleteKey, nil)
	return v
}

// Get returns key's value and version. ok is false for a key never written
// or deleted; version is then 0 or the deletion's version. The value is
// shared with the server and must not be modified.
func (s *Server) Get(key string) (value any, version uint64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keys[key]
	if k == nil {
		return nil, 0, false
	}
	return k.value, k.version, k.initialized
}
