package sodp

import (
	"encoding/json"
	"iter"
	"strings"

	"github.com/sodp-go/client/internal/pmap"
)

// Map is an immutable map from string keys to values of type V, for
// watching a large object whole at the cost of its changes: a room of
// cursors keyed by user, a leaderboard keyed by player.
//
// A Map never changes once made: what Get and All return for a Map held
// by a reader is the same forever. Watch[Map[V]] (or a struct T with a
// Map field) fills it from an object, one entry per key, by the rules of
// Watch for V; each update is made from the reader's previous one by
// converting again only the entries the update's Changed paths name and
// sharing every other with it, so a one-entry change of a 10,000-entry
// Map costs O(log n) time and memory, not O(n). Entries are shared only
// when V holds nothing a reader could modify (numbers, strings, structs
// and arrays of them, Maps of such values); for any other V (one with a
// slice, a map, a pointer or an interface) every update converts every
// entry, as for map[string]V.
//
// Costs: Len is O(1); Get, With and Without are O(log n) (at most 13
// levels of 32 slots); All and Clone are O(n). The zero Map is empty and
// ready to use. Iteration order is unspecified, as for a Go map.
//
// A Map is written (Set, Call arguments) as the object it holds, and
// marshals to and from JSON as one.
type Map[V any] struct {
	m pmap.Map[V]
}

// MapOf returns a Map holding a copy of the entries of m, in O(n).
func MapOf[V any](m map[string]V) Map[V] {
	keys, vals := make([]string, 0, len(m)), make([]V, 0, len(m))
	for k, v := range m {
		keys, vals = append(keys, k), append(vals, v)
	}
	return Map[V]{pmap.FromSlices(keys, vals)}
}

// Len returns the number of entries, in O(1).
func (m Map[V]) Len() int { return m.m.Len() }

// Get returns the value at key and whether m holds key, in O(log n). The
// zero V is returned for an absent key.
func (m Map[V]) Get(key string) (V, bool) { return m.m.Get(key) }

// All yields every key and value, in an unspecified order.
func (m Map[V]) All() iter.Seq2[string, V] { return m.m.All() }

// Clone returns the entries of m as a new plain map, in O(n): the
// caller's own, which may be modified without affecting m or anything
// else. A nil map is returned for an empty Map.
func (m Map[V]) Clone() map[string]V {
	if m.m.Len() == 0 {
		return nil
	}
	out := make(map[string]V, m.m.Len())
	m.m.Each(func(k string, v *V) bool {
		out[k] = *v
		return true
	})
	return out
}

// With returns a Map holding v at key and otherwise the entries of m, in
// O(log n); m itself does not change.
func (m Map[V]) With(key string, v V) Map[V] { return Map[V]{m.m.Set(key, v)} }

// Without returns a Map without key and otherwise the entries of m, in
// O(log n); m itself does not change.
func (m Map[V]) Without(key string) Map[V] { return Map[V]{m.m.Delete(key)} }

// MarshalJSON writes m as a JSON object, its keys sorted.
func (m Map[V]) MarshalJSON() ([]byte, error) {
	if m.m.Len() == 0 {
		return []byte("{}"), nil
	}
	return json.Marshal(m.Clone())
}

// UnmarshalJSON reads a JSON object into a new Map (null gives the empty
// Map); what m held before is not changed, only replaced.
func (m *Map[V]) UnmarshalJSON(b []byte) error {
	var plain map[string]V
	if err := json.Unmarshal(b, &plain); err != nil {
		return err
	}
	*m = MapOf(plain)
	return nil
}

var unescaper = strings.NewReplacer("~1", "/", "~0", "~")

// ChangedKeys returns the keys of the entries of a watched object that an
// Update's Changed names: the first segment of each path, unescaped, each
// once, in the order of Changed. all is true when Changed may cover every
// entry: it is nil (a snapshot, a cached value, a resync) or holds "/"
// (more than MaxChanged paths, or the whole value replaced); keys is then
// nil, and a reader redraws everything. For WatchPath the keys are those
// of the watched part.
//
// An entry named here may also be one that was removed (Get no longer
// finds it) or added.
func ChangedKeys(changed []string) (keys []string, all bool) {
	if changed == nil {
		return nil, true
	}
	for _, p := range changed {
		if p == "/" || p == "" {
			return nil, true
		}
		seg, _, _ := strings.Cut(p[1:], "/")
		if strings.Contains(seg, "~") {
			seg = unescaper.Replace(seg)
		}
		dup := false
		for _, k := range keys {
			if k == seg {
				dup = true
				break
			}
		}
		if !dup {
			keys = append(keys, seg)
		}
	}
	return keys, false
}
