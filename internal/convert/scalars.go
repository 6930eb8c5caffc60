package convert

import (
	"encoding"
	"math"
	"reflect"
	"strconv"
	"time"
	"unsafe"
)

func boolFrom(v any, t reflect.Type) (bool, *Error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case nil:
		return false, nil
	}
	return false, mismatch(t, v)
}

func stringFrom(v any, t reflect.Type) (string, *Error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case nil:
		return "", nil
	}
	return "", mismatch(t, v)
}

// intFrom converts v into a signed integer of the given width.
func intFrom(v any, t reflect.Type, size int) (int64, *Error) {
	var n int64
	switch x := v.(type) {
	case int64:
		n = x
	case float64:
		// -2^63 is exact as a float64; 2^63 is the first value above the
		// range.
		if x != math.Trunc(x) {
			return 0, refuse(t, v, "%v is not an integer", x)
		}
		if x < -(1<<63) || x >= 1<<63 {
			return 0, refuse(t, v, "%v is out of range", x)
		}
		n = int64(x)
	case uint64:
		if x > math.MaxInt64 {
			return 0, refuse(t, v, "%d is out of range", x)
		}
		n = int64(x)
	case nil:
		return 0, nil
	default:
		return 0, mismatch(t, v)
	}
	if size < 64 {
		if lo := int64(-1) << (size - 1); n < lo || n > ^lo {
			return 0, refuse(t, v, "%d is out of range", n)
		}
	}
	return n, nil
}

// uintFrom converts v into an unsigned integer of the given width.
func uintFrom(v any, t reflect.Type, size int) (uint64, *Error) {
	var n uint64
	switch x := v.(type) {
	case int64:
		if x < 0 {
			return 0, refuse(t, v, "%d is out of range", x)
		}
		n = uint64(x)
	case uint64:
		n = x
	case float64:
		if x != math.Trunc(x) {
			return 0, refuse(t, v, "%v is not an integer", x)
		}
		if x < 0 || x >= 1<<64 {
			return 0, refuse(t, v, "%v is out of range", x)
		}
		n = uint64(x)
	case nil:
		return 0, nil
	default:
		return 0, mismatch(t, v)
	}
	if size < 64 && n >= 1<<size {
		return 0, refuse(t, v, "%d is out of range", n)
	}
	return n, nil
}

func floatFrom(v any, t reflect.Type) (float64, *Error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case int64:
		return float64(x), nil
	case uint64:
		return float64(x), nil
	case nil:
		return 0, nil
	}
	return 0, mismatch(t, v)
}

func float32From(v any, t reflect.Type) (float32, *Error) {
	f, err := floatFrom(v, t)
	if err == nil && math.Abs(f) > math.MaxFloat32 && !math.IsInf(f, 0) {
		return 0, refuse(t, v, "%v is out of range", f)
	}
	return float32(f), err
}

func intOf(v any, t reflect.Type) (int, *Error) {
	n, err := intFrom(v, t, strconv.IntSize)
	return int(n), err
}

func int64Of(v any, t reflect.Type) (int64, *Error) { return intFrom(v, t, 64) }

func boolDecoder(t reflect.Type) decodeFunc {
	return func(p unsafe.Pointer, v any, _ int) *Error {
		x, err := boolFrom(v, t)
		*(*bool)(p) = x
		return err
	}
}

func stringDecoder(t reflect.Type) decodeFunc {
	return func(p unsafe.Pointer, v any, _ int) *Error {
		if s, ok := v.(string); ok {
			*(*string)(p) = s
			return nil
		}
		if v == nil {
			return nil
		}
		return mismatch(t, v)
	}
}

func intDecoder(t reflect.Type) decodeFunc {
	size := t.Bits()
	return func(p unsafe.Pointer, v any, _ int) *Error {
		if n, ok := v.(int64); ok && size == 64 {
			*(*int64)(p) = n
			return nil
		}
		n, err := intFrom(v, t, size)
		if err != nil {
			return err
		}
		switch size {
		case 8:
			*(*int8)(p) = int8(n)
		case 16:
			*(*int16)(p) = int16(n)
		case 32:
			*(*int32)(p) = int32(n)
		default:
			*(*int64)(p) = n
		}
		return nil
	}
}

func uintDecoder(t reflect.Type) decodeFunc {
	size := t.Bits()
	return func(p unsafe.Pointer, v any, _ int) *Error {
		n, err := uintFrom(v, t, size)
		if err != nil {
			return err
		}
		switch size {
		case 8:
			*(*uint8)(p) = uint8(n)
		case 16:
			*(*uint16)(p) = uint16(n)
		case 32:
			*(*uint32)(p) = uint32(n)
		default:
			*(*uint64)(p) = n
		}
		return nil
	}
}

func floatDecoder(t reflect.Type) decodeFunc {
	if t.Kind() == reflect.Float32 {
		return func(p unsafe.Pointer, v any, _ int) *Error {
			f, err := float32From(v, t)
			if err != nil {
				return err
			}
			*(*float32)(p) = f
			return nil
		}
	}
	return func(p unsafe.Pointer, v any, _ int) *Error {
		if f, ok := v.(float64); ok {
			*(*float64)(p) = f
			return nil
		}
		f, err := floatFrom(v, t)
		if err != nil {
			return err
		}
		*(*float64)(p) = f
		return nil
	}
}

func decodeTime(p unsafe.Pointer, v any, _ int) *Error {
	switch x := v.(type) {
	case string:
		tm, err := time.Parse(time.RFC3339, x)
		if err != nil {
			return &Error{Want: "time.Time", Got: "string", Err: err}
		}
		*(*time.Time)(p) = tm
		return nil
	case nil:
		return nil
	}
	return mismatch(timeType, v)
}

// textDecoder hands strings to UnmarshalText and everything else to d.
func textDecoder(t reflect.Type, d decodeFunc) decodeFunc {
	return func(p unsafe.Pointer, v any, depth int) *Error {
		s, ok := v.(string)
		if !ok {
			return d(p, v, depth)
		}
		u := reflect.NewAt(t, p).Interface().(encoding.TextUnmarshaler)
		if err := u.UnmarshalText([]byte(s)); err != nil {
			return &Error{Want: t.String(), Got: "string", Err: err}
		}
		return nil
	}
}

func interfaceDecoder(t reflect.Type) decodeFunc {
	if t.NumMethod() == 0 {
		return func(p unsafe.Pointer, v any, _ int) *Error {
			*(*any)(p) = v
			return nil
		}
	}
	return func(p unsafe.Pointer, v any, _ int) *Error {
		if v == nil {
			return nil
		}
		if !reflect.TypeOf(v).Implements(t) {
			return mismatch(t, v)
		}
		reflect.NewAt(t, p).Elem().Set(reflect.ValueOf(v))
		return nil
	}
}
