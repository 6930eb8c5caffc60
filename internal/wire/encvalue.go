package wire

import (
	"encoding"
	"encoding/binary"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/sodp-go/client/internal/delta"
	"github.com/sodp-go/client/internal/pmap"
	"github.com/sodp-go/client/internal/pvec"
)

// UnsupportedError reports a Go value that has no SODP encoding: a cycle,
// a channel, a function, a complex number, a NaN or infinite float, a map
// key that cannot be written as a string, or nesting deeper than the
// protocol's value depth. It matches ErrValue with errors.Is.
type UnsupportedError struct {
	// Path is the JSON Pointer (RFC 6901) of the offending element inside
	// the value, such as "/items/3"; empty for the value itself.
	Path string
	// Type is the Go type of the offending element.
	Type string
	// Reason says why it cannot be encoded.
	Reason string

	rev []string // segments of Path, innermost first, while unwinding
}

// Error returns a message such as
//
//	cannot encode float64 at "/score": NaN is not a number SODP can carry
func (e *UnsupportedError) Error() string {
	where := "at the root"
	if e.Path != "" {
		where = "at " + strconv.Quote(e.Path)
	}
	return "cannot encode " + e.Type + " " + where + ": " + e.Reason
}

// Unwrap returns ErrValue.
func (e *UnsupportedError) Unwrap() error { return ErrValue }

func (e *UnsupportedError) at(seg string) *UnsupportedError {
	e.rev = append(e.rev, seg)
	return e
}

func (e *UnsupportedError) finish() *UnsupportedError {
	var b strings.Builder
	for i := len(e.rev) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(delta.EscapeSegment(e.rev[i]))
	}
	e.Path, e.rev = b.String(), nil
	return e
}

func unsupported(t reflect.Type, reason string) *UnsupportedError {
	name := "nil"
	if t != nil {
		name = t.String()
	}
	return &UnsupportedError{Type: name, Reason: reason}
}

// valueEncoder writes one value. stack holds the maps, slices and pointers
// on the path from the root to the element being written, so that a value
// that contains itself is refused instead of recursing forever.
type valueEncoder struct {
	b      []byte
	strict bool // refuse NaN and infinite floats
	stack  []visit
	buf    [16]visit
}

// visit identifies a container: its address (and length, for slices,
// as encoding/json does: a shorter slice of the same array is a
// different value).
type visit struct {
	p unsafe.Pointer
	n int
}

// enter pushes a container on the path, or reports that it is already on
// it (a cycle).
func (e *valueEncoder) enter(v visit, t reflect.Type) *UnsupportedError {
	if len(e.stack) >= maxDepth {
		return unsupported(t, "nesting deeper than "+strconv.Itoa(maxDepth)+" levels")
	}
	for _, s := range e.stack {
		if s == v {
			return unsupported(t, "the value contains itself (a cycle)")
		}
	}
	e.stack = append(e.stack, v)
	return nil
}

func (e *valueEncoder) leave() { e.stack = e.stack[:len(e.stack)-1] }

// AppendValue appends the MessagePack encoding of v to dst.
//
// Values of the normalised model (see Normalize) and common Go types are
// written in compact form, map keys in sorted order. Other values are
// encoded by the same field rules convert.To reads them back with:
//
//   - a struct becomes a map. Each exported field is named by its
//     `msgpack` tag, else its `json` tag, else the field's name; a tag of
//     "-" leaves the field out, and the omitempty option leaves it out when
//     it is false, 0, a nil pointer or interface, or an empty string,
//     slice, array or map. Fields of embedded structs are promoted (written
//     at the level of the embedding struct) by the rules of encoding/json;
//     a nil embedded pointer contributes nothing.
//   - a type that implements json.Marshaler (json.RawMessage included)
//     becomes the value its MarshalJSON returns, read as JSON (a number
//     written without fraction or exponent becomes an integer if it fits
//     64 bits, any other a float);
//     json.Marshaler is preferred to encoding.TextMarshaler, as in
//     encoding/json.
//   - a type that implements encoding.TextMarshaler (time.Time included)
//     becomes the string MarshalText returns.
//   - a pointer or interface becomes what it points to, nil becomes nil.
//   - []byte becomes MessagePack bin; other slices and arrays become
//     arrays.
//   - a map becomes a map; its keys must be strings, integers or
//     encoding.TextMarshaler (integers are written as decimal text).
//   - json.Number becomes the integer or float it holds; Raw is copied
//     as-is.
//
// A value that has no encoding fails with an *UnsupportedError (matching
// ErrValue) naming the path of the offending element: a cycle, more than
// 512 levels of nesting, a channel, a function, a complex number, an
// unsafe pointer, or an unsupported map key type. dst is then returned
// unchanged. NaN and infinite floats are written (MessagePack can carry
// them, and a server may send them); AppendStrictValue refuses them.
func AppendValue(dst []byte, v any) ([]byte, error) {
	return appendValue(dst, v, false)
}

