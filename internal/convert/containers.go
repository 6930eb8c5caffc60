package convert

import (
	"encoding"
	"math/bits"
	"reflect"
	"strconv"
	"unsafe"
)

func (b *planBuilder) pointerDecoder(t reflect.Type) decodeFunc {
	et := t.Elem()
	ed := b.decoder(et)
	return func(p unsafe.Pointer, v any, depth int) *Error {
		if v == nil {
			return nil
		}
		if depth >= maxConvertDepth {
			return tooDeep(t, v)
		}
		e := reflect.New(et).UnsafePointer()
		if err := ed(e, v, depth+1); err != nil {
			return err
		}
		*(*unsafe.Pointer)(p) = e
		return nil
	}
}

// fits reports whether n elements of the given size can be allocated.
func fits(n int, size uintptr) bool {
	hi, lo := bits.Mul64(uint64(n), uint64(size))
	return hi == 0 && lo < 1<<47
}

// scalarContainer returns the decoder of a slice type, or of a map type
// with string keys, whose elements are of one of the common scalar types
// (string, int, int64, float64, bool), filled without reflection; nil for
// any other element type.
func scalarContainer(t, et reflect.Type) decodeFunc {
	switch et {
	case reflect.TypeFor[string]():
		return typedContainer(t, stringFrom)
	case reflect.TypeFor[int]():
		return typedContainer(t, intOf)
	case reflect.TypeFor[int64]():
		return typedContainer(t, int64Of)
	case reflect.TypeFor[float64]():
		return typedContainer(t, floatFrom)
	case reflect.TypeFor[bool]():
		return typedContainer(t, boolFrom)
	}
	return nil
}

func typedContainer[E any](t reflect.Type, conv func(any, reflect.Type) (E, *Error)) decodeFunc {
	if t.Kind() == reflect.Slice {
		return typedSlice(t, conv)
	}
	return typedMap(t, conv)
}

func (b *planBuilder) sliceDecoder(t reflect.Type) decodeFunc {
	et := t.Elem()
	switch et {
	case anyType:
		return func(p unsafe.Pointer, v any, _ int) *Error {
			switch a := v.(type) {
			case []any:
				*(*[]any)(p) = a
				return nil
			case nil:
				return nil
			}
			return mismatch(t, v)
		}
	}
	if d := scalarContainer(t, et); d != nil {
		return d
	}
	ed := b.decoder(et)
	size := et.Size()
	generic := func(p unsafe.Pointer, v any, depth int) *Error {
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
		s := reflect.NewAt(t, p).Elem()
		if len(a) == 0 {
			s.Set(reflect.MakeSlice(t, 0, 0))
			return nil
		}
		if !fits(len(a), size) {
			return refuse(t, v, "%d elements are too many", len(a))
		}
		s.Grow(len(a))
		s.SetLen(len(a))
		s.SetCap(len(a))
		base := s.UnsafePointer()
		for i, x := range a {
			if err := ed(unsafe.Add(base, uintptr(i)*size), x, depth+1); err != nil {
				return err.atIndex(i)
			}
		}
		return nil
	}
	if et.Kind() == reflect.Uint8 {
		// Bytes travel as strings.
		return func(p unsafe.Pointer, v any, depth int) *Error {
			if s, ok := v.(string); ok {
				b := make([]byte, len(s))
				copy(b, s)
				reflect.NewAt(t, p).Elem().SetBytes(b)
				return nil
			}
			return generic(p, v, depth)
		}
	}
	return generic
}

// typedSlice converts arrays into slices whose element type is exactly E
// (the slice type itself may be named).
func typedSlice[E any](t reflect.Type, conv func(any, reflect.Type) (E, *Error)) decodeFunc {
	et := t.Elem()
	return func(p unsafe.Pointer, v any, _ int) *Error {
		a, ok := v.([]any)
		if !ok {
			if v == nil {
				return nil
			}
			return mismatch(t, v)
		}
		s := make([]E, len(a))
		for i, x := range a {
			e, err := conv(x, et)
			if err != nil {
				return err.atIndex(i)
			}
			s[i] = e
		}
		*(*[]E)(p) = s
		return nil
	}
}

