package pmap

import (
	"reflect"
	"sync"
	"unsafe"
)

// Ops are the operations on a Map whose value type is known only at run
// time (by package convert, which works from reflect.Type). Each takes a
// pointer to the Map.
type Ops struct {
	// Elem is the Map's value type.
	Elem reflect.Type
	// Len returns the number of keys.
	Len func(m unsafe.Pointer) int
	// Ref returns a pointer to the value of key held in the map (not to be
	// modified), nil when the map does not hold key.
	Ref func(m unsafe.Pointer, key string) unsafe.Pointer
	// Each calls f with every key and a pointer to its value (not to be
	// modified) until f returns false.
	Each func(m unsafe.Pointer, f func(key string, val unsafe.Pointer) bool)
	// Build stores at m the map of keys[i] to the values of the array of
	// len(keys) values at vals (keys must not repeat).
	Build func(m unsafe.Pointer, keys []string, vals unsafe.Pointer)
	// Edit returns the changes to a new map starting from the map at m
	// (the empty map when m is nil).
	Edit func(m unsafe.Pointer) Edits
}

// Edits is an Editor of a Map whose value type is known only at run time.
type Edits interface {
	// Set makes the map hold, at key, a copy of the value val points to.
	Set(key string, val unsafe.Pointer)
	// Delete removes key.
	Delete(key string)
	// Finish stores the new map at dst (a pointer to a Map). The Edits
	// must not be used afterwards.
	Finish(dst unsafe.Pointer)
}

// mapType is implemented by every Map.
type mapType interface{ opsOf() *Ops }

var mapTypeType = reflect.TypeFor[mapType]()

func (Map[V]) opsOf() *Ops {
	return &Ops{
		Elem: reflect.TypeFor[V](),
		Len:  func(m unsafe.Pointer) int { return (*Map[V])(m).n },
		Ref: func(m unsafe.Pointer, key string) unsafe.Pointer {
			return unsafe.Pointer((*Map[V])(m).Ref(key))
		},
		Each: func(m unsafe.Pointer, f func(string, unsafe.Pointer) bool) {
			(*Map[V])(m).Each(func(k string, v *V) bool { return f(k, unsafe.Pointer(v)) })
		},
		Build: func(m unsafe.Pointer, keys []string, vals unsafe.Pointer) {
			*(*Map[V])(m) = FromSlices(keys, unsafe.Slice((*V)(vals), len(keys)))
		},
		Edit: func(m unsafe.Pointer) Edits {
			if m == nil {
				return edits[V]{Map[V]{}.Edit()}
			}
			return edits[V]{(*Map[V])(m).Edit()}
		},
	}
}

type edits[V any] struct{ e *Editor[V] }

func (x edits[V]) Set(key string, val unsafe.Pointer) { x.e.Set(key, *(*V)(val)) }
func (x edits[V]) Delete(key string)                  { x.e.Delete(key) }
func (x edits[V]) Finish(dst unsafe.Pointer)          { *(*Map[V])(dst) = x.e.Finish() }

// opsCache holds OpsOf's answers.
var opsCache sync.Map // reflect.Type → *Ops (nil for no Map)

// OpsOf returns the Ops of the Map a value of type t is: t is a Map, or a
// struct whose only field is one. It returns nil for any other type.
func OpsOf(t reflect.Type) *Ops {
	if o, ok := opsCache.Load(t); ok {
		return o.(*Ops)
	}
	var o *Ops
	switch {
	case t.Kind() != reflect.Struct:
	case t.Implements(mapTypeType) && t.PkgPath() == mapTypeType.PkgPath():
		o = reflect.Zero(t).Interface().(mapType).opsOf()
	case t.NumField() == 1 && t.Field(0).Type.Implements(mapTypeType) && t.Field(0).Type.PkgPath() == mapTypeType.PkgPath():
		o = reflect.Zero(t.Field(0).Type).Interface().(mapType).opsOf()
	}
	opsCache.Store(t, o)
	return o
}
