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

// decodeGeneric is Decode without the fast decoders: every frame goes
// through the generic MessagePack tree. Decode must return exactly what it
// returns.
func decodeGeneric(data []byte) (Frame, error) {
	return decode(data, false)
}

// decode checks the structure of data and decodes it, trying the fast
// decoders first when fast is set. Whatever a fast decoder does not accept
// is decoded, or rejected, by the generic path.
func decode(data []byte, fast bool) (f Frame, err error) {
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
		b := &Hello{}
		err = d.all(
			d.str("protocol", &b.Protocol), d.str("version", &b.Version), d.str("server", &b.Server),
			d.str("server_id", &b.ServerID), d.boolean("auth", &b.Auth), d.mapField("capabilities", &b.Capabilities))
		return b, err
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
		err = d.all(d.keyField(&b.State), d.version("version", &b.Version), d.ops(&b.Ops))
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

func (d *bodyDecoder) ops(dst *[]delta.Op) error {
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
		val, err := Normalize(m["value"])
		if err != nil {
			return d.fail(ErrValue, fmt.Sprintf(`"ops"[%d].value: %v`, i, err))
		}
		out[i] = delta.Op{Op: op, Path: path, Value: val}
	}
	*dst = out
	return nil
}

// maxWireDepth bounds the nesting of a whole frame: the frame array, the
// body map and the op list and op map around a value, plus the value's own
// limit (maxDepth).
const maxWireDepth = maxDepth + 8

// checkStructure walks the MessagePack value at the start of data, without
// recursion, before the MessagePack decoder sees it. It returns a
// *DecodeError wrapping ErrMalformed when the value is cut short or holds
// a byte that is not MessagePack, and one wrapping ErrValue when arrays and
// maps nest more than limit levels deep or a map key is a bin, array or
// map; it stops at the end of the first value and leaves trailing bytes to
// the decoder. This keeps from the decoder the input it handles badly: it
// recurses once per level (a deeply nested message of a few MiB exhausts
// the goroutine stack, which is fatal, not a panic), some of its readers
// index past the end of truncated input, and a bin map key makes it panic
// (a []byte cannot be a Go map key).
func checkStructure(data []byte, limit int) *DecodeError {
	_, de := scanFrame(data, limit)
	return de
}

// frameLayout is what scanFrame learns about a well-formed frame on the way
// for the fast decoders (decode_fast.go): where the body and its "ops" are,
// which of the fields those decoders read the body holds, and whether the
// frame has anything that the MessagePack decoder, reading into a struct,
// could read differently from the generic tree.
type frameLayout struct {
	end      int      // offset just past the first value
	body     int      // offset of the fourth element when data starts with a fixarray of 4; 0 otherwise
	bodyKeys fieldSet // the fields named by the body map
	opsAt    int      // offset of the value of the body's "ops" field; 0 when there is none
	// unusual is set for an ext value anywhere (the generic decoder rejects
	// most of them, also where a struct skips them), for a field named
	// twice in the body or in an op (a struct keeps an earlier value when a
	// later one is nil), and for an element of "ops" that is not a map
	// with an "op" and a "path" other than nil or bin (a string field
	// takes those; the generic path does not).
	unusual bool
}

// fieldSet is a set of the body fields the fast decoders read.
type fieldSet uint16

const (
	fieldState fieldSet = 1 << iota
	fieldKey
	fieldVersion
	fieldOps
	fieldValue
	fieldInitialized
	fieldParams
	fieldCallID
	fieldSuccess
	fieldData
	fieldError
	fieldMessage
	fieldCode
	fieldOp
	fieldPath
)

// fieldOf returns the field named name, or 0 for any other name.
func fieldOf(name []byte) fieldSet {
	switch string(name) {
	case "state":
		return fieldState
	case "key":
		return fieldKey
	case "version":
		return fieldVersion
	case "ops":
		return fieldOps
	case "value":
		return fieldValue
	case "initialized":
		return fieldInitialized
	case "params":
		return fieldParams
	case "call_id":
		return fieldCallID
	case "success":
		return fieldSuccess
	case "data":
		return fieldData
	case "error":
		return fieldError
	case "message":
		return fieldMessage
	case "code":
		return fieldCode
	case "op":
		return fieldOp
	case "path":
		return fieldPath
	}
	return 0
}

