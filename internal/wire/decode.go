package wire

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/shamaton/msgpack/v2"
	"github.com/shamaton/msgpack/v2/def"

	"github.com/sodp-go/client/internal/delta"
)

// Sentinel errors wrapped by *DecodeError; test with errors.Is.
var (
	ErrMalformed   = errors.New("malformed MessagePack")
	ErrNotArray    = errors.New("frame is not an array")
	ErrArity       = errors.New("frame does not have 4 elements")
	ErrFieldType   = errors.New("field has the wrong type")
	ErrUnknownType = errors.New("unknown frame type")
	ErrTrailing    = errors.New("trailing bytes after the frame")
	// ErrTooCostly: the frame's values would take more memory once decoded
	// than the bound given to DecodeWithin (see DecodeError.Cost).
	ErrTooCostly = errors.New("frame too large once decoded")
)

// DecodeError describes a frame that could not be decoded. Type, Stream and
// Key are filled in as far as the frame could be read, so a receiver can
// tell which subscription a broken DELTA belonged to.
type DecodeError struct {
	Err    error  // one of the sentinels above (ErrValue for a bad value)
	Type   Type   // 0 when the header could not be read
	Stream uint32 // 0 when unknown
	Key    string // the key the body named, when it could be read
	Detail string
	Cost   int64 // with ErrTooCostly: the estimated bytes of Go values the frame holds
}

