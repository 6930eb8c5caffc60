package wire

import (
	"errors"
	"fmt"
	"io"
	"math"
)

// Header is what ReadHeader learns of a frame without decoding it: enough
// to tell which subscription or call a frame too large to decode belongs
// to.
type Header struct {
	Type   Type
	Stream uint32
	Typed  bool   // Type was read (and Stream, unless the error says otherwise)
	Key    string // STATE_INIT, DELTA: the body's "state", or "key" without it
	CallID string // RESULT: the body's "call_id"
	Code   int    // ERROR: the body's "code" when it is an unsigned integer
}

// ByteReader is what ReadHeader reads from (a *bufio.Reader, a
// *bytes.Reader).
type ByteReader interface {
	io.Reader
	io.ByteReader
}

// Bounds of what ReadHeader keeps: a field name longer than
// maxHeaderField is none it looks for, and a key or call id longer than
// maxHeaderString is not taken (a valid key has at most 1,024 bytes).
const (
	maxHeaderField  = 16
	maxHeaderString = 1024
	// maxPending bounds the elements a skip may owe: beyond it, the
	// container headers declare more than any message can hold.
	maxPending = 1 << 62
)

// ReadHeader reads the frame at the start of r as far as needed to learn
// its type, its stream id and, by the frame type, the key a STATE_INIT or
// DELTA names, the call id of a RESULT or the code of an ERROR. It keeps
// nothing of the body but those fields: every other value, however large
// it says it is, is skipped as it is read, so the memory it uses does not
// depend on the frame. It stops as soon as it has what it looks for (a
// "state" field, a "call_id", a "code"), or at the end of the body; the
// caller discards the rest of the message.
//
// It returns what it learned with an error when the frame is cut short
// (wrapping ErrMalformed), is not a four-element array (ErrNotArray,
// ErrArity) or has a header field of the wrong type (ErrFieldType).
// A body that is nil, or not a map, leaves the fields empty without error
// when the header was read.
func ReadHeader(r ByteReader) (h Header, err error) {
	hr := headerReader{r: r}
	_, kind, n, err := hr.head()
	if err != nil {
		return h, err
	}
	if kind != kindArray {
		return h, &DecodeError{Err: ErrNotArray, Detail: "the message does not start with an array"}
	}
	if n != 4 {
		return h, &DecodeError{Err: ErrArity, Detail: fmt.Sprintf("got %d elements", n)}
	}
	t, err := hr.uint("frame_type", math.MaxUint8)
	if err != nil {
		return h, err
	}
	h.Type, h.Typed = Type(t), true
	s, err := hr.uint("stream_id", math.MaxUint32)
	if err != nil {
		return h, named(h, err)
	}
	h.Stream = uint32(s)
	if err := hr.skip(1); err != nil { // seq
		return h, named(h, err)
	}
	var want, stop fieldSet
	switch h.Type {
	case TypeStateInit, TypeDelta:
		want, stop = fieldState|fieldKey, fieldState
	case TypeResult:
		want, stop = fieldCallID, fieldCallID
	case TypeError:
		want, stop = fieldCode, fieldCode
	default:
		return h, nil
	}
	_, kind, n, err = hr.head()
	if err != nil || kind != kindMap {
		return h, named(h, err)
	}
	for range n {
		f, err := hr.fieldName()
		if err != nil {
			return h, named(h, err)
		}
		found := false
		if f&want != 0 {
			found, err = hr.field(&h, f)
		} else {
			err = hr.skip(1)
		}
		if err != nil {
			return h, named(h, err)
		}
		if found && f&stop != 0 {
			return h, nil
		}
	}
	return h, nil
}

// headerReader reads MessagePack values from a stream, one head at a time.
type headerReader struct {
	r       ByteReader
	scratch [8]byte
}

// head reads the code and length of the next value: its code byte, its
// kind and its length (bytes of a str, bin, ext or scalar; elements of an
// array; pairs of a map).
func (hr *headerReader) head() (c byte, kind uint8, n uint64, err error) {
	c, err = hr.r.ReadByte()
	if err != nil {
		return 0, 0, 0, cutShort(err)
	}
	sh := shapes[c]
	if sh.kind == kindBad {
		return 0, 0, 0, &DecodeError{Err: ErrMalformed, Detail: fmt.Sprintf("byte 0x%02x is not MessagePack", c)}
	}
	n = uint64(sh.size)
	if sh.head > 1 {
		b := hr.scratch[:sh.head-1]
		if _, err := io.ReadFull(hr.r, b); err != nil {
			return 0, 0, 0, cutShort(err)
		}
		n += bigEndian(b)
	}
	return c, sh.kind, n, nil
}

func bigEndian(b []byte) (v uint64) {
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return v
}