// Roles of the containers scanFrame looks into for the frameLayout.
const (
	roleNone uint8 = iota
	roleBody       // the body map
	roleOps        // the array under the body's "ops" field
	roleOp         // a map in that array
)

// Kinds of MessagePack values, as scanFrame tells them apart.
const (
	kindScalar uint8 = iota // nil, bool, integer, float
	kindStr
	kindBin
	kindExt
	kindArray
	kindMap
	kindBad // 0xc1, never used
)

// shape tells how a MessagePack value that starts with a given byte is
// laid out.
type shape struct {
	kind uint8
	head uint8 // bytes of the code and of the length that follows it
	size uint8 // data bytes, or elements of an array or pairs of a map, besides the length's
}

// shapes has the shape of the values starting with each byte.
var shapes = func() (t [256]shape) {
	for c := range 256 {
		s := shape{kind: kindScalar, head: 1}
		switch {
		case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		case c&0xf0 == 0x80:
			s = shape{kindMap, 1, uint8(c & 0x0f)}
		case c&0xf0 == 0x90:
			s = shape{kindArray, 1, uint8(c & 0x0f)}
		case c&0xe0 == 0xa0:
			s = shape{kindStr, 1, uint8(c & 0x1f)}
		case c == 0xcc, c == 0xd0:
			s.size = 1
		case c == 0xcd, c == 0xd1:
			s.size = 2
		case c == 0xca, c == 0xce, c == 0xd2:
			s.size = 4
		case c == 0xcb, c == 0xcf, c == 0xd3:
			s.size = 8
		case c >= 0xd4 && c <= 0xd8: // fixext 1, 2, 4, 8, 16: type byte and data
			s = shape{kindExt, 1, 1 + 1<<(c-0xd4)}
		case c >= 0xc4 && c <= 0xc6: // bin8, bin16, bin32
			s = shape{kindBin, 1 + 1<<(c-0xc4), 0}
		case c >= 0xd9 && c <= 0xdb: // str8, str16, str32
			s = shape{kindStr, 1 + 1<<(c-0xd9), 0}
		case c >= 0xc7 && c <= 0xc9: // ext8, ext16, ext32: length, type byte, data
			s = shape{kindExt, 1 + 1<<(c-0xc7), 1}
		case c == 0xdc, c == 0xdd: // array16, array32
			s = shape{kindArray, 1 + 2<<(c-0xdc), 0}
		case c == 0xde, c == 0xdf: // map16, map32
			s = shape{kindMap, 1 + 2<<(c-0xde), 0}
		default:
			s = shape{kindBad, 1, 0}
		}
		t[c] = s
	}
	return t
}()

