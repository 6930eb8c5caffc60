package convert

import (
	"math/bits"
	"reflect"
	"sync"
	"unsafe"

	"github.com/sodp-go/client/internal/delta"
	"github.com/sodp-go/client/internal/pmap"
	"github.com/sodp-go/client/internal/pvec"
	"github.com/sodp-go/client/internal/wire"
)

// Converting a value that shares most of its containers with the previous
// one.
//
// A key's consecutive values in the client share every container a delta
// did not touch: applying a delta copies only the containers on the paths
// it changes, and containers, once handed out, are never modified. So a
// map of the new value that is the very same map as in the previous value
// holds the same content, and the part of the previous conversion made
// from it can be taken as it is, instead of being converted again.
//
// Only parts that hold no reference are taken over: booleans, numbers,
// strings, and arrays and structs made of them only ("flat" types). A
// struct that has such parts is filled field by field, its flat fields
// from the previous result where their map is shared, its other fields
// (slices, maps, pointers, interfaces) converted afresh. The result is
// therefore a value that shares no mutable memory with the previous one:
// whoever holds either may modify it without affecting the other.
// Collections (collection.go) are the exception that keeps the rule: they
// never change, so their untouched entries are shared.

// reuseFunc stores v into the zeroed variable at p, where prevP holds the
// conversion of what v was before (see basis).
type reuseFunc func(p, prevP unsafe.Pointer, v any, b basis, depth int) *Error

// basis tells a reuseFunc which parts of v are what they were at the
// previous conversion. By identity (byPath unset), prev is the previous
// value, whose containers v shares where nothing changed. By path (byPath
// set), v is the previous value changed in place, and changes holds the
// paths that may have changed, relative to v.
type basis struct {
	prev    any
	byPath  bool
	changes changes
}

// maxReusePaths is the most changed paths a conversion by path follows
// (as many as an update's Changed lists); with more, the value is
// converted afresh.
const maxReusePaths = 64

// changes is a set of changed paths below one value: each of the paths i
// (path(i)) with bit i set in mask, whose segments from level on are
// below the value (the first level segments named the value itself). Up
// to four paths are held in few, so that the common case allocates
// nothing; more in many.
type changes struct {
	few   [4][]string
	many  [][]string
	mask  uint64
	level int
}

// path returns path i of the set.
func (c *changes) path(i int) []string {
	if c.many != nil {
		return c.many[i]
	}
	return c.few[i]
}

// whole reports whether the value itself was replaced, or something above
// it: a path ends at it.
func (c *changes) whole() bool {
	for m := c.mask; m != 0; m &= m - 1 {
		if len(c.path(bits.TrailingZeros64(m))) <= c.level {
			return true
		}
	}
	return false
}

// none reports whether nothing below the value changed.
func (c *changes) none() bool { return c.mask == 0 }

// below returns the changes under the field name.
func (c *changes) below(name string) changes {
	out := changes{few: c.few, many: c.many, level: c.level + 1}
	for m := c.mask; m != 0; m &= m - 1 {
		i := bits.TrailingZeros64(m)
		if p := c.path(i); len(p) > c.level && p[c.level] == name {
			out.mask |= 1 << i
		}
	}
	return out
}

// reusers caches the reuseFunc of each destination type; a nil reuseFunc
// means there is nothing to take over for the type.
var reusers sync.Map // reflect.Type → reuseFunc

// Reuses reports whether Reusing can take anything over from a
// previous conversion for destinations of type T: T is a struct with flat
// parts (see above) or a collection, or a struct holding one. For any
// other T, Reusing is To.
func Reuses[T any]() bool { return reuserFor(reflect.TypeFor[T]()) != nil }

// Reusing stores v into *dst as To does, taking over from
// *prevDst the parts converted from containers that v shares with prev.
// prevDst must hold the result of a successful conversion of prev into
// type T (To or Reusing), and the containers of prev and v must
// never be modified (the contract of the normalised model): the result is
// then exactly To's. It shares no memory that can be modified with
// *prevDst. With a nil prevDst it is To.
func Reusing[T any](v, prev any, prevDst, dst *T) error {
	r := reuserFor(reflect.TypeFor[T]())
	if r == nil || prevDst == nil {
		return To(v, dst)
	}
	var zero T
	*dst = zero
	if err := r(unsafe.Pointer(dst), unsafe.Pointer(prevDst), v, basis{prev: prev}, 0); err != nil {
		return err.finish()
	}
	return nil
}

// ReusingChanged stores v into *dst as To does, taking over from *prevDst
// the parts converted from where nothing changed. v is the value that
// *prevDst was converted from (by To, Reusing or ReusingChanged), since
// changed in place, and changed lists, as JSON Pointers, every path where
// it may have changed; a nil list, or one that holds "/" (the whole
// value) or a pointer that does not parse, means anything may have. The
// result is then exactly To's, and shares no memory that can be modified
// with *prevDst. With a nil prevDst it is To.
func ReusingChanged[T any](v any, changed []string, prevDst, dst *T) error {
	r := reuserFor(reflect.TypeFor[T]())
	if r == nil || prevDst == nil || changed == nil || len(changed) > maxReusePaths {
		return To(v, dst)
	}
	b := basis{byPath: true}
	if len(changed) > len(b.changes.few) {
		b.changes.many = make([][]string, len(changed))
	}
	for i, ptr := range changed {
		p, err := delta.ParsePointer(ptr)
		if err != nil || len(p) == 0 {
			return To(v, dst)
		}
		if b.changes.many != nil {
			b.changes.many[i] = p
		} else {
			b.changes.few[i] = p
		}
		b.changes.mask |= 1 << i
	}
	var zero T
	*dst = zero
	if err := r(unsafe.Pointer(dst), unsafe.Pointer(prevDst), v, b, 0); err != nil {
		return err.finish()
	}
	return nil
}

