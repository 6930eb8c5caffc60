package wire

import (
	"math"

	"github.com/sodp-go/client/internal/delta"
)

// The fast decoders read the bodies of the frames a client receives most
// often (DELTA, STATE_INIT, RESULT) with the readers of read.go, straight
// into the body structs, which spares building the generic tree of the
// whole frame and normalising it afterwards. They accept a frame only when
// the result is certain to be what the generic path makes of it, and leave
// everything else, errors included, to that path:
//   - a string field takes a str or a bin, nil being "" (scanFrame keeps
//     "op" and "path" from being nil or bin, and tells whether the body
//     names "state");
//   - an integer field takes every integer width, nil being 0; a negative
//     integer, one above math.MaxInt64 and an integral float are left to
//     the generic path;
//   - a bool field takes true and false only;
//   - a field name that is not a str is left to the generic path, and
//     unknown fields are skipped;
//   - a field named twice and an ext value anywhere are flagged by
//     scanFrame (frameLayout), and such frames never get here.

// decodeFast decodes a frame that scanFrame has checked and mapped, when
// it is a frame with a nil body, a HEARTBEAT, or a DELTA, STATE_INIT or
// RESULT whose body the readers take exactly as the generic path does. ok
// is false for any other frame.
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
		f.Body, ok = decodeDeltaFast(body, layout)
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

func decodeDeltaFast(body []byte, layout *frameLayout) (any, bool) {
	// Without an array of ops (none, nil, another kind) or a version
	// (none, nil) the frame is the generic path's to report.
	var kb keyedBody
	d := &Delta{}
	_, ok := readFields(body, 0, func(name []byte, at int) (next int, ok bool) {
		if string(name) == "ops" {
			d.Ops, d.NoValue, next, ok = readOps(body, at)
			return next, ok
		}
		return kb.field(body, name, at)
	})
	if !ok || d.Ops == nil || !kb.versioned {
		return nil, false
	}
	d.State, d.Version = kb.keyOf(layout), kb.version
	return d, true
}

// keyedBody reads the fields that name a key and its version, and skips
// those it does not know.
type keyedBody struct {
	state, key string
	version    uint64
	versioned  bool // "version" was there and not nil
}

func (kb *keyedBody) field(body, name []byte, at int) (next int, ok bool) {
	switch string(name) {
	case "state":
		kb.state, next, ok = readString(body, at)
	case "key":
		kb.key, next, ok = readString(body, at)
	case "version":
		kb.versioned = body[at] != 0xc0
		kb.version, next, ok = readUint(body, at)
	default:
		next, ok = skipValue(body, at), true
	}
	return next, ok
}

// keyOf is the key the body names: "state", or "key" without it.
func (kb *keyedBody) keyOf(layout *frameLayout) string {
	if layout.bodyKeys&fieldState != 0 {
		return kb.state
	}
	return kb.key
}

// readOps reads the array of ops at data[i], and the indexes of the ADD
// and UPDATE ops among them that have no value (see Delta.NoValue).
func readOps(data []byte, i int) (ops []delta.Op, noValue []int, next int, ok bool) {
	kind, n, at := head(data, i)
	if kind != kindArray {
		return nil, nil, 0, false
	}
	ops = make([]delta.Op, n)
	for k := range ops {
		op := &ops[k]
		has := false
		at, ok = readFields(data, at, func(name []byte, at int) (next int, ok bool) {
			switch string(name) {
			case "op":
				op.Op, next, ok = readOpName(data, at)
			case "path":
				op.Path, next, ok = readString(data, at)
			case "value":
				has = true
				op.Value, next, ok = readValue(data, at, 0)
			default:
				next, ok = skipValue(data, at), true
			}
			return next, ok
		})
		if !ok {
			return nil, nil, 0, false
		}
		if !has && setsValue(op.Op) {
			noValue = append(noValue, k)
		}
	}
	return ops, noValue, at, true
}

// readOpName reads an op's name, the constant for a known one, so that no
// string is allocated for it and the ops kept in the cache (the last ops
// of each key) hold no copy of their name.
func readOpName(data []byte, i int) (name string, next int, ok bool) {
	if kind, n, at := head(data, i); kind == kindStr {
		end := at + int(n)
		switch string(data[at:end]) {
		case delta.OpAdd:
			return delta.OpAdd, end, true
		case delta.OpUpdate:
			return delta.OpUpdate, end, true
		case delta.OpRemove:
			return delta.OpRemove, end, true
		}
	}
	return readString(data, i)
}

func decodeStateInitFast(body []byte, layout *frameLayout) (any, bool) {
	var kb keyedBody
	s := &StateInit{}
	_, ok := readFields(body, 0, func(name []byte, at int) (next int, ok bool) {
		switch string(name) {
		case "value":
			s.Value, next, ok = readValue(body, at, 0)
		case "initialized":
			s.Initialized, next, ok = readBool(body, at)
		case "params":
			if body[at] == 0xc0 {
				return at + 1, true
			}
			if !isMapCode(body[at]) {
				return 0, false
			}
			var p any
			p, next, ok = readValue(body, at, 0)
			if ok {
				s.Params = p.(map[string]any)
			}
		default:
			return kb.field(body, name, at)
		}
		return next, ok
	})
	if !ok {
		return nil, false
	}
	s.State, s.Version = kb.keyOf(layout), kb.version
	return s, true
}

func decodeResultFast(body []byte) (any, bool) {
	r := &Result{}
	var errText, message string
	var hasMessage bool
	var code uint64
	_, ok := readFields(body, 0, func(name []byte, at int) (next int, ok bool) {
		switch string(name) {
		case "call_id":
			r.CallID, next, ok = readString(body, at)
		case "success":
			r.Success, next, ok = readBool(body, at)
		case "data":
			r.Data, next, ok = readValue(body, at, 0)
		case "error":
			errText, next, ok = readString(body, at)
		case "message":
			// A nil message leaves the text of "error"; any other,
			// even empty, replaces it.
			hasMessage = body[at] != 0xc0
			message, next, ok = readString(body, at)
		case "code":
			code, next, ok = readUint(body, at)
		default:
			next, ok = skipValue(body, at), true
		}
		return next, ok
	})
	if !ok {
		return nil, false
	}
	r.Message = errText
	if hasMessage {
		r.Message = message
	}
	if r.Message == "" && !r.Success {
		if s, ok := r.Data.(string); ok {
			r.Message = s
		}
	}
	r.Code = int(min(code, math.MaxInt32))
	return r, true
}

func isMapCode(c byte) bool { return c&0xf0 == 0x80 || c == 0xde || c == 0xdf }
