package wire

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/shamaton/msgpack/v2"
)

// checkSameAsGeneric fails the test when Decode and decode(data, false), the
// path without the fast decoders, disagree about data: the frames must be
// deeply equal and the errors the same.
//
// The generic path itself is not deterministic for every input: a map whose
// keys become the same string (1 and "1") keeps the value that Normalize
// meets last, and a value with two faults reports the one it meets first,
// in the random order of map iteration, which for a small map favours one
// order up to 7 times in 8. So a difference counts only when it persists.
func checkSameAsGeneric(t testing.TB, data []byte) {
	t.Helper()
	got, gotErr := Decode(data)
	var diff string
	for range 500 {
		want, wantErr := decode(data, false)
		if diff = frameDiff(got, gotErr, want, wantErr); diff == "" {
			return
		}
	}
	t.Fatalf("Decode(% x) differs from the generic decoder:\n%s", data, diff)
}

// frameDiff describes how two results of decoding differ, or returns "".
func frameDiff(got Frame, gotErr error, want Frame, wantErr error) string {
	if !sameFrame(got, want) {
		return fmt.Sprintf(" got frame %s\nwant frame %s", dumpAny(got), dumpAny(want))
	}
	if gotErr == nil && wantErr == nil {
		return ""
	}
	var g, w *DecodeError
	if !errors.As(gotErr, &g) || !errors.As(wantErr, &w) {
		return fmt.Sprintf(" got error %v (%T)\nwant error %v (%T)", gotErr, gotErr, wantErr, wantErr)
	}
	if !errors.Is(gotErr, w.Err) || g.Type != w.Type || g.Stream != w.Stream || g.Key != w.Key || g.Detail != w.Detail {
		return fmt.Sprintf(" got error %#v\nwant error %#v", g, w)
	}
	return ""
}

// sameFrame is reflect.DeepEqual, except that NaN equals NaN.
func sameFrame(a, b Frame) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	return hasNaN(reflect.ValueOf(a.Body)) && dumpAny(a) == dumpAny(b)
}

// dumpAny prints a frame with its body, maps sorted by key.
func dumpAny(f Frame) string {
	if f.Body == nil {
		return fmt.Sprintf("%s stream=%d seq=%d body=nil", f.Type, f.Stream, f.Seq)
	}
	v := reflect.ValueOf(f.Body)
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		return fmt.Sprintf("%s stream=%d seq=%d body=%T%#v", f.Type, f.Stream, f.Seq, f.Body, v.Elem().Interface())
	}
	return fmt.Sprintf("%s stream=%d seq=%d body=%#v", f.Type, f.Stream, f.Seq, f.Body)
}

// nestedRaw is v inside depth arrays of one element, encoded.
func nestedRaw(depth int, v any) Raw {
	r := arr(v)
	for range depth - 1 {
		r = arr(r)
	}
	return r
}

func str8(s string) Raw  { return Raw(append([]byte{0xd9, byte(len(s))}, s...)) }
func str16(s string) Raw { return Raw(append([]byte{0xda, 0, byte(len(s))}, s...)) }
func bin8(s string) Raw  { return Raw(append([]byte{0xc4, byte(len(s))}, s...)) }

