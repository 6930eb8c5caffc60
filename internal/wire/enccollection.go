package wire

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/sodp-go/client/internal/pmap"
	"github.com/sodp-go/client/internal/pvec"
)

// Persistent collections are written as the object or array they hold.

// collection writes a persistent map (package pmap, or a type wrapping
// one) as the map it holds, its keys sorted.
func (e *valueEncoder) collection(v reflect.Value, ops *pmap.Ops) *UnsupportedError {
	if len(e.stack) >= maxDepth {
		return unsupported(v.Type(), "nesting deeper than "+strconv.Itoa(maxDepth)+" levels")
	}
	var p unsafe.Pointer
	if v.CanAddr() {
		p = v.Addr().UnsafePointer()
	} else {
		c := reflect.New(v.Type())
		c.Elem().Set(v)
		p = c.UnsafePointer()
	}
	type entry struct {
		k string
		v unsafe.Pointer
	}
	entries := make([]entry, 0, ops.Len(p))
	ops.Each(p, func(k string, val unsafe.Pointer) bool {
		entries = append(entries, entry{k, val})
		return true
	})
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.k, b.k) })
	e.b = appendMapHeader(e.b, len(entries))
	e.stack = append(e.stack, visit{p, -1})
	defer e.leave()
	for _, en := range entries {
		e.b = appendString(e.b, en.k)
		if err := e.reflect(reflect.NewAt(ops.Elem, en.v).Elem()); err != nil {
			return err.at(en.k)
		}
	}
	return nil
}

// list writes a persistent list (package pvec, or a type wrapping one) as
// the array it holds.
func (e *valueEncoder) list(v reflect.Value, ops *pvec.Ops) *UnsupportedError {
	if len(e.stack) >= maxDepth {
		return unsupported(v.Type(), "nesting deeper than "+strconv.Itoa(maxDepth)+" levels")
	}
	var p unsafe.Pointer
	if v.CanAddr() {
		p = v.Addr().UnsafePointer()
	} else {
		c := reflect.New(v.Type())
		c.Elem().Set(v)
		p = c.UnsafePointer()
	}
	e.b = appendArrayHeader(e.b, ops.Len(p))
	e.stack = append(e.stack, visit{p, -1})
	defer e.leave()
	i := 0
	var err *UnsupportedError
	ops.Each(p, func(val unsafe.Pointer) bool {
		if err = e.reflect(reflect.NewAt(ops.Elem, val).Elem()); err != nil {
			err = err.at(strconv.Itoa(i))
			return false
		}
		i++
		return true
	})
	return err
}
