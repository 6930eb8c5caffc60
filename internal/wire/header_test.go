package wire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"runtime"
	"strings"
	"testing"
)

func readHeaderOf(t *testing.T, data []byte) (Header, error) {
	t.Helper()
	return ReadHeader(bytes.NewReader(data))
}

func TestReadHeader(t *testing.T) {
	long := strings.Repeat("k", maxHeaderString+1)
	big := strings.Repeat("v", 100_000)
	cases := []struct {
		name string
		data []byte
		want Header
		err  error
	}{
		{"state init", frameBytes(TypeStateInit, 12, 3, omap("state", "game.score", "version", 5, "value", big)),
			Header{Type: TypeStateInit, Stream: 12, Typed: true, Key: "game.score"}, nil},
		{"key after a large value", frameBytes(TypeStateInit, 12, 3, omap("value", big, "version", 5, "state", "k")),
			Header{Type: TypeStateInit, Stream: 12, Typed: true, Key: "k"}, nil},
		{"key after nested containers", frameBytes(TypeDelta, 10, 1, omap("ops", arr(omap("op", "ADD", "path", "/a", "value", arr(arr(omap("state", "inner")), big))), "state", "outer")),
			Header{Type: TypeDelta, Stream: 10, Typed: true, Key: "outer"}, nil},
		{"key field (Go server)", frameBytes(intAs(0xcc, 4), intAs(0xce, 11), intAs(0xcf, 2), omap("key", "a.b", "version", 1, "ops", arr())),
			Header{Type: TypeDelta, Stream: 11, Typed: true, Key: "a.b"}, nil},
		{"state wins over key", frameBytes(TypeDelta, 11, 2, omap("key", "a", "ops", arr(), "state", "b")),
			Header{Type: TypeDelta, Stream: 11, Typed: true, Key: "b"}, nil},
		{"no key (Rust server)", frameBytes(TypeDelta, 10, 2, omap("version", 7, "ops", arr(omap("op", "UPDATE", "path", "/", "value", big)))),
			Header{Type: TypeDelta, Stream: 10, Typed: true}, nil},
		{"key not a string", frameBytes(TypeDelta, 10, 2, omap("state", 5, "ops", arr())),
			Header{Type: TypeDelta, Stream: 10, Typed: true}, nil},
		{"key too long", frameBytes(TypeDelta, 10, 2, omap("state", long, "ops", arr())),
			Header{Type: TypeDelta, Stream: 10, Typed: true}, nil},
		{"nil body", frameBytes(TypeDelta, 10, 2, nil), Header{Type: TypeDelta, Stream: 10, Typed: true}, nil},
		{"array body", frameBytes(TypeStateInit, 10, 2, arr("state", "k")), Header{Type: TypeStateInit, Stream: 10, Typed: true}, nil},
		{"result", frameBytes(TypeResult, 0, 9, omap("success", true, "data", omap("blob", big), "call_id", "c-1")),
			Header{Type: TypeResult, Typed: true, CallID: "c-1"}, nil},
		{"error", frameBytes(TypeError, 14, 9, omap("message", big, "code", intAs(0xcd, 413))),
			Header{Type: TypeError, Stream: 14, Typed: true, Code: 413}, nil},
		{"error code as text", frameBytes(TypeError, 0, 9, omap("code", "413", "message", "m")),
			Header{Type: TypeError, Typed: true}, nil},
		{"hello: header only", frameBytes(TypeHello, 0, 0, omap("server", big, "state", "x")),
			Header{Type: TypeHello, Typed: true}, nil},
		{"unknown type", frameBytes(0x42, 7, 0, omap("state", "x")), Header{Type: 0x42, Stream: 7, Typed: true}, nil},
		{"not an array", []byte(omap("state", "k")), Header{}, ErrNotArray},
		{"three elements", []byte(arr(3, 10, 1)), Header{}, ErrArity},
		{"array16 of four", cat([]byte{0xdc, 0, 4}, []byte(intAs(0, 3)), []byte{10, 1}, []byte(omap("state", "k"))),
			Header{Type: TypeStateInit, Stream: 10, Typed: true, Key: "k"}, nil},
		{"type out of range", frameBytes(intAs(0xcd, 256), 10, 1, nil), Header{}, ErrFieldType},
		{"negative type", frameBytes(intAs(0xd0, -3), 10, 1, nil), Header{}, ErrFieldType},
		{"type a string", frameBytes("DELTA", 10, 1, nil), Header{}, ErrFieldType},
		{"stream out of range", frameBytes(TypeDelta, uint64Raw(math.MaxUint32+1), 1, nil), Header{Type: TypeDelta, Typed: true}, ErrFieldType},
		{"empty", nil, Header{}, ErrMalformed},
		{"never-used byte", []byte{0x94, 0x03, 0x0a, 0xc1}, Header{Type: TypeStateInit, Stream: 10, Typed: true}, ErrMalformed},
		{"huge declared str", cat([]byte{0x94, 0x03, 0x0a, 0x01, 0x82, 0xa5, 'v', 'a', 'l', 'u', 'e', 0xdb, 0xff, 0xff, 0xff, 0xff}, []byte("abc")),
			Header{Type: TypeStateInit, Stream: 10, Typed: true}, ErrMalformed},
		{"huge declared containers", cat([]byte{0x94, 0x03, 0x0a, 0x01, 0x82, 0xa5, 'v', 'a', 'l', 'u', 'e'}, bytes.Repeat([]byte{0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'a'}, 1000)),
			Header{Type: TypeStateInit, Stream: 10, Typed: true}, ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, err := readHeaderOf(t, tc.data)
			if h != tc.want {
				t.Errorf("header %+v, want %+v", h, tc.want)
			}
			if tc.err == nil && err != nil || tc.err != nil && !errors.Is(err, tc.err) {
				t.Errorf("error %v, want %v", err, tc.err)
			}
			var de *DecodeError
			if err != nil && !errors.As(err, &de) {
				t.Errorf("error %v (%T) is not a *DecodeError", err, err)
			}
		})
	}
}

