package wire

import (
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/sodp-go/client/internal/delta"
)

// Raw is a pre-encoded MessagePack value. As a Frame body it is written
// as-is, which lets tests send bodies no typed encoder would produce.
type Raw []byte

// EncodeOptions adjust encoding to reproduce the habits of particular
// servers. The zero value encodes as the specification says.
type EncodeOptions struct {
	// FixedWidthInts writes the frame header and the integer fields of
	// bodies (version, code, since_version) in fixed widths: uint8 as 0xcc,
	// uint32 as 0xce, uint64 as 0xcf.
	FixedWidthInts bool
	// OmitNilOpValues leaves out the "value" field of an op whose value is
	// nil.
	OmitNilOpValues bool
	// OmitEmptyOpValues leaves out the "value" field of an op whose value
	// is nil, false, a number equal to 0 or "", as the Go server does.
	OmitEmptyOpValues bool
	// DeltaKeyField names the field that carries the key in DELTA bodies:
	// "" or "state" writes "state", "key" writes "key", "-" writes none.
	DeltaKeyField string
}

// Encode appends the MessagePack encoding of f to dst, as the
// specification says. See EncodeWith.
func Encode(dst []byte, f Frame) ([]byte, error) {
	return EncodeWith(dst, f, EncodeOptions{})
}

// EncodeWith appends the MessagePack encoding of f to dst. Integers are
// written in their most compact form except since_version, always a uint64
// (0xcf). Body must be nil, Raw, or the typed body matching f.Type; values
// inside bodies may be any type AppendValue accepts. An unsupported body or
// value returns an error and dst unchanged.
func EncodeWith(dst []byte, f Frame, o EncodeOptions) ([]byte, error) {
	start := len(dst)
	e := encoder{b: dst, o: o}
	e.b = append(e.b, 0x94)
	if o.FixedWidthInts {
		e.b = append(e.b, 0xcc, byte(f.Type))
		e.b = append(e.b, 0xce)
		e.b = binary.BigEndian.AppendUint32(e.b, f.Stream)
		e.fixedUint(f.Seq)
	} else {
		e.b = appendUint(e.b, uint64(f.Type))
		e.b = appendUint(e.b, uint64(f.Stream))
		e.b = appendUint(e.b, f.Seq)
	}
	if err := e.body(f); err != nil {
		return dst[:start], fmt.Errorf("sodp wire: encode %s: %w", f.Type, err)
	}
	return e.b, nil
}

type encoder struct {
	b []byte
	o EncodeOptions
}

func (e *encoder) fixedUint(v uint64) {
	e.b = append(e.b, 0xcf)
	e.b = binary.BigEndian.AppendUint64(e.b, v)
}

func (e *encoder) uint(v uint64) {
	if e.o.FixedWidthInts {
		e.fixedUint(v)
		return
	}
	e.b = appendUint(e.b, v)
}

func (e *encoder) str(s string) { e.b = appendString(e.b, s) }

func (e *encoder) val(v any) error {
	var err error
	e.b, err = AppendValue(e.b, v)
	return err
}

// field writes a key and returns the encoder for chaining.
func (e *encoder) field(name string) *encoder { e.str(name); return e }

func (e *encoder) mapHeader(n int) { e.b = appendMapHeader(e.b, n) }

// bodyType returns the frame type a typed body belongs to, and whether the
// body is a nil pointer.
func bodyType(body any) (t Type, isNil, typed bool) {
	switch b := body.(type) {
	case *Hello:
		return TypeHello, b == nil, true
	case *Watch:
		return TypeWatch, b == nil, true
	case *StateInit:
		return TypeStateInit, b == nil, true
	case *Delta:
		return TypeDelta, b == nil, true
	case *Call:
		return TypeCall, b == nil, true
	case *Result:
		return TypeResult, b == nil, true
	case *Error:
		return TypeError, b == nil, true
	case *Resume:
		return TypeResume, b == nil, true
	case *Auth:
		return TypeAuth, b == nil, true
	case *AuthOK:
		return TypeAuthOK, b == nil, true
	case *Unwatch:
		return TypeUnwatch, b == nil, true
	}
	return 0, false, false
}

