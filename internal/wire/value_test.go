package wire

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shamaton/msgpack/v2"
)

// nested returns n arrays nested in one another around leaf.
func nested(n int, leaf any) any {
	v := leaf
	for range n {
		v = []any{v}
	}
	return v
}

func TestNormalize(t *testing.T) {
	ts := time.Date(2024, 3, 9, 14, 5, 6, 0, time.UTC)
	tsNano := time.Date(2024, 3, 9, 14, 5, 6, 500_000_000, time.FixedZone("CET", 3600))
	tests := []struct {
		name string
		in   any
		want any
	}{
		{"nil", nil, nil},
		{"bool", true, true},
		{"string", "s", "s"},
		{"int", int(-5), int64(-5)},
		{"int8", int8(math.MinInt8), int64(math.MinInt8)},
		{"int16", int16(math.MinInt16), int64(math.MinInt16)},
		{"int32", int32(math.MinInt32), int64(math.MinInt32)},
		{"int64", int64(math.MinInt64), int64(math.MinInt64)},
		{"uint", uint(7), int64(7)},
		{"uint big", uint(math.MaxUint64), uint64(math.MaxUint64)},
		{"uint8", uint8(math.MaxUint8), int64(math.MaxUint8)},
		{"uint16", uint16(math.MaxUint16), int64(math.MaxUint16)},
		{"uint32", uint32(math.MaxUint32), int64(math.MaxUint32)},
		{"uint64 small", uint64(3), int64(3)},
		{"uint64 MaxInt64", uint64(math.MaxInt64), int64(math.MaxInt64)},
		{"uint64 above MaxInt64", uint64(math.MaxInt64) + 1, uint64(math.MaxInt64) + 1},
		{"uint64 max", uint64(math.MaxUint64), uint64(math.MaxUint64)},
		{"float32", float32(1.25), float64(1.25)},
		{"float32 inexact", float32(0.1), float64(float32(0.1))},
		{"float64", 0.1, 0.1},
		{"float64 inf", math.Inf(-1), math.Inf(-1)},
		{"bin", []byte("bytes"), "bytes"},
		{"empty bin", []byte{}, ""},
		{"time", ts, "2024-03-09T14:05:06Z"},
		{"time in another zone with fraction", tsNano, "2024-03-09T13:05:06.5Z"},
		{"array", []any{int8(1), uint16(2), float32(0.5), []byte("b"), nil}, []any{int64(1), int64(2), 0.5, "b", nil}},
		{"map string keys", map[string]any{"a": uint8(1), "b": []any{int32(2)}}, map[string]any{"a": int64(1), "b": []any{int64(2)}}},
		{"map any keys", map[any]any{
			"s": 1, uint8(98): "uint8", int8(-3): "neg", uint64(math.MaxUint64): "big",
			true: "t", false: "f", 2.5: "float", float32(0.1): "float32", int64(10): map[any]any{"inner": uint8(1)},
		}, map[string]any{
			"s": int64(1), "98": "uint8", "-3": "neg", "18446744073709551615": "big",
			"true": "t", "false": "f", "2.5": "float", "0.1": "float32", "10": map[string]any{"inner": int64(1)},
		}},
		{"array of maps", []any{map[any]any{1: 2}, map[string]any{"x": int16(3)}},
			[]any{map[string]any{"1": int64(2)}, map[string]any{"x": int64(3)}}},
		{"nested within limit", nested(100, uint8(1)), nested(100, int64(1))},
		{"empty containers", []any{[]any{}, map[string]any{}, map[any]any{}}, []any{[]any{}, map[string]any{}, map[string]any{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Normalize(tc.in)
			if err != nil {
				t.Fatalf("Normalize(%#v): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Normalize(%#v)\n got %#v\nwant %#v", tc.in, got, tc.want)
			}
			// Normalising a normalised value changes nothing.
			again, err := Normalize(got)
			if err != nil || !reflect.DeepEqual(again, tc.want) {
				t.Errorf("Normalize is not idempotent: %#v, %v", again, err)
			}
		})
	}
}

func TestNormalizeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   any
		msg  string
	}{
		{"nil map key", map[any]any{nil: 1}, "map key"},
		{"array map key", map[any]any{[2]int{1, 2}: 1}, "map key"},
		{"array of any map key", map[any]any{[1]any{"a"}: 1}, "map key"},
		{"struct map key", map[any]any{struct{ A int }{1}: 1}, "map key"},
		{"pointer map key", map[any]any{new(int): 1}, "map key"},
		{"bad key deep inside", []any{map[string]any{"a": []any{map[any]any{nil: 1}}}}, "map key"},
		{"bad value in map", map[any]any{"a": struct{}{}}, "struct"},
		{"struct", struct{ A int }{1}, "struct"},
		{"[]string", []string{"a"}, "[]string"},
		{"map[string]string", map[string]string{"a": "b"}, "map[string]string"},
		{"complex", complex(1, 2), "complex128"},
		{"pointer", new(int), "*int"},
		{"chan", make(chan int), "chan int"},
		{"nested too deep", nested(maxDepth+1, nil), "nesting deeper"},
		{"nested far too deep", nested(10*maxDepth, "x"), "nesting deeper"},
		{"maps nested too deep", func() any {
			var v any = "leaf"
			for range maxDepth + 1 {
				v = map[string]any{"k": v}
			}
			return v
		}(), "nesting deeper"},
		{"map[any]any nested too deep", func() any {
			var v any = "leaf"
			for range maxDepth + 1 {
				v = map[any]any{1: v}
			}
			return v
		}(), "nesting deeper"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Normalize(tc.in)
			if !errors.Is(err, ErrValue) {
				t.Fatalf("Normalize = %#v, %v; want an error wrapping ErrValue", got, err)
			}
			if got != nil {
				t.Errorf("value %#v returned with the error", got)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
		})
	}
}