// AppendStrictValue is AppendValue for values a caller hands to the
// client: it also refuses NaN and infinite floats, which have no JSON form
// and which servers store or refuse inconsistently.
func AppendStrictValue(dst []byte, v any) ([]byte, error) {
	return appendValue(dst, v, true)
}

func appendValue(dst []byte, v any, strict bool) ([]byte, error) {
	e := valueEncoder{b: dst, strict: strict}
	e.stack = e.buf[:0]
	if err := e.value(v); err != nil {
		return dst, err.finish()
	}
	return e.b, nil
}

func (e *valueEncoder) float64(f float64, t reflect.Type) *UnsupportedError {
	if e.strict && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return unsupported(t, strconv.FormatFloat(f, 'g', -1, 64)+" is not a number SODP can carry")
	}
	e.b = append(e.b, 0xcb)
	e.b = binary.BigEndian.AppendUint64(e.b, math.Float64bits(f))
	return nil
}

func (e *valueEncoder) float32(f float32, t reflect.Type) *UnsupportedError {
	if e.strict && (math.IsNaN(float64(f)) || math.IsInf(float64(f), 0)) {
		return unsupported(t, strconv.FormatFloat(float64(f), 'g', -1, 32)+" is not a number SODP can carry")
	}
	e.b = append(e.b, 0xca)
	e.b = binary.BigEndian.AppendUint32(e.b, math.Float32bits(f))
	return nil
}

// value writes v, with fast paths for the normalised model.
func (e *valueEncoder) value(v any) *UnsupportedError {
	switch x := v.(type) {
	case nil:
		e.b = append(e.b, 0xc0)
		return nil
	case bool:
		e.b = appendBool(e.b, x)
		return nil
	case string:
		e.b = appendString(e.b, x)
		return nil
	case int64:
		e.b = appendInt(e.b, x)
		return nil
	case int:
		e.b = appendInt(e.b, int64(x))
		return nil
	case uint64:
		e.b = appendUint(e.b, x)
		return nil
	case float64:
		return e.float64(x, float64Type)
	case Raw:
		e.b = append(e.b, x...)
		return nil
	case json.Number:
		return e.number(x)
	case []any:
		if x == nil {
			e.b = append(e.b, 0xc0)
			return nil
		}
		if len(x) > 0 {
			if err := e.enter(visit{unsafe.Pointer(unsafe.SliceData(x)), len(x)}, anySliceType); err != nil {
				return err
			}
			defer e.leave()
		}
		e.b = appendArrayHeader(e.b, len(x))
		for i, el := range x {
			if err := e.value(el); err != nil {
				return err.at(strconv.Itoa(i))
			}
		}
		return nil
	case []string:
		if x == nil {
			e.b = append(e.b, 0xc0)
			return nil
		}
		e.b = appendArrayHeader(e.b, len(x))
		for _, el := range x {
			e.b = appendString(e.b, el)
		}
		return nil
	case map[string]any:
		if x == nil {
			e.b = append(e.b, 0xc0)
			return nil
		}
		if len(x) > 0 {
			if err := e.enter(visit{reflect.ValueOf(x).UnsafePointer(), 0}, anyMapType); err != nil {
				return err
			}
			defer e.leave()
		}
		e.b = appendMapHeader(e.b, len(x))
		for _, k := range sortedKeys(x) {
			e.b = appendString(e.b, k)
			if err := e.value(x[k]); err != nil {
				return err.at(k)
			}
		}
		return nil
	}
	return e.reflect(reflect.ValueOf(v))
}