// uint reads a non-negative integer of any width, at most max.
func (hr *headerReader) uint(name string, max uint64) (uint64, error) {
	c, kind, n, err := hr.head()
	if err != nil {
		return 0, err
	}
	v, err := hr.intData(c, kind, n)
	if err != nil {
		return 0, err
	}
	if v < 0 || uint64(v) > max {
		return 0, &DecodeError{Err: ErrFieldType, Detail: name + ": not an unsigned integer in range"}
	}
	return uint64(v), nil
}

// intData reads the data of an integer whose head was read; v < 0 for a
// negative integer, a value above math.MaxInt64 or anything else than an
// integer (whose data is then skipped).
func (hr *headerReader) intData(c byte, kind uint8, n uint64) (v int64, err error) {
	switch {
	case c <= 0x7f:
		return int64(c), nil
	case c >= 0xca && c <= 0xd3:
	default:
		return -1, hr.discard(kind, n)
	}
	b := hr.scratch[:n]
	if _, err := io.ReadFull(hr.r, b); err != nil {
		return 0, cutShort(err)
	}
	u := bigEndian(b)
	switch c {
	case 0xca, 0xcb: // a float holding a whole number, as the decoder takes it
		f := math.Float64frombits(u)
		if c == 0xca {
			f = float64(math.Float32frombits(uint32(u)))
		}
		if f >= 0 && f < math.MaxInt64 && f == math.Trunc(f) {
			return int64(f), nil
		}
		return -1, nil
	}
	if c >= 0xd0 && u>>(8*n-1) != 0 || u > math.MaxInt64 {
		return -1, nil
	}
	return int64(u), nil
}

// discard throws away what is left of a value whose head was read.
func (hr *headerReader) discard(kind uint8, n uint64) error {
	switch kind {
	case kindArray:
		return hr.skip(n)
	case kindMap:
		return hr.skip(2 * n) // at most 2 * (2^32 - 1)
	}
	if n == 0 {
		return nil
	}
	if m, _ := io.CopyN(io.Discard, hr.r, int64(min(n, math.MaxInt64))); uint64(m) != n {
		return cutShort(io.EOF)
	}
	return nil
}

// skip reads and throws away n values. Nothing is kept: the data of a
// str, bin or ext is copied to io.Discard, and an array or map adds its
// elements to the count of values still to skip, so nesting costs no
// memory or stack.
func (hr *headerReader) skip(n uint64) error {
	for left := n; left > 0; {
		left--
		_, kind, size, err := hr.head()
		if err != nil {
			return err
		}
		switch kind {
		case kindArray, kindMap:
			if kind == kindMap {
				size *= 2
			}
			if size > maxPending-left {
				return &DecodeError{Err: ErrMalformed, Detail: "containers declare more elements than a message can hold"}
			}
			left += size
		default:
			if err := hr.discard(kind, size); err != nil {
				return err
			}
		}
	}
	return nil
}

// str reads a str (or, with bin set, a bin) of at most max bytes; ok is
// false (and the value skipped) for anything else.
func (hr *headerReader) str(max uint64, bin bool) (s string, ok bool, err error) {
	_, kind, n, err := hr.head()
	if err != nil {
		return "", false, err
	}
	if kind != kindStr && !(bin && kind == kindBin) || n > max {
		return "", false, hr.discard(kind, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(hr.r, b); err != nil {
		return "", false, cutShort(err)
	}
	return string(b), true, nil
}

// fieldName reads a body field name: the field it names, or 0 for any
// other name or a name that is not a short str.
func (hr *headerReader) fieldName() (fieldSet, error) {
	name, ok, err := hr.str(maxHeaderField, false)
	if err != nil || !ok {
		return 0, err
	}
	return fieldOf([]byte(name)), nil
}

// field reads the value of field f into h; found is false when the value
// is not of the type the field takes (it is then skipped).
func (hr *headerReader) field(h *Header, f fieldSet) (found bool, err error) {
	if f == fieldCode {
		c, kind, n, err := hr.head()
		if err != nil {
			return false, err
		}
		v, err := hr.intData(c, kind, n)
		if err != nil || v < 0 || v > math.MaxInt32 {
			return false, err
		}
		h.Code = int(v)
		return true, nil
	}
	s, ok, err := hr.str(maxHeaderString, true)
	if err != nil {
		return false, err
	}
	switch {
	case f == fieldState:
		// As the decoder reads it: a "state" field names the key, even
		// when it is not a string ("key" is read only without it).
		h.Key = s
		return true, nil
	case !ok:
		return false, nil
	case f == fieldCallID:
		h.CallID = s
	case h.Key == "":
		h.Key = s
	}
	return true, nil
}

// named fills in the frame type and stream of a *DecodeError.
func named(h Header, err error) error {
	var de *DecodeError
	if errors.As(err, &de) {
		de.Type, de.Stream = h.Type, h.Stream
	}
	return err
}

// cutShort turns the end of the input into ErrMalformed; other read
// errors are returned as they are.
func cutShort(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &DecodeError{Err: ErrMalformed, Detail: "cut short"}
	}
	return err
}