// fastPathSeeds are frames for the fast decoders to accept or turn down:
// every frame type with its integers in every width, and bodies of the
// types the fast decoders read with the variations the generic path
// treats in its own way.
func fastPathSeeds() [][]byte {
	var seeds [][]byte
	add := func(frames ...[]byte) { seeds = append(seeds, frames...) }
	// Every type, its header and body integers in every width.
	for _, ic := range intCodes {
		n := func(v int64) Raw { return intAs(ic.code, v) }
		bodies := map[Type]Raw{
			TypeHello:     omap("protocol", "sodp", "version", "1.0", "auth", false, "capabilities", omap("max", n(9))),
			TypeWatch:     omap("state", "k", "params", omap("limit", n(5))),
			TypeStateInit: omap("state", "k", "version", n(5), "value", omap("a", n(1), "b", arr(n(2))), "initialized", true, "params", omap("p", n(3))),
			TypeDelta:     omap("state", "k", "version", n(5), "ops", arr(omap("op", "ADD", "path", "/x", "value", n(3)), omap("op", "REMOVE", "path", "/y", "value", nil))),
			TypeCall:      omap("call_id", "c", "method", "m", "args", omap("a", n(1))),
			TypeResult:    omap("call_id", "c", "success", false, "data", nil, "error", "e", "code", n(100)),
			TypeError:     omap("code", n(0x40), "message", "m"),
			TypeHeartbeat: omap("t", n(1)),
			TypeResume:    omap("state", "k", "since_version", n(4)),
			TypeAuth:      omap("token", "t"),
			TypeAuthOK:    omap("sub", "s"),
			TypeUnwatch:   omap("states", arr("a")),
		}
		for _, typ := range allTypes {
			add(frameBytes(n(int64(typ)), n(10), n(7), bodies[typ]), frameBytes(n(int64(typ)), n(10), n(7), nil))
		}
		add(frameBytes(n(0x0E), n(10), n(7), omap("x", n(1))))
	}

	ops := arr(omap("op", "UPDATE", "path", "/a", "value", 1))
	d := func(kv ...any) []byte { return frameBytes(TypeDelta, 10, 1, omap(kv...)) }
	withOp := func(kv ...any) []byte { return d("state", "k", "version", 1, "ops", arr(omap(kv...))) }
	s := func(kv ...any) []byte { return frameBytes(TypeStateInit, 11, 2, omap(kv...)) }
	r := func(kv ...any) []byte { return frameBytes(TypeResult, 0, 3, omap(kv...)) }
	ts := Raw{0xd6, 0xff, 0x65, 0xec, 0x6c, 0x92}
	ext5 := Raw{0xd4, 0x05, 0x00}
	// DELTA: the key field.
	add(d("key", "k", "version", 1, "ops", ops),
		d("state", "s", "key", "k", "version", 1, "ops", ops),
		d("key", "k", "state", "s", "version", 1, "ops", ops),
		d("state", nil, "key", "k", "version", 1, "ops", ops),
		d("key", "k", "state", nil, "version", 1, "ops", ops),
		d("state", "", "key", "k", "version", 1, "ops", ops),
		d("key", nil, "version", 1, "ops", ops),
		d("state", bin8("k"), "version", 1, "ops", ops),
		d("key", bin8("k"), "version", 1, "ops", ops),
		d("state", 5, "version", 1, "ops", ops),
		d("state", "s", "key", 5, "version", 1, "ops", ops),
		d("key", "k", "state", 5, "version", 1, "ops", ops),
		d(str8("state"), "k", str16("version"), 1, str8("ops"), ops),
		d(str8("state"), "k", "state", "s", "version", 1, "ops", ops),
	)
	// DELTA: repeated fields.
	add(d("state", "k", "version", 5, "version", nil, "ops", ops),
		d("state", "k", "version", nil, "version", 5, "ops", ops),
		d("state", "k", "version", 1, "ops", ops, "ops", nil),
		d("state", "k", "version", 1, "ops", nil, "ops", ops),
		d("state", "k", "version", 1, "ops", ops, "ops", arr()),
		d("state", "k", "state", nil, "version", 1, "ops", ops),
		d("state", "k", "state", 5, "version", 1, "ops", ops),
		d("zz", 1, "zz", 2, "version", 1, "ops", ops),
	)
	// DELTA: version.
	for _, v := range []any{nil, "5", true, 1.0, 5.5, float32Raw(2), float64Raw(-1), float64Raw(math.NaN()),
		uint64Raw(math.MaxUint64), uint64Raw(math.MaxInt64), uint64Raw(math.MaxInt64 + 1), intAs(0xd3, math.MaxInt64),
		intAs(0xd0, -1), intAs(0xd1, -1), intAs(0xd2, -1), intAs(0xd3, -1), intAs(0xd3, math.MinInt64), Raw{0xe0},
		arr(), omap(), bin8("5"), ts} {
		add(d("state", "k", "version", v, "ops", ops))
	}
	// DELTA: ops.
	for _, v := range []any{nil, "ops", bin8("ops"), omap(), omap("op", "ADD"), 1, true, arr(), Raw{0xdc, 0, 0},
		Raw(cat([]byte{0xdc, 0, 1}, omap("op", "ADD", "path", "/"))), Raw(cat([]byte{0xdd, 0, 0, 0, 1}, omap("op", "ADD", "path", "/"))),
		arr(nil), arr(1), arr("ADD"), arr(arr()), arr(omap()), arr(ts), arr(ext5), arr(omap("op", "ADD", "path", "/"), nil)} {
		add(d("state", "k", "version", 1, "ops", v))
	}
	add(d("state", "k", "version", 1))
	// DELTA: the fields of an op.
	add(withOp("op", "ADD", "path", "/x"),
		withOp("op", "ADD", "path", ""),
		withOp("op", "", "path", "/x"),
		withOp("path", "/x", "op", "ADD", "value", 1),
		withOp("op", "ADD", "path", "/x", "value", nil),
		withOp("op", "ADD", "path", "/x", "value", bin8("v")),
		withOp("op", "ADD", "path", "/x", "value", ts),
		withOp("op", "ADD", "path", "/x", "value", ext5),
		withOp("op", "ADD", "path", "/x", "value", omap(1, "one", true, 2, 1.5, 3)),
		withOp("op", "ADD", "path", "/x", "value", omap(nil, 1)),
		withOp("op", "ADD", "path", "/x", "value", uint64Raw(math.MaxUint64)),
		withOp("op", "ADD", "path", "/x", "value", float64Raw(math.NaN())),
		withOp("op", "ADD"),
		withOp("path", "/x"),
		withOp("op", nil, "path", "/x"),
		withOp("op", "ADD", "path", nil),
		withOp("op", bin8("ADD"), "path", "/x"),
		withOp("op", "ADD", "path", bin8("/x")),
		withOp("op", 1, "path", "/x"),
		withOp("op", "ADD", "path", arr()),
		withOp("op", "ADD", "op", nil, "path", "/x"),
		withOp("op", nil, "op", "ADD", "path", "/x"),
		withOp("op", "ADD", "path", "/x", "path", "/y"),
		withOp("op", "ADD", "path", "/x", "value", 1, "value", nil),
		withOp("op", "ADD", "path", "/x", "value", nil, "value", 1),
		withOp("op", "ADD", "path", "/x", "from", "/y", "ts", 5, "zz", omap("a", arr(1))),
		withOp("op", "ADD", "path", "/x", "zz", ts),
		withOp("op", "ADD", "path", "/x", "zz", ext5),
		withOp("op", "ADD", "path", "/x", 1, "one"),
		withOp("op", "ADD", "path", "/x", nil, "nil"),
		withOp("op", "ADD", "path", "/x", true, "t"),
		withOp(str8("op"), "ADD", str8("path"), str8("/x")),
	)
	// DELTA: unknown and odd body fields.
	add(d("state", "k", "version", 1, "ops", ops, "zz", ts),
		d("state", "k", "version", 1, "ops", ops, "zz", ext5),
		d("state", "k", "version", 1, "ops", ops, "zz", arr(ext5)),
		d("state", "k", "version", 1, "ops", ops, "zz", omap(1, nil, 2.5, true)),
		d("state", "k", "version", 1, "ops", ops, "value", "v", "data", 1, "code", "c", "op", nil, "path", nil),
		d("state", "k", "version", 1, "ops", ops, 1, "one"),
		d("state", "k", "version", 1, "ops", ops, nil, "nil"),
		d("state", "k", "version", 1, "ops", ops, false, 0),
		d("state", "k", "version", 1, "ops", ops, float64Raw(1), 0),
		d("version", 1, "ops", ops, "params", omap("p", arr(omap("op", nil)))),
		d(),
	)
	// STATE_INIT.
	add(s("state", "k", "version", 1, "value", 1, "initialized", true),
		s("key", "k", "version", 1, "value", 1),
		s("state", nil, "key", "k", "version", 1),
		s("state", "k", "version", 1, "value", nil, "initialized", false),
		s("state", "k", "version", 1, "value", nil, "value", 1),
		s("state", "k", "version", 1, "value", 1, "value", nil),
		s("state", "k", "version", intAs(0xd0, -1)),
		s("state", "k", "version", 2.0),
		s("state", "k", "version", uint64Raw(math.MaxUint64)),
		s("state", "k", "value", omap(nil, 1)),
		s("state", "k", "value", omap(1, 2, true, 3)),
		s("state", "k", "value", omap(1, "int", "1", "string")),
		s("state", "k", "value", omap(nil, 1, "a", Raw{0xd4, 0x05, 0x00})),
		s("state", "k", "value", bin8("v")),
		s("state", "k", "value", ts),
		s("state", "k", "value", Raw{0xc7, 0x03, 0xff, 0, 0, 0}),
		s("state", "k", "initialized", nil),
		s("state", "k", "initialized", 1),
		s("state", "k", "initialized", true, "initialized", false),
		s("state", "k", "params", nil),
		s("state", "k", "params", omap()),
		s("state", "k", "params", arr()),
		s("state", "k", "params", "p"),
		s("state", "k", "params", omap(nil, 1)),
		s("state", "k", "params", omap(1, arr(1))),
		s("state", "k", "params", omap("a", 1), "params", nil),
		s("state", 1),
		s("state", "k", "ops", "not ops", "zz", 1),
		s(),
	)
	// RESULT.
	add(r("call_id", "c", "success", true, "data", omap("version", 9)),
		r("call_id", "c", "success", false, "data", "boom"),
		r("call_id", "c", "success", false, "data", bin8("boom")),
		r("call_id", "c", "success", false, "error", "e", "message", nil),
		r("call_id", "c", "success", false, "message", nil, "error", "e"),
		r("call_id", "c", "success", false, "error", "e", "message", ""),
		r("call_id", "c", "success", false, "error", "e", "message", "m"),
		r("call_id", "c", "success", false, "message", bin8("m")),
		r("call_id", "c", "success", false, "message", 1),
		r("call_id", "c", "success", false, "error", 1),
		r("call_id", "c", "success", false, "error", bin8("e"), "data", "d"),
		r("call_id", "c", "success", false, "message", "m", "message", nil),
		r("call_id", "c", "success", false, "data", "d", "data", nil),
		r("call_id", bin8("c"), "success", true),
		r("call_id", 1, "success", true),
		r("call_id", "c", "success", nil),
		r("call_id", "c", "success", 1),
		r("call_id", "c", "code", intAs(0xd1, -5)),
		r("call_id", "c", "code", 404.0),
		r("call_id", "c", "code", uint64Raw(math.MaxUint64)),
		r("call_id", "c", "code", uint64Raw(math.MaxInt32+1)),
		r("call_id", "c", "code", nil),
		r("call_id", "c", "data", omap(nil, 1)),
		r("call_id", "c", "data", ts),
		r(),
	)
	// Bodies and headers the fast decoders turn down.
	for _, typ := range []Type{TypeDelta, TypeStateInit, TypeResult, TypeHeartbeat} {
		add(frameBytes(typ, 10, 1, arr()),
			frameBytes(typ, 10, 1, 1),
			frameBytes(typ, 10, 1, "body"),
			frameBytes(typ, 10, 1, bin8("body")),
			frameBytes(typ, 10, 1, ts),
			frameBytes(typ, 10, 1, omap()),
			frameBytes(typ, 10, 1, omap("zz", ext5)),
			frameBytes(typ, 10, 1, omap("zz", ts)),
			frameBytes(typ, 10, 1, Raw{0xde, 0, 0}),
			frameBytes(typ, 10, 1, Raw{0xdf, 0, 0, 0, 0}),
			frameBytes(typ, 1.0, 1, nil),
			frameBytes(typ, 10, 1.0, nil),
			frameBytes(typ, 10, -1, nil),
			frameBytes(typ, 10, uint64Raw(math.MaxUint64), nil),
			frameBytes(typ, intAs(0xce, math.MaxUint32), 1, nil),
			frameBytes(typ, arr(), 1, nil),
			frameBytes(arr(typ), 10, 1, nil),
			cat([]byte{0xdc, 0, 4, byte(typ), 10, 1}, omap("state", "k", "version", 1, "ops", ops)),
			cat([]byte{0xdd, 0, 0, 0, 4, byte(typ), 10, 1}, []byte{0xc0}),
			cat(frameBytes(typ, 10, 1, nil), []byte{0xc0}),
			cat(frameBytes(typ, 10, 1, omap("state", "k", "version", 1, "ops", ops)), []byte{0x01}),
		)
	}
	add(frameBytes(float64Raw(4), 10, 1, omap("version", 1, "ops", ops)),
		frameBytes(intAs(0xcd, 0x104), 10, 1, nil),
		arr(TypeDelta, 10, 1, omap("version", 1, "ops", ops), nil),
		arr(TypeDelta, 10, omap("version", 1, "ops", ops)),
	)
	return seeds
}