func (b *planBuilder) arrayDecoder(t reflect.Type) decodeFunc {
	et := t.Elem()
	ed := b.decoder(et)
	size := et.Size()
	n := t.Len()
	return func(p unsafe.Pointer, v any, depth int) *Error {
		a, ok := v.([]any)
		if !ok {
			if v == nil {
				return nil
			}
			return mismatch(t, v)
		}
		if len(a) > n {
			return refuse(t, v, "%d elements do not fit in %d", len(a), n)
		}
		if depth >= maxConvertDepth {
			return tooDeep(t, v)
		}
		for i, x := range a {
			if err := ed(unsafe.Add(p, uintptr(i)*size), x, depth+1); err != nil {
				return err.atIndex(i)
			}
		}
		return nil
	}
}

func (b *planBuilder) mapDecoder(t reflect.Type) decodeFunc {
	kt, et := t.Key(), t.Elem()
	if kt == reflect.TypeFor[string]() {
		switch et {
		case anyType:
			exact := t == reflect.TypeFor[map[string]any]()
			return func(p unsafe.Pointer, v any, _ int) *Error {
				switch m := v.(type) {
				case map[string]any:
					if exact {
						*(*map[string]any)(p) = m
					} else {
						reflect.NewAt(t, p).Elem().Set(reflect.ValueOf(m).Convert(t))
					}
					return nil
				case nil:
					return nil
				}
				return mismatch(t, v)
			}
		}
		if d := scalarContainer(t, et); d != nil {
			return d
		}
	}
	key := keyParser(kt)
	if key == nil {
		return unsupportedDecoder(t, "unsupported map key type "+kt.String())
	}
	ed := b.decoder(et)
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
		m := reflect.MakeMapWithSize(t, len(src))
		kv := reflect.New(kt).Elem()
		ev := reflect.New(et).Elem()
		ep := ev.Addr().UnsafePointer()
		for k, x := range src {
			if err := key(kv, k); err != nil {
				return (&Error{Want: kt.String(), Got: "map key", Err: err}).at(k)
			}
			ev.SetZero()
			if err := ed(ep, x, depth+1); err != nil {
				return err.at(k)
			}
			m.SetMapIndex(kv, ev)
		}
		reflect.NewAt(t, p).Elem().Set(m)
		return nil
	}
}

// typedMap converts maps into maps of type map[string]E.
func typedMap[E any](t reflect.Type, conv func(any, reflect.Type) (E, *Error)) decodeFunc {
	et := t.Elem()
	exact := t == reflect.TypeFor[map[string]E]()
	return func(p unsafe.Pointer, v any, _ int) *Error {
		src, ok := v.(map[string]any)
		if !ok {
			if v == nil {
				return nil
			}
			return mismatch(t, v)
		}
		m := make(map[string]E, len(src))
		for k, x := range src {
			e, err := conv(x, et)
			if err != nil {
				return err.at(k)
			}
			m[k] = e
		}
		if exact {
			*(*map[string]E)(p) = m
		} else {
			reflect.NewAt(t, p).Elem().Set(reflect.ValueOf(m).Convert(t))
		}
		return nil
	}
}

// keyParser returns the function that stores a map key into a variable
// of type kt, or nil when kt cannot be a key.
func keyParser(kt reflect.Type) func(reflect.Value, string) error {
	if reflect.PointerTo(kt).Implements(textUnmarshalerType) {
		return func(kv reflect.Value, k string) error {
			kv.SetZero()
			return kv.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(k))
		}
	}
	switch kt.Kind() {
	case reflect.String:
		return func(kv reflect.Value, k string) error {
			kv.SetString(k)
			return nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		size := kt.Bits()
		return func(kv reflect.Value, k string) error {
			n, err := strconv.ParseInt(k, 10, size)
			if err != nil {
				return err
			}
			kv.SetInt(n)
			return nil
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		size := kt.Bits()
		return func(kv reflect.Value, k string) error {
			n, err := strconv.ParseUint(k, 10, size)
			if err != nil {
				return err
			}
			kv.SetUint(n)
			return nil
		}
	}
	return nil
}