// Every prefix of a frame is either enough for what ReadHeader looks for
// or reported as cut short; it never panics.
func TestReadHeaderTruncated(t *testing.T) {
	for _, full := range [][]byte{
		frameBytes(TypeStateInit, 300, 70000, omap("version", uint64Raw(9), "value", omap("a", arr(1, "x", 2.5)), "state", "k.x")),
		frameBytes(TypeResult, 0, 9, omap("data", "d", "call_id", "c")),
		frameBytes(TypeDelta, 10, 2, omap("key", "a", "ops", arr(omap("op", "ADD", "path", "/", "value", nil)))),
	} {
		want, err := readHeaderOf(t, full)
		if err != nil {
			t.Fatalf("whole frame: %v", err)
		}
		for n := range len(full) {
			h, err := readHeaderOf(t, full[:n])
			switch {
			case err == nil && h != want:
				t.Fatalf("prefix of %d bytes: %+v without error, want %+v or an error", n, h, want)
			case err != nil && !errors.Is(err, ErrMalformed):
				t.Fatalf("prefix of %d bytes: %v, want ErrMalformed", n, err)
			}
		}
	}
}

// zeros is an endless reader of zero bytes (0x00 is MessagePack 0).
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// countingReader counts what is read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// A value of 64 MiB before the key, and an array of 8 million elements
// after it, are read through without being kept: what ReadHeader
// allocates does not depend on them.
func TestReadHeaderDoesNotBuffer(t *testing.T) {
	const strLen = 64 << 20
	const elems = 8 << 20
	head := []byte{0x94, 0x04, 0x0a, 0x01, 0x83, 0xa5, 'v', 'a', 'l', 'u', 'e', 0xdb}
	head = binary.BigEndian.AppendUint32(head, strLen)
	mid := binary.BigEndian.AppendUint32([]byte{0xa3, 'o', 'p', 's', 0xdd}, elems)
	tail := []byte(omap("key", "found.it"))[1:] // one pair, without the map header
	var stream io.Reader = io.MultiReader(bytes.NewReader(head), io.LimitReader(zeros{}, strLen),
		bytes.NewReader(mid), io.LimitReader(zeros{}, elems), bytes.NewReader(tail))
	r := &countingReader{r: stream}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	h, err := ReadHeader(bufio.NewReader(r))
	runtime.ReadMemStats(&after)
	if err != nil || h.Key != "found.it" || h.Type != TypeDelta || h.Stream != 10 {
		t.Fatalf("ReadHeader: %+v, %v", h, err)
	}
	if want := int64(len(head) + strLen + len(mid) + elems + len(tail)); r.n != want {
		t.Fatalf("read %d bytes, want %d", r.n, want)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Fatalf("ReadHeader allocated %d bytes for a %d-byte frame", alloc, r.n)
	}
}