// scanFrame is checkStructure, and it also maps a frame that passes the
// check (see frameLayout).
func scanFrame(data []byte, limit int) (layout frameLayout, de *DecodeError) {
	type container struct {
		left  uint64 // elements still to read, keys and values counted apart
		isMap bool
		role  uint8
		keys  fieldSet // fields named so far, in a body or op map
		field fieldSet // the field whose value comes next, in a body or op map
	}
	var stack [16]container // frames rarely nest deeper; beyond, append allocates
	pending := stack[:0]
	frame := len(data) > 0 && data[0] == 0x94
	for i := 0; i < len(data); {
		c := data[i]
		sh := shapes[c]
		var top *container
		isKey := false
		if n := len(pending); n > 0 {
			top = &pending[n-1]
			if top.isMap && top.left%2 == 0 {
				isKey = true
				switch sh.kind {
				case kindBin:
					return layout, &DecodeError{Err: ErrValue, Detail: fmt.Sprintf("bin map key at offset %d", i)}
				case kindArray, kindMap:
					return layout, &DecodeError{Err: ErrValue, Detail: fmt.Sprintf("array or map as map key at offset %d", i)}
				}
			}
		}
		head, n := uint64(sh.head), uint64(sh.size)
		if head > 1 {
			n += lengthAt(data, i, int(head)-1)
		}
		var payload, children uint64 // sizes of the data; element count
		switch sh.kind {
		case kindArray:
			children = n
		case kindMap:
			children = 2 * n
		case kindExt:
			payload = n
			layout.unusual = true
		case kindBad:
			return layout, &DecodeError{Err: ErrMalformed, Detail: fmt.Sprintf("byte 0x%02x at offset %d is not MessagePack", c, i)}
		default:
			payload = n
		}
		if rest := uint64(len(data) - i); head > rest || payload > rest-head {
			return layout, &DecodeError{Err: ErrMalformed, Detail: fmt.Sprintf("cut short at offset %d", i)}
		}
		isMap := sh.kind == kindMap
		role := roleNone
		switch {
		case top == nil, top.role == roleNone && len(pending) > 1:
		case top.role == roleNone: // an element of the frame
			if frame && top.left == 1 {
				layout.body = i
				if isMap {
					role = roleBody
				}
			}
		case isKey:
			top.field = 0
			if sh.kind == kindStr {
				f := fieldOf(data[i+int(head) : i+int(head+payload)])
				if top.keys&f != 0 {
					layout.unusual = true
				}
				top.keys |= f
				top.field = f
			}
		case top.role == roleBody:
			if top.field == fieldOps {
				layout.opsAt = i
				if sh.kind == kindArray {
					role = roleOps
				}
			}
		case top.role == roleOps:
			if isMap && children > 0 {
				role = roleOp
			} else {
				// Not an op with "op" and "path": the generic path
				// reports it.
				layout.unusual = true
			}
		case top.field&(fieldOp|fieldPath) != 0: // in an op
			if c == 0xc0 || sh.kind == kindBin {
				layout.unusual = true
			}
		}
		i += int(head + payload)
		if children > 0 {
			if len(pending) == limit {
				return layout, &DecodeError{Err: ErrValue, Detail: fmt.Sprintf("nesting deeper than %d", limit)}
			}
			pending = append(pending, container{left: children, isMap: isMap, role: role})
			continue
		}
		// A complete element: count it against the containers it closes.
		for {
			if len(pending) == 0 {
				layout.end = i
				return layout, nil
			}
			top := &pending[len(pending)-1]
			top.left--
			if top.left > 0 {
				break
			}
			switch top.role {
			case roleBody:
				layout.bodyKeys = top.keys
			case roleOp:
				if top.keys&(fieldOp|fieldPath) != fieldOp|fieldPath {
					layout.unusual = true
				}
			}
			pending = pending[:len(pending)-1]
		}
	}
	return layout, &DecodeError{Err: ErrMalformed, Detail: fmt.Sprintf("cut short after %d bytes", len(data))}
}

// lengthAt reads the n-byte big-endian length that follows the code at
// data[i], or returns 0 when data ends first (the caller then finds the
// head longer than the data).
func lengthAt(data []byte, i, n int) uint64 {
	if len(data)-i-1 < n {
		return 0
	}
	var v uint64
	for _, b := range data[i+1 : i+1+n] {
		v = v<<8 | uint64(b)
	}
	return v
}

// peekHeader reads the frame type and stream id from the start of data
// without decoding the rest, for error reports on frames that do not
// decode. ok is false when data does not start with a 4-element array and
// two unsigned integers that fit a type and a stream id.
func peekHeader(data []byte) (t Type, stream uint32, ok bool) {
	if len(data) == 0 || data[0] != 0x94 {
		return 0, 0, false
	}
	tv, n, ok := peekUint(data[1:])
	if !ok || tv > math.MaxUint8 {
		return 0, 0, false
	}
	sv, _, ok := peekUint(data[1+n:])
	if !ok || sv > math.MaxUint32 {
		return Type(tv), 0, true
	}
	return Type(tv), uint32(sv), true
}

// peekUint reads a non-negative MessagePack integer of any width from the
// start of data and returns it with its encoded size.
func peekUint(data []byte) (v uint64, size int, ok bool) {
	if len(data) == 0 {
		return 0, 0, false
	}
	c := data[0]
	switch {
	case c <= 0x7f:
		return uint64(c), 1, true
	case c == 0xcc, c == 0xd0:
		size = 1
	case c == 0xcd, c == 0xd1:
		size = 2
	case c == 0xce, c == 0xd2:
		size = 4
	case c == 0xcf, c == 0xd3:
		size = 8
	default:
		return 0, 0, false
	}
	if len(data) < 1+size {
		return 0, 0, false
	}
	for _, b := range data[1 : 1+size] {
		v = v<<8 | uint64(b)
	}
	if c >= 0xd0 && v>>(8*size-1) != 0 { // negative signed integer
		return 0, 0, false
	}
	return v, 1 + size, true
}

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
