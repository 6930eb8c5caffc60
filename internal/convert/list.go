package convert

import (
	"reflect"
	"strconv"
	"unsafe"

	"github.com/sodp-go/client/internal/delta"
	"github.com/sodp-go/client/internal/pvec"
)

// Persistent lists (package pvec, made public by package sodp).
//
// A list destination is filled from an array as a slice is. Converted by
// path, it is made from the previous result by converting again only the
// elements the changed paths name by index, sharing every other, when the
// array kept its length and each path below it starts with an index in
// range; any other change (an append or a removal is reported as the
// array's own path) converts the whole array. As for collections, sharing
// is only done for element types that hold nothing modifiable.

// listDecoder converts an array into the list type t.
func (b *planBuilder) listDecoder(t reflect.Type, ops *pvec.Ops) decodeFunc {
	et := ops.Elem
	ed := b.decoder(et)
	size := et.Size()
	return func(p unsafe.Pointer, v any, depth int) *Error {
		a, ok := v.([]any)
		if !ok {
			if v == nil {
				return nil
			}
			return mismatch(t, v)
		}
		if depth >= maxConvertDepth {
			return tooDeep(t, v)
		}
		if len(a) == 0 {
			ops.Build(p, nil, 0)
			return nil
		}
		if !fits(len(a), size) {
			return refuse(t, v, "%d elements are too many", len(a))
		}
		vals := reflect.MakeSlice(reflect.SliceOf(et), len(a), len(a)).UnsafePointer()
		for i, x := range a {
			if err := ed(unsafe.Add(vals, uintptr(i)*size), x, depth+1); err != nil {
				return err.atIndex(i)
			}
		}
		ops.Build(p, vals, len(a))
		return nil
	}
}

// listReuser returns the reuseFunc of the list type t, nil when its
// elements cannot be shared.
func listReuser(t reflect.Type, ops *pvec.Ops) reuseFunc {
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
		a, ok := v.([]any)
		if !ok || a == nil {
			return dec(p, v, depth)
		}
		if !b.byPath {
			pa, ok := b.prev.([]any)
			if !ok || !delta.Same(a, pa) {
				return dec(p, v, depth)
			}
			copyValue(t, p, prevP)
			return nil
		}
		if b.changes.none() {
			copyValue(t, p, prevP)
			return nil
		}
		if b.changes.whole() || len(a) != ops.Len(prevP) {
			return dec(p, v, depth)
		}
		if depth >= maxConvertDepth {
			return tooDeep(t, v)
		}
		lv := b.changes.level
		// Check every path first: one that names no element in range
		// means the array changed otherwise.
		for mk := b.changes.mask; mk != 0; mk &= mk - 1 {
			if _, ok := listIndex(b.changes.path(trailingZero(mk))[lv], len(a)); !ok {
				return dec(p, v, depth)
			}
		}
		cur := p
		copyValue(t, cur, prevP)
		ev := reflect.New(et).Elem()
		ep := ev.Addr().UnsafePointer()
		for mk := b.changes.mask; mk != 0; mk &= mk - 1 {
			i := trailingZero(mk)
			seg := b.changes.path(i)[lv]
			if done(&b.changes, mk, i, lv, seg) {
				continue
			}
			j, _ := listIndex(seg, len(a))
			ev.SetZero()
			var err *Error
			if prevE := ops.Ref(prevP, j); er != nil && prevE != nil {
				err = er(ep, prevE, a[j], basis{byPath: true, changes: b.changes.below(seg)}, depth+1)
			} else {
				err = ed(ep, a[j], depth+1)
			}
			if err != nil {
				return err.atIndex(j)
			}
			ops.Set(cur, cur, j, ep)
		}
		return nil
	}
}

// listIndex parses seg as an index of an array of n elements: decimal,
// without sign or leading zeros, below n.
func listIndex(seg string, n int) (int, bool) {
	if seg == "" || seg[0] == '0' && len(seg) > 1 || seg[0] == '+' || seg[0] == '-' {
		return 0, false
	}
	i, err := strconv.Atoi(seg)
	if err != nil || i < 0 || i >= n {
		return 0, false
	}
	return i, true
}
