// Package pmap is a persistent map from strings to values of any type: a
// hash array mapped trie (HAMT) whose versions share every node a change
// did not touch.
//
// A Map value never changes. Set and Delete return a new Map that shares
// all of the old one but the nodes on the path to the changed key (at
// most 13 nodes of at most 32 slots each, about log32(n) for n keys), so
// a one-key change costs O(log n) time and memory whatever the size of
// the map. An Editor applies many changes to one new Map, changing in
// place the nodes it made itself: building a map of n keys with one costs
// O(n) and allocates each node about once.
//
// Keys are hashed with hash/maphash under a seed chosen at start-up, so
// the iteration order of All is unspecified and differs between
// processes, as a Go map's does.
package pmap

import (
	"hash/maphash"
	"iter"
	"math/bits"
)

// seed hashes every key of every map of the process.
var seed = maphash.MakeSeed()

func hashOf(k string) uint64 { return maphash.String(seed, k) }

const (
	bitsPerLevel = 5
	levelMask    = 1<<bitsPerLevel - 1
	// maxShift is the first shift past the hash: a node there holds keys
	// whose 64-bit hashes are equal, in a list.
	maxShift = 65
)

// entry is one key and its value.
type entry[V any] struct {
	key string
	val V
}

// node is a trie node. Below maxShift, slot i (the i-th 5 bits of a key's
// hash at this level) holds an entry when datamap has bit i, a child node
// when nodemap has it, and nothing otherwise; entries and kids are in slot
// order. At maxShift, entries holds colliding keys in no order.
type node[V any] struct {
	datamap uint32
	nodemap uint32
	entries []entry[V]
	kids    []*node[V]
	// edit is the Editor that made the node; that Editor, while open,
	// changes the node in place. Nil for nodes no Editor may change.
	edit *editTag
}

// editTag identifies one open Editor.
type editTag struct{ _ byte }

// Map is an immutable map from strings to values of type V. The zero Map
// is empty and ready to use.
type Map[V any] struct {
	root *node[V]
	n    int
}

// Len returns the number of keys, in O(1).
func (m Map[V]) Len() int { return m.n }

// Get returns the value of key and whether the map holds key, in O(log n).
func (m Map[V]) Get(key string) (V, bool) {
	if p := m.Ref(key); p != nil {
		return *p, true
	}
	var zero V
	return zero, false
}

// Ref returns a pointer to the value of key held in the map, nil when the
// map does not hold key. The value must not be modified through it.
func (m Map[V]) Ref(key string) *V {
	if m.root == nil {
		return nil
	}
	return m.ref(key, hashOf(key))
}

func (m Map[V]) ref(key string, h uint64) *V {
	n := m.root
	if n == nil {
		return nil
	}
	for shift := uint(0); ; shift += bitsPerLevel {
		if shift >= maxShift {
			for i := range n.entries {
				if n.entries[i].key == key {
					return &n.entries[i].val
				}
			}
			return nil
		}
		bit := uint32(1) << (h >> shift & levelMask)
		switch {
		case n.datamap&bit != 0:
			e := &n.entries[index(n.datamap, bit)]
			if e.key == key {
				return &e.val
			}
			return nil
		case n.nodemap&bit != 0:
			n = n.kids[index(n.nodemap, bit)]
		default:
			return nil
		}
	}
}

// index is the position, among the slots set in bitmap, of bit's slot.
func index(bitmap, bit uint32) int { return bits.OnesCount32(bitmap & (bit - 1)) }

// All yields every key and value, in an unspecified order.
func (m Map[V]) All() iter.Seq2[string, V] {
	return func(yield func(string, V) bool) {
		if m.root != nil {
			m.root.each(func(e *entry[V]) bool { return yield(e.key, e.val) })
		}
	}
}

// Each calls f with each key and a pointer to its value held in the map
// (not to be modified), until f returns false.
func (m Map[V]) Each(f func(key string, val *V) bool) {
	if m.root != nil {
		m.root.each(func(e *entry[V]) bool { return f(e.key, &e.val) })
	}
}

