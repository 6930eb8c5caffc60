package wire

import (
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// A struct is written as a map of its fields, named as StructFields finds
// them; a field tagged omitempty is left out when empty, and one behind a
// nil embedded pointer is left out.

// encField is one field a struct writes.
type encField struct {
	name      string
	index     []int
	omitEmpty bool
}

var encPlans sync.Map // reflect.Type → []encField

func encFieldsOf(t reflect.Type) []encField {
	if p, ok := encPlans.Load(t); ok {
		return p.([]encField)
	}
	specs := StructFields(t)
	fields := make([]encField, len(specs))
	for i, s := range specs {
		fields[i] = encField{name: s.Name, index: s.Index, omitEmpty: omitEmpty(t, s.Index)}
	}
	p, _ := encPlans.LoadOrStore(t, fields)
	return p.([]encField)
}

// omitEmpty reports whether the tag that names the field at index (the
// same one fieldName reads) carries the omitempty option.
func omitEmpty(t reflect.Type, index []int) bool {
	var sf reflect.StructField
	for i, x := range index {
		sf = t.Field(x)
		if i < len(index)-1 {
			t = sf.Type
			if t.Kind() == reflect.Pointer {
				t = t.Elem()
			}
		}
	}
	for _, key := range [...]string{"msgpack", "json"} {
		tag, ok := sf.Tag.Lookup(key)
		if !ok {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		for opts != "" {
			var o string
			o, opts, _ = strings.Cut(opts, ",")
			if o == "omitempty" {
				return true
			}
		}
		if name != "" {
			// This tag named the field; a later one does not count.
			return false
		}
	}
	return false
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

func (e *valueEncoder) structValue(v reflect.Value) *UnsupportedError {
	fields := encFieldsOf(v.Type())
	if len(e.stack) >= maxDepth {
		return unsupported(v.Type(), "nesting deeper than "+strconv.Itoa(maxDepth)+" levels")
	}
	// Two passes, counting then writing, so nothing is allocated.
	n := 0
	for i := range fields {
		f := &fields[i]
		if fv, ok := fieldByIndex(v, f.index); ok && !(f.omitEmpty && isEmpty(fv)) {
			n++
		}
	}
	e.b = appendMapHeader(e.b, n)
	for i := range fields {
		f := &fields[i]
		fv, ok := fieldByIndex(v, f.index)
		if !ok || (f.omitEmpty && isEmpty(fv)) {
			continue
		}
		e.b = appendString(e.b, f.name)
		if err := e.reflect(fv); err != nil {
			return err.at(f.name)
		}
	}
	return nil
}

// fieldByIndex is v.FieldByIndex that reports a nil embedded pointer on
// the way instead of panicking.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}