func (e *encoder) body(f Frame) error {
	if t, isNil, typed := bodyType(f.Body); typed {
		if t != f.Type {
			return fmt.Errorf("body of type %T does not fit", f.Body)
		}
		if isNil {
			return fmt.Errorf("nil %T body", f.Body)
		}
	}
	switch b := f.Body.(type) {
	case nil:
		e.b = append(e.b, 0xc0)
		return nil
	case Raw:
		e.b = append(e.b, b...)
		return nil
	case *Hello:
		n := 2
		if b.Protocol != "" {
			n++
		}
		if b.Server != "" {
			n++
		}
		if b.ServerID != "" {
			n++
		}
		if b.Capabilities != nil {
			n++
		}
		e.mapHeader(n)
		if b.Protocol != "" {
			e.field("protocol").str(b.Protocol)
		}
		e.field("version").str(b.Version)
		if b.Server != "" {
			e.field("server").str(b.Server)
		}
		if b.ServerID != "" {
			e.field("server_id").str(b.ServerID)
		}
		e.field("auth")
		e.b = appendBool(e.b, b.Auth)
		if b.Capabilities != nil {
			e.field("capabilities")
			return e.val(b.Capabilities)
		}
		return nil
	case *Watch:
		return e.keysBody(b.State, b.States, b.Params, true)
	case *Unwatch:
		return e.keysBody(b.State, b.States, nil, false)
	case *StateInit:
		n := 4
		if b.Params != nil {
			n++
		}
		e.mapHeader(n)
		e.field("state").str(b.State)
		e.field("version").uint(b.Version)
		e.field("value")
		if err := e.val(b.Value); err != nil {
			return err
		}
		e.field("initialized")
		e.b = appendBool(e.b, b.Initialized)
		if b.Params != nil {
			e.field("params")
			return e.val(b.Params)
		}
		return nil
	case *Delta:
		keyField := e.o.DeltaKeyField
		if keyField == "" {
			keyField = "state"
		}
		n := 2
		if keyField != "-" && b.State != "" {
			n++
		}
		e.mapHeader(n)
		e.field("version").uint(b.Version)
		e.field("ops")
		e.b = appendArrayHeader(e.b, len(b.Ops))
		bare := b.NoValue
		for i, op := range b.Ops {
			omit := len(bare) > 0 && bare[0] == i
			if omit {
				bare = bare[1:]
			}
			if err := e.op(op, omit); err != nil {
				return err
			}
		}
		if n == 3 {
			e.field(keyField).str(b.State)
		}
		return nil
	case *Call:
		e.mapHeader(3)
		e.field("call_id").str(b.CallID)
		e.field("method").str(b.Method)
		e.field("args")
		if b.Args == nil {
			e.mapHeader(0)
			return nil
		}
		return e.val(b.Args)
	case *Result:
		n := 3
		if b.Message != "" {
			n++
		}
		if b.Code != 0 {
			n++
		}
		e.mapHeader(n)
		e.field("call_id").str(b.CallID)
		e.field("success")
		e.b = appendBool(e.b, b.Success)
		e.field("data")
		if err := e.val(b.Data); err != nil {
			return err
		}
		if b.Message != "" {
			e.field("error").str(b.Message)
		}
		if b.Code != 0 {
			e.field("code").uint(uint64(max(b.Code, 0)))
		}
		return nil
	case *Error:
		e.mapHeader(2)
		e.field("code").uint(uint64(max(b.Code, 0)))
		e.field("message").str(b.Message)
		return nil
	case *Resume:
		n := 2
		if b.Params != nil {
			n++
		}
		e.mapHeader(n)
		e.field("state").str(b.State)
		e.field("since_version").fixedUint(b.SinceVersion)
		if b.Params != nil {
			e.field("params")
			return e.val(b.Params)
		}
		return nil
	case *Auth:
		e.mapHeader(1)
		e.field("token").str(b.Token)
		return nil
	case *AuthOK:
		e.mapHeader(1)
		e.field("sub").str(b.Sub)
		return nil
	}
	if !f.Type.Known() {
		return e.val(f.Body)
	}
	return fmt.Errorf("body of type %T does not fit", f.Body)
}

func (e *encoder) keysBody(state string, states []string, params map[string]any, withParams bool) error {
	n := 1
	if withParams && params != nil {
		n++
	}
	e.mapHeader(n)
	if states != nil {
		e.field("states")
		e.b = appendArrayHeader(e.b, len(states))
		for _, s := range states {
			e.str(s)
		}
	} else {
		e.field("state").str(state)
	}
	if n == 2 {
		e.field("params")
		return e.val(params)
	}
	return nil
}

// op writes one op; a REMOVE, an op listed in Delta.NoValue (omit) and one
// whose value the options leave out have no "value" field.
func (e *encoder) op(op delta.Op, omit bool) error {
	withValue := op.Op != delta.OpRemove && !omit &&
		!(op.Value == nil && e.o.OmitNilOpValues) && !(e.o.OmitEmptyOpValues && isEmptyValue(op.Value))
	n := 2
	if withValue {
		n++
	}
	e.mapHeader(n)
	e.field("op").str(op.Op)
	e.field("path").str(op.Path)
	if withValue {
		e.field("value")
		return e.val(op.Value)
	}
	return nil
}

// isEmptyValue reports whether v is nil, false, a number equal to 0 or "".
func isEmptyValue(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case string:
		return x == ""
	case int64:
		return x == 0
	case uint64:
		return x == 0
	case float64:
		return x == 0
	case int:
		return x == 0
	case int8:
		return x == 0
	case int16:
		return x == 0
	case int32:
		return x == 0
	case uint:
		return x == 0
	case uint8:
		return x == 0
	case uint16:
		return x == 0
	case uint32:
		return x == 0
	case float32:
		return x == 0
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 0xc3)
	}
	return append(b, 0xc2)
}

func appendUint(b []byte, v uint64) []byte {
	switch {
	case v <= 0x7f:
		return append(b, byte(v))
	case v <= math.MaxUint8:
		return append(b, 0xcc, byte(v))
	case v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), v)
}

func appendInt(b []byte, v int64) []byte {
	switch {
	case v >= 0:
		return appendUint(b, uint64(v))
	case v >= -32:
		return append(b, byte(v))
	case v >= math.MinInt8:
		return append(b, 0xd0, byte(v))
	case v >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(v))
	case v >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(v))
}

func appendString(b []byte, s string) []byte {
	n := len(s)
	switch {
	case n <= 31:
		b = append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		b = append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
	}
	return append(b, s...)
}

func appendArrayHeader(b []byte, n int) []byte {
	switch {
	case n <= 15:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xdc), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(n))
}

func appendMapHeader(b []byte, n int) []byte {
	switch {
	case n <= 15:
		return append(b, 0x80|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xde), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdf), uint32(n))
}