func TestDecodeMatchesGeneric(t *testing.T) {
	for _, data := range fuzzSeeds(t) {
		checkSameAsGeneric(t, data)
	}
}

// TestDecodeMatchesGenericMutated compares Decode and the generic decoder on the
// fuzz seeds with one byte replaced, for every byte, and cut short.
func TestDecodeMatchesGenericMutated(t *testing.T) {
	// A fixint, an empty map, array and string, nil, a bin8, a float, an
	// ext, a str8 and a negative fixint.
	subst := []byte{0x00, 0x80, 0x90, 0xa0, 0xc0, 0xc4, 0xcb, 0xd4, 0xd9, 0xff}
	if testing.Short() {
		subst = []byte{0x80, 0xa0, 0xc0, 0xc4}
	}
	for _, seed := range fuzzSeeds(t) {
		data := make([]byte, len(seed))
		for i := range seed {
			checkSameAsGeneric(t, seed[:i])
			for _, b := range subst {
				copy(data, seed)
				data[i] = b
				checkSameAsGeneric(t, data)
			}
		}
	}
}

// TestDecodeFastPath makes sure the fast decoders take the frames they are
// for, and turn down those the generic path must decode.
func TestDecodeFastPath(t *testing.T) {
	fast := func(data []byte) (Frame, bool) {
		t.Helper()
		layout, de := scanFrame(data, maxWireDepth)
		if de != nil {
			t.Fatalf("scanFrame(% x): %v", data, de)
		}
		return decodeFast(data, &layout)
	}
	for _, tc := range roundTripFrames() {
		switch tc.frame.Type {
		case TypeDelta, TypeStateInit, TypeResult, TypeHeartbeat:
		default:
			continue
		}
		for _, os := range encodeOptionSets {
			data := mustEncode(t, tc.frame, os.o)
			f, ok := fast(data)
			if !ok {
				t.Errorf("%s/%s: the fast decoders turn down % x", tc.name, os.name, data)
				continue
			}
			if want := mustDecode(t, data); !reflect.DeepEqual(f, want) {
				t.Errorf("%s/%s: fast decoding\n got %s\nwant %s", tc.name, os.name, dump(f), dump(want))
			}
		}
	}

	ops := arr(omap("op", "UPDATE", "path", "/a", "value", 1))
	taken := []struct {
		name string
		data []byte
	}{
		{"delta with key", frameBytes(TypeDelta, 10, 1, omap("key", "k", "version", 1, "ops", ops))},
		{"delta with state and key", frameBytes(TypeDelta, 10, 1, omap("key", "k", "state", "s", "version", 1, "ops", ops))},
		{"delta with state nil", frameBytes(TypeDelta, 10, 1, omap("state", nil, "key", "k", "version", 1, "ops", ops))},
		{"delta with bin state", frameBytes(TypeDelta, 10, 1, omap("state", bin8("k"), "version", 1, "ops", ops))},
		{"delta with str8 keys", frameBytes(TypeDelta, 10, 1, omap(str8("state"), "k", str16("version"), 1, str8("ops"), ops))},
		{"delta with unknown fields", frameBytes(TypeDelta, 10, 1, omap("version", 1, "ops", ops, "zz", omap(1, arr(), nil, 2), "value", 3))},
		{"delta with a nil field name", frameBytes(TypeDelta, 10, 1, omap("version", 1, "ops", ops, nil, 1))},
		{"delta with empty ops", frameBytes(TypeDelta, 10, 1, omap("version", 1, "ops", arr()))},
		{"delta with ops array16", frameBytes(TypeDelta, 10, 1, omap("version", 1, "ops", Raw{0xdc, 0, 0}))},
		{"op at the root", frameBytes(TypeDelta, 10, 1, omap("version", 1, "ops", arr(omap("op", "UPDATE", "path", "", "value", 1))))},
		{"op without value", frameBytes(TypeDelta, 10, 1, omap("version", 1, "ops", arr(omap("op", "REMOVE", "path", "/a"))))},
		{"ops setting no value", frameBytes(TypeDelta, 10, 1, omap("version", 1, "ops", arr(omap("op", "UPDATE", "path", "/a"),
			omap("op", "ADD", "path", "/b", "value", nil), omap("path", "/c", "op", "ADD"), omap("op", "add", "path", "/d"))))},
		{"op with unknown fields", frameBytes(TypeDelta, 10, 1, omap("version", 1, "ops", arr(omap("op", "ADD", "path", "/", "from", "/b", "ts", omap("a", 1)))))},
		{"op with bin value", frameBytes(TypeDelta, 10, 1, omap("version", 1, "ops", arr(omap("op", "ADD", "path", "/", "value", bin8("v")))))},
		{"state_init with key", frameBytes(TypeStateInit, 10, 1, omap("key", "k", "version", 1, "value", omap(1, "one")))},
		{"state_init with params", frameBytes(TypeStateInit, 10, 1, omap("state", "k", "params", omap("p", 1, 2, true)))},
		{"result with message", frameBytes(TypeResult, 0, 1, omap("call_id", "c", "error", "e", "message", "m", "code", 400))},
		{"result with empty message", frameBytes(TypeResult, 0, 1, omap("call_id", "c", "error", "e", "message", ""))},
		{"result with bin message", frameBytes(TypeResult, 0, 1, omap("call_id", "c", "message", bin8("m")))},
		{"result with message nil", frameBytes(TypeResult, 0, 1, omap("call_id", "c", "error", "e", "message", nil))},
		{"op value of every kind", frameBytes(TypeDelta, 10, 1, omap("version", 1, "ops", arr(omap("op", "UPDATE", "path", "/v", "value",
			arr(nil, true, false, -1, -33, intAs(0xd0, -100), intAs(0xd1, -1000), intAs(0xd2, -100000), intAs(0xd3, math.MinInt64),
				intAs(0xcc, 200), intAs(0xcd, 60000), intAs(0xce, 4000000000), uint64Raw(math.MaxUint64), 1.5, Raw{0xca, 0x3f, 0xc0, 0, 0},
				str8("s8"), str16("s16"), bin8("b8"), arr(), omap(), Raw{0xdc, 0, 1, 7}, Raw{0xde, 0, 1, 0xa1, 'k', 8})))))},
		{"op value with keys of every kind", frameBytes(TypeDelta, 10, 1, omap("version", 1, "ops", arr(omap("op", "UPDATE", "path", "/v", "value",
			omap(1, "int", intAs(0xd3, -7), "negative", uint64Raw(math.MaxUint64), "big", 2.5, "float64", Raw{0xca, 0x3d, 0xcc, 0xcc, 0xcd}, "float32",
				true, "bool", str8("s8"), "str8")))))},
		{"op value nested as deep as a value may", frameBytes(TypeDelta, 10, 1, omap("version", 1, "ops", arr(omap("op", "UPDATE", "path", "/v", "value", nestedRaw(maxDepth, 1)))))},
		{"result with data", frameBytes(TypeResult, 0, 1, omap("call_id", "c", "success", true, "data", omap("a", arr(1, "x")), "zz", 1))},
		{"heartbeat with a body", frameBytes(TypeHeartbeat, 0, 1, omap("t", 1))},
		{"watch with nil body", frameBytes(TypeWatch, 10, 1, nil)},
	}
	for _, tc := range taken {
		f, ok := fast(tc.data)
		if !ok {
			t.Errorf("%s: the fast decoders turn down % x", tc.name, tc.data)
			continue
		}
		if want, err := decode(tc.data, false); err != nil || !reflect.DeepEqual(f, want) {
			t.Errorf("%s: fast decoding\n got %s\nwant %s (%v)", tc.name, dump(f), dump(want), err)
		}
	}

	withOp := func(kv ...any) []byte {
		return frameBytes(TypeDelta, 10, 1, omap("version", 1, "ops", arr(omap(kv...))))
	}
	left := []struct {
		name string
		data []byte
	}{
		{"delta without version", frameBytes(TypeDelta, 10, 1, omap("ops", ops))},
		{"delta with version nil", frameBytes(TypeDelta, 10, 1, omap("version", nil, "ops", ops))},
		{"repeated version", frameBytes(TypeDelta, 10, 1, omap("version", 1, "version", nil, "ops", ops))},
		{"repeated ops", frameBytes(TypeDelta, 10, 1, omap("version", 1, "ops", ops, "ops", nil))},
		{"repeated op value", withOp("op", "ADD", "path", "/", "value", 1, "value", nil)},
		{"op nil", withOp("op", nil, "path", "/")},
		{"path nil", withOp("op", "ADD", "path", nil)},
		{"op bin", withOp("op", bin8("ADD"), "path", "/")},
		{"path bin", withOp("op", "ADD", "path", bin8("/"))},
		{"op missing", withOp("path", "/")},
		{"path missing", withOp("op", "ADD")},
		{"empty op", frameBytes(TypeDelta, 10, 1, omap("version", 1, "ops", arr(omap())))},
		{"ops a string", frameBytes(TypeDelta, 10, 1, omap("version", 1, "ops", "ops"))},
		{"ops a bin", frameBytes(TypeDelta, 10, 1, omap("version", 1, "ops", bin8("ops")))},
		{"negative version", frameBytes(TypeDelta, 10, 1, omap("version", intAs(0xd3, -1), "ops", ops))},
		{"float version", frameBytes(TypeDelta, 10, 1, omap("version", 1.0, "ops", ops))},
		{"version above MaxInt64", frameBytes(TypeDelta, 10, 1, omap("version", uint64Raw(math.MaxUint64), "ops", ops))},
		{"ext in an unknown field", frameBytes(TypeDelta, 10, 1, omap("version", 1, "ops", ops, "zz", Raw{0xd4, 0x05, 0x00}))},
		{"timestamp value", frameBytes(TypeStateInit, 10, 1, omap("state", "k", "value", Raw{0xd6, 0xff, 0, 0, 0, 1}))},
		{"initialized nil", frameBytes(TypeStateInit, 10, 1, omap("state", "k", "initialized", nil))},
		{"op value nested too deep", frameBytes(TypeDelta, 10, 1, omap("version", 1, "ops", arr(omap("op", "UPDATE", "path", "/v", "value", nestedRaw(maxDepth+1, 1)))))},
		{"nil map key in a value", frameBytes(TypeDelta, 10, 1, omap("version", 1, "ops", arr(omap("op", "UPDATE", "path", "/v", "value", omap(nil, 1)))))},
		{"params not a map", frameBytes(TypeStateInit, 10, 1, omap("state", "k", "params", arr(1)))},
		{"success nil", frameBytes(TypeResult, 0, 1, omap("call_id", "c", "success", nil))},
		{"message an integer", frameBytes(TypeResult, 0, 1, omap("call_id", "c", "message", 5))},
		{"negative code", frameBytes(TypeResult, 0, 1, omap("call_id", "c", "code", -1))},
		{"integer field name", frameBytes(TypeDelta, 10, 1, omap("version", 1, "ops", ops, 7, "seven"))},
		{"integer field name in an op", withOp("op", "ADD", "path", "/", 1, 2)},
		{"trailing byte", cat(frameBytes(TypeHeartbeat, 0, 1, nil), []byte{0xc0})},
		{"array16 frame", cat([]byte{0xdc, 0, 4, 0x09, 0, 1}, []byte{0xc0})},
		{"float stream", frameBytes(TypeHeartbeat, 1.0, 1, nil)},
		{"unknown type", frameBytes(Type(0x0E), 10, 1, nil)},
		{"watch", frameBytes(TypeWatch, 10, 1, omap("state", "k"))},
	}
	for _, tc := range left {
		if f, ok := fast(tc.data); ok {
			t.Errorf("%s: the fast decoders take % x: %s", tc.name, tc.data, dump(f))
		}
		checkSameAsGeneric(t, tc.data)
	}
}

