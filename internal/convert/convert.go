// Package convert stores values of the normalised model (the nil,
// bool, int64, uint64, float64, string, []any and map[string]any trees
// that package wire decodes) into typed Go variables, for the typed
// updates and call results of package sodp. It uses only the standard
// library and builds one conversion plan per destination type.
//
//   - convert.go: the entry point To, the Error type and the plan cache.
//   - scalars.go: booleans, strings, integers, floats, time.Time, text
//     unmarshalers and interfaces.
//   - containers.go: pointers, slices, arrays and maps.
//   - structs.go: struct plans (field lookup by exact and folded name,
//     embedded structs).
//   - collection.go, list.go: the persistent maps and lists of packages
//     pmap and pvec, converted by path at the cost of the entries that
//     changed.
//   - reuse.go: Reusing, which converts a new value taking over the parts
//     it shares with the previous one.
package convert

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/sodp-go/client/internal/delta"
	"github.com/sodp-go/client/internal/pmap"
	"github.com/sodp-go/client/internal/pvec"
)

// Error reports a value of the normalised tree that does not fit the
// Go type it is converted into.
type Error struct {
	// Path is the JSON Pointer (RFC 6901) of the failing value in the
	// tree, such as "/items/3/name"; it is empty for the root.
	Path string
	// Want is the Go type the value was to be stored in, such as "int8".
	Want string
	// Got is the kind of the value found: "nil", "bool", "integer",
	// "float", "string", "array" or "map" ("map key" for a key that does
	// not parse as the map's key type), or the Go type of a value that is
	// not part of the normalised model.
	Got string
	// Err, when not nil, tells why a value of the right kind was refused:
	// out of range, fractional, a bad time, an UnmarshalText failure …
	Err error

	// rev holds the segments of Path, innermost first, while the error
	// travels up to To.
	rev []string
}

// Error returns a message such as
//
//	convert: cannot convert integer into uint8 at "/level": 300 is out of range
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("convert: cannot convert ")
	b.WriteString(e.Got)
	b.WriteString(" into ")
	b.WriteString(e.Want)
	if e.Path == "" {
		b.WriteString(" at the root")
	} else {
		b.WriteString(" at ")
		b.WriteString(strconv.Quote(e.Path))
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// at records that the error happened below the map key or index seg.
func (e *Error) at(seg string) *Error {
	e.rev = append(e.rev, seg)
	return e
}

func (e *Error) atIndex(i int) *Error { return e.at(strconv.Itoa(i)) }

// finish turns the collected segments into Path.
func (e *Error) finish() *Error {
	if len(e.rev) > 0 {
		var b strings.Builder
		for i := len(e.rev) - 1; i >= 0; i-- {
			b.WriteByte('/')
			seg := e.rev[i]
			if strings.ContainsAny(seg, "~/") {
				seg = delta.EscapeSegment(seg)
			}
			b.WriteString(seg)
		}
		e.Path = b.String() + e.Path
		e.rev = nil
	}
	return e
}

// errNotPointer is returned by To for a destination that is not a
// non-nil pointer.
var errNotPointer = errors.New("convert: To needs a non-nil pointer")

// maxConvertDepth bounds the recursion of To, which would otherwise
// not end on a tree that contains itself.
const maxConvertDepth = 10000

// To stores the normalised value v (see wire.Normalize) into the variable
// dst points to. dst must be a non-nil pointer.
//
// v should hold only the types of the normalised model; any other Go type
// in it is reported as a mismatch, unless an interface destination takes
// it whole. The variable is zeroed first and then filled from v, so it
// never keeps anything of its previous contents. The rules, by the
// destination's type:
//
//   - *any: v itself is stored; nothing is copied.
//   - nil fits every type and leaves the zero value (a nil pointer, slice,
//     map or interface, a zero struct or number).
//   - struct: filled from a map. Each exported field takes its name from
//     a `msgpack:"name"` tag, else a `json:"name"` tag, else the field's
//     own name; a tag of "-" skips the field and options after a comma
//     (omitempty …) are ignored here. A key matches a field by its exact name
//     first and otherwise without regard to case, as in encoding/json.
//     Fields of embedded structs are promoted by the rules of
//     encoding/json (an embedded pointer is allocated when one of its
//     fields is set; unexported embedded pointers are skipped). Unknown
//     keys are ignored; fields without a key keep their zero value.
//     Unexported fields are never set: a struct type that has fields but
//     none a key can name (all unexported or tagged "-"), and no
//     unmarshaling method, takes nothing but nil — any other value is an
//     error rather than a silent zero.
//   - pointer: nil stays a nil pointer; anything else is converted into a
//     newly allocated element.
//   - int, int8 … int64, uint … uint64: from an integer, or from a float
//     with no fractional part; a value out of the type's range (negative
//     into an unsigned type included) is an error. time.Duration is an
//     int64 counting nanoseconds.
//   - float32, float64: from an integer or a float (a finite float64 too
//     large for a float32 is an error).
//   - bool from a bool; string from a string.
//   - []byte (or another slice of a byte kind): from a string, whose bytes
//     are copied, or from an array of small integers.
//   - slice: from an array, element by element into a new slice. A slice
//     of type []any takes the array itself: it is shared with v.
//   - array: from an array of at most its length; the rest stays zero.
//   - map: from a map, entry by entry into a new map; a map[string]any
//     takes the map itself, shared with v. A key type that implements
//     encoding.TextUnmarshaler gets each key through it, a string key
//     type takes the keys as they are and an integer key type parses them
//     as decimal numbers; any other key type is an error.
//   - interface: the value is stored when its Go type implements the
//     interface (always, for any); a map or array stored this way is
//     shared with v.
//   - time.Time: from an RFC 3339 string.
//   - time.Duration: from a number of nanoseconds (the form it is sent
//     in) or from a string time.ParseDuration reads, such as "1m30s".
//   - a type that implements json.Unmarshaler (through a pointer receiver
//     or not; json.RawMessage is one): the value is written as JSON, map
//     keys sorted, and passed to UnmarshalJSON, whatever its kind.
//     json.Unmarshaler is preferred to encoding.TextUnmarshaler, as in
//     encoding/json (time.Time excepted, read as above).
//   - a type that implements encoding.TextUnmarshaler (through a pointer
//     receiver or not): a string is passed to UnmarshalText; a value of
//     another kind is converted by the rules above.
//   - channels, functions, complex numbers and unsafe pointers take
//     nothing but nil.
//
// Values shared with v (in []any, map[string]any and interface
// destinations) are immutable by the contract of the normalised model:
// neither the caller nor anyone else may modify them.
//
// Any value that does not fit is reported as a *Error naming its
// location; dst then holds a partly converted value. Conversion plans are
// built once per destination type and cached.
func To(v any, dst any) error {
	if p, ok := dst.(*any); ok {
		if p == nil {
			return errNotPointer
		}
		*p = v
		return nil
	}
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("%w, got %T", errNotPointer, dst)
	}
	dec := decoderFor(rv.Type().Elem())
	rv.Elem().SetZero()
	if err := dec(rv.UnsafePointer(), v, 0); err != nil {
		return err.finish()
	}
	return nil
}

