package wire

import (
	"cmp"
	"encoding"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// ConvertError reports a value of the normalised tree that does not fit the
// Go type it is converted into.
type ConvertError struct {
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
	// travels up to Convert.
	rev []string
}

// Error returns a message such as
//
//	wire: cannot convert integer into uint8 at "/level": 300 is out of range
func (e *ConvertError) Error() string {
	var b strings.Builder
	b.WriteString("wire: cannot convert ")
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
func (e *ConvertError) Unwrap() error { return e.Err }

// at records that the error happened below the map key or index seg.
func (e *ConvertError) at(seg string) *ConvertError {
	e.rev = append(e.rev, seg)
	return e
}

func (e *ConvertError) atIndex(i int) *ConvertError { return e.at(strconv.Itoa(i)) }

// finish turns the collected segments into Path.
func (e *ConvertError) finish() *ConvertError {
	if len(e.rev) > 0 {
		var b strings.Builder
		for i := len(e.rev) - 1; i >= 0; i-- {
			b.WriteByte('/')
			seg := e.rev[i]
			if strings.ContainsAny(seg, "~/") {
				seg = pointerEscaper.Replace(seg)
			}
			b.WriteString(seg)
		}
		e.Path = b.String() + e.Path
		e.rev = nil
	}
	return e
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// errNotPointer is returned by Convert for a destination that is not a
// non-nil pointer.
var errNotPointer = errors.New("wire: Convert needs a non-nil pointer")

// maxConvertDepth bounds the recursion of Convert, which would otherwise
// not end on a tree that contains itself.
const maxConvertDepth = 10000

// Convert stores the normalised value v (see Normalize) into the variable
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
//     Unexported fields are never set.
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
// Any value that does not fit is reported as a *ConvertError naming its
// location; dst then holds a partly converted value. Conversion plans are
// built once per destination type and cached.
func Convert(v any, dst any) error {
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
type decodeFunc func(p unsafe.Pointer, v any, depth int) *ConvertError

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
		return func(p unsafe.Pointer, v any, depth int) *ConvertError {
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
	if t == timeType {
		return decodeTime
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

// kindOf names the kind of a normalised value for ConvertError.Got.
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

func mismatch(t reflect.Type, v any) *ConvertError {
	return &ConvertError{Want: t.String(), Got: kindOf(v)}
}

func refuse(t reflect.Type, v any, format string, args ...any) *ConvertError {
	return &ConvertError{Want: t.String(), Got: kindOf(v), Err: fmt.Errorf(format, args...)}
}

func tooDeep(t reflect.Type, v any) *ConvertError {
	return refuse(t, v, "nesting deeper than %d", maxConvertDepth)
}

func unsupportedDecoder(t reflect.Type, why string) decodeFunc {
	err := errors.New(why)
	return func(_ unsafe.Pointer, v any, _ int) *ConvertError {
		if v == nil {
			return nil
		}
		return &ConvertError{Want: t.String(), Got: kindOf(v), Err: err}
	}
}

// Scalars. Each converter returns the zero value for nil and reports
// failures against t, the destination type.

func boolFrom(v any, t reflect.Type) (bool, *ConvertError) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case nil:
		return false, nil
	}
	return false, mismatch(t, v)
}

func stringFrom(v any, t reflect.Type) (string, *ConvertError) {
	switch x := v.(type) {
	case string:
		return x, nil
	case nil:
		return "", nil
	}
	return "", mismatch(t, v)
}

// intFrom converts v into a signed integer of the given width.
func intFrom(v any, t reflect.Type, size int) (int64, *ConvertError) {
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
func uintFrom(v any, t reflect.Type, size int) (uint64, *ConvertError) {
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

func floatFrom(v any, t reflect.Type) (float64, *ConvertError) {
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

func float32From(v any, t reflect.Type) (float32, *ConvertError) {
	f, err := floatFrom(v, t)
	if err == nil && math.Abs(f) > math.MaxFloat32 && !math.IsInf(f, 0) {
		return 0, refuse(t, v, "%v is out of range", f)
	}
	return float32(f), err
}

// Typed converters for the fast slice and map paths.

func intOf(v any, t reflect.Type) (int, *ConvertError) {
	n, err := intFrom(v, t, strconv.IntSize)
	return int(n), err
}

func int64Of(v any, t reflect.Type) (int64, *ConvertError) { return intFrom(v, t, 64) }

func boolDecoder(t reflect.Type) decodeFunc {
	return func(p unsafe.Pointer, v any, _ int) *ConvertError {
		x, err := boolFrom(v, t)
		*(*bool)(p) = x
		return err
	}
}

func stringDecoder(t reflect.Type) decodeFunc {
	return func(p unsafe.Pointer, v any, _ int) *ConvertError {
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
	return func(p unsafe.Pointer, v any, _ int) *ConvertError {
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
	return func(p unsafe.Pointer, v any, _ int) *ConvertError {
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
		return func(p unsafe.Pointer, v any, _ int) *ConvertError {
			f, err := float32From(v, t)
			if err != nil {
				return err
			}
			*(*float32)(p) = f
			return nil
		}
	}
	return func(p unsafe.Pointer, v any, _ int) *ConvertError {
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

func decodeTime(p unsafe.Pointer, v any, _ int) *ConvertError {
	switch x := v.(type) {
	case string:
		tm, err := time.Parse(time.RFC3339, x)
		if err != nil {
			return &ConvertError{Want: "time.Time", Got: "string", Err: err}
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
	return func(p unsafe.Pointer, v any, depth int) *ConvertError {
		s, ok := v.(string)
		if !ok {
			return d(p, v, depth)
		}
		u := reflect.NewAt(t, p).Interface().(encoding.TextUnmarshaler)
		if err := u.UnmarshalText([]byte(s)); err != nil {
			return &ConvertError{Want: t.String(), Got: "string", Err: err}
		}
		return nil
	}
}

func interfaceDecoder(t reflect.Type) decodeFunc {
	if t.NumMethod() == 0 {
		return func(p unsafe.Pointer, v any, _ int) *ConvertError {
			*(*any)(p) = v
			return nil
		}
	}
	return func(p unsafe.Pointer, v any, _ int) *ConvertError {
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

func (b *planBuilder) pointerDecoder(t reflect.Type) decodeFunc {
	et := t.Elem()
	ed := b.decoder(et)
	return func(p unsafe.Pointer, v any, depth int) *ConvertError {
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

func (b *planBuilder) sliceDecoder(t reflect.Type) decodeFunc {
	et := t.Elem()
	switch et {
	case anyType:
		return func(p unsafe.Pointer, v any, _ int) *ConvertError {
			switch a := v.(type) {
			case []any:
				*(*[]any)(p) = a
				return nil
			case nil:
				return nil
			}
			return mismatch(t, v)
		}
	case reflect.TypeFor[string]():
		return typedSlice(t, stringFrom)
	case reflect.TypeFor[int]():
		return typedSlice(t, intOf)
	case reflect.TypeFor[int64]():
		return typedSlice(t, int64Of)
	case reflect.TypeFor[float64]():
		return typedSlice(t, floatFrom)
	case reflect.TypeFor[bool]():
		return typedSlice(t, boolFrom)
	}
	ed := b.decoder(et)
	size := et.Size()
	generic := func(p unsafe.Pointer, v any, depth int) *ConvertError {
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
		return func(p unsafe.Pointer, v any, depth int) *ConvertError {
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
func typedSlice[E any](t reflect.Type, conv func(any, reflect.Type) (E, *ConvertError)) decodeFunc {
	et := t.Elem()
	return func(p unsafe.Pointer, v any, _ int) *ConvertError {
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
	return func(p unsafe.Pointer, v any, depth int) *ConvertError {
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
			return func(p unsafe.Pointer, v any, _ int) *ConvertError {
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
		case reflect.TypeFor[string]():
			return typedMap(t, stringFrom)
		case reflect.TypeFor[int]():
			return typedMap(t, intOf)
		case reflect.TypeFor[int64]():
			return typedMap(t, int64Of)
		case reflect.TypeFor[float64]():
			return typedMap(t, floatFrom)
		case reflect.TypeFor[bool]():
			return typedMap(t, boolFrom)
		}
	}
	key := keyParser(kt)
	if key == nil {
		return unsupportedDecoder(t, "unsupported map key type "+kt.String())
	}
	ed := b.decoder(et)
	return func(p unsafe.Pointer, v any, depth int) *ConvertError {
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
				return (&ConvertError{Want: kt.String(), Got: "map key", Err: err}).at(k)
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
func typedMap[E any](t reflect.Type, conv func(any, reflect.Type) (E, *ConvertError)) decodeFunc {
	et := t.Elem()
	exact := t == reflect.TypeFor[map[string]E]()
	return func(p unsafe.Pointer, v any, _ int) *ConvertError {
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

// Structs.

// structField is one settable field of a struct plan.
type structField struct {
	name   string
	offset uintptr // from the struct, or from the last embedded pointer
	hops   []embedHop
	dec    decodeFunc
}

// embedHop is an embedded pointer on the way to a promoted field.
type embedHop struct {
	offset uintptr
	elem   reflect.Type
}

type structPlan struct {
	t      reflect.Type
	fields []structField
	byName nameIndex      // exact name → index in fields
	byFold map[string]int // folded name → first field with it
}

func (b *planBuilder) structDecoder(t reflect.Type) decodeFunc {
	specs := structFields(t)
	sp := &structPlan{
		t:      t,
		fields: make([]structField, len(specs)),
		byFold: make(map[string]int, len(specs)),
	}
	names := make([]string, len(specs))
	for i, s := range specs {
		f := &sp.fields[i]
		f.name = s.name
		names[i] = s.name
		typ := t
		for j, x := range s.index {
			sf := typ.Field(x)
			f.offset += sf.Offset
			typ = sf.Type
			if j == len(s.index)-1 {
				break
			}
			if typ.Kind() == reflect.Pointer {
				typ = typ.Elem()
				f.hops = append(f.hops, embedHop{offset: f.offset, elem: typ})
				f.offset = 0
			}
		}
		f.dec = b.decoder(typ)
		if k := foldName(s.name); !hasKey(sp.byFold, k) {
			sp.byFold[k] = i
		}
	}
	sp.byName = newNameIndex(names)
	return sp.decode
}

func hasKey(m map[string]int, k string) bool {
	_, ok := m[k]
	return ok
}

func (sp *structPlan) decode(p unsafe.Pointer, v any, depth int) *ConvertError {
	m, ok := v.(map[string]any)
	if !ok {
		if v == nil {
			return nil
		}
		return mismatch(sp.t, v)
	}
	if depth >= maxConvertDepth {
		return tooDeep(sp.t, v)
	}
	var hits int
	if 2*len(m) < len(sp.fields) {
		// Few keys for many fields: walk the map, with one cheap name
		// lookup per key.
		for k, x := range m {
			i := sp.byName.lookup(k)
			if i < 0 {
				continue
			}
			hits++
			f := &sp.fields[i]
			if err := f.dec(f.ptr(p), x, depth+1); err != nil {
				return err.at(k)
			}
		}
	} else {
		// Looking each field up in the map costs less than iterating
		// over the map.
		for i := range sp.fields {
			f := &sp.fields[i]
			x, ok := m[f.name]
			if !ok {
				continue
			}
			hits++
			if err := f.dec(f.ptr(p), x, depth+1); err != nil {
				return err.at(f.name)
			}
		}
	}
	// Keys that matched no name exactly may still match a field that
	// has no exact key without regard to case.
	if hits == len(m) || hits == len(sp.fields) {
		return nil
	}
	return sp.decodeFolded(p, m, depth)
}

// nameIndex finds a field by its exact name. For most structs it is a
// perfect hash table over a few bytes of the name, much cheaper than a Go
// map; names that defeat it go into a map.
type nameIndex struct {
	slots    []nameSlot
	seed     uint64
	shift    uint
	fallback map[string]int
}

type nameSlot struct {
	name  string
	field int
}

// nameWord packs the length and five bytes of a non-empty name.
func nameWord(k string) uint64 {
	n := len(k)
	return uint64(n) | uint64(k[0])<<16 | uint64(k[n-1])<<24 | uint64(k[n/2])<<32 |
		uint64(k[n/3])<<40 | uint64(k[2*n/3])<<48
}

func newNameIndex(names []string) nameIndex {
	if len(names) == 0 {
		return nameIndex{}
	}
	seed := uint64(0x9e3779b97f4a7c15)
	for size := 4 * len(names); size <= 32*len(names); size *= 2 {
		b := uint(bits.Len(uint(size - 1)))
		for range 64 {
			// A splitmix64 step gives the next odd multiplier.
			seed += 0x9e3779b97f4a7c15
			z := (seed ^ seed>>30) * 0xbf58476d1ce4e5b9
			z = (z ^ z>>27) * 0x94d049bb133111eb
			x := nameIndex{slots: make([]nameSlot, 1<<b), seed: (z ^ z>>31) | 1, shift: 64 - b}
			ok := true
			for i, name := range names {
				s := &x.slots[x.slot(name)]
				if s.name != "" {
					ok = false
					break
				}
				*s = nameSlot{name: name, field: i}
			}
			if ok {
				return x
			}
		}
	}
	x := nameIndex{fallback: make(map[string]int, len(names))}
	for i, name := range names {
		x.fallback[name] = i
	}
	return x
}

func (x *nameIndex) slot(k string) uint64 { return nameWord(k) * x.seed >> x.shift }

// lookup returns the index of the field named k, or -1.
func (x *nameIndex) lookup(k string) int {
	if x.slots != nil {
		if k == "" {
			return -1
		}
		if s := &x.slots[x.slot(k)]; s.name == k {
			return s.field
		}
		return -1
	}
	if i, ok := x.fallback[k]; ok {
		return i
	}
	return -1
}

// decodeFolded sets the fields that have no exact key from keys that
// match their names without regard to case. Of several such keys, the
// smallest wins, so that the result does not depend on map order.
func (sp *structPlan) decodeFolded(p unsafe.Pointer, m map[string]any, depth int) *ConvertError {
	var small [16]string
	var pick []string // the key chosen for each field, lazily made
	for k := range m {
		if sp.byName.lookup(k) >= 0 {
			continue
		}
		var buf [64]byte
		i, ok := sp.byFold[string(appendFold(buf[:0], k))]
		if !ok {
			continue
		}
		if _, exact := m[sp.fields[i].name]; exact {
			continue
		}
		if pick == nil {
			if len(sp.fields) <= len(small) {
				pick = small[:len(sp.fields)]
			} else {
				pick = make([]string, len(sp.fields))
			}
		}
		if pick[i] == "" || k < pick[i] {
			pick[i] = k
		}
	}
	for i, k := range pick {
		if k == "" {
			continue
		}
		f := &sp.fields[i]
		if err := f.dec(f.ptr(p), m[k], depth+1); err != nil {
			return err.at(k)
		}
	}
	return nil
}

// ptr returns the address of the field in the struct at p, allocating the
// embedded pointers on the way.
func (f *structField) ptr(p unsafe.Pointer) unsafe.Pointer {
	for _, h := range f.hops {
		q := (*unsafe.Pointer)(unsafe.Add(p, h.offset))
		if *q == nil {
			*q = reflect.New(h.elem).UnsafePointer()
		}
		p = *q
	}
	return unsafe.Add(p, f.offset)
}

// foldName returns the form of name that case-insensitive matching
// compares, as encoding/json does.
func foldName(name string) string {
	return string(appendFold(nil, name))
}

func appendFold(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		dst = utf8.AppendRune(dst, unicode.ToUpper(unicode.ToLower(r)))
		i += n
	}
	return dst
}

// fieldSpec is a field found by structFields.
type fieldSpec struct {
	name   string
	tagged bool
	index  []int
}

// fieldName resolves the name of a struct field from its tags; skip
// reports a field tagged "-".
func fieldName(sf reflect.StructField) (name string, skip bool) {
	for _, key := range [...]string{"msgpack", "json"} {
		tag, ok := sf.Tag.Lookup(key)
		if !ok {
			continue
		}
		if tag == "-" {
			return "", true
		}
		if name, _, _ = strings.Cut(tag, ","); name != "" {
			return name, false
		}
	}
	return "", false
}

// structFields lists the fields a map fills in a struct of type t,
// following the visibility rules of encoding/json for embedded structs.
func structFields(t reflect.Type) []fieldSpec {
	type level struct {
		typ   reflect.Type
		index []int
	}
	var current []level
	next := []level{{typ: t}}
	var count, nextCount map[reflect.Type]int
	visited := map[reflect.Type]bool{}
	var fields []fieldSpec
	for len(next) > 0 {
		current, next = next, current[:0]
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, l := range current {
			if visited[l.typ] {
				continue
			}
			visited[l.typ] = true
			for i := range l.typ.NumField() {
				sf := l.typ.Field(i)
				if sf.Anonymous {
					et := sf.Type
					if et.Kind() == reflect.Pointer {
						if !sf.IsExported() {
							// Its fields could not be allocated.
							continue
						}
						et = et.Elem()
					}
					if !sf.IsExported() && et.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				name, skip := fieldName(sf)
				if skip {
					continue
				}
				index := append(slices.Clip(l.index), i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					if !sf.IsExported() {
						// An unexported embedded struct with a tag
						// cannot be set as a whole.
						continue
					}
					tagged := name != ""
					if name == "" {
						name = sf.Name
					}
					fields = append(fields, fieldSpec{name: name, tagged: tagged, index: index})
					if count[l.typ] > 1 {
						// The type is embedded more than once at this
						// depth: a duplicate makes the field ambiguous.
						fields = append(fields, fields[len(fields)-1])
					}
					continue
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					next = append(next, level{typ: ft, index: index})
				}
			}
		}
	}

	slices.SortFunc(fields, func(a, b fieldSpec) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := cmp.Compare(len(a.index), len(b.index)); c != 0 {
			return c
		}
		if a.tagged != b.tagged {
			if a.tagged {
				return -1
			}
			return 1
		}
		return slices.Compare(a.index, b.index)
	})
	// Of the fields sharing a name, keep the dominant one: the shallowest,
	// if it is alone at its depth or the only tagged one there.
	out := fields[:0]
	for i := 0; i < len(fields); {
		j := i + 1
		for j < len(fields) && fields[j].name == fields[i].name {
			j++
		}
		group := fields[i:j]
		if len(group) == 1 || len(group[0].index) < len(group[1].index) || group[0].tagged != group[1].tagged {
			out = append(out, group[0])
		}
		i = j
	}
	slices.SortFunc(out, func(a, b fieldSpec) int { return slices.Compare(a.index, b.index) })
	return out
}