func (n *node[V]) each(f func(*entry[V]) bool) bool {
	for i := range n.entries {
		if !f(&n.entries[i]) {
			return false
		}
	}
	for _, k := range n.kids {
		if !k.each(f) {
			return false
		}
	}
	return true
}

// Set returns a map that holds val at key and is otherwise m.
func (m Map[V]) Set(key string, val V) Map[V] {
	e := m.Edit()
	e.Set(key, val)
	return e.Finish()
}

// Delete returns a map without key and otherwise m.
func (m Map[V]) Delete(key string) Map[V] {
	e := m.Edit()
	e.Delete(key)
	return e.Finish()
}

// Editor makes a new Map from an old one by a series of changes. Nodes
// it copies or makes are its own until Finish, and further changes to
// them are made in place; nodes of the old map are copied before their
// first change, so the old map never changes.
type Editor[V any] struct {
	root *node[V]
	n    int
	tag  *editTag
	// hashFn, when set, replaces hashOf (tests force collisions with it).
	hashFn func(string) uint64
}

func (e *Editor[V]) hash(k string) uint64 {
	if e.hashFn != nil {
		return e.hashFn(k)
	}
	return hashOf(k)
}

// Edit returns an Editor starting from m.
func (m Map[V]) Edit() *Editor[V] {
	return &Editor[V]{root: m.root, n: m.n, tag: new(editTag)}
}

// Finish returns the map the changes made. The Editor must not be used
// afterwards.
func (e *Editor[V]) Finish() Map[V] {
	m := Map[V]{root: e.root, n: e.n}
	if m.n == 0 {
		m.root = nil
	}
	e.root, e.tag = nil, nil
	return m
}

// Len returns the number of keys of the map being made.
func (e *Editor[V]) Len() int { return e.n }

// own returns n if the Editor may change it, else a copy it may change,
// with room for one more entry and kid.
func (e *Editor[V]) own(n *node[V]) *node[V] {
	if n == nil {
		return &node[V]{edit: e.tag}
	}
	if n.edit == e.tag {
		return n
	}
	c := &node[V]{datamap: n.datamap, nodemap: n.nodemap, edit: e.tag}
	if len(n.entries) > 0 {
		c.entries = make([]entry[V], len(n.entries), len(n.entries)+1)
		copy(c.entries, n.entries)
	}
	if len(n.kids) > 0 {
		c.kids = make([]*node[V], len(n.kids), len(n.kids)+1)
		copy(c.kids, n.kids)
	}
	return c
}

// Set makes the map hold val at key.
func (e *Editor[V]) Set(key string, val V) { e.setHashed(key, hashOf(key), val) }

func (e *Editor[V]) setHashed(key string, h uint64, val V) {
	var added bool
	e.root, added = e.set(e.root, h, key, val, 0)
	if added {
		e.n++
	}
}

func (e *Editor[V]) set(n *node[V], h uint64, key string, val V, shift uint) (*node[V], bool) {
	n = e.own(n)
	if shift >= maxShift {
		for i := range n.entries {
			if n.entries[i].key == key {
				n.entries[i].val = val
				return n, false
			}
		}
		n.entries = append(n.entries, entry[V]{key, val})
		return n, true
	}
	bit := uint32(1) << (h >> shift & levelMask)
	switch {
	case n.datamap&bit != 0:
		i := index(n.datamap, bit)
		old := &n.entries[i]
		if old.key == key {
			old.val = val
			return n, false
		}
		// Two keys in one slot: they go one level down.
		kid := e.pair(*old, e.hash(old.key), entry[V]{key, val}, h, shift+bitsPerLevel)
		n.entries = append(n.entries[:i], n.entries[i+1:]...)
		n.datamap &^= bit
		j := index(n.nodemap, bit)
		n.kids = append(n.kids, nil)
		copy(n.kids[j+1:], n.kids[j:])
		n.kids[j] = kid
		n.nodemap |= bit
		return n, true
	case n.nodemap&bit != 0:
		j := index(n.nodemap, bit)
		kid, added := e.set(n.kids[j], h, key, val, shift+bitsPerLevel)
		n.kids[j] = kid
		return n, added
	}
	i := index(n.datamap, bit)
	n.entries = append(n.entries, entry[V]{})
	copy(n.entries[i+1:], n.entries[i:])
	n.entries[i] = entry[V]{key, val}
	n.datamap |= bit
	return n, true
}