// decodeFunc stores v into the zeroed variable at p. depth counts the
// containers and pointers above it.
type decodeFunc func(p unsafe.Pointer, v any, depth int) *Error

// decoders caches the decodeFunc of each destination type.
var decoders sync.Map // reflect.Type → decodeFunc

func decoderFor(t reflect.Type) decodeFunc {
	if d, ok := decoders.Load(t); ok {
		return d.(decodeFunc)
	}
	b := planBuilder{building: make(map[reflect.Type]*decodeFunc)}
	d := b.decoder(t)
	// Every slot is filled now; publish them all, so that the types
	// reached from t need no plan of their own later.
	for typ, slot := range b.building {
		decoders.LoadOrStore(typ, *slot)
	}
	return d
}

// planBuilder builds the decoders of one type and of the types it contains.
type planBuilder struct {
	building map[reflect.Type]*decodeFunc
}

func (b *planBuilder) decoder(t reflect.Type) decodeFunc {
	if d, ok := decoders.Load(t); ok {
		return d.(decodeFunc)
	}
	if slot, ok := b.building[t]; ok {
		if *slot != nil {
			return *slot
		}
		// t contains itself: call through the slot, which is filled
		// before any conversion runs.
		return func(p unsafe.Pointer, v any, depth int) *Error {
			return (*slot)(p, v, depth)
		}
	}
	slot := new(decodeFunc)
	b.building[t] = slot
	*slot = b.build(t)
	return *slot
}

var (
	anyType             = reflect.TypeFor[any]()
	timeType            = reflect.TypeFor[time.Time]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func (b *planBuilder) build(t reflect.Type) decodeFunc {
	if ops := pmap.OpsOf(t); ops != nil {
		return b.collectionDecoder(t, ops)
	}
	if ops := pvec.OpsOf(t); ops != nil {
		return b.listDecoder(t, ops)
	}
	switch {
	case t == timeType:
		return decodeTime
	case t == durationType:
		return durationDecoder(b.kindDecoder(t))
	case unmarshalsJSON(t):
		return jsonDecoder(t)
	}
	d := b.kindDecoder(t)
	if k := t.Kind(); k != reflect.Pointer && k != reflect.Interface && reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return textDecoder(t, d)
	}
	return d
}

func (b *planBuilder) kindDecoder(t reflect.Type) decodeFunc {
	switch t.Kind() {
	case reflect.Bool:
		return boolDecoder(t)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return intDecoder(t)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return uintDecoder(t)
	case reflect.Float32, reflect.Float64:
		return floatDecoder(t)
	case reflect.String:
		return stringDecoder(t)
	case reflect.Interface:
		return interfaceDecoder(t)
	case reflect.Pointer:
		return b.pointerDecoder(t)
	case reflect.Slice:
		return b.sliceDecoder(t)
	case reflect.Array:
		return b.arrayDecoder(t)
	case reflect.Map:
		return b.mapDecoder(t)
	case reflect.Struct:
		return b.structDecoder(t)
	}
	return unsupportedDecoder(t, "unsupported destination type")
}

// kindOf names the kind of a normalised value for Error.Got.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "nil"
	case bool:
		return "bool"
	case int64, uint64:
		return "integer"
	case float64:
		return "float"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "map"
	}
	return fmt.Sprintf("%T", v)
}

func mismatch(t reflect.Type, v any) *Error {
	return &Error{Want: t.String(), Got: kindOf(v)}
}

func refuse(t reflect.Type, v any, format string, args ...any) *Error {
	return &Error{Want: t.String(), Got: kindOf(v), Err: fmt.Errorf(format, args...)}
}

func tooDeep(t reflect.Type, v any) *Error {
	return refuse(t, v, "nesting deeper than %d", maxConvertDepth)
}

func unsupportedDecoder(t reflect.Type, why string) decodeFunc {
	err := errors.New(why)
	return func(_ unsafe.Pointer, v any, _ int) *Error {
		if v == nil {
			return nil
		}
		return &Error{Want: t.String(), Got: kindOf(v), Err: err}
	}
}

// Scalars. Each converter returns the zero value for nil and reports
// failures against t, the destination type.

// Typed converters for the fast slice and map paths.

// Structs.