// Deep nesting before the key costs no stack: the skip keeps a count, not
// a recursion.
func TestReadHeaderDeepNesting(t *testing.T) {
	const depth = 1_000_000
	body := cat([]byte{0x82, 0xa5, 'v', 'a', 'l', 'u', 'e'}, bytes.Repeat([]byte{0x91}, depth), []byte{0xc0}, []byte(mpStr("state")), []byte(mpStr("deep")))
	h, err := readHeaderOf(t, cat([]byte{0x94, 0x03, 0x0a, 0x01}, body))
	if err != nil || h.Key != "deep" {
		t.Fatalf("ReadHeader: %+v, %v", h, err)
	}
}

func TestDecodeWithin(t *testing.T) {
	maps := make([]any, 1000)
	for i := range maps {
		maps[i] = map[string]any{}
	}
	data := frameBytes(TypeStateInit, 10, 1, omap("state", "k", "version", 1, "value", maps))
	f, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	_, err = DecodeWithin(data, 32<<10)
	var de *DecodeError
	if !errors.As(err, &de) || !errors.Is(err, ErrTooCostly) || de.Type != TypeStateInit || de.Stream != 10 {
		t.Fatalf("DecodeWithin(32 KiB): %v, want ErrTooCostly naming the frame", err)
	}
	// 1,000 empty maps: 1,000 slots of 16 bytes and 1,000 maps of 48.
	if de.Cost < 64_000 || de.Cost > 66_000 {
		t.Fatalf("cost %d, want about 64,000", de.Cost)
	}
	if f2, err := DecodeWithin(data, de.Cost); err != nil || dump(f2) != dump(f) {
		t.Fatalf("DecodeWithin(its own cost): %v", err)
	}
	if _, err := DecodeWithin(data, 0); err != nil {
		t.Fatalf("DecodeWithin(0) bounds nothing: %v", err)
	}
}

