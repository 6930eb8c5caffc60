package convert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"time"
	"unsafe"
)

// Types filled through JSON, and time.Duration.

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	durationType        = reflect.TypeFor[time.Duration]()
)

// unmarshalsJSON reports whether a pointer to t implements
// json.Unmarshaler (json.RawMessage does), t being neither a pointer nor an
// interface (those reach their element's decoder).
func unmarshalsJSON(t reflect.Type) bool {
	k := t.Kind()
	return k != reflect.Pointer && k != reflect.Interface && reflect.PointerTo(t).Implements(jsonUnmarshalerType)
}

// jsonDecoder writes v as JSON (map keys sorted, no HTML escaping) and
// hands it to UnmarshalJSON. nil leaves the zero value, as for every
// other type.
func jsonDecoder(t reflect.Type) decodeFunc {
	return func(p unsafe.Pointer, v any, _ int) (e *Error) {
		if v == nil {
			return nil
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return &Error{Want: t.String(), Got: kindOf(v), Err: fmt.Errorf("no JSON form: %w", err)}
		}
		defer func() {
			if r := recover(); r != nil {
				e = &Error{Want: t.String(), Got: kindOf(v), Err: fmt.Errorf("UnmarshalJSON panicked: %v", r)}
			}
		}()
		u := reflect.NewAt(t, p).Interface().(json.Unmarshaler)
		if err := u.UnmarshalJSON(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))); err != nil {
			return &Error{Want: t.String(), Got: kindOf(v), Err: err}
		}
		return nil
	}
}

// durationDecoder takes a string in time.ParseDuration's form ("1m30s")
// and hands every other value to d, which reads a number of nanoseconds.
func durationDecoder(d decodeFunc) decodeFunc {
	return func(p unsafe.Pointer, v any, depth int) *Error {
		s, ok := v.(string)
		if !ok {
			return d(p, v, depth)
		}
		x, err := time.ParseDuration(s)
		if err != nil {
			return &Error{Want: durationType.String(), Got: "string", Err: err}
		}
		*(*time.Duration)(p) = x
		return nil
	}
}
