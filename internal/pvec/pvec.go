// Package pvec is a persistent vector: a list of values in a trie of
// 32-slot nodes indexed by position, whose versions share every node a
// change did not touch.
//
// A Vec value never changes. Set and Append return a new Vec that shares
// all of the old one but the nodes on the path to the changed position
// (about log32(n) nodes), so changing or appending one element costs
// O(log n) whatever the length. FromSlice builds a whole Vec in O(n).
package pvec

import (
	"iter"
	"reflect"
	"sync"
	"unsafe"
)

const (
	bitsPerLevel = 5
	width        = 1 << bitsPerLevel
	mask         = width - 1
)

// node is a trie node: a leaf holds up to 32 values, an inner node up to
// 32 children. Every node but the last of its level is full.
type node[V any] struct {
	kids []*node[V]
	vals []V
}

// Vec is an immutable list of values of type V. The zero Vec is empty and
// ready to use.
type Vec[V any] struct {
	root  *node[V]
	n     int
	shift uint // of the root's level: 0 when the root is a leaf
}

// Len returns the number of elements, in O(1).
func (v Vec[V]) Len() int { return v.n }

// Ref returns a pointer to element i held in the vector (not to be
// modified), nil when i is out of range.
func (v Vec[V]) Ref(i int) *V {
	if i < 0 || i >= v.n {
		return nil
	}
	nd := v.root
	for s := v.shift; s > 0; s -= bitsPerLevel {
		nd = nd.kids[i>>s&mask]
	}
	return &nd.vals[i&mask]
}

// Get returns element i and whether i is in range, in O(log n).
func (v Vec[V]) Get(i int) (V, bool) {
	if p := v.Ref(i); p != nil {
		return *p, true
	}
	var zero V
	return zero, false
}

// All yields every index and element, in order.
func (v Vec[V]) All() iter.Seq2[int, V] {
	return func(yield func(int, V) bool) {
		if v.root != nil {
			i := 0
			v.root.each(func(x *V) bool {
				ok := yield(i, *x)
				i++
				return ok
			})
		}
	}
}

func (nd *node[V]) each(f func(*V) bool) bool {
	for j := range nd.vals {
		if !f(&nd.vals[j]) {
			return false
		}
	}
	for _, k := range nd.kids {
		if !k.each(f) {
			return false
		}
	}
	return true
}

// Set returns a vector holding x at i and otherwise v; i must be in range.
func (v Vec[V]) Set(i int, x V) Vec[V] {
	if i < 0 || i >= v.n {
		panic("pvec: Set index out of range")
	}
	v.root = set(v.root, v.shift, i, x)
	return v
}

func set[V any](nd *node[V], shift uint, i int, x V) *node[V] {
	c := &node[V]{}
	if shift == 0 {
		c.vals = append([]V(nil), nd.vals...)
		c.vals[i&mask] = x
		return c
	}
	c.kids = append([]*node[V](nil), nd.kids...)
	j := i >> shift & mask
	c.kids[j] = set(c.kids[j], shift-bitsPerLevel, i, x)
	return c
}

// Append returns a vector of v's elements followed by x.
func (v Vec[V]) Append(x V) Vec[V] {
	if v.root == nil {
		return Vec[V]{root: &node[V]{vals: []V{x}}, n: 1}
	}
	if v.n == 1<<(v.shift+bitsPerLevel) {
		// The trie is full: a new root above it.
		v.root = &node[V]{kids: []*node[V]{v.root}}
		v.shift += bitsPerLevel
	}
	v.root = appendAt(v.root, v.shift, v.n, x)
	v.n++
	return v
}

// appendAt returns a copy of nd (nil: a new node) with x at position i,
// the first free one.
func appendAt[V any](nd *node[V], shift uint, i int, x V) *node[V] {
	c := &node[V]{}
	if shift == 0 {
		if nd != nil {
			c.vals = make([]V, len(nd.vals), len(nd.vals)+1)
			copy(c.vals, nd.vals)
		}
		c.vals = append(c.vals, x)
		return c
	}
	j := i >> shift & mask
	if nd != nil {
		c.kids = make([]*node[V], len(nd.kids), max(len(nd.kids), j+1))
		copy(c.kids, nd.kids)
	}
	var kid *node[V]
	if j < len(c.kids) {
		kid = c.kids[j]
	} else {
		c.kids = append(c.kids, nil)
	}
	c.kids[j] = appendAt(kid, shift-bitsPerLevel, i, x)
	return c
}