// TestDecodeFastKeepsTimestampsOut checks the assumption behind turning
// down every ext value: the generic decoder reads a timestamp, but fails
// on other ext types, also inside fields no body decoder reads.
func TestDecodeFastKeepsTimestampsOut(t *testing.T) {
	var v any
	b, err := msgpack.Marshal(time.Unix(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := msgpack.Unmarshal(b, &v); err != nil {
		t.Fatalf("timestamp: %v", err)
	}
	if err := msgpack.Unmarshal([]byte{0xd4, 0x05, 0x00}, &v); err == nil {
		t.Fatal("ext type 5 decodes")
	}
	_, err = Decode(frameBytes(TypeDelta, 10, 1, omap("version", 1, "ops", arr(), "zz", Raw{0xd4, 0x05, 0x00})))
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("ext type 5 in an unknown field: err = %v, want ErrMalformed", err)
	}
}

func TestDecodeDeepFrameDoesNotCrash(t *testing.T) {
	for _, open := range [][]byte{{0x91}, {0x81, 0xa1, 'k'}, {0x81, 0xa2, 'o', 'p'}} {
		for _, typ := range []Type{TypeDelta, TypeStateInit, TypeResult} {
			data := cat([]byte{0x94, byte(typ), 0x0a, 0x01, 0x82}, mpStr("version"), []byte{0x01}, mpStr("ops"),
				[]byte{0x91, 0x83}, mpStr("op"), mpStr("ADD"), mpStr("path"), mpStr("/"), mpStr("value"),
				bytes.Repeat(open, 4<<20/len(open)), []byte{0xc0})
			_, err := Decode(data)
			if !errors.Is(err, ErrValue) {
				t.Errorf("%s nested %x: err = %v, want ErrValue", typ, open, err)
			}
		}
	}
}

func TestDecodeFastAllocations(t *testing.T) {
	data := mustEncode(t, benchDelta, EncodeOptions{})
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Decode(data); err != nil {
			t.Fatal(err)
		}
	})
	// The Delta, the struct its body is read into, the MessagePack
	// decoder's state, the ops (two), and the state, op and path strings;
	// the generic path takes over thirty.
	if allocs > 10 {
		t.Errorf("Decode of a DELTA: %v allocations", allocs)
	}
}