// pair makes the node at shift holding the entries a and b.
func (e *Editor[V]) pair(a entry[V], ha uint64, b entry[V], hb uint64, shift uint) *node[V] {
	n := &node[V]{edit: e.tag}
	if shift >= maxShift {
		n.entries = []entry[V]{a, b}
		return n
	}
	ba := uint32(1) << (ha >> shift & levelMask)
	bb := uint32(1) << (hb >> shift & levelMask)
	switch {
	case ba == bb:
		n.nodemap = ba
		n.kids = []*node[V]{e.pair(a, ha, b, hb, shift+bitsPerLevel)}
	case ba < bb:
		n.datamap = ba | bb
		n.entries = []entry[V]{a, b}
	default:
		n.datamap = ba | bb
		n.entries = []entry[V]{b, a}
	}
	return n
}

// Delete removes key from the map, if it holds it.
func (e *Editor[V]) Delete(key string) { e.deleteHashed(key, hashOf(key)) }

func (e *Editor[V]) deleteHashed(key string, h uint64) {
	if e.root == nil {
		return
	}
	var removed bool
	e.root, removed = e.del(e.root, h, key, 0)
	if removed {
		e.n--
	}
}

// del returns the node without key (nil when it is left empty), and
// whether key was there; a node that does not hold key is returned as is.
func (e *Editor[V]) del(n *node[V], h uint64, key string, shift uint) (*node[V], bool) {
	if shift >= maxShift {
		for i := range n.entries {
			if n.entries[i].key == key {
				if len(n.entries) == 1 {
					return nil, true
				}
				n = e.own(n)
				n.entries = append(n.entries[:i], n.entries[i+1:]...)
				return n, true
			}
		}
		return n, false
	}
	bit := uint32(1) << (h >> shift & levelMask)
	switch {
	case n.datamap&bit != 0:
		i := index(n.datamap, bit)
		if n.entries[i].key != key {
			return n, false
		}
		if len(n.entries) == 1 && len(n.kids) == 0 {
			return nil, true
		}
		n = e.own(n)
		n.entries = append(n.entries[:i], n.entries[i+1:]...)
		clear(n.entries[len(n.entries):cap(n.entries)][:1])
		n.datamap &^= bit
		return n, true
	case n.nodemap&bit != 0:
		j := index(n.nodemap, bit)
		kid, removed := e.del(n.kids[j], h, key, shift+bitsPerLevel)
		if !removed {
			return n, false
		}
		n = e.own(n)
		switch {
		case kid == nil:
			n.kids = append(n.kids[:j], n.kids[j+1:]...)
			n.kids[:cap(n.kids)][len(n.kids):][0] = nil
			n.nodemap &^= bit
			if len(n.kids) == 0 && len(n.entries) == 0 {
				return nil, true
			}
		case len(kid.kids) == 0 && len(kid.entries) == 1:
			// A lone entry moves up into this node's slot.
			n.kids = append(n.kids[:j], n.kids[j+1:]...)
			n.kids[:cap(n.kids)][len(n.kids):][0] = nil
			n.nodemap &^= bit
			i := index(n.datamap, bit)
			n.entries = append(n.entries, entry[V]{})
			copy(n.entries[i+1:], n.entries[i:])
			n.entries[i] = kid.entries[0]
			n.datamap |= bit
		default:
			n.kids[j] = kid
		}
		return n, true
	}
	return n, false
}