func (e *DecodeError) Error() string {
	s := "sodp wire: " + e.Err.Error()
	if e.Type != 0 {
		s += fmt.Sprintf(" (%s on stream %d", e.Type, e.Stream)
		if e.Key != "" {
			s += ", key " + e.Key
		}
		s += ")"
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns the sentinel.
func (e *DecodeError) Unwrap() error { return e.Err }

// Decode decodes one frame. On failure it returns a *DecodeError, and the
// returned Frame carries as much of the header as could be read. A frame of
// an unknown type decodes its header and raw body and returns an error
// wrapping ErrUnknownType, so the receiver can report it and go on.
func Decode(data []byte) (Frame, error) {
	return decode(data, true)
}

// DecodeWithin is Decode for a frame whose decoded values may take at
// most maxCost bytes of memory (no bound when maxCost <= 0). The cost is
// estimated from the MessagePack structure before anything is decoded:
// each value counts what Go takes to hold it (an interface slot, a
// string's bytes, a slice's backing array, a map's buckets; see Cost). A
// frame over the bound is not decoded: the error wraps ErrTooCostly and
// says the cost, and the returned Frame carries the frame type and stream
// id when they can be read (the key is left to ReadHeader).
func DecodeWithin(data []byte, maxCost int64) (Frame, error) {
	return decodeWithin(data, true, maxCost)
}

// decode checks the structure of data and decodes it, trying the fast
// decoders first when fast is set (Decode); with fast unset every frame goes
// through the generic MessagePack tree, and the result must be the same. Whatever a fast decoder does not accept
// is decoded, or rejected, by the generic path.
func decode(data []byte, fast bool) (f Frame, err error) {
	return decodeWithin(data, fast, 0)
}

// decodeWithin is decode with DecodeWithin's bound on the decoded cost.
func decodeWithin(data []byte, fast bool, maxCost int64) (f Frame, err error) {
	defer func() {
		if r := recover(); r != nil {
			f = Frame{}
			f.Type, f.Stream, _ = peekHeader(data)
			err = &DecodeError{Err: ErrMalformed, Type: f.Type, Stream: f.Stream, Detail: fmt.Sprint(r)}
		}
	}()
	if len(data) == 0 {
		return f, &DecodeError{Err: ErrMalformed, Detail: "empty message"}
	}
	layout, de := scanFrame(data, maxWireDepth)
	if de != nil {
		f.Type, f.Stream, _ = peekHeader(data)
		de.Type, de.Stream = f.Type, f.Stream
		return f, de
	}
	if maxCost > 0 && layout.cost > maxCost {
		f.Type, f.Stream, _ = peekHeader(data)
		return f, &DecodeError{Err: ErrTooCostly, Type: f.Type, Stream: f.Stream, Cost: layout.cost,
			Detail: fmt.Sprintf("about %d bytes once decoded, over the bound of %d", layout.cost, maxCost)}
	}
	if fast {
		if f, ok := decodeFast(data, &layout); ok {
			return f, nil
		}
	}
	var raw any
	if e := msgpack.Unmarshal(data, &raw); e != nil {
		if !errors.Is(e, def.ErrHasLeftOver) {
			f.Type, f.Stream, _ = peekHeader(data)
			return f, &DecodeError{Err: ErrMalformed, Type: f.Type, Stream: f.Stream, Detail: e.Error()}
		}
		// One complete value followed by more bytes: read what the frame
		// says so the error can name its type, stream and key.
		var key string
		f, key, _ = decodeFrame(raw)
		f.Body = nil
		return f, &DecodeError{Err: ErrTrailing, Type: f.Type, Stream: f.Stream, Key: key, Detail: e.Error()}
	}
	f, _, err = decodeFrame(raw)
	return f, err
}

// decodeFrame decodes a frame from its generic MessagePack form. It also
// returns the key the body names, when it could be read.
func decodeFrame(raw any) (f Frame, key string, err error) {
	arr, ok := raw.([]any)
	if !ok {
		return f, "", &DecodeError{Err: ErrNotArray, Detail: fmt.Sprintf("got %s", typeName(raw))}
	}
	if len(arr) != 4 {
		return f, "", &DecodeError{Err: ErrArity, Detail: fmt.Sprintf("got %d elements", len(arr))}
	}
	t, ok := uintOf(arr[0])
	if !ok || t > math.MaxUint8 {
		return f, "", &DecodeError{Err: ErrFieldType, Detail: "frame_type: want uint8, got " + typeName(arr[0])}
	}
	f.Type = Type(t)
	s, ok := uintOf(arr[1])
	if !ok || s > math.MaxUint32 {
		return f, "", &DecodeError{Err: ErrFieldType, Type: f.Type, Detail: "stream_id: want uint32, got " + typeName(arr[1])}
	}
	f.Stream = uint32(s)
	if f.Seq, ok = uintOf(arr[2]); !ok {
		return f, "", &DecodeError{Err: ErrFieldType, Type: f.Type, Stream: f.Stream, Detail: "seq: want uint64, got " + typeName(arr[2])}
	}
	d := bodyDecoder{f: &f}
	if arr[3] != nil {
		m, ok := arr[3].(map[any]any)
		if !ok {
			if f.Type.Known() {
				return f, "", d.fail(ErrFieldType, "body: want map or nil, got "+typeName(arr[3]))
			}
		}
		d.m = m
	}
	if !f.Type.Known() {
		body, nerr := Normalize(arr[3])
		if nerr == nil {
			f.Body = body
		}
		return f, "", d.fail(ErrUnknownType, fmt.Sprintf("type 0x%02x", uint8(f.Type)))
	}
	if d.m == nil {
		// A nil body is legal for HEARTBEAT; for other frames the typed body
		// is left nil and the receiver decides whether that is an error.
		return f, "", nil
	}
	f.Body, err = d.body()
	return f, d.key, err
}

type bodyDecoder struct {
	f   *Frame
	m   map[any]any
	key string
}

func (d *bodyDecoder) fail(sentinel error, detail string) error {
	return &DecodeError{Err: sentinel, Type: d.f.Type, Stream: d.f.Stream, Key: d.key, Detail: detail}
}

func (d *bodyDecoder) body() (any, error) {
	var err error
	switch d.f.Type {
	case TypeHello:
		return d.hello()
	case TypeWatch:
		b := &Watch{}
		err = d.all(d.keyField(&b.State), d.strs("states", &b.States), d.mapField("params", &b.Params))
		return b, err
	case TypeStateInit:
		b := &StateInit{}
		err = d.all(d.keyField(&b.State), d.version("version", &b.Version), d.value("value", &b.Value),
			d.boolean("initialized", &b.Initialized), d.mapField("params", &b.Params))
		return b, err
	case TypeDelta:
		b := &Delta{}
		// A DELTA without a version cannot be ordered: version 0 would
		// make it look stale.
		err = d.all(d.keyField(&b.State), d.required("version"), d.version("version", &b.Version), d.ops(b))
		return b, err
	case TypeCall:
		b := &Call{}
		err = d.all(d.str("call_id", &b.CallID), d.str("method", &b.Method), d.mapField("args", &b.Args))
		return b, err
	case TypeResult:
		// Every field is read even when one has the wrong type, so a
		// waiting call still gets what the server said; the first
		// mistyped field is reported with the body.
		b := &Result{}
		var code int
		var msgErr, msg2Err error
		var msg string
		b.Message, msgErr = d.text("error")
		msg, msg2Err = d.text("message")
		if v := d.m["message"]; v != nil && (msg2Err == nil || msg != "") {
			// "message" wins over "error", even empty.
			b.Message = msg
		}
		err = d.all(d.str("call_id", &b.CallID), d.boolean("success", &b.Success), d.value("data", &b.Data),
			msgErr, msg2Err, d.code(&code))
		if b.Message == "" && !b.Success {
			if s, ok := b.Data.(string); ok {
				b.Message = s
			}
		}
		b.Code = code
		return b, err
	case TypeError:
		b := &Error{}
		var msgErr error
		b.Message, msgErr = d.text("message")
		err = d.all(d.code(&b.Code), msgErr)
		return b, err
	case TypeResume:
		b := &Resume{}
		err = d.all(d.keyField(&b.State), d.version("since_version", &b.SinceVersion), d.mapField("params", &b.Params))
		return b, err
	case TypeAuth:
		b := &Auth{}
		err = d.str("token", &b.Token)
		return b, err
	case TypeAuthOK:
		b := &AuthOK{}
		err = d.str("sub", &b.Sub)
		return b, err
	case TypeUnwatch:
		b := &Unwatch{}
		err = d.all(d.keyField(&b.State), d.strs("states", &b.States))
		return b, err
	}
	// HEARTBEAT with a non-nil body: the body carries nothing.
	return nil, nil
}

// hello reads every field of a HELLO, so that one of the wrong type does
// not hide the others: a text field holding another scalar (a number, a
// bool) keeps it written as text, any other field of the wrong type is
// left empty; each is named in Mistyped and in the error, which lists them
// all.
func (d *bodyDecoder) hello() (*Hello, error) {
	b := &Hello{}
	var first error
	var details []string
	check := func(name string, err error) {
		if err == nil {
			return
		}
		b.Mistyped = append(b.Mistyped, name)
		if first == nil {
			first = err
		}
		var de *DecodeError
		if errors.As(err, &de) {
			details = append(details, de.Detail)
		}
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"protocol", &b.Protocol}, {"version", &b.Version}, {"server", &b.Server}, {"server_id", &b.ServerID}} {
		var err error
		*f.dst, err = d.text(f.name)
		check(f.name, err)
	}
	check("auth", d.boolean("auth", &b.Auth))
	check("capabilities", d.mapField("capabilities", &b.Capabilities))
	if first == nil {
		return b, nil
	}
	var de *DecodeError
	errors.As(first, &de)
	return b, d.fail(de.Err, strings.Join(details, "; "))
}

func (d *bodyDecoder) all(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// keyField reads "state", or "key" when "state" is absent, and remembers it
// for error reports.
func (d *bodyDecoder) keyField(dst *string) error {
	name := "state"
	if _, ok := d.m["state"]; !ok {
		if _, ok := d.m["key"]; ok {
			name = "key"
		}
	}
	if err := d.str(name, dst); err != nil {
		return err
	}
	d.key = *dst
	return nil
}

func (d *bodyDecoder) str(name string, dst *string) error {
	v, ok := d.m[name]
	if !ok || v == nil {
		return nil
	}
	switch x := v.(type) {
	case string:
		*dst = x
	case []byte:
		*dst = string(x)
	default:
		return d.fail(ErrFieldType, fmt.Sprintf("%q: want string, got %s", name, typeName(v)))
	}
	return nil
}

// text reads a string field; a scalar of another type is written out as
// text and reported as an error with it.
func (d *bodyDecoder) text(name string) (string, error) {
	v, ok := d.m[name]
	if !ok || v == nil {
		return "", nil
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	case bool, float32, float64, int8, int16, int32, int64, int, uint8, uint16, uint32, uint64, uint:
		return fmt.Sprint(x), d.fail(ErrFieldType, fmt.Sprintf("%q: want string, got %s", name, typeName(v)))
	}
	return "", d.fail(ErrFieldType, fmt.Sprintf("%q: want string, got %s", name, typeName(v)))
}

// code reads an error code (clamped to math.MaxInt32); a code written as
// decimal text is read as its number and reported as an error with it.
func (d *bodyDecoder) code(dst *int) error {
	v, ok := d.m["code"]
	if !ok || v == nil {
		return nil
	}
	if n, ok := uintOf(v); ok {
		*dst = int(min(n, math.MaxInt32))
		return nil
	}
	err := d.fail(ErrFieldType, fmt.Sprintf(`"code": want unsigned integer, got %s`, typeName(v)))
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case []byte:
		s = string(x)
	}
	if n, perr := strconv.ParseUint(strings.TrimSpace(s), 10, 64); perr == nil {
		*dst = int(min(n, math.MaxInt32))
	}
	return err
}

func (d *bodyDecoder) boolean(name string, dst *bool) error {
	v, ok := d.m[name]
	if !ok || v == nil {
		return nil
	}
	b, ok := v.(bool)
	if !ok {
		return d.fail(ErrFieldType, fmt.Sprintf("%q: want bool, got %s", name, typeName(v)))
	}
	*dst = b
	return nil
}

// required fails when the field is missing or nil.
func (d *bodyDecoder) required(name string) error {
	if v, ok := d.m[name]; !ok || v == nil {
		return d.fail(ErrFieldType, fmt.Sprintf("%q: missing", name))
	}
	return nil
}

// version reads an unsigned integer of any width; an integral non-negative
// float is accepted too.
func (d *bodyDecoder) version(name string, dst *uint64) error {
	v, ok := d.m[name]
	if !ok || v == nil {
		return nil
	}
	n, ok := uintOf(v)
	if !ok {
		return d.fail(ErrFieldType, fmt.Sprintf("%q: want unsigned integer, got %s", name, typeName(v)))
	}
	*dst = n
	return nil
}

func (d *bodyDecoder) value(name string, dst *any) error {
	v, ok := d.m[name]
	if !ok {
		return nil
	}
	n, err := Normalize(v)
	if err != nil {
		return d.fail(ErrValue, fmt.Sprintf("%q: %v", name, err))
	}
	*dst = n
	return nil
}

func (d *bodyDecoder) mapField(name string, dst *map[string]any) error {
	v, ok := d.m[name]
	if !ok || v == nil {
		return nil
	}
	if _, isMap := v.(map[any]any); !isMap {
		return d.fail(ErrFieldType, fmt.Sprintf("%q: want map, got %s", name, typeName(v)))
	}
	n, err := Normalize(v)
	if err != nil {
		return d.fail(ErrValue, fmt.Sprintf("%q: %v", name, err))
	}
	*dst = n.(map[string]any)
	return nil
}

func (d *bodyDecoder) strs(name string, dst *[]string) error {
	v, ok := d.m[name]
	if !ok || v == nil {
		return nil
	}
	arr, ok := v.([]any)
	if !ok {
		return d.fail(ErrFieldType, fmt.Sprintf("%q: want array of strings, got %s", name, typeName(v)))
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			return d.fail(ErrFieldType, fmt.Sprintf("%q[%d]: want string, got %s", name, i, typeName(e)))
		}
		out[i] = s
	}
	*dst = out
	return nil
}

