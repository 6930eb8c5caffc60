package convert

import (
	"math/bits"
	"reflect"
	"sync"
	"unsafe"

	"github.com/sodp-go/client/internal/delta"
	"github.com/sodp-go/client/internal/pmap"
	"github.com/sodp-go/client/internal/pvec"
)

// Persistent collections (package pmap, made public by package sodp).
//
// A collection destination is filled from a map as a map[string]V is,
// entry by entry. Converted by path (ReusingChanged), it is made from the
// previous result by changing only the entries the changed paths name:
// each named entry that the value no longer holds is deleted, each other
// named one converted again (by its own reuse plan when it has one), and
// every other entry is shared with the previous result, at O(log n) per
// changed entry. Sharing is sound because a collection never changes and
// its entries are not reachable for modification: it is only done when
// the value type V holds nothing a reader could modify through a copy
// (see shareable); for other value types every entry is converted afresh.

// collectionDecoder converts a map into the collection type t.
func (b *planBuilder) collectionDecoder(t reflect.Type, ops *pmap.Ops) decodeFunc {
	et := ops.Elem
	ed := b.decoder(et)
	size := et.Size()
	return func(p unsafe.Pointer, v any, depth int) *Error {
		src, ok := v.(map[string]any)
		if !ok {
			if v == nil {
				return nil
			}
			return mismatch(t, v)
		}
		if depth >= maxConvertDepth {
			return tooDeep(t, v)
		}
		if len(src) == 0 {
			ops.Build(p, nil, nil)
			return nil
		}
		// The entries are converted into one array, then the map is
		// built from it at once.
		keys := make([]string, 0, len(src))
		vals := reflect.MakeSlice(reflect.SliceOf(et), len(src), len(src)).UnsafePointer()
		for k, x := range src {
			if err := ed(unsafe.Add(vals, uintptr(len(keys))*size), x, depth+1); err != nil {
				return err.at(k)
			}
			keys = append(keys, k)
		}
		ops.Build(p, keys, vals)
		return nil
	}
}

// collectionReuser returns the reuseFunc of the collection type t, nil
// when its entries cannot be shared.
func collectionReuser(t reflect.Type, ops *pmap.Ops) reuseFunc {
	et := ops.Elem
	if !shareable(et) {
		return nil
	}
	dec := decoderFor(t)
	ed := decoderFor(et)
	var er reuseFunc
	if et.Kind() == reflect.Struct {
		er = reuserFor(et)
	}
	return func(p, prevP unsafe.Pointer, v any, b basis, depth int) *Error {
		m, ok := v.(map[string]any)
		if !ok || m == nil {
			return dec(p, v, depth)
		}
		if !b.byPath {
			pm, ok := b.prev.(map[string]any)
			if !ok || !delta.Same(m, pm) {
				return dec(p, v, depth)
			}
			copyValue(t, p, prevP)
			return nil
		}
		if b.changes.none() {
			copyValue(t, p, prevP)
			return nil
		}
		if b.changes.whole() {
			return dec(p, v, depth)
		}
		if depth >= maxConvertDepth {
			return tooDeep(t, v)
		}
		e := ops.Edit(prevP)
		ev := reflect.New(et).Elem()
		ep := ev.Addr().UnsafePointer()
		lv := b.changes.level
		for mk := b.changes.mask; mk != 0; mk &= mk - 1 {
			i := bits.TrailingZeros64(mk)
			k := b.changes.path(i)[lv]
			if done(&b.changes, mk, i, lv, k) {
				continue
			}
			x, ok := m[k]
			if !ok {
				e.Delete(k)
				continue
			}
			ev.SetZero()
			var err *Error
			if prevE := ops.Ref(prevP, k); er != nil && prevE != nil {
				err = er(ep, prevE, x, basis{byPath: true, changes: b.changes.below(k)}, depth+1)
			} else {
				err = ed(ep, x, depth+1)
			}
			if err != nil {
				return err.at(k)
			}
			e.Set(k, ep)
		}
		e.Finish(p)
		return nil
	}
}

func trailingZero(m uint64) int { return bits.TrailingZeros64(m) }

// done reports whether an earlier path of the set (bits of c.mask below
// bit i, which mk no longer holds) named the same entry k.
func done(c *changes, mk uint64, i, level int, k string) bool {
	for m := c.mask &^ mk; m != 0; m &= m - 1 {
		if c.path(bits.TrailingZeros64(m))[level] == k {
			return true
		}
	}
	return false
}

// copyValue copies the value of type t at src to dst.
func copyValue(t reflect.Type, dst, src unsafe.Pointer) {
	reflect.NewAt(t, dst).Elem().Set(reflect.NewAt(t, src).Elem())
}

// shareables caches shareable.
var shareables sync.Map // reflect.Type → bool

// shareable reports whether values of type t can be shared between the
// results of two conversions without one holder's modification being seen
// by the other: t holds no reference to modifiable memory (see isFlat),
// except to collections of shareable values, which never change.
func shareable(t reflect.Type) bool {
	if s, ok := shareables.Load(t); ok {
		return s.(bool)
	}
	var s bool
	switch {
	case isFlat(t):
		s = true
	case pmap.OpsOf(t) != nil:
		s = shareable(pmap.OpsOf(t).Elem)
	case pvec.OpsOf(t) != nil:
		s = shareable(pvec.OpsOf(t).Elem)
	case t.Kind() == reflect.Array:
		s = shareable(t.Elem())
	case t.Kind() == reflect.Struct:
		s = true
		for i := range t.NumField() {
			if !shareable(t.Field(i).Type) {
				s = false
				break
			}
		}
	}
	shareables.Store(t, s)
	return s
}

// pathTypes caches ByPath.
var pathTypes sync.Map // reflect.Type → bool

// ByPath reports whether T holds a collection (a map or a list) (at any depth of its
// structs) whose entries a conversion by path shares: ReusingChanged
// then costs the change rather than the value, where Reusing costs the
// collection's size, and should be preferred whenever the changed paths
// are known.
func ByPath[T any]() bool {
	t := reflect.TypeFor[T]()
	if b, ok := pathTypes.Load(t); ok {
		return b.(bool)
	}
	b := holdsCollection(t, map[reflect.Type]bool{})
	pathTypes.Store(t, b)
	return b
}

func holdsCollection(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	if ops := pmap.OpsOf(t); ops != nil {
		return shareable(ops.Elem)
	}
	if ops := pvec.OpsOf(t); ops != nil {
		return shareable(ops.Elem)
	}
	if t.Kind() != reflect.Struct {
		return false
	}
	for i := range t.NumField() {
		if holdsCollection(t.Field(i).Type, seen) {
			return true
		}
	}
	return false
}