// The cost estimate is not below what decoding the frame really
// allocates (within a few percent), for the shapes a value is made of.
func TestDecodeCostCoversAllocation(t *testing.T) {
	smallInts := make([]any, 10_000)
	oneField := make([]any, 10_000)
	records := make([]any, 2_000)
	for i := range smallInts {
		smallInts[i] = i % 100
		oneField[i] = map[string]any{"a": i}
	}
	for i := range records {
		records[i] = map[string]any{"id": i * 1000, "name": "user name", "score": 1.5, "tags": []any{"a", "b"}}
	}
	wide := map[string]any{}
	for i := range 5000 {
		wide[strings.Repeat("f", 8)+string(rune('a'+i%26))+strings.Repeat("x", i%7)+string(rune('A'+i/26%26))+string(rune('0'+i/676))] = float64(i)
	}
	for name, v := range map[string]any{"small ints": smallInts, "one-field maps": oneField, "records": records, "wide map": wide} {
		data := frameBytes(TypeStateInit, 10, 1, omap("state", "k", "version", 1, "value", v))
		layout, de := scanFrame(data, maxWireDepth)
		if de != nil {
			t.Fatal(de)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		f, err := Decode(data)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		runtime.KeepAlive(f)
		alloc := int64(after.TotalAlloc - before.TotalAlloc)
		t.Logf("%s: %d bytes on the wire, estimated %d (%.1f×), allocated %d", name, len(data), layout.cost, float64(layout.cost)/float64(len(data)), alloc)
		// Besides the values: the frame, its body, the decoder's own; and
		// a few percent more under the race detector.
		if alloc > layout.cost+layout.cost/20+8<<10 {
			t.Errorf("%s: decoding allocated %d bytes, over the estimate of %d", name, alloc, layout.cost)
		}
	}
}

// FuzzReadHeader reads arbitrary bytes as the start of an oversized
// frame: ReadHeader never panics, reports failures as *DecodeError, and
// agrees with Decode on every frame Decode accepts.
func FuzzReadHeader(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	for _, s := range [][]byte{
		frameBytes(TypeStateInit, 12, 3, omap("value", strings.Repeat("v", 300), "state", "k")),
		frameBytes(TypeDelta, 10, 1, omap("ops", arr(omap("state", "inner")), "key", "a", "state", "b")),
		frameBytes(TypeResult, 0, 9, omap("data", arr(1, 2, omap("call_id", "inner")), "call_id", "c-1")),
		frameBytes(TypeError, 14, 9, omap("message", "m", "code", intAs(0xcd, 413))),
		{0x94, 0x03, 0x0a, 0x01, 0x81, 0xa5, 'v', 'a', 'l', 'u', 'e', 0xdd, 0xff, 0xff, 0xff, 0xff},
		{0x94, 0x03, 0x0a, 0x01, 0x81, 0xa5, 'v', 'a', 'l', 'u', 'e', 0xdf, 0xff, 0xff, 0xff, 0xff, 0xdf, 0xff, 0xff, 0xff, 0xff},
		{0xdd, 0, 0, 0, 4, 0x04, 0xce, 0, 0, 1, 0, 0x01, 0x80},
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ReadHeader(bytes.NewReader(data))
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || de.Err == nil || !errors.Is(err, de.Err) {
				t.Fatalf("error %v (%T) is not a *DecodeError with a sentinel", err, err)
			}
			if h.Typed && (de.Type != h.Type || de.Stream != h.Stream) {
				t.Fatalf("error names %s/%d, header has %s/%d", de.Type, de.Stream, h.Type, h.Stream)
			}
		}
		if len(h.Key) > maxHeaderString || len(h.CallID) > maxHeaderString {
			t.Fatalf("kept a string of %d/%d bytes", len(h.Key), len(h.CallID))
		}
		fr, derr := Decode(data)
		if derr != nil {
			return
		}
		if err != nil || !h.Typed || h.Type != fr.Type || h.Stream != fr.Stream {
			t.Fatalf("Decode gives %s on stream %d; ReadHeader %+v, %v", fr.Type, fr.Stream, h, err)
		}
		if layout, _ := scanFrame(data, maxWireDepth); layout.unusual {
			return // a field named twice: the decoder keeps the last, ReadHeader the first
		}
		switch b := fr.Body.(type) {
		case *StateInit:
			if h.Key != "" && h.Key != b.State {
				t.Fatalf("ReadHeader key %q, Decode %q", h.Key, b.State)
			}
		case *Delta:
			if h.Key != "" && h.Key != b.State {
				t.Fatalf("ReadHeader key %q, Decode %q", h.Key, b.State)
			}
		case *Result:
			if h.CallID != "" && h.CallID != b.CallID {
				t.Fatalf("ReadHeader call id %q, Decode %q", h.CallID, b.CallID)
			}
		case *Error:
			if h.Code != 0 && h.Code != b.Code {
				t.Fatalf("ReadHeader code %d, Decode %d", h.Code, b.Code)
			}
		}
		if _, err := DecodeWithin(data, 1); !errors.Is(err, ErrTooCostly) {
			t.Fatalf("DecodeWithin(1) of a decodable frame: %v, want ErrTooCostly", err)
		}
	})
}