func TestNormalizeDepthLimit(t *testing.T) {
	if _, err := Normalize(nested(maxDepth, nil)); err != nil {
		t.Errorf("%d levels: %v", maxDepth, err)
	}
	if _, err := Normalize(nested(maxDepth+1, nil)); !errors.Is(err, ErrValue) {
		t.Errorf("%d levels: err = %v, want ErrValue", maxDepth+1, err)
	}
}

// TestValuesFromTheWire decodes STATE_INIT frames whose value is built by
// hand with MessagePack types the encoder never writes.
func TestValuesFromTheWire(t *testing.T) {
	tests := []struct {
		name  string
		value Raw
		want  any
		err   error
	}{
		{"bin8", Raw{0xc4, 0x03, 'a', 'b', 'c'}, "abc", nil},
		{"bin16", append(Raw{0xc5, 0x00, 0x02}, 0xff, 0x00), "\xff\x00", nil},
		{"bin32", Raw{0xc6, 0, 0, 0, 1, 'z'}, "z", nil},
		{"str8", append(Raw{0xd9, 0x01}, 'q'), "q", nil},
		{"float32", float32Raw(2.5), 2.5, nil},
		{"int8 in uint64 form", uint64Raw(7), int64(7), nil},
		{"uint64 above MaxInt64", uint64Raw(math.MaxUint64), uint64(math.MaxUint64), nil},
		{"int64 negative", intAs(0xd3, -1), int64(-1), nil},
		{"array16", Raw{0xdc, 0x00, 0x02, 0x01, 0xc4, 0x01, 'b'}, []any{int64(1), "b"}, nil},
		{"map with integer keys", omap(1, "one", -2, "minus two", uint64Raw(math.MaxUint64), "max", intAs(0xd1, 300), "int16"),
			map[string]any{"1": "one", "-2": "minus two", "18446744073709551615": "max", "300": "int16"}, nil},
		{"map with bool and float keys", omap(true, 1, false, 0, 1.5, "f64", float32Raw(0.5), "f32"),
			map[string]any{"true": int64(1), "false": int64(0), "1.5": "f64", "0.5": "f32"}, nil},
		{"map16 with mixed keys", append(Raw{0xde, 0x00, 0x02}, cat(mpStr("s"), []byte{0x01, 0x02, 0x03})...),
			map[string]any{"s": int64(1), "2": int64(3)}, nil},
		{"timestamp 32", Raw{0xd6, 0xff, 0x65, 0xec, 0x6c, 0x92}, "2024-03-09T14:05:06Z", nil},
		{"timestamp 64", func() Raw {
			b, err := msgpack.Marshal(time.Date(2024, 3, 9, 14, 5, 6, 250_000_000, time.UTC))
			if err != nil {
				panic(err)
			}
			return Raw(b)
		}(), "2024-03-09T14:05:06.25Z", nil},
		{"nested map with integer keys", omap("outer", arr(omap(7, omap(8, "x")))),
			map[string]any{"outer": []any{map[string]any{"7": map[string]any{"8": "x"}}}}, nil},
		{"nil map key", omap(nil, 1), nil, ErrValue},
		{"nil map key deep inside", arr(arr(omap("a", omap(nil, 1)))), nil, ErrValue},
		{"array map key", omap(arr(1), 1), nil, ErrValue},
		{"empty array map key", omap(arr(), 1), nil, ErrValue},
		{"map map key", omap(omap("a", 1), 1), nil, ErrValue},
		{"bin map key", omap(Raw{0xc4, 0x01, 'k'}, 1), nil, ErrValue},
		{"bin16 map key deep inside", arr(omap("a", omap("b", 1, Raw{0xc5, 0x00, 0x01, 'k'}, 2))), nil, ErrValue},
		{"timestamp map key", omap(Raw{0xd6, 0xff, 0, 0, 0, 1}, 1), nil, ErrValue},
		{"ext type 5", Raw{0xd4, 0x05, 0x00}, nil, ErrMalformed},
		{"ext8 type 1", Raw{0xc7, 0x02, 0x01, 0x00, 0x00}, nil, ErrMalformed},
		{"timestamp of a bad length", Raw{0xc7, 0x03, 0xff, 0x00, 0x00, 0x00}, nil, ErrMalformed},
		{"value nested beyond the limit", Raw(cat(bytes.Repeat([]byte{0x91}, maxDepth+1), []byte{0xc0})), nil, ErrValue},
		{"value nested far beyond the limit", Raw(cat(bytes.Repeat([]byte{0x81, 0xa1, 'k'}, 100_000), []byte{0xc0})), nil, ErrValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := frameBytes(TypeStateInit, 10, 1, omap("state", "k", "version", 1, "value", tc.value, "initialized", true))
			f, err := Decode(data)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				de := asDecodeError(t, err)
				if de.Type != TypeStateInit || de.Stream != 10 {
					t.Errorf("DecodeError header %s/%d", de.Type, de.Stream)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got := f.Body.(*StateInit).Value; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("value = %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestValueWithinDepthLimitFromTheWire(t *testing.T) {
	value := Raw(cat(bytes.Repeat([]byte{0x91}, maxDepth), []byte{0xc0}))
	f := mustDecode(t, frameBytes(TypeStateInit, 10, 1, omap("state", "k", "value", value)))
	if got := f.Body.(*StateInit).Value; !reflect.DeepEqual(got, nested(maxDepth, nil)) {
		t.Errorf("value was not decoded in full")
	}
}

func TestAppendValueScalars(t *testing.T) {
	tests := []struct {
		in   any
		want []byte
	}{
		{nil, []byte{0xc0}},
		{true, []byte{0xc3}},
		{false, []byte{0xc2}},
		{"", []byte{0xa0}},
		{"abc", []byte{0xa3, 'a', 'b', 'c'}},
		{strings.Repeat("x", 32), cat([]byte{0xd9, 32}, []byte(strings.Repeat("x", 32)))},
		{strings.Repeat("x", 256), cat([]byte{0xda, 0x01, 0x00}, []byte(strings.Repeat("x", 256)))},
		{0, []byte{0x00}},
		{int64(5), []byte{0x05}},
		{int8(-1), []byte{0xff}},
		{int16(-32), []byte{0xe0}},
		{int32(-33), []byte{0xd0, 0xdf}},
		{-128, []byte{0xd0, 0x80}},
		{-129, []byte{0xd1, 0xff, 0x7f}},
		{-32769, []byte{0xd2, 0xff, 0xff, 0x7f, 0xff}},
		{int64(math.MinInt64), []byte{0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}},
		{uint8(200), []byte{0xcc, 200}},
		{uint16(300), []byte{0xcd, 0x01, 0x2c}},
		{uint32(70000), []byte{0xce, 0x00, 0x01, 0x11, 0x70}},
		{uint(5), []byte{0x05}},
		{uint64(math.MaxUint64), []byte{0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{1.5, []byte{0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}},
		{float32(1.5), []byte{0xca, 0x3f, 0xc0, 0, 0}},
		{[]any{}, []byte{0x90}},
		{[]any{1, "a", nil}, []byte{0x93, 0x01, 0xa1, 'a', 0xc0}},
		{[]string{"a", "bc"}, []byte{0x92, 0xa1, 'a', 0xa2, 'b', 'c'}},
		{[]string(nil), []byte{0xc0}}, // nil slices and maps are nil, as in encoding/json
		{map[string]any(nil), []byte{0xc0}},
		{map[string]string{"b": "2", "a": "1"}, []byte{0x82, 0xa1, 'a', 0xa1, '1', 0xa1, 'b', 0xa1, '2'}},
		{[]map[string]any{{"b": 1, "a": 2}, nil}, []byte{0x92, 0x82, 0xa1, 'a', 0x02, 0xa1, 'b', 0x01, 0xc0}},
		{Raw{0xc3}, []byte{0xc3}},
	}
	for _, tc := range tests {
		got, err := AppendValue([]byte{0xee}, tc.in)
		if err != nil {
			t.Errorf("AppendValue(%#v): %v", tc.in, err)
			continue
		}
		if want := append([]byte{0xee}, tc.want...); !bytes.Equal(got, want) {
			t.Errorf("AppendValue(%#v) = % x, want % x", tc.in, got, want)
		}
	}
}

func TestAppendValueLongContainers(t *testing.T) {
	long := make([]any, 16)
	got, err := AppendValue(nil, long)
	if err != nil || !bytes.Equal(got[:3], []byte{0xdc, 0x00, 0x10}) || len(got) != 3+16 {
		t.Errorf("array of 16: % x, %v", got, err)
	}
	m := map[string]any{}
	for _, k := range strings.Split("abcdefghijklmnopq", "") {
		m[k] = nil
	}
	got, err = AppendValue(nil, m)
	if err != nil || !bytes.Equal(got[:3], []byte{0xde, 0x00, 0x11}) {
		t.Errorf("map of 17: % x, %v", got, err)
	}
	var v any
	if err := msgpack.Unmarshal(got, &v); err != nil || len(v.(map[any]any)) != 17 {
		t.Errorf("map of 17 does not decode: %v", err)
	}
}

func TestAppendValueSortsMapKeys(t *testing.T) {
	value := map[string]any{
		"zeta": 1, "alpha": map[string]any{"y": true, "x": false, "Z": nil}, "mid": []any{map[string]any{"b": 1, "a": 2}},
		"labels": map[string]string{"k2": "v2", "k1": "v1", "k0": "v0"}, "": "empty", "Alpha": 0,
	}
	first, err := AppendValue(nil, value)
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		again, err := AppendValue(nil, value)
		if err != nil || !bytes.Equal(again, first) {
			t.Fatalf("encoding is not deterministic:\n% x\n% x", first, again)
		}
	}
	want := cat([]byte{0x86},
		mpStr(""), mpStr("empty"),
		mpStr("Alpha"), []byte{0x00},
		mpStr("alpha"), []byte{0x83}, mpStr("Z"), []byte{0xc0}, mpStr("x"), []byte{0xc2}, mpStr("y"), []byte{0xc3},
		mpStr("labels"), []byte{0x83}, mpStr("k0"), mpStr("v0"), mpStr("k1"), mpStr("v1"), mpStr("k2"), mpStr("v2"),
		mpStr("mid"), []byte{0x91, 0x82}, mpStr("a"), []byte{0x02}, mpStr("b"), []byte{0x01},
		mpStr("zeta"), []byte{0x01},
	)
	if !bytes.Equal(first, want) {
		t.Errorf("got  % x\nwant % x", first, want)
	}
}

func TestAppendValueStructFallsBack(t *testing.T) {
	type inner struct {
		N int `msgpack:"n"`
	}
	type profile struct {
		Name    string            `msgpack:"name"`
		Age     uint16            `msgpack:"age"`
		Tags    []string          `msgpack:"tags"`
		Inner   inner             `msgpack:"inner"`
		Labels  map[string]string `msgpack:"labels"`
		Skipped string            `msgpack:"-"`
	}
	in := profile{Name: "alice", Age: 30, Tags: []string{"a", "b"}, Inner: inner{N: -4}, Labels: map[string]string{"k": "v"}, Skipped: "x"}
	data, err := AppendValue(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	want, err := msgpack.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, want) {
		t.Errorf("struct not encoded by msgpack.Marshal:\n got % x\nwant % x", data, want)
	}
	var back profile
	if err := msgpack.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	in.Skipped = ""
	if !reflect.DeepEqual(back, in) {
		t.Errorf("decoded back %+v, want %+v", back, in)
	}
	// Inside a body, the struct arrives as a normalised map.
	f := mustDecode(t, mustEncode(t, Frame{TypeCall, 0, 1, &Call{CallID: "c", Method: "state.set",
		Args: map[string]any{"state": "user.alice", "value": in, "ptr": &in}}}, EncodeOptions{}))
	wantValue := map[string]any{"name": "alice", "age": int64(30), "tags": []any{"a", "b"},
		"inner": map[string]any{"n": int64(-4)}, "labels": map[string]any{"k": "v"}}
	args := f.Body.(*Call).Args
	if !reflect.DeepEqual(args["value"], wantValue) || !reflect.DeepEqual(args["ptr"], wantValue) {
		t.Errorf("args = %#v\nwant value %#v", args, wantValue)
	}
}

func TestAppendValueErrors(t *testing.T) {
	for _, v := range []any{make(chan int), func() {}, []any{1, make(chan int)}, map[string]any{"a": func() {}},
		[]map[string]any{{"a": make(chan int)}}} {
		if _, err := AppendValue(nil, v); !errors.Is(err, ErrValue) {
			t.Errorf("AppendValue(%T): err = %v, want ErrValue", v, err)
		}
	}
}

// withScalars returns an array of one element of every scalar format (with
// payload bytes that would open arrays if they were misread as codes),
// followed by last.
func withScalars(last []byte) []byte {
	return cat([]byte{0xdc, 0x00, 0x16},
		[]byte{0x05, 0xe0, 0xc0, 0xc2, 0xc3, 0xcc, 1, 0xcd, 1, 2, 0xce, 1, 2, 3, 4, 0xcf, 1, 2, 3, 4, 5, 6, 7, 8},
		[]byte{0xd0, 1, 0xd1, 1, 2, 0xd2, 1, 2, 3, 4, 0xd3, 1, 2, 3, 4, 5, 6, 7, 8},
		[]byte{0xca, 0x91, 0x91, 0x91, 0x91, 0xcb, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91},
		[]byte{0xc4, 2, 0x91, 0x91, 0xd9, 1, 0x91, 0xa2, 0x91, 0x91, 0xd4, 1, 0x91, 0xd8, 0x01},
		bytes.Repeat([]byte{0x91}, 16), []byte{0xc7, 1, 5, 0x91},
		last)
}

func TestCheckStructure(t *testing.T) {
	deep := func(open []byte, n int, leaf ...byte) []byte {
		return cat(bytes.Repeat(open, n), leaf)
	}
	tests := []struct {
		name  string
		data  []byte
		limit int
		err   error
	}{
		{"scalar", []byte{0x01}, 1, nil},
		{"flat", []byte{0x93, 0x01, 0x02, 0x03}, 1, nil},
		{"at limit", deep([]byte{0x91}, 5, 0xc0), 5, nil},
		{"over limit", deep([]byte{0x91}, 6, 0xc0), 5, ErrValue},
		{"empty containers do not count", deep([]byte{0x91}, 5, 0x90), 5, nil},
		{"maps", deep([]byte{0x81, 0xa1, 'k'}, 6, 0xc0), 5, ErrValue},
		{"map values close levels", []byte{0x82, 0x01, 0x91, 0x91, 0xc0, 0x02, 0x91, 0x91, 0xc0}, 3, nil},
		{"map values close levels, then too deep", []byte{0x82, 0x01, 0x91, 0x91, 0xc0, 0x02, 0x91, 0x91, 0x91, 0xc0}, 3, ErrValue},
		{"siblings", cat([]byte{0x92}, deep([]byte{0x91}, 4, 0xc0), deep([]byte{0x91}, 4, 0xc0)), 5, nil},
		{"siblings, second too deep", cat([]byte{0x92}, deep([]byte{0x91}, 4, 0xc0), deep([]byte{0x91}, 5, 0xc0)), 5, ErrValue},
		{"array16 and map32", cat([]byte{0xdc, 0x00, 0x01, 0xdf, 0, 0, 0, 1, 0xa1, 'k'}, deep([]byte{0x91}, 4, 0xc0)), 5, ErrValue},
		{"scalars of every size are skipped", withScalars(deep([]byte{0x91}, 4, 0xc0)), 5, nil},
		{"scalars of every size, then too deep", withScalars(deep([]byte{0x91}, 5, 0xc0)), 5, ErrValue},
		{"first value ends the scan", cat([]byte{0xc0}, deep([]byte{0x91}, 9, 0xc0), []byte{0xc1}), 5, nil},
		{"empty", nil, 5, ErrMalformed},
		{"truncated array", deep([]byte{0x91}, 3), 5, ErrMalformed},
		{"truncated map", []byte{0x82, 0x01, 0x02, 0x03}, 5, ErrMalformed},
		{"truncated too deep", deep([]byte{0x91}, 9), 5, ErrValue},
		{"never-used byte", cat(deep([]byte{0x91}, 3), []byte{0xc1}), 5, ErrMalformed},
		{"huge string length", []byte{0xdb, 0xff, 0xff, 0xff, 0xff, 'a'}, 5, ErrMalformed},
		{"huge array length", []byte{0xdd, 0xff, 0xff, 0xff, 0xff, 0x01}, 5, ErrMalformed},
		{"truncated length", []byte{0xda, 0x00}, 5, ErrMalformed},
		{"truncated uint64", []byte{0xcf, 0, 0, 0}, 5, ErrMalformed},
		{"ext8 without length", []byte{0xc7}, 5, ErrMalformed},
		{"ext8 without type", []byte{0xc7, 0x00}, 5, ErrMalformed},
		{"ext8 empty", []byte{0xc7, 0x00, 0x05}, 5, nil},
		{"ext32 short", []byte{0xc9, 0, 0, 0, 2, 0xff, 0x00}, 5, ErrMalformed},
		{"fixext16 short", cat([]byte{0xd8, 0x01}, make([]byte, 15)), 5, ErrMalformed},
		{"fixext16", cat([]byte{0xd8, 0x01}, make([]byte, 16)), 5, nil},
		{"bin16", []byte{0xc5, 0x00, 0x01, 0xc1}, 5, nil},
		{"bin values in a map", []byte{0x81, 0xa1, 'k', 0xc4, 0x01, 'v'}, 5, nil},
		{"bin key", []byte{0x81, 0xc4, 0x01, 'k', 0x01}, 5, ErrValue},
		{"bin key after a pair", []byte{0x82, 0xa1, 'k', 0xc4, 0x01, 'v', 0xc6, 0, 0, 0, 1, 'k', 0x01}, 5, ErrValue},
		{"array key", []byte{0x81, 0x90, 0x01}, 5, ErrValue},
		{"map16 key", []byte{0x81, 0xde, 0x00, 0x00, 0x01}, 5, ErrValue},
		{"array values in map16", []byte{0xde, 0x00, 0x01, 0x01, 0x91, 0x90}, 5, nil},
		{"map in an array is not a key", []byte{0x92, 0x80, 0xc4, 0x00}, 5, nil},
		{"scalar keys", []byte{0x84, 0x01, 0x01, 0xc0, 0x01, 0xc3, 0x01, 0xd6, 0xff, 0, 0, 0, 1, 0x01}, 5, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, de := scanFrame(tc.data, tc.limit)
			if tc.err == nil {
				if de != nil {
					t.Errorf("scanFrame: %v", de)
				}
				return
			}
			if de == nil || de.Err != tc.err {
				t.Errorf("scanFrame = %v, want %v", de, tc.err)
			}
		})
	}
}

func TestPeekHeader(t *testing.T) {
	tests := []struct {
		data   []byte
		typ    Type
		stream uint32
	}{
		{nil, 0, 0},
		{[]byte{0x93, 0x04, 0x0a}, 0, 0},
		{[]byte{0x94, 0x04, 0x0a}, TypeDelta, 10},
		{[]byte{0x94, 0xcc, 0x04, 0xce, 0, 0, 1, 0}, TypeDelta, 256},
		{[]byte{0x94, 0xd3, 0, 0, 0, 0, 0, 0, 0, 0x03, 0xd1, 0x00, 0x0b}, TypeStateInit, 11},
		{[]byte{0x94, 0xcd, 0x01, 0x00, 0x0a}, 0, 0},
		{[]byte{0x94, 0xd0, 0xff, 0x0a}, 0, 0},
		{[]byte{0x94, 0x04, 0xd0, 0xff}, TypeDelta, 0},
		{[]byte{0x94, 0x04, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0}, TypeDelta, 0},
		{[]byte{0x94, 0x04, 0xce, 0, 0}, TypeDelta, 0},
		{[]byte{0x94, 0xa1, 'x', 0x0a}, 0, 0},
	}
	for _, tc := range tests {
		typ, stream, _ := peekHeader(tc.data)
		if typ != tc.typ || stream != tc.stream {
			t.Errorf("peekHeader(% x) = %s/%d, want %s/%d", tc.data, typ, stream, tc.typ, tc.stream)
		}
	}
}