func (d *bodyDecoder) ops(b *Delta) error {
	v, ok := d.m["ops"]
	if !ok || v == nil {
		return d.fail(ErrFieldType, `"ops": missing`)
	}
	arr, ok := v.([]any)
	if !ok {
		return d.fail(ErrFieldType, `"ops": want array, got `+typeName(v))
	}
	out := make([]delta.Op, len(arr))
	for i, e := range arr {
		m, ok := e.(map[any]any)
		if !ok {
			return d.fail(ErrFieldType, fmt.Sprintf(`"ops"[%d]: want map, got %s`, i, typeName(e)))
		}
		op, ok1 := m["op"].(string)
		path, ok2 := m["path"].(string)
		if !ok1 || !ok2 {
			return d.fail(ErrFieldType, fmt.Sprintf(`"ops"[%d]: want string "op" and "path"`, i))
		}
		raw, has := m["value"]
		val, err := Normalize(raw)
		if err != nil {
			return d.fail(ErrValue, fmt.Sprintf(`"ops"[%d].value: %v`, i, err))
		}
		out[i] = delta.Op{Op: op, Path: path, Value: val}
		if !has && setsValue(op) {
			b.NoValue = append(b.NoValue, i)
		}
	}
	b.Ops = out
	return nil
}

// setsValue reports whether op is one whose value matters (ADD, UPDATE).
func setsValue(op string) bool { return op == delta.OpAdd || op == delta.OpUpdate }

// uintOf converts any non-negative integer width, or an integral
// non-negative float, to uint64.
func uintOf(v any) (uint64, bool) {
	switch x := v.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case uint:
		return uint64(x), true
	case int8:
		return uint64(x), x >= 0
	case int16:
		return uint64(x), x >= 0
	case int32:
		return uint64(x), x >= 0
	case int64:
		return uint64(x), x >= 0
	case int:
		return uint64(x), x >= 0
	case float64:
		if x >= 0 && x < 1<<64 && x == math.Trunc(x) {
			return uint64(x), true
		}
	case float32:
		return uintOf(float64(x))
	}
	return 0, false
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "nil"
	case bool:
		return "bool"
	case string:
		return "string"
	case []byte:
		return "bin"
	case []any:
		return "array"
	case map[any]any, map[string]any:
		return "map"
	case float32, float64:
		return "float"
	case int8, int16, int32, int64, int, uint8, uint16, uint32, uint64, uint:
		return "integer"
	}
	return fmt.Sprintf("%T", v)
}
