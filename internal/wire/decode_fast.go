package wire

import (
	"math"
	"unsafe"

	"github.com/shamaton/msgpack/v2"

	"github.com/sodp-go/client/internal/delta"
)

// The fast decoders read the bodies of the frames a client receives most
// often (DELTA, STATE_INIT, RESULT) straight into the structs below, which
// spares building the generic tree of the whole frame. They accept a frame
// only when the result is certain to be what the generic path makes of it,
// and leave everything else, errors included, to that path.
//
// How the MessagePack decoder fills a struct field depends on its type:
//   - a string field takes a str or a bin and makes nil "", as the generic
//     path does, except for "op" and "path", which scanFrame keeps from
//     being nil or bin (and, as a nil "state" is read as "" too, scanFrame
//     tells whether the body names "state");
//   - a uint64 field takes every integer width and makes nil 0, but turns
//     a negative integer into a value above math.MaxInt64, so such a value
//     is left to the generic path (which also takes an integral float, an
//     error here);
//   - a bool field takes true and false only, nil being an error;
//   - an any field holds what the generic tree would hold, and is checked
//     and normalised the same way ("message" is one because a nil message
//     leaves the text of "error" while an empty one replaces it);
//   - a slice of structs takes an array of maps, and panics on a str or a
//     bin, so decodeDeltaFast makes sure "ops" is an array.
//
// A field name that is not a string is an error. An any or slice field
// keeps its value when a later field of the same name is nil, and unknown
// fields are skipped rather than decoded: scanFrame flags repeated fields
// and ext values for this reason (frameLayout).

type deltaWire struct {
	State   string   `msgpack:"state"`
	Key     string   `msgpack:"key"`
	Version uint64   `msgpack:"version"`
	Ops     []opWire `msgpack:"ops"`
}

type opWire struct {
	Op    string `msgpack:"op"`
	Path  string `msgpack:"path"`
	Value any    `msgpack:"value"`
}

// opWire is delta.Op with the field names of the wire: the conversion does
// not compile unless the two have the same fields of the same types.
var _ = delta.Op(opWire{})

// asOps returns the ops in place, as the delta.Op they are laid out as.
func asOps(ops []opWire) []delta.Op {
	return unsafe.Slice((*delta.Op)(unsafe.Pointer(unsafe.SliceData(ops))), len(ops))
}

type stateInitWire struct {
	State       string `msgpack:"state"`
	Key         string `msgpack:"key"`
	Version     uint64 `msgpack:"version"`
	Value       any    `msgpack:"value"`
	Initialized bool   `msgpack:"initialized"`
	Params      any    `msgpack:"params"`
}

type resultWire struct {
	CallID  string `msgpack:"call_id"`
	Success bool   `msgpack:"success"`
	Data    any    `msgpack:"data"`
	Error   string `msgpack:"error"`
	Message any    `msgpack:"message"`
	Code    uint64 `msgpack:"code"`
}

// decodeFast decodes a frame that scanFrame has checked and mapped, when
// it is a frame with a nil body, a HEARTBEAT, or a DELTA, STATE_INIT or
// RESULT whose body the struct decoders read exactly as the generic path
// does. ok is false for any other frame.
func decodeFast(data []byte, layout *frameLayout) (f Frame, ok bool) {
	if layout.body == 0 || layout.unusual || layout.end != len(data) {
		return f, false
	}
	t, n, ok := peekUint(data[1:])
	if !ok || t > math.MaxUint8 {
		return f, false
	}
	at := 1 + n
	s, n, ok := peekUint(data[at:])
	if !ok || s > math.MaxUint32 {
		return f, false
	}
	at += n
	seq, n, ok := peekUint(data[at:])
	if !ok || at+n != layout.body {
		return f, false
	}
	f = Frame{Type: Type(t), Stream: uint32(s), Seq: seq}
	body := data[layout.body:]
	if body[0] == 0xc0 {
		return f, f.Type.Known()
	}
	switch f.Type {
	case TypeDelta:
		f.Body, ok = decodeDeltaFast(data, body, layout)
	case TypeStateInit:
		f.Body, ok = decodeStateInitFast(body, layout)
	case TypeResult:
		f.Body, ok = decodeResultFast(body)
	case TypeHeartbeat:
		ok = isMapCode(body[0]) // a body the frame does not use
	default:
		ok = false
	}
	return f, ok
}

func decodeDeltaFast(data, body []byte, layout *frameLayout) (any, bool) {
	// Ops must be an array: the decoder panics on a str or bin for a slice
	// of structs.
	if layout.opsAt == 0 || !isArrayCode(data[layout.opsAt]) {
		return nil, false
	}
	var w deltaWire
	if msgpack.UnmarshalAsMap(body, &w) != nil || w.Version > math.MaxInt64 || w.Ops == nil {
		return nil, false
	}
	d := &Delta{Version: w.Version, State: w.Key, Ops: asOps(w.Ops)}
	if layout.bodyKeys&fieldState != 0 {
		d.State = w.State
	}
	for i := range d.Ops {
		var err error
		if d.Ops[i].Value, err = Normalize(d.Ops[i].Value); err != nil {
			return nil, false
		}
	}
	return d, true
}

func decodeStateInitFast(body []byte, layout *frameLayout) (any, bool) {
	var w stateInitWire
	if msgpack.UnmarshalAsMap(body, &w) != nil || w.Version > math.MaxInt64 {
		return nil, false
	}
	s := &StateInit{State: w.Key, Version: w.Version, Initialized: w.Initialized}
	if layout.bodyKeys&fieldState != 0 {
		s.State = w.State
	}
	var err error
	if s.Value, err = Normalize(w.Value); err != nil {
		return nil, false
	}
	if w.Params != nil {
		if _, isMap := w.Params.(map[any]any); !isMap {
			return nil, false
		}
		p, err := Normalize(w.Params)
		if err != nil {
			return nil, false
		}
		s.Params = p.(map[string]any)
	}
	return s, true
}

func decodeResultFast(body []byte) (any, bool) {
	var w resultWire
	if msgpack.UnmarshalAsMap(body, &w) != nil || w.Code > math.MaxInt64 {
		return nil, false
	}
	r := &Result{CallID: w.CallID, Success: w.Success, Message: w.Error}
	var err error
	if r.Data, err = Normalize(w.Data); err != nil {
		return nil, false
	}
	switch m := w.Message.(type) {
	case nil:
	case string:
		r.Message = m
	case []byte:
		r.Message = string(m)
	default:
		return nil, false
	}
	if r.Message == "" && !r.Success {
		if s, ok := r.Data.(string); ok {
			r.Message = s
		}
	}
	r.Code = int(min(w.Code, math.MaxInt32))
	return r, true
}

func isMapCode(c byte) bool   { return c&0xf0 == 0x80 || c == 0xde || c == 0xdf }
func isArrayCode(c byte) bool { return c&0xf0 == 0x90 || c == 0xdc || c == 0xdd }