// FromSlice returns a vector of a copy of the elements of s, in O(n).
func FromSlice[V any](s []V) Vec[V] {
	if len(s) == 0 {
		return Vec[V]{}
	}
	level := make([]*node[V], 0, (len(s)+mask)/width)
	for i := 0; i < len(s); i += width {
		level = append(level, &node[V]{vals: append([]V(nil), s[i:min(i+width, len(s))]...)})
	}
	var shift uint
	for len(level) > 1 {
		up := make([]*node[V], 0, (len(level)+mask)/width)
		for i := 0; i < len(level); i += width {
			up = append(up, &node[V]{kids: level[i:min(i+width, len(level)):min(i+width, len(level))]})
		}
		level = up
		shift += bitsPerLevel
	}
	return Vec[V]{root: level[0], n: len(s), shift: shift}
}

// Ops are the operations on a Vec whose element type is known only at run
// time (by package convert). Each takes a pointer to the Vec.
type Ops struct {
	// Elem is the element type.
	Elem reflect.Type
	// Len returns the number of elements.
	Len func(v unsafe.Pointer) int
	// Ref returns a pointer to element i (not to be modified), nil out of
	// range.
	Ref func(v unsafe.Pointer, i int) unsafe.Pointer
	// Each calls f with every element in order until f returns false.
	Each func(v unsafe.Pointer, f func(val unsafe.Pointer) bool)
	// Build stores at v the vector of the n values of the array at vals.
	Build func(v unsafe.Pointer, vals unsafe.Pointer, n int)
	// Set stores at dst the vector at src with element i (in range) set to
	// the value at val.
	Set func(dst, src unsafe.Pointer, i int, val unsafe.Pointer)
}

// vecType is implemented by every Vec.
type vecType interface{ opsOf() *Ops }

var vecTypeType = reflect.TypeFor[vecType]()

func (Vec[V]) opsOf() *Ops {
	return &Ops{
		Elem: reflect.TypeFor[V](),
		Len:  func(v unsafe.Pointer) int { return (*Vec[V])(v).n },
		Ref: func(v unsafe.Pointer, i int) unsafe.Pointer {
			return unsafe.Pointer((*Vec[V])(v).Ref(i))
		},
		Each: func(v unsafe.Pointer, f func(unsafe.Pointer) bool) {
			if r := (*Vec[V])(v).root; r != nil {
				r.each(func(x *V) bool { return f(unsafe.Pointer(x)) })
			}
		},
		Build: func(v unsafe.Pointer, vals unsafe.Pointer, n int) {
			if n == 0 {
				*(*Vec[V])(v) = Vec[V]{}
				return
			}
			*(*Vec[V])(v) = FromSlice(unsafe.Slice((*V)(vals), n))
		},
		Set: func(dst, src unsafe.Pointer, i int, val unsafe.Pointer) {
			*(*Vec[V])(dst) = (*Vec[V])(src).Set(i, *(*V)(val))
		},
	}
}

var opsCache sync.Map // reflect.Type → *Ops (nil for no Vec)

// OpsOf returns the Ops of the Vec a value of type t is: t is a Vec, or a
// struct whose only field is one. It returns nil for any other type.
func OpsOf(t reflect.Type) *Ops {
	if o, ok := opsCache.Load(t); ok {
		return o.(*Ops)
	}
	var o *Ops
	switch {
	case t.Kind() != reflect.Struct:
	case t.Implements(vecTypeType) && t.PkgPath() == vecTypeType.PkgPath():
		o = reflect.Zero(t).Interface().(vecType).opsOf()
	case t.NumField() == 1 && t.Field(0).Type.Implements(vecTypeType) && t.Field(0).Type.PkgPath() == vecTypeType.PkgPath():
		o = reflect.Zero(t.Field(0).Type).Interface().(vecType).opsOf()
	}
	opsCache.Store(t, o)
	return o
}
