package wire

import (
	"fmt"
	"math"
)

// maxWireDepth bounds the nesting of a whole frame: the frame array, the
// body map and the op list and op map around a value, plus the value's own
// limit (maxDepth).
const maxWireDepth = maxDepth + 8

// frameLayout is what scanFrame learns about a well-formed frame on the way
// for the fast decoders (decode_fast.go): where the body is,
// which of the fields those decoders read the body holds, and whether the
// frame has anything that the fast decoders, which read the body's fields
// one by one, could read differently from the generic tree.
type frameLayout struct {
	end      int      // offset just past the first value
	body     int      // offset of the fourth element when data starts with a fixarray of 4; 0 otherwise
	bodyKeys fieldSet // the fields named by the body map
	// unusual is set for an ext value anywhere (the generic decoder rejects
	// most of them, also in fields the fast decoders skip), for a field
	// named twice in the body or in an op (the generic tree keeps one of
	// the two), and for an element of "ops" that is not a map with an "op"
	// and a "path" other than nil or bin (a string field takes those; the
	// generic path does not).
	unusual bool
	cost    int64 // the memory the frame's values take once decoded, estimated (valueCost)
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

// scanFrame walks the MessagePack value at the start of data, without
// recursion, before the MessagePack decoder sees it. It returns a
// *DecodeError wrapping ErrMalformed when the value is cut short or holds
// a byte that is not MessagePack, and one wrapping ErrValue when arrays and
// maps nest more than limit levels deep or a map key is a bin, array or
// map; it stops at the end of the first value and leaves trailing bytes to
// the decoder. A frame that passes the check comes back mapped (see
// frameLayout). This keeps from the decoder the input it handles badly: it
// recurses once per level (a deeply nested message of a few MiB exhausts
// the goroutine stack, which is fatal, not a panic), some of its readers
// index past the end of truncated input, and a bin map key makes it panic
// (a []byte cannot be a Go map key).
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
		layout.cost += valueCost(c, sh.kind, n)
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
			if top.field == fieldOps && sh.kind == kindArray {
				role = roleOps
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

// valueCost estimates the bytes of memory Go takes to hold a decoded
// value that starts with code c, of the given kind and length n (bytes of
// a str, bin or ext, elements of an array, pairs of a map), besides the
// 16-byte interface slot its container (counted there) holds it in: an
// integer of 0 to 255, nil or a bool costs nothing more, any other number
// 8 bytes, a string 16 plus its bytes, an array 24 plus a slot per element,
// a map 48 plus its buckets (one group of 8 slots up to 8 entries, about
// 88 bytes per entry beyond, measured with Go 1.26's maps). The value
// decoders keep numbers, strings, arrays and maps as such, so the sum over
// a frame estimates, within a few percent, what it costs once decoded; the
// cost of a value is a small multiple of its wire size (16 for an array of
// small integers, about 60 for an array of one-field maps).
func valueCost(c byte, kind uint8, n uint64) int64 {
	switch kind {
	case kindScalar:
		if c <= 0x7f || c == 0xc0 || c == 0xc2 || c == 0xc3 {
			return 0
		}
		return 8
	case kindArray:
		return 24 + 16*int64(n)
	case kindMap:
		switch {
		case n == 0:
			return 48
		case n <= 8:
			return 48 + 288
		}
		return 48 + 88*int64(n)
	}
	return 16 + int64(n) // str, bin, ext
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