func reuserFor(t reflect.Type) reuseFunc {
	if r, ok := reusers.Load(t); ok {
		return r.(reuseFunc)
	}
	r := buildReuser(t)
	actual, _ := reusers.LoadOrStore(t, r)
	return actual.(reuseFunc)
}

// flatTypes caches isFlat.
var flatTypes sync.Map // reflect.Type → bool

// isFlat reports whether a value of type t holds no reference to memory
// that could be modified (strings are immutable), so that a copy of it is
// a deep copy.
func isFlat(t reflect.Type) bool {
	if f, ok := flatTypes.Load(t); ok {
		return f.(bool)
	}
	var f bool
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.String:
		f = true
	case reflect.Array:
		f = isFlat(t.Elem())
	case reflect.Struct:
		f = true
		for i := range t.NumField() {
			if !isFlat(t.Field(i).Type) {
				f = false
				break
			}
		}
	}
	flatTypes.Store(t, f)
	return f
}

// reuseField is one field of a struct's reuse plan.
type reuseField struct {
	name   string
	offset uintptr
	dec    decodeFunc
	reuse  reuseFunc // nil: always converted afresh
}

// buildReuser returns the reuseFunc of t, or nil when nothing of a
// previous conversion could be taken over: t is not a struct, has no flat
// part, is filled through UnmarshalText or UnmarshalJSON, or promotes fields through an
// embedded pointer.
func buildReuser(t reflect.Type) reuseFunc {
	if ops := pmap.OpsOf(t); ops != nil {
		return collectionReuser(t, ops)
	}
	if ops := pvec.OpsOf(t); ops != nil {
		return listReuser(t, ops)
	}
	if t.Kind() != reflect.Struct || t == timeType || reflect.PointerTo(t).Implements(textUnmarshalerType) || unmarshalsJSON(t) {
		return nil
	}
	specs := wire.StructFields(t)
	fields := make([]reuseField, len(specs))
	worth := isFlat(t)
	for i, s := range specs {
		f := &fields[i]
		f.name = s.Name
		typ := t
		for j, x := range s.Index {
			sf := typ.Field(x)
			f.offset += sf.Offset
			typ = sf.Type
			if j < len(s.Index)-1 && typ.Kind() == reflect.Pointer {
				return nil
			}
		}
		f.dec = decoderFor(typ)
		if typ.Kind() == reflect.Struct {
			f.reuse = reuserFor(typ)
		}
		worth = worth || f.reuse != nil
	}
	if !worth {
		return nil
	}
	dec := decoderFor(t)
	flat := isFlat(t)
	return func(p, prevP unsafe.Pointer, v any, b basis, depth int) *Error {
		m, ok := v.(map[string]any)
		if !ok || m == nil {
			return dec(p, v, depth)
		}
		var pm map[string]any
		if b.byPath {
			if b.changes.none() && flat {
				reflect.NewAt(t, p).Elem().Set(reflect.NewAt(t, prevP).Elem())
				return nil
			}
			if b.changes.whole() {
				return dec(p, v, depth)
			}
		} else {
			pm, ok = b.prev.(map[string]any)
			if !ok || pm == nil {
				return dec(p, v, depth)
			}
			if flat && delta.Same(m, pm) {
				reflect.NewAt(t, p).Elem().Set(reflect.NewAt(t, prevP).Elem())
				return nil
			}
		}
		if depth >= maxConvertDepth {
			return tooDeep(t, v)
		}
		hits := 0
		for i := range fields {
			f := &fields[i]
			x, ok := m[f.name]
			if !ok {
				continue
			}
			hits++
			fp := unsafe.Add(p, f.offset)
			var err *Error
			switch {
			case f.reuse == nil:
				err = f.dec(fp, x, depth+1)
			case b.byPath:
				// A field whose key was added or replaced is under a
				// changed path that ends at it, and so converted
				// afresh; any other was made from the same key before.
				err = f.reuse(fp, unsafe.Add(prevP, f.offset), x, basis{byPath: true, changes: b.changes.below(f.name)}, depth+1)
			default:
				if px, pok := pm[f.name]; pok {
					// The previous result's field was made from px: an
					// exact key always wins over a case-insensitive one.
					err = f.reuse(fp, unsafe.Add(prevP, f.offset), x, basis{prev: px}, depth+1)
				} else {
					err = f.dec(fp, x, depth+1)
				}
			}
			if err != nil {
				return err.at(f.name)
			}
		}
		if hits == len(m) || hits == len(fields) {
			return nil
		}
		// Some keys match fields only without regard to case: convert
		// the whole struct as To does.
		reflect.NewAt(t, p).Elem().SetZero()
		return dec(p, v, depth)
	}
}

// Detaches reports whether a conversion into T never keeps anything of the
// value converted: T holds no interface, at any depth, that would be set
// to a container of the value itself. A T for which it is false must only
// be converted from values that are never modified.
func Detaches[T any]() bool {
	t := reflect.TypeFor[T]()
	if d, ok := detaching.Load(t); ok {
		return d.(bool)
	}
	d := detaches(t, map[reflect.Type]bool{})
	detaching.Store(t, d)
	return d
}

// detaching caches Detaches.
var detaching sync.Map // reflect.Type → bool

func detaches(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return true
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Interface:
		return false
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return detaches(t.Elem(), seen)
	case reflect.Map:
		return detaches(t.Key(), seen) && detaches(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if !detaches(t.Field(i).Type, seen) {
				return false
			}
		}
	}
	return true
}
