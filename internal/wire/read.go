package wire

import (
	"encoding/binary"
	"math"
	"strconv"
)

// The readers below decode MessagePack that scanFrame has already checked:
// every value is complete, arrays and maps nest a bounded number of levels
// and no map key is a bin, an array or a map. They build the value model
// of Normalize directly, in one pass and without reflection. What they do
// not take (an ext value, a nil map key, a value nested more than maxDepth
// levels, a field of the wrong type) they report with ok = false, and the
// frame is then left to the generic path, which decodes or rejects it.

// head reads the code of the value at data[i]: its kind, its length (bytes
// of a str or bin, elements of an array, pairs of a map, data bytes of a
// scalar or an ext) and the offset of what follows the code and length.
func head(data []byte, i int) (kind uint8, n uint64, next int) {
	sh := shapes[data[i]]
	n = uint64(sh.size)
	if sh.head > 1 {
		n += lengthAt(data, i, int(sh.head)-1)
	}
	return sh.kind, n, i + int(sh.head)
}

// skipValue returns the offset just past the value at data[i].
func skipValue(data []byte, i int) int {
	for left := uint64(1); left > 0; left-- {
		kind, n, next := head(data, i)
		i = next
		switch kind {
		case kindArray:
			left += n
		case kindMap:
			left += 2 * n
		default:
			i += int(n)
		}
	}
	return i
}

// readValue reads the value at data[i], at the given nesting depth of the
// value it is part of, as Normalize would return it.
func readValue(data []byte, i, depth int) (v any, next int, ok bool) {
	if depth > maxDepth {
		return nil, 0, false
	}
	c := data[i]
	switch {
	case c <= 0x7f:
		return int64(c), i + 1, true
	case c >= 0xe0:
		return int64(int8(c)), i + 1, true
	}
	switch c {
	case 0xc0:
		return nil, i + 1, true
	case 0xc2:
		return false, i + 1, true
	case 0xc3:
		return true, i + 1, true
	case 0xcc:
		return int64(data[i+1]), i + 2, true
	case 0xcd:
		return int64(binary.BigEndian.Uint16(data[i+1:])), i + 3, true
	case 0xce:
		return int64(binary.BigEndian.Uint32(data[i+1:])), i + 5, true
	case 0xcf:
		if u := binary.BigEndian.Uint64(data[i+1:]); u > math.MaxInt64 {
			return u, i + 9, true
		} else {
			return int64(u), i + 9, true
		}
	case 0xd0:
		return int64(int8(data[i+1])), i + 2, true
	case 0xd1:
		return int64(int16(binary.BigEndian.Uint16(data[i+1:]))), i + 3, true
	case 0xd2:
		return int64(int32(binary.BigEndian.Uint32(data[i+1:]))), i + 5, true
	case 0xd3:
		return int64(binary.BigEndian.Uint64(data[i+1:])), i + 9, true
	case 0xca:
		return float64(math.Float32frombits(binary.BigEndian.Uint32(data[i+1:]))), i + 5, true
	case 0xcb:
		return math.Float64frombits(binary.BigEndian.Uint64(data[i+1:])), i + 9, true
	}
	kind, n, at := head(data, i)
	switch kind {
	case kindStr, kindBin:
		end := at + int(n)
		return string(data[at:end]), end, true
	case kindArray:
		a := make([]any, n)
		for k := range a {
			if a[k], at, ok = readValue(data, at, depth+1); !ok {
				return nil, 0, false
			}
		}
		return a, at, true
	case kindMap:
		m := make(map[string]any, n)
		for range n {
			var key string
			if key, at, ok = readKey(data, at); !ok {
				return nil, 0, false
			}
			if m[key], at, ok = readValue(data, at, depth+1); !ok {
				return nil, 0, false
			}
		}
		return m, at, true
	}
	return nil, 0, false // an ext value
}

// readKey reads a map key as Normalize turns it into a string: a str as it
// is, an integer, float or bool as its text. A nil key is not taken.
func readKey(data []byte, i int) (key string, next int, ok bool) {
	c := data[i]
	switch {
	case c&0xe0 == 0xa0: // fixstr, the usual key
		end := i + 1 + int(c&0x1f)
		return string(data[i+1 : end]), end, true
	case c == 0xca:
		// A float32 key keeps its own text; read as a value it would
		// become a float64, whose text is longer.
		f := math.Float32frombits(binary.BigEndian.Uint32(data[i+1:]))
		return strconv.FormatFloat(float64(f), 'g', -1, 32), i + 5, true
	}
	v, next, ok := readValue(data, i, 0)
	if !ok {
		return "", 0, false
	}
	key, err := mapKey(v)
	return key, next, err == nil
}

// readField reads the name of a struct-like field at data[i]: a str. Any
// other name is not taken.
func readField(data []byte, i int) (name []byte, next int, ok bool) {
	kind, n, at := head(data, i)
	if kind != kindStr {
		return nil, 0, false
	}
	end := at + int(n)
	return data[at:end], end, true
}

// readString reads a string field: a str or a bin, nil being "".
func readString(data []byte, i int) (s string, next int, ok bool) {
	if data[i] == 0xc0 {
		return "", i + 1, true
	}
	kind, n, at := head(data, i)
	if kind != kindStr && kind != kindBin {
		return "", 0, false
	}
	end := at + int(n)
	return string(data[at:end]), end, true
}

// readUint reads an unsigned integer field of any width, nil being 0. A
// negative integer or one above math.MaxInt64 is not taken.
func readUint(data []byte, i int) (u uint64, next int, ok bool) {
	if data[i] == 0xc0 {
		return 0, i + 1, true
	}
	u, n, ok := peekUint(data[i:])
	if !ok || u > math.MaxInt64 {
		return 0, 0, false
	}
	return u, i + n, true
}

// readBool reads a bool field: true or false, nothing else.
func readBool(data []byte, i int) (b bool, next int, ok bool) {
	switch data[i] {
	case 0xc2:
		return false, i + 1, true
	case 0xc3:
		return true, i + 1, true
	}
	return false, 0, false
}

// readFields calls field for each field of the map at data[i], with the
// offset of the field's value; field returns the offset past that value,
// or ok = false. Fields field does not know it skips itself, by returning
// skipValue(data, at). A field named nil is skipped here, as the generic
// path ignores it; a name of any other type than str is not taken.
func readFields(data []byte, i int, field func(name []byte, at int) (next int, ok bool)) (next int, ok bool) {
	kind, n, at := head(data, i)
	if kind != kindMap {
		return 0, false
	}
	for range n {
		if data[at] == 0xc0 {
			at = skipValue(data, at+1)
			continue
		}
		var name []byte
		if name, at, ok = readField(data, at); !ok {
			return 0, false
		}
		if at, ok = field(name, at); !ok {
			return 0, false
		}
	}
	return at, true
}