func (e *valueEncoder) number(x json.Number) *UnsupportedError {
	if i, err := x.Int64(); err == nil {
		e.b = appendInt(e.b, i)
		return nil
	}
	if u, err := strconv.ParseUint(string(x), 10, 64); err == nil {
		e.b = appendUint(e.b, u)
		return nil
	}
	if f, err := x.Float64(); err == nil {
		return e.float64(f, numberType)
	}
	return unsupported(numberType, strconv.Quote(string(x))+" is not a number in float64 range")
}

var (
	float64Type         = reflect.TypeFor[float64]()
	anySliceType        = reflect.TypeFor[[]any]()
	anyMapType          = reflect.TypeFor[map[string]any]()
	numberType          = reflect.TypeFor[json.Number]()
	rawType             = reflect.TypeFor[Raw]()
	stringMapType       = reflect.TypeFor[map[string]string]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	unsafePointerReason = "an unsafe pointer has no SODP encoding"
)

// reflect writes any other value.
func (e *valueEncoder) reflect(v reflect.Value) *UnsupportedError {
	if !v.IsValid() {
		e.b = append(e.b, 0xc0)
		return nil
	}
	t := v.Type()
	switch t {
	case rawType:
		e.b = append(e.b, v.Bytes()...)
		return nil
	case numberType:
		return e.number(json.Number(v.String()))
	}
	if k := t.Kind(); k != reflect.Pointer && k != reflect.Interface {
		switch textOf(t) {
		case textValue:
			return e.text(v)
		case textPointer:
			if v.CanAddr() {
				return e.text(v.Addr())
			}
		case jsonValue:
			if ops := pmap.OpsOf(t); ops != nil {
				return e.collection(v, ops)
			}
			if ops := pvec.OpsOf(t); ops != nil {
				return e.list(v, ops)
			}
			return e.json(v)
		case jsonPointer:
			if v.CanAddr() {
				return e.json(v.Addr())
			}
		}
	}
	switch t.Kind() {
	case reflect.Bool:
		e.b = appendBool(e.b, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.b = appendInt(e.b, v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.b = appendUint(e.b, v.Uint())
	case reflect.Float32:
		return e.float32(float32(v.Float()), t)
	case reflect.Float64:
		return e.float64(v.Float(), t)
	case reflect.String:
		e.b = appendString(e.b, v.String())
	case reflect.Interface:
		if v.IsNil() {
			e.b = append(e.b, 0xc0)
			return nil
		}
		return e.value(v.Elem().Interface())
	case reflect.Pointer:
		if v.IsNil() {
			e.b = append(e.b, 0xc0)
			return nil
		}
		switch textOf(t.Elem()) {
		case textPointer:
			// MarshalText with a pointer receiver.
			return e.text(v)
		case jsonPointer:
			return e.json(v)
		}
		if err := e.enter(visit{v.UnsafePointer(), -1}, t); err != nil {
			return err
		}
		defer e.leave()
		return e.reflect(v.Elem())
	case reflect.Slice:
		if v.IsNil() {
			e.b = append(e.b, 0xc0)
			return nil
		}
		if m := textOf(t.Elem()); t.Elem().Kind() == reflect.Uint8 && m != textValue && m != jsonValue {
			e.bin(v.Bytes())
			return nil
		}
		if t.Elem().Kind() == reflect.String && textOf(t.Elem()) == textNone {
			// No cycle can go through strings.
			n := v.Len()
			e.b = appendArrayHeader(e.b, n)
			for i := range n {
				e.b = appendString(e.b, v.Index(i).String())
			}
			return nil
		}
		if v.Len() > 0 {
			if err := e.enter(visit{v.UnsafePointer(), v.Len()}, t); err != nil {
				return err
			}
			defer e.leave()
		}
		return e.array(v)
	case reflect.Array:
		if t.Elem().Kind() == reflect.Float64 && textOf(t.Elem()) == textNone {
			n := v.Len()
			e.b = appendArrayHeader(e.b, n)
			for i := range n {
				if err := e.float64(v.Index(i).Float(), t.Elem()); err != nil {
					return err.at(strconv.Itoa(i))
				}
			}
			return nil
		}
		return e.array(v)
	case reflect.Map:
		if v.IsNil() {
			e.b = append(e.b, 0xc0)
			return nil
		}
		return e.mapValue(v)
	case reflect.Struct:
		return e.structValue(v)
	case reflect.Chan:
		return unsupported(t, "a channel has no SODP encoding")
	case reflect.Func:
		return unsupported(t, "a function has no SODP encoding")
	case reflect.Complex64, reflect.Complex128:
		return unsupported(t, "a complex number has no SODP encoding")
	case reflect.UnsafePointer:
		return unsupported(t, unsafePointerReason)
	default:
		return unsupported(t, "unsupported type")
	}
	return nil
}

func (e *valueEncoder) bin(b []byte) {
	n := len(b)
	switch {
	case n <= math.MaxUint8:
		e.b = append(e.b, 0xc4, byte(n))
	case n <= math.MaxUint16:
		e.b = binary.BigEndian.AppendUint16(append(e.b, 0xc5), uint16(n))
	default:
		e.b = binary.BigEndian.AppendUint32(append(e.b, 0xc6), uint32(n))
	}
	e.b = append(e.b, b...)
}

func (e *valueEncoder) array(v reflect.Value) *UnsupportedError {
	n := v.Len()
	if len(e.stack) >= maxDepth {
		return unsupported(v.Type(), "nesting deeper than "+strconv.Itoa(maxDepth)+" levels")
	}
	e.b = appendArrayHeader(e.b, n)
	for i := range n {
		if err := e.reflect(v.Index(i)); err != nil {
			return err.at(strconv.Itoa(i))
		}
	}
	return nil
}

func (e *valueEncoder) mapValue(v reflect.Value) *UnsupportedError {
	t := v.Type()
	if t == stringMapType && v.CanInterface() {
		m := v.Interface().(map[string]string)
		e.b = appendMapHeader(e.b, len(m))
		for _, k := range sortedKeys(m) {
			e.b = appendString(e.b, k)
			e.b = appendString(e.b, m[k])
		}
		return nil
	}
	keyOf := mapKeyWriter(t.Key())
	if keyOf == nil {
		return unsupported(t, "map keys of type "+t.Key().String()+" cannot be written as strings (use string, integer or encoding.TextMarshaler keys)")
	}
	if v.Len() > 0 {
		if err := e.enter(visit{v.UnsafePointer(), 0}, t); err != nil {
			return err
		}
		defer e.leave()
	}
	type entry struct {
		k string
		v reflect.Value
	}
	entries := make([]entry, 0, v.Len())
	it := v.MapRange()
	for it.Next() {
		k, err := keyOf(it.Key())
		if err != nil {
			return err
		}
		entries = append(entries, entry{k, it.Value()})
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.k, b.k) })
	e.b = appendMapHeader(e.b, len(entries))
	for _, en := range entries {
		e.b = appendString(e.b, en.k)
		if err := e.reflect(en.v); err != nil {
			return err.at(en.k)
		}
	}
	return nil
}

// mapKeyWriter returns the function that writes a map key of type kt as
// a string, or nil when kt keys cannot be read back by Convert.
func mapKeyWriter(kt reflect.Type) func(reflect.Value) (string, *UnsupportedError) {
	if kt.Implements(textMarshalerType) && kt.Kind() != reflect.Interface {
		return func(k reflect.Value) (s string, err *UnsupportedError) {
			defer func() {
				if r := recover(); r != nil {
					err = unsupported(kt, "MarshalText of a map key panicked")
				}
			}()
			b, merr := k.Interface().(encoding.TextMarshaler).MarshalText()
			if merr != nil {
				return "", unsupported(kt, "MarshalText of a map key: "+merr.Error())
			}
			return string(b), nil
		}
	}
	switch kt.Kind() {
	case reflect.String:
		return func(k reflect.Value) (string, *UnsupportedError) { return k.String(), nil }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(k reflect.Value) (string, *UnsupportedError) { return strconv.FormatInt(k.Int(), 10), nil }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(k reflect.Value) (string, *UnsupportedError) { return strconv.FormatUint(k.Uint(), 10), nil }
	}
	return nil
}
