package wire

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/shamaton/msgpack/v2"
	"go.uber.org/goleak"

	"github.com/sodp-go/client/internal/delta"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// arr builds a MessagePack array; each element is written by AppendValue,
// so a Raw element is copied as-is.
func arr(elems ...any) Raw {
	b := appendArrayHeader(nil, len(elems))
	for _, e := range elems {
		var err error
		if b, err = AppendValue(b, e); err != nil {
			panic(err)
		}
	}
	return Raw(b)
}

// omap builds a MessagePack map from key, value pairs, keeping their order.
// Keys are written by AppendValue too, so they need not be strings.
func omap(kv ...any) Raw {
	if len(kv)%2 != 0 {
		panic("omap: odd number of arguments")
	}
	b := appendMapHeader(nil, len(kv)/2)
	for _, e := range kv {
		var err error
		if b, err = AppendValue(b, e); err != nil {
			panic(err)
		}
	}
	return Raw(b)
}

// frameBytes builds a frame from its four elements.
func frameBytes(typ, stream, seq, body any) []byte {
	if t, ok := typ.(Type); ok {
		typ = uint8(t)
	}
	return []byte(arr(typ, stream, seq, body))
}

// intAs writes v with the given MessagePack integer code; code 0 means
// positive fixint.
func intAs(code byte, v int64) Raw {
	switch code {
	case 0:
		if v < 0 || v > 0x7f {
			panic("intAs: value does not fit a positive fixint")
		}
		return Raw{byte(v)}
	case 0xcc, 0xd0:
		return Raw{code, byte(v)}
	case 0xcd, 0xd1:
		return Raw(binary.BigEndian.AppendUint16([]byte{code}, uint16(v)))
	case 0xce, 0xd2:
		return Raw(binary.BigEndian.AppendUint32([]byte{code}, uint32(v)))
	case 0xcf, 0xd3:
		return Raw(binary.BigEndian.AppendUint64([]byte{code}, uint64(v)))
	}
	panic(fmt.Sprintf("intAs: code 0x%02x is not an integer code", code))
}

func uint64Raw(v uint64) Raw {
	return Raw(binary.BigEndian.AppendUint64([]byte{0xcf}, v))
}

func float64Raw(v float64) Raw {
	return Raw(binary.BigEndian.AppendUint64([]byte{0xcb}, math.Float64bits(v)))
}

func float32Raw(v float32) Raw {
	return Raw(binary.BigEndian.AppendUint32([]byte{0xca}, math.Float32bits(v)))
}

// mpStr is a MessagePack string, for building expected bytes.
func mpStr(s string) []byte { return appendString(nil, s) }

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func mustEncode(t testing.TB, f Frame, o EncodeOptions) []byte {
	t.Helper()
	b, err := EncodeWith(nil, f, o)
	if err != nil {
		t.Fatalf("EncodeWith(%+v): %v", f, err)
	}
	return b
}

func mustDecode(t testing.TB, data []byte) Frame {
	t.Helper()
	f, err := Decode(data)
	if err != nil {
		t.Fatalf("Decode(% x): %v", data, err)
	}
	return f
}

func asDecodeError(t testing.TB, err error) *DecodeError {
	t.Helper()
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a *DecodeError", err, err)
	}
	return de
}

// roundTripFrames has one or more frames of every type, with bodies that
// hold normalised values only, so that Decode(Encode(f)) equals f.
func roundTripFrames() []struct {
	name  string
	frame Frame
} {
	return []struct {
		name  string
		frame Frame
	}{
		{"hello spec", Frame{TypeHello, 0, 1, &Hello{Protocol: "sodp", Version: "1.0", Server: "sodp-server-ts", Auth: true,
			Capabilities: map[string]any{"jwt": true, "max_watches": int64(1000)}}}},
		{"hello go server", Frame{TypeHello, 0, 0, &Hello{Protocol: "sodp", Version: "1.0", ServerID: "node-7",
			Capabilities: map[string]any{"max_sessions": int64(10000), "rate_limit": map[string]any{"per_sec": int64(50)}, "backpressure": "drop"}}}},
		{"hello rust server", Frame{TypeHello, 0, 0, &Hello{Version: "0.1", Server: "SODP-RS", Capabilities: map[string]any{}}}},
		{"watch one key", Frame{TypeWatch, 10, 2, &Watch{State: "game.score"}}},
		{"watch with params", Frame{TypeWatch, 11, 3, &Watch{State: "user.alice.profile",
			Params: map[string]any{"fields": []any{"name", "age"}, "limit": int64(5)}}}},
		{"watch several keys", Frame{TypeWatch, 12, 4, &Watch{States: []string{"a", "b.c", "d_e.f"}, Params: map[string]any{"x": true}}}},
		{"state_init", Frame{TypeStateInit, 10, 5, &StateInit{State: "game.score", Version: 42, Initialized: true,
			Value: map[string]any{
				"home": int64(3), "away": int64(-2), "big": uint64(math.MaxUint64), "ratio": 0.25, "name": "final",
				"tags": []any{"a", nil, false, int64(math.MinInt64)}, "nested": map[string]any{"deep": map[string]any{}},
			},
			Params: map[string]any{"echo": "me"}}}},
		{"state_init uninitialized", Frame{TypeStateInit, 13, 6, &StateInit{State: "never.written"}}},
		{"state_init scalar", Frame{TypeStateInit, 14, 7, &StateInit{State: "n", Version: 1 << 40, Value: int64(7), Initialized: true}}},
		{"delta", Frame{TypeDelta, 10, 8, &Delta{Version: 43, State: "game.score", Ops: []delta.Op{
			{Op: delta.OpAdd, Path: "/", Value: map[string]any{"a": int64(1)}},
			{Op: delta.OpUpdate, Path: "/a/b~1c", Value: []any{int64(1), "two", 3.5}},
			{Op: delta.OpUpdate, Path: "/n", Value: nil},
			{Op: delta.OpRemove, Path: "/gone"},
		}}}},
		{"delta without key", Frame{TypeDelta, 15, 9, &Delta{Version: 1, Ops: []delta.Op{{Op: delta.OpUpdate, Path: "/", Value: "x"}}}}},
		{"call", Frame{TypeCall, 0, 10, &Call{CallID: "c0ffee", Method: "state.set",
			Args: map[string]any{"state": "game.score", "value": map[string]any{"home": int64(4)}}}}},
		{"result success", Frame{TypeResult, 0, 11, &Result{CallID: "c0ffee", Success: true, Data: map[string]any{"version": int64(44)}}}},
		{"result success nil data", Frame{TypeResult, 0, 12, &Result{CallID: "c1", Success: true}}},
		{"result failure", Frame{TypeResult, 0, 13, &Result{CallID: "c2", Message: "schema validation failed", Code: 422}}},
		{"error", Frame{TypeError, 0, 14, &Error{Code: 403, Message: "forbidden: game.score"}}},
		{"error on stream", Frame{TypeError, 10, 15, &Error{Code: 401, Message: "access denied"}}},
		{"heartbeat", Frame{TypeHeartbeat, 0, 16, nil}},
		{"resume", Frame{TypeResume, 10, 17, &Resume{State: "game.score", SinceVersion: 43}}},
		{"resume with params", Frame{TypeResume, 11, 18, &Resume{State: "a", SinceVersion: math.MaxUint64, Params: map[string]any{"p": int64(1)}}}},
		{"auth", Frame{TypeAuth, 0, 19, &Auth{Token: "eyJhbGciOiJIUzI1NiJ9.e30.sig"}}},
		{"auth_ok", Frame{TypeAuthOK, 0, 20, &AuthOK{Sub: "alice"}}},
		{"unwatch one key", Frame{TypeUnwatch, 0, 21, &Unwatch{State: "game.score"}}},
		{"unwatch several keys", Frame{TypeUnwatch, 0, 22, &Unwatch{States: []string{"a", "b"}}}},
		{"large header", Frame{TypeWatch, math.MaxUint32, math.MaxUint64, &Watch{State: "k"}}},
	}
}

var encodeOptionSets = []struct {
	name string
	o    EncodeOptions
}{
	{"spec", EncodeOptions{}},
	{"fixed width", EncodeOptions{FixedWidthInts: true}},
	{"delta key field", EncodeOptions{DeltaKeyField: "key"}},
	{"go server", EncodeOptions{FixedWidthInts: true, OmitNilOpValues: true, DeltaKeyField: "key"}},
}

func TestRoundTrip(t *testing.T) {
	seen := map[Type]bool{}
	for _, tc := range roundTripFrames() {
		seen[tc.frame.Type] = true
		for _, os := range encodeOptionSets {
			t.Run(tc.name+"/"+os.name, func(t *testing.T) {
				data := mustEncode(t, tc.frame, os.o)
				got := mustDecode(t, data)
				if want := omitted(tc.frame, os.o); !reflect.DeepEqual(got, want) {
					t.Errorf("round trip changed the frame\n got: %s\nwant: %s", dump(got), dump(want))
				}
			})
		}
	}
	for _, typ := range allTypes {
		if !seen[typ] {
			t.Errorf("no round-trip case for %s", typ)
		}
	}
}

// omitted returns f as it decodes after encoding with o: a DELTA whose
// ADD and UPDATE ops the options write without a value lists them in
// NoValue.
func omitted(f Frame, o EncodeOptions) Frame {
	d, ok := f.Body.(*Delta)
	if !ok {
		return f
	}
	var bare []int
	for i, op := range d.Ops {
		if setsValue(op.Op) && (o.OmitNilOpValues && op.Value == nil || o.OmitEmptyOpValues && isEmptyValue(op.Value)) {
			bare = append(bare, i)
		}
	}
	if bare == nil {
		return f
	}
	c := *d
	c.NoValue = bare
	f.Body = &c
	return f
}

var allTypes = []Type{TypeHello, TypeWatch, TypeStateInit, TypeDelta, TypeCall, TypeResult,
	TypeError, TypeHeartbeat, TypeResume, TypeAuth, TypeAuthOK, TypeUnwatch}

func dump(f Frame) string {
	if f.Body == nil {
		return fmt.Sprintf("%s stream=%d seq=%d body=nil", f.Type, f.Stream, f.Seq)
	}
	return fmt.Sprintf("%s stream=%d seq=%d body=%+v", f.Type, f.Stream, f.Seq, reflect.ValueOf(f.Body).Elem().Interface())
}

func TestEncodeThenDecodeNormalisesValues(t *testing.T) {
	type tagged struct {
		Name string `msgpack:"name"`
		Age  int    `msgpack:"age"`
	}
	in := Frame{TypeCall, 0, 1, &Call{CallID: "x", Method: "state.set", Args: map[string]any{
		"ints":    []any{int8(-1), int16(300), int32(-70000), 5, uint(6), uint8(7), uint16(8), uint32(9)},
		"float32": float32(1.5),
		"strings": []string{"a", "b"},
		"labels":  map[string]string{"k": "v"},
		"rows":    []map[string]any{{"id": 1}, {"id": 2}},
		"struct":  tagged{Name: "alice", Age: 30},
	}}}
	got := mustDecode(t, mustEncode(t, in, EncodeOptions{}))
	want := map[string]any{
		"ints":    []any{int64(-1), int64(300), int64(-70000), int64(5), int64(6), int64(7), int64(8), int64(9)},
		"float32": 1.5,
		"strings": []any{"a", "b"},
		"labels":  map[string]any{"k": "v"},
		"rows":    []any{map[string]any{"id": int64(1)}, map[string]any{"id": int64(2)}},
		"struct":  map[string]any{"name": "alice", "age": int64(30)},
	}
	if args := got.Body.(*Call).Args; !reflect.DeepEqual(args, want) {
		t.Errorf("args = %#v\nwant %#v", args, want)
	}
}

func TestRoundTripAsymmetries(t *testing.T) {
	tests := []struct {
		name string
		in   Frame
		o    EncodeOptions
		want Frame
	}{
		{"call with nil args sends an empty map",
			Frame{TypeCall, 0, 1, &Call{CallID: "a", Method: "m"}}, EncodeOptions{},
			Frame{TypeCall, 0, 1, &Call{CallID: "a", Method: "m", Args: map[string]any{}}}},
		{"delta key field - omits the key",
			Frame{TypeDelta, 10, 1, &Delta{Version: 2, State: "k", Ops: []delta.Op{}}}, EncodeOptions{DeltaKeyField: "-"},
			Frame{TypeDelta, 10, 1, &Delta{Version: 2, Ops: []delta.Op{}}}},
		{"nil ops are sent as an empty list",
			Frame{TypeDelta, 10, 1, &Delta{Version: 2, State: "k"}}, EncodeOptions{},
			Frame{TypeDelta, 10, 1, &Delta{Version: 2, State: "k", Ops: []delta.Op{}}}},
		{"REMOVE carries no value",
			Frame{TypeDelta, 10, 1, &Delta{Version: 2, Ops: []delta.Op{{Op: delta.OpRemove, Path: "/a", Value: "ignored"}}}}, EncodeOptions{},
			Frame{TypeDelta, 10, 1, &Delta{Version: 2, Ops: []delta.Op{{Op: delta.OpRemove, Path: "/a"}}}}},
		{"watch with both forms sends states",
			Frame{TypeWatch, 10, 1, &Watch{State: "a", States: []string{"b", "c"}}}, EncodeOptions{},
			Frame{TypeWatch, 10, 1, &Watch{States: []string{"b", "c"}}}},
		{"failed result with string data yields the message",
			Frame{TypeResult, 0, 1, &Result{CallID: "c", Data: "no such method"}}, EncodeOptions{},
			Frame{TypeResult, 0, 1, &Result{CallID: "c", Data: "no such method", Message: "no such method"}}},
		{"nil body of a typed frame",
			Frame{TypeWatch, 10, 1, nil}, EncodeOptions{},
			Frame{TypeWatch, 10, 1, nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mustDecode(t, mustEncode(t, tc.in, tc.o))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %s\nwant %s", dump(got), dump(tc.want))
			}
		})
	}
}

func TestEncodeExactBytes(t *testing.T) {
	sinceField := mpStr("since_version")
	tests := []struct {
		name string
		f    Frame
		o    EncodeOptions
		want []byte
	}{
		{"heartbeat", Frame{TypeHeartbeat, 0, 1, nil}, EncodeOptions{},
			[]byte{0x94, 0x09, 0x00, 0x01, 0xc0}},
		{"delta version 5 is one byte", Frame{TypeDelta, 10, 1, &Delta{Version: 5, Ops: []delta.Op{}}}, EncodeOptions{},
			cat([]byte{0x94, 0x04, 0x0a, 0x01, 0x82}, mpStr("version"), []byte{0x05}, mpStr("ops"), []byte{0x90})},
		{"delta fixed width", Frame{TypeDelta, 10, 1, &Delta{Version: 5, Ops: []delta.Op{}}}, EncodeOptions{FixedWidthInts: true},
			cat([]byte{0x94, 0xcc, 0x04, 0xce, 0, 0, 0, 0x0a, 0xcf, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x82},
				mpStr("version"), []byte{0xcf, 0, 0, 0, 0, 0, 0, 0, 0x05}, mpStr("ops"), []byte{0x90})},
		{"heartbeat fixed width", Frame{TypeHeartbeat, 0, 0, nil}, EncodeOptions{FixedWidthInts: true},
			[]byte{0x94, 0xcc, 0x09, 0xce, 0, 0, 0, 0, 0xcf, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0}},
		{"error code compact", Frame{TypeError, 0, 2, &Error{Code: 404, Message: "x"}}, EncodeOptions{},
			cat([]byte{0x94, 0x07, 0x00, 0x02, 0x82}, mpStr("code"), []byte{0xcd, 0x01, 0x94}, mpStr("message"), mpStr("x"))},
		{"error code fixed width", Frame{TypeError, 0, 2, &Error{Code: 404, Message: "x"}}, EncodeOptions{FixedWidthInts: true},
			cat([]byte{0x94, 0xcc, 0x07, 0xce, 0, 0, 0, 0, 0xcf, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x82},
				mpStr("code"), []byte{0xcf, 0, 0, 0, 0, 0, 0, 0x01, 0x94}, mpStr("message"), mpStr("x"))},
		{"result code fixed width", Frame{TypeResult, 0, 3, &Result{CallID: "c", Message: "m", Code: 429}}, EncodeOptions{FixedWidthInts: true},
			cat([]byte{0x94, 0xcc, 0x06, 0xce, 0, 0, 0, 0, 0xcf, 0, 0, 0, 0, 0, 0, 0, 0x03, 0x85},
				mpStr("call_id"), mpStr("c"), mpStr("success"), []byte{0xc2}, mpStr("data"), []byte{0xc0},
				mpStr("error"), mpStr("m"), mpStr("code"), []byte{0xcf, 0, 0, 0, 0, 0, 0, 0x01, 0xad})},
		{"state_init version fixed width", Frame{TypeStateInit, 10, 4, &StateInit{State: "k", Version: 7}}, EncodeOptions{FixedWidthInts: true},
			cat([]byte{0x94, 0xcc, 0x03, 0xce, 0, 0, 0, 0x0a, 0xcf, 0, 0, 0, 0, 0, 0, 0, 0x04, 0x84},
				mpStr("state"), mpStr("k"), mpStr("version"), []byte{0xcf, 0, 0, 0, 0, 0, 0, 0, 0x07},
				mpStr("value"), []byte{0xc0}, mpStr("initialized"), []byte{0xc2})},
		{"resume since_version 0", Frame{TypeResume, 10, 1, &Resume{State: "a", SinceVersion: 0}}, EncodeOptions{},
			cat([]byte{0x94, 0x0a, 0x0a, 0x01, 0x82}, mpStr("state"), mpStr("a"), sinceField, []byte{0xcf, 0, 0, 0, 0, 0, 0, 0, 0})},
		{"resume since_version 5", Frame{TypeResume, 10, 1, &Resume{State: "a", SinceVersion: 5}}, EncodeOptions{},
			cat([]byte{0x94, 0x0a, 0x0a, 0x01, 0x82}, mpStr("state"), mpStr("a"), sinceField, []byte{0xcf, 0, 0, 0, 0, 0, 0, 0, 5})},
		{"resume since_version 5 fixed width", Frame{TypeResume, 10, 1, &Resume{State: "a", SinceVersion: 5}}, EncodeOptions{FixedWidthInts: true},
			cat([]byte{0x94, 0xcc, 0x0a, 0xce, 0, 0, 0, 0x0a, 0xcf, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x82},
				mpStr("state"), mpStr("a"), sinceField, []byte{0xcf, 0, 0, 0, 0, 0, 0, 0, 5})},
		{"resume since_version max", Frame{TypeResume, 10, 1, &Resume{State: "a", SinceVersion: math.MaxUint64}}, EncodeOptions{},
			cat([]byte{0x94, 0x0a, 0x0a, 0x01, 0x82}, mpStr("state"), mpStr("a"), sinceField, uint64Raw(math.MaxUint64))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mustEncode(t, tc.f, tc.o)
			if !bytes.Equal(got, tc.want) {
				t.Errorf("encoding\n got % x\nwant % x", got, tc.want)
			}
		})
	}
}

func TestSinceVersionAlwaysUint64(t *testing.T) {
	for _, v := range []uint64{0, 1, 5, 0x7f, 0x80, 0xffff, 1 << 32, math.MaxUint64} {
		for _, os := range encodeOptionSets {
			data := mustEncode(t, Frame{TypeResume, 10, 1, &Resume{State: "k", SinceVersion: v, Params: map[string]any{"a": int64(1)}}}, os.o)
			want := cat(mpStr("since_version"), uint64Raw(v))
			if !bytes.Contains(data, want) {
				t.Errorf("%s: since_version %d: % x does not contain % x", os.name, v, data, want)
			}
			if got := mustDecode(t, data).Body.(*Resume).SinceVersion; got != v {
				t.Errorf("%s: since_version decoded as %d, want %d", os.name, got, v)
			}
		}
	}
}

func TestEncodeCompactHeader(t *testing.T) {
	tests := []struct {
		seq  uint64
		want []byte
	}{
		{0, []byte{0x00}},
		{0x7f, []byte{0x7f}},
		{0x80, []byte{0xcc, 0x80}},
		{0xff, []byte{0xcc, 0xff}},
		{0x100, []byte{0xcd, 0x01, 0x00}},
		{0xffff, []byte{0xcd, 0xff, 0xff}},
		{0x10000, []byte{0xce, 0x00, 0x01, 0x00, 0x00}},
		{math.MaxUint32, []byte{0xce, 0xff, 0xff, 0xff, 0xff}},
		{1 << 32, []byte{0xcf, 0, 0, 0, 1, 0, 0, 0, 0}},
		{math.MaxUint64, []byte{0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
	}
	for _, tc := range tests {
		got := mustEncode(t, Frame{Type: TypeHeartbeat, Seq: tc.seq}, EncodeOptions{})
		want := cat([]byte{0x94, 0x09, 0x00}, tc.want, []byte{0xc0})
		if !bytes.Equal(got, want) {
			t.Errorf("seq %d: got % x, want % x", tc.seq, got, want)
		}
		got = mustEncode(t, Frame{Type: TypeHeartbeat, Stream: uint32(min(tc.seq, math.MaxUint32))}, EncodeOptions{})
		if tc.seq <= math.MaxUint32 {
			want = cat([]byte{0x94, 0x09}, tc.want, []byte{0x00, 0xc0})
			if !bytes.Equal(got, want) {
				t.Errorf("stream %d: got % x, want % x", tc.seq, got, want)
			}
		}
	}
}

var intCodes = []struct {
	name string
	code byte
}{
	{"positive fixint", 0}, {"uint8", 0xcc}, {"uint16", 0xcd}, {"uint32", 0xce}, {"uint64", 0xcf},
	{"int8", 0xd0}, {"int16", 0xd1}, {"int32", 0xd2}, {"int64", 0xd3},
}

// integerFields describes every integer field of the protocol: build makes
// a frame with the given encoding of the field, read takes the value back.
var integerFields = []struct {
	name  string
	value int64
	build func(Raw) []byte
	read  func(Frame) uint64
}{
	{"frame_type", int64(TypeDelta),
		func(r Raw) []byte { return frameBytes(r, 10, 1, omap("version", 1, "ops", arr())) },
		func(f Frame) uint64 { return uint64(f.Type) }},
	{"stream_id", 12,
		func(r Raw) []byte { return frameBytes(TypeHeartbeat, r, 1, nil) },
		func(f Frame) uint64 { return uint64(f.Stream) }},
	{"seq", 99,
		func(r Raw) []byte { return frameBytes(TypeHeartbeat, 0, r, nil) },
		func(f Frame) uint64 { return f.Seq }},
	{"delta version", 7,
		func(r Raw) []byte { return frameBytes(TypeDelta, 10, 1, omap("version", r, "ops", arr())) },
		func(f Frame) uint64 { return f.Body.(*Delta).Version }},
	{"state_init version", 8,
		func(r Raw) []byte {
			return frameBytes(TypeStateInit, 10, 1, omap("state", "k", "version", r, "value", 1, "initialized", true))
		},
		func(f Frame) uint64 { return f.Body.(*StateInit).Version }},
	{"since_version", 9,
		func(r Raw) []byte { return frameBytes(TypeResume, 10, 1, omap("state", "k", "since_version", r)) },
		func(f Frame) uint64 { return f.Body.(*Resume).SinceVersion }},
	{"error code", 100,
		func(r Raw) []byte { return frameBytes(TypeError, 0, 1, omap("code", r, "message", "m")) },
		func(f Frame) uint64 { return uint64(f.Body.(*Error).Code) }},
	{"result code", 101,
		func(r Raw) []byte {
			return frameBytes(TypeResult, 0, 1, omap("call_id", "c", "success", false, "code", r))
		},
		func(f Frame) uint64 { return uint64(f.Body.(*Result).Code) }},
}

func TestDecodeAcceptsEveryIntegerWidth(t *testing.T) {
	for _, fld := range integerFields {
		for _, ic := range intCodes {
			t.Run(fld.name+"/"+ic.name, func(t *testing.T) {
				data := fld.build(intAs(ic.code, fld.value))
				f := mustDecode(t, data)
				if got := fld.read(f); got != uint64(fld.value) {
					t.Errorf("decoded %d, want %d (frame % x)", got, fld.value, data)
				}
			})
		}
	}
}

func TestDecodeWideValues(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		read func(Frame) uint64
		want uint64
	}{
		{"stream uint32 max", frameBytes(TypeHeartbeat, intAs(0xce, math.MaxUint32), 0, nil),
			func(f Frame) uint64 { return uint64(f.Stream) }, math.MaxUint32},
		{"stream int64 uint32 max", frameBytes(TypeHeartbeat, intAs(0xd3, math.MaxUint32), 0, nil),
			func(f Frame) uint64 { return uint64(f.Stream) }, math.MaxUint32},
		{"seq uint64 max", frameBytes(TypeHeartbeat, 0, uint64Raw(math.MaxUint64), nil),
			func(f Frame) uint64 { return f.Seq }, math.MaxUint64},
		{"version uint64 max", frameBytes(TypeDelta, 10, 0, omap("version", uint64Raw(math.MaxUint64), "ops", arr())),
			func(f Frame) uint64 { return f.Body.(*Delta).Version }, math.MaxUint64},
		{"version int64 max", frameBytes(TypeDelta, 10, 0, omap("version", intAs(0xd3, math.MaxInt64), "ops", arr())),
			func(f Frame) uint64 { return f.Body.(*Delta).Version }, math.MaxInt64},
		{"version uint16", frameBytes(TypeDelta, 10, 0, omap("version", intAs(0xcd, 0xfffe), "ops", arr())),
			func(f Frame) uint64 { return f.Body.(*Delta).Version }, 0xfffe},
		{"error code above int32 is clamped", frameBytes(TypeError, 0, 0, omap("code", uint64Raw(math.MaxUint64))),
			func(f Frame) uint64 { return uint64(f.Body.(*Error).Code) }, math.MaxInt32},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.read(mustDecode(t, tc.data)); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestDecodeRejectsNegativeIntegers(t *testing.T) {
	for _, fld := range integerFields {
		for _, code := range []byte{0xd0, 0xd1, 0xd2, 0xd3} {
			data := fld.build(intAs(code, -1))
			_, err := Decode(data)
			if !errors.Is(err, ErrFieldType) {
				t.Errorf("%s as 0x%02x -1: err = %v, want ErrFieldType", fld.name, code, err)
			}
		}
		data := fld.build(Raw{0xff}) // negative fixint -1
		if _, err := Decode(data); !errors.Is(err, ErrFieldType) {
			t.Errorf("%s as negative fixint: err = %v, want ErrFieldType", fld.name, err)
		}
	}
}

func TestDecodeFloatVersion(t *testing.T) {
	tests := []struct {
		name    string
		v       Raw
		want    uint64
		wantErr bool
	}{
		{"float64 integral", float64Raw(5), 5, false},
		{"float32 integral", float32Raw(5), 5, false},
		{"float64 zero", float64Raw(0), 0, false},
		{"float64 large integral", float64Raw(1 << 60), 1 << 60, false},
		{"float64 fractional", float64Raw(5.5), 0, true},
		{"float32 fractional", float32Raw(0.25), 0, true},
		{"float64 negative", float64Raw(-1), 0, true},
		{"float32 negative", float32Raw(-3), 0, true},
		{"float64 NaN", float64Raw(math.NaN()), 0, true},
		{"float64 +Inf", float64Raw(math.Inf(1)), 0, true},
		{"float64 2^64", float64Raw(1 << 64), 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, fld := range integerFields[3:6] { // the version fields
				f, err := Decode(fld.build(tc.v))
				if tc.wantErr {
					if !errors.Is(err, ErrFieldType) {
						t.Errorf("%s: err = %v, want ErrFieldType", fld.name, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", fld.name, err)
				}
				if got := fld.read(f); got != tc.want {
					t.Errorf("%s: got %d, want %d", fld.name, got, tc.want)
				}
			}
		})
	}
}

func TestDeltaKeyField(t *testing.T) {
	ops := arr(omap("op", "UPDATE", "path", "/a", "value", 1))
	tests := []struct {
		name string
		body Raw
		want string
	}{
		{"state", omap("version", 3, "ops", ops, "state", "game.score"), "game.score"},
		{"key", omap("version", 3, "ops", ops, "key", "game.score"), "game.score"},
		{"key first", omap("key", "game.score", "version", 3, "ops", ops), "game.score"},
		{"state wins over key", omap("key", "other", "version", 3, "ops", ops, "state", "game.score"), "game.score"},
		{"none", omap("version", 3, "ops", ops), ""},
		{"nil state", omap("version", 3, "ops", ops, "state", nil), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := mustDecode(t, frameBytes(TypeDelta, 10, 1, tc.body))
			want := &Delta{Version: 3, State: tc.want, Ops: []delta.Op{{Op: "UPDATE", Path: "/a", Value: int64(1)}}}
			if !reflect.DeepEqual(f.Body, want) {
				t.Errorf("got %+v, want %+v", f.Body, want)
			}
		})
	}
}

func TestEncodeDeltaKeyField(t *testing.T) {
	d := Frame{TypeDelta, 10, 1, &Delta{Version: 3, State: "game.score", Ops: []delta.Op{}}}
	for _, tc := range []struct {
		opt        string
		field      string
		wantAbsent []string
	}{
		{"", "state", []string{"key"}},
		{"state", "state", []string{"key"}},
		{"key", "key", []string{"state"}},
		{"-", "", []string{"state", "key"}},
	} {
		data := mustEncode(t, d, EncodeOptions{DeltaKeyField: tc.opt})
		if tc.field != "" && !bytes.Contains(data, cat(mpStr(tc.field), mpStr("game.score"))) {
			t.Errorf("DeltaKeyField %q: % x has no %q field", tc.opt, data, tc.field)
		}
		for _, a := range tc.wantAbsent {
			if bytes.Contains(data, mpStr(a)) {
				t.Errorf("DeltaKeyField %q: % x has a %q field", tc.opt, data, a)
			}
		}
		if tc.opt == "-" && bytes.Contains(data, mpStr("game.score")) {
			t.Errorf("DeltaKeyField -: the key is still written: % x", data)
		}
	}
}

func TestOmitNilOpValues(t *testing.T) {
	d := Frame{TypeDelta, 10, 1, &Delta{Version: 3, Ops: []delta.Op{
		{Op: delta.OpUpdate, Path: "/a", Value: nil},
		{Op: delta.OpAdd, Path: "/b", Value: int64(2)},
	}}}
	withNil := cat([]byte{0x83}, mpStr("op"), mpStr("UPDATE"), mpStr("path"), mpStr("/a"), mpStr("value"), []byte{0xc0})
	omitted := cat([]byte{0x82}, mpStr("op"), mpStr("UPDATE"), mpStr("path"), mpStr("/a"), []byte{0x83})
	data := mustEncode(t, d, EncodeOptions{})
	if !bytes.Contains(data, withNil) {
		t.Errorf("spec encoding % x does not contain value nil % x", data, withNil)
	}
	data = mustEncode(t, d, EncodeOptions{OmitNilOpValues: true})
	if !bytes.Contains(data, omitted) || bytes.Contains(data, withNil) {
		t.Errorf("OmitNilOpValues encoding % x does not omit the nil value", data)
	}
	if !bytes.Contains(data, cat(mpStr("value"), []byte{0x02})) {
		t.Errorf("OmitNilOpValues dropped a non-nil value: % x", data)
	}
	got := mustDecode(t, data)
	want := *d.Body.(*Delta)
	want.NoValue = []int{0}
	if !reflect.DeepEqual(got.Body, &want) {
		t.Errorf("got %s, want %+v", dump(got), want)
	}
	// An op without value, built by hand, decodes to Value nil, listed in
	// NoValue; one with value nil is not listed.
	f := mustDecode(t, frameBytes(TypeDelta, 10, 1, omap("version", 1, "ops", arr(omap("op", "ADD", "path", "/x")))))
	if b := f.Body.(*Delta); len(b.Ops) != 1 || b.Ops[0].Value != nil || b.Ops[0].Op != "ADD" || b.Ops[0].Path != "/x" || !slices.Equal(b.NoValue, []int{0}) {
		t.Errorf("body = %+v", b)
	}
	f = mustDecode(t, frameBytes(TypeDelta, 10, 1, omap("version", 1, "ops", arr(omap("op", "ADD", "path", "/x", "value", nil)))))
	if b := f.Body.(*Delta); b.NoValue != nil {
		t.Errorf("value nil: body = %+v", b)
	}
}

// The Go server leaves out op values that are 0, false or "" as well as
// nil; the decoder then lists those ops in NoValue, and the encoder writes
// an op listed there without a value.
func TestOmitEmptyOpValues(t *testing.T) {
	ops := []delta.Op{
		{Op: delta.OpUpdate, Path: "/z", Value: int64(0)},
		{Op: delta.OpUpdate, Path: "/f", Value: false},
		{Op: delta.OpAdd, Path: "/s", Value: ""},
		{Op: delta.OpUpdate, Path: "/n", Value: nil},
		{Op: delta.OpUpdate, Path: "/x", Value: 0.0},
		{Op: delta.OpRemove, Path: "/r"},
		{Op: delta.OpUpdate, Path: "/one", Value: int64(1)},
		{Op: delta.OpUpdate, Path: "/t", Value: true},
		{Op: delta.OpUpdate, Path: "/e", Value: map[string]any{}},
	}
	data := mustEncode(t, Frame{TypeDelta, 10, 1, &Delta{Version: 3, Ops: ops}}, EncodeOptions{OmitEmptyOpValues: true})
	for fast, name := range map[bool]string{true: "fast", false: "generic"} {
		f, err := decode(data, fast)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b := f.Body.(*Delta)
		if !slices.Equal(b.NoValue, []int{0, 1, 2, 3, 4}) {
			t.Errorf("%s: NoValue %v, want [0 1 2 3 4]", name, b.NoValue)
		}
		for i, op := range b.Ops[:5] {
			if op.Value != nil {
				t.Errorf("%s: op %d value %v, want nil", name, i, op.Value)
			}
		}
		if b.Ops[6].Value != int64(1) || b.Ops[7].Value != true || !reflect.DeepEqual(b.Ops[8].Value, map[string]any{}) {
			t.Errorf("%s: values kept %v", name, b.Ops[6:])
		}
		// Written again, the ops listed stay without a value.
		again := mustEncode(t, f, EncodeOptions{})
		if !bytes.Equal(again, data) {
			t.Errorf("%s: re-encoded % x, want % x", name, again, data)
		}
	}
}

func TestDecodeUnknownFieldsIgnored(t *testing.T) {
	extra := []any{
		"zz_array", arr(1, "two", omap("three", 3)),
		"zz_map", omap(1, nil, nil, true), // keys no value may have
		"zz_bin", Raw{0xc4, 0x02, 0xde, 0xad},
		"zz_time", Raw{0xd6, 0xff, 0, 0, 0, 1},
		"zz_big", uint64Raw(math.MaxUint64),
		"zz_float", float64Raw(math.NaN()),
	}
	with := func(kv ...any) Raw { return omap(append(kv, extra...)...) }
	tests := []struct {
		body Raw
		typ  Type
		want any
	}{
		{with("protocol", "sodp", "version", "1.0", "auth", true, "server_id", "g1"), TypeHello,
			&Hello{Protocol: "sodp", Version: "1.0", ServerID: "g1", Auth: true}},
		{with("state", "a", "params", omap("p", 1)), TypeWatch, &Watch{State: "a", Params: map[string]any{"p": int64(1)}}},
		{with("state", "a", "version", 2, "value", "v", "initialized", true), TypeStateInit,
			&StateInit{State: "a", Version: 2, Value: "v", Initialized: true}},
		{with("version", 2, "ops", arr(omap("op", "ADD", "path", "/", "value", 1, "from", "/x", "ts", 5))), TypeDelta,
			&Delta{Version: 2, Ops: []delta.Op{{Op: "ADD", Path: "/", Value: int64(1)}}}},
		{with("call_id", "c", "method", "m", "args", omap()), TypeCall, &Call{CallID: "c", Method: "m", Args: map[string]any{}}},
		{with("call_id", "c", "success", true, "data", omap("version", 9)), TypeResult,
			&Result{CallID: "c", Success: true, Data: map[string]any{"version": int64(9)}}},
		{with("code", 400, "message", "bad"), TypeError, &Error{Code: 400, Message: "bad"}},
		{with("state", "a", "since_version", 4), TypeResume, &Resume{State: "a", SinceVersion: 4}},
		{with("token", "t"), TypeAuth, &Auth{Token: "t"}},
		{with("sub", "s"), TypeAuthOK, &AuthOK{Sub: "s"}},
		{with("states", arr("a", "b")), TypeUnwatch, &Unwatch{States: []string{"a", "b"}}},
		{with(), TypeHeartbeat, nil},
	}
	for _, tc := range tests {
		t.Run(tc.typ.String(), func(t *testing.T) {
			f := mustDecode(t, frameBytes(tc.typ, 10, 1, tc.body))
			if !reflect.DeepEqual(f.Body, tc.want) {
				t.Errorf("body = %#v, want %#v", f.Body, tc.want)
			}
		})
	}
}

func TestDecodeResultMessage(t *testing.T) {
	tests := []struct {
		name string
		body Raw
		want Result
	}{
		{"error field", omap("call_id", "c", "success", false, "error", "nope", "code", 404),
			Result{CallID: "c", Message: "nope", Code: 404}},
		{"message field", omap("call_id", "c", "success", false, "message", "nope"),
			Result{CallID: "c", Message: "nope"}},
		{"string data", omap("call_id", "c", "success", false, "data", "nope"),
			Result{CallID: "c", Data: "nope", Message: "nope"}},
		{"string data on success is not a message", omap("call_id", "c", "success", true, "data", "ok"),
			Result{CallID: "c", Success: true, Data: "ok"}},
		{"no message", omap("call_id", "c", "success", false, "data", nil),
			Result{CallID: "c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := mustDecode(t, frameBytes(TypeResult, 0, 1, tc.body))
			if got := *f.Body.(*Result); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	validDelta := mustEncode(t, Frame{TypeDelta, 10, 3, &Delta{Version: 5, State: "game.score",
		Ops: []delta.Op{{Op: "UPDATE", Path: "/a", Value: int64(1)}}}}, EncodeOptions{})
	deep := cat([]byte{0x94, 0x04, 0x0a, 0x01, 0x82}, mpStr("version"), []byte{0x01}, mpStr("ops"),
		[]byte{0x91, 0x83}, mpStr("op"), mpStr("ADD"), mpStr("path"), mpStr("/"), mpStr("value"),
		bytes.Repeat([]byte{0x91}, 4<<20), []byte{0xc0})
	tests := []struct {
		name   string
		data   []byte
		err    error
		typ    Type
		stream uint32
		key    string
	}{
		{"empty", nil, ErrMalformed, 0, 0, ""},
		{"empty slice", []byte{}, ErrMalformed, 0, 0, ""},
		{"never-used byte", []byte{0xc1}, ErrMalformed, 0, 0, ""},
		{"garbage", []byte{0xc1, 0x94, 0x00, 0x01, 0x02}, ErrMalformed, 0, 0, ""},
		{"text", []byte("hello, world"), ErrTrailing, 0, 0, ""},
		{"huge array length", []byte{0xdd, 0xff, 0xff, 0xff, 0xff, 0x01}, ErrMalformed, 0, 0, ""},
		{"huge map length", []byte{0xdf, 0xff, 0xff, 0xff, 0xff, 0x01}, ErrMalformed, 0, 0, ""},
		{"huge string length", []byte{0xdb, 0xff, 0xff, 0xff, 0xff, 0x01}, ErrMalformed, 0, 0, ""},
		{"truncated array", []byte{0x94, 0x01}, ErrMalformed, TypeHello, 0, ""},
		{"truncated header", []byte{0x94, 0x04, 0xce, 0x00}, ErrMalformed, TypeDelta, 0, ""},
		{"truncated after header", []byte{0x94, 0x04, 0x0c, 0x01}, ErrMalformed, TypeDelta, 12, ""},
		{"truncated string", []byte{0xa5, 'a'}, ErrMalformed, 0, 0, ""},
		{"truncated delta", validDelta[:len(validDelta)-1], ErrMalformed, TypeDelta, 10, ""},
		{"truncated timestamp with spare capacity", func() []byte {
			full := frameBytes(TypeStateInit, 11, 1, omap("state", "k", "value", Raw{0xd6, 0xff, 0x65, 0xec, 0x6c, 0x92}))
			return full[:len(full)-4]
		}(), ErrMalformed, TypeStateInit, 11, ""},
		{"unsupported ext in body", frameBytes(TypeStateInit, 11, 1, omap("state", "k", "value", Raw{0xd4, 0x05, 0x01})),
			ErrMalformed, TypeStateInit, 11, ""},
		{"bin map key", frameBytes(TypeStateInit, 11, 1, omap("state", "k", "value", omap(Raw{0xc4, 0x01, 'a'}, 1))),
			ErrValue, TypeStateInit, 11, ""},
		{"array map key", frameBytes(TypeStateInit, 11, 1, omap("state", "k", "value", omap(arr(), 1))),
			ErrValue, TypeStateInit, 11, ""},
		{"map map key", frameBytes(TypeStateInit, 11, 1, omap("state", "k", "value", omap(omap(), 1))),
			ErrValue, TypeStateInit, 11, ""},
		{"map", omap("a", 1), ErrNotArray, 0, 0, ""},
		{"int", []byte{0x05}, ErrNotArray, 0, 0, ""},
		{"string", mpStr("frame"), ErrNotArray, 0, 0, ""},
		{"nil", []byte{0xc0}, ErrNotArray, 0, 0, ""},
		{"3 elements", arr(TypeHeartbeat, 0, 1), ErrArity, 0, 0, ""},
		{"5 elements", arr(TypeHeartbeat, 0, 1, nil, nil), ErrArity, 0, 0, ""},
		{"0 elements", arr(), ErrArity, 0, 0, ""},
		{"type as string", frameBytes("HEARTBEAT", 0, 1, nil), ErrFieldType, 0, 0, ""},
		{"type negative", frameBytes(-1, 0, 1, nil), ErrFieldType, 0, 0, ""},
		{"type above uint8", frameBytes(0x104, 0, 1, nil), ErrFieldType, 0, 0, ""},
		{"type nil", frameBytes(nil, 0, 1, nil), ErrFieldType, 0, 0, ""},
		{"stream negative", frameBytes(TypeDelta, -10, 1, nil), ErrFieldType, TypeDelta, 0, ""},
		{"stream above uint32", frameBytes(TypeDelta, uint64(math.MaxUint32)+1, 1, nil), ErrFieldType, TypeDelta, 0, ""},
		{"stream as string", frameBytes(TypeDelta, "10", 1, nil), ErrFieldType, TypeDelta, 0, ""},
		{"seq negative", frameBytes(TypeDelta, 10, -1, nil), ErrFieldType, TypeDelta, 10, ""},
		{"seq fractional", frameBytes(TypeDelta, 10, 1.5, nil), ErrFieldType, TypeDelta, 10, ""},
		{"body array", frameBytes(TypeDelta, 10, 1, arr()), ErrFieldType, TypeDelta, 10, ""},
		{"body string", frameBytes(TypeWatch, 12, 1, "game.score"), ErrFieldType, TypeWatch, 12, ""},
		{"body int", frameBytes(TypeHeartbeat, 0, 1, 0), ErrFieldType, TypeHeartbeat, 0, ""},
		{"version as string", frameBytes(TypeDelta, 10, 1, omap("state", "game.score", "version", "5", "ops", arr())),
			ErrFieldType, TypeDelta, 10, "game.score"},
		{"version as string, key after", frameBytes(TypeDelta, 10, 1, omap("version", "5", "ops", arr(), "key", "game.score")),
			ErrFieldType, TypeDelta, 10, "game.score"},
		{"state_init version as bool", frameBytes(TypeStateInit, 10, 1, omap("state", "k", "version", true)),
			ErrFieldType, TypeStateInit, 10, "k"},
		{"since_version as string", frameBytes(TypeResume, 10, 1, omap("state", "k", "since_version", "3")),
			ErrFieldType, TypeResume, 10, "k"},
		{"ops not array", frameBytes(TypeDelta, 10, 1, omap("state", "game.score", "version", 5, "ops", omap())),
			ErrFieldType, TypeDelta, 10, "game.score"},
		{"ops missing", frameBytes(TypeDelta, 10, 1, omap("state", "game.score", "version", 5)),
			ErrFieldType, TypeDelta, 10, "game.score"},
		{"version missing", frameBytes(TypeDelta, 10, 1, omap("state", "game.score", "ops", arr(omap("op", "ADD", "path", "/", "value", 1)))),
			ErrFieldType, TypeDelta, 10, "game.score"},
		{"version nil", frameBytes(TypeDelta, 10, 1, omap("key", "game.score", "version", nil, "ops", arr())),
			ErrFieldType, TypeDelta, 10, "game.score"},
		{"version missing, no key", frameBytes(TypeDelta, 12, 1, omap("ops", arr(omap("op", "ADD", "path", "/", "value", 1)))),
			ErrFieldType, TypeDelta, 12, ""},
		{"op not a map", frameBytes(TypeDelta, 10, 1, omap("state", "game.score", "version", 5, "ops", arr("ADD"))),
			ErrFieldType, TypeDelta, 10, "game.score"},
		{"op missing path", frameBytes(TypeDelta, 10, 1, omap("state", "game.score", "version", 5, "ops", arr(omap("op", "ADD", "value", 1)))),
			ErrFieldType, TypeDelta, 10, "game.score"},
		{"op missing op", frameBytes(TypeDelta, 10, 1, omap("state", "game.score", "version", 5, "ops", arr(omap("path", "/", "value", 1)))),
			ErrFieldType, TypeDelta, 10, "game.score"},
		{"op path as int", frameBytes(TypeDelta, 10, 1, omap("key", "game.score", "version", 5, "ops", arr(omap("op", "ADD", "path", 1)))),
			ErrFieldType, TypeDelta, 10, "game.score"},
		{"op value with nil map key", frameBytes(TypeDelta, 10, 1, omap("state", "game.score", "version", 5,
			"ops", arr(omap("op", "ADD", "path", "/", "value", omap(nil, 1))))),
			ErrValue, TypeDelta, 10, "game.score"},
		{"value nested too deep", deep, ErrValue, TypeDelta, 10, ""},
		{"state as int", frameBytes(TypeStateInit, 10, 1, omap("state", 5, "version", 1)), ErrFieldType, TypeStateInit, 10, ""},
		{"states with a non-string", frameBytes(TypeWatch, 0, 1, omap("states", arr("a", 2))), ErrFieldType, TypeWatch, 0, ""},
		{"states not an array", frameBytes(TypeUnwatch, 0, 1, omap("states", "a")), ErrFieldType, TypeUnwatch, 0, ""},
		{"params not a map", frameBytes(TypeWatch, 13, 1, omap("state", "a", "params", arr())), ErrFieldType, TypeWatch, 13, "a"},
		{"params with nil key", frameBytes(TypeWatch, 13, 1, omap("state", "a", "params", omap(nil, 1))), ErrValue, TypeWatch, 13, "a"},
		{"auth flag as string", frameBytes(TypeHello, 0, 1, omap("version", "1.0", "auth", "yes")), ErrFieldType, TypeHello, 0, ""},
		{"capabilities not a map", frameBytes(TypeHello, 0, 1, omap("version", "1.0", "capabilities", 1)), ErrFieldType, TypeHello, 0, ""},
		{"token as int", frameBytes(TypeAuth, 0, 1, omap("token", 1)), ErrFieldType, TypeAuth, 0, ""},
		{"error code as string", frameBytes(TypeError, 0, 1, omap("code", "401")), ErrFieldType, TypeError, 0, ""},
		{"result success as int", frameBytes(TypeResult, 0, 1, omap("call_id", "c", "success", 1)), ErrFieldType, TypeResult, 0, ""},
		{"trailing byte", append(append([]byte{}, validDelta...), 0x00), ErrTrailing, TypeDelta, 10, "game.score"},
		{"trailing frame", append(append([]byte{}, validDelta...), validDelta...), ErrTrailing, TypeDelta, 10, "game.score"},
		{"trailing after heartbeat", []byte{0x94, 0x09, 0x00, 0x01, 0xc0, 0xc0}, ErrTrailing, TypeHeartbeat, 0, ""},
		{"trailing after int", []byte{0x01, 0x02}, ErrTrailing, 0, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Decode(tc.data)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			de := asDecodeError(t, err)
			if de.Err != tc.err {
				t.Errorf("DecodeError.Err = %v, want %v", de.Err, tc.err)
			}
			if de.Type != tc.typ || de.Stream != tc.stream || de.Key != tc.key {
				t.Errorf("DecodeError{Type: %s, Stream: %d, Key: %q}, want {%s, %d, %q}",
					de.Type, de.Stream, de.Key, tc.typ, tc.stream, tc.key)
			}
			if f.Type != tc.typ || f.Stream != tc.stream {
				t.Errorf("frame header %s/%d, want %s/%d", f.Type, f.Stream, tc.typ, tc.stream)
			}
			if tc.err == ErrTrailing && f.Body != nil {
				t.Errorf("frame with trailing bytes returned a body: %#v", f.Body)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "sodp wire: "+tc.err.Error()) {
				t.Errorf("message %q does not start with the sentinel", msg)
			}
			if tc.key != "" && !strings.Contains(msg, "key "+tc.key) {
				t.Errorf("message %q does not name key %q", msg, tc.key)
			}
		})
	}
}

func TestDecodeErrorMessage(t *testing.T) {
	err := &DecodeError{Err: ErrFieldType, Type: TypeDelta, Stream: 10, Key: "game.score", Detail: `"version": want unsigned integer, got string`}
	want := `sodp wire: field has the wrong type (DELTA on stream 10, key game.score): "version": want unsigned integer, got string`
	if got := err.Error(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	err = &DecodeError{Err: ErrMalformed, Detail: "empty message"}
	if got, want := err.Error(), "sodp wire: malformed MessagePack: empty message"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !errors.Is(fmt.Errorf("wrapped: %w", err), ErrMalformed) {
		t.Error("errors.Is does not see through a wrapped DecodeError")
	}
}

func TestDecodeUnknownType(t *testing.T) {
	for _, typ := range []Type{0x00, 0x08, 0x0E, 0x10, 0x7f, 0xFF} {
		for _, body := range []struct {
			name string
			raw  any
			want any
		}{
			{"map", omap("x", 1, 2, "two"), map[string]any{"x": int64(1), "2": "two"}},
			{"nil", nil, nil},
			{"array", arr(1, "a"), []any{int64(1), "a"}},
			{"unnormalisable", omap(nil, 1), nil},
		} {
			t.Run(fmt.Sprintf("0x%02x/%s", uint8(typ), body.name), func(t *testing.T) {
				f, err := Decode(frameBytes(typ, 17, 5, body.raw))
				if !errors.Is(err, ErrUnknownType) {
					t.Fatalf("err = %v, want ErrUnknownType", err)
				}
				de := asDecodeError(t, err)
				if de.Type != typ || de.Stream != 17 {
					t.Errorf("DecodeError header %s/%d", de.Type, de.Stream)
				}
				if f.Type != typ || f.Stream != 17 || f.Seq != 5 {
					t.Errorf("frame header %s/%d/%d", f.Type, f.Stream, f.Seq)
				}
				if !reflect.DeepEqual(f.Body, body.want) {
					t.Errorf("body = %#v, want %#v", f.Body, body.want)
				}
				if want := fmt.Sprintf("UNKNOWN(0x%02x)", uint8(typ)); typ.String() != want || typ.Known() {
					t.Errorf("String() = %q, Known() = %v", typ.String(), typ.Known())
				}
			})
		}
	}
}

func TestTypeNames(t *testing.T) {
	want := map[Type]string{TypeHello: "HELLO", TypeWatch: "WATCH", TypeStateInit: "STATE_INIT", TypeDelta: "DELTA",
		TypeCall: "CALL", TypeResult: "RESULT", TypeError: "ERROR", TypeHeartbeat: "HEARTBEAT", TypeResume: "RESUME",
		TypeAuth: "AUTH", TypeAuthOK: "AUTH_OK", TypeUnwatch: "UNWATCH"}
	for i := 0; i < 256; i++ {
		typ := Type(i)
		name, known := want[typ]
		if typ.Known() != known {
			t.Errorf("0x%02x: Known() = %v", i, typ.Known())
		}
		if known && typ.String() != name {
			t.Errorf("0x%02x: String() = %q, want %q", i, typ.String(), name)
		}
	}
}

func TestDecodeNilBodies(t *testing.T) {
	for _, typ := range allTypes {
		f, err := Decode(frameBytes(typ, 10, 1, nil))
		if err != nil || f.Body != nil || f.Type != typ {
			t.Errorf("%s with nil body: frame %+v, err %v", typ, f, err)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	prefix := []byte("prefix")
	tests := []struct {
		name  string
		frame Frame
		isVal bool
	}{
		{"body of another type", Frame{TypeWatch, 10, 1, &Unwatch{State: "a"}}, false},
		{"typed body on heartbeat", Frame{TypeHeartbeat, 0, 1, &Hello{}}, false},
		{"typed body on unknown type", Frame{0x20, 0, 1, &Auth{Token: "x"}}, false},
		{"nil typed body", Frame{TypeHello, 0, 1, (*Hello)(nil)}, false},
		{"nil delta body", Frame{TypeDelta, 10, 1, (*Delta)(nil)}, false},
		{"body by value", Frame{TypeAuth, 0, 1, Auth{Token: "x"}}, false},
		{"unsupported value", Frame{TypeStateInit, 10, 1, &StateInit{State: "a", Value: make(chan int)}}, true},
		{"unsupported nested value", Frame{TypeCall, 0, 1, &Call{CallID: "c", Method: "m",
			Args: map[string]any{"a": []any{1, func() {}}}}}, true},
		{"unsupported op value", Frame{TypeDelta, 10, 1, &Delta{Ops: []delta.Op{{Op: "ADD", Path: "/", Value: struct{ C chan int }{}}}}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := append(make([]byte, 0, 64), prefix...)
			out, err := EncodeWith(dst, tc.frame, EncodeOptions{})
			if err == nil {
				t.Fatalf("no error; encoded % x", out)
			}
			if !bytes.Equal(out, prefix) {
				t.Errorf("dst changed to %q", out)
			}
			if errors.Is(err, ErrValue) != tc.isVal {
				t.Errorf("errors.Is(%v, ErrValue) = %v", err, !tc.isVal)
			}
			if !strings.HasPrefix(err.Error(), "sodp wire: encode ") {
				t.Errorf("message %q", err)
			}
		})
	}
}

func TestEncodeAppends(t *testing.T) {
	f := Frame{TypeAuth, 0, 1, &Auth{Token: "t"}}
	alone, err := Encode(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	both, err := Encode([]byte{0xaa}, f)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(both, append([]byte{0xaa}, alone...)) {
		t.Errorf("Encode did not append: % x", both)
	}
}

func TestEncodeRawAndUnknownBodies(t *testing.T) {
	raw := omap("state", 7) // a body no typed encoder writes
	data := mustEncode(t, Frame{TypeWatch, 10, 1, raw}, EncodeOptions{})
	if want := cat([]byte{0x94, 0x02, 0x0a, 0x01}, raw); !bytes.Equal(data, want) {
		t.Errorf("Raw body: % x, want % x", data, want)
	}
	if _, err := Decode(data); !errors.Is(err, ErrFieldType) {
		t.Errorf("decoding the raw body: %v", err)
	}
	data = mustEncode(t, Frame{0x20, 10, 1, map[string]any{"b": 2, "a": []string{"x"}}}, EncodeOptions{})
	f, err := Decode(data)
	if !errors.Is(err, ErrUnknownType) {
		t.Fatalf("err = %v", err)
	}
	if want := map[string]any{"a": []any{"x"}, "b": int64(2)}; !reflect.DeepEqual(f.Body, want) {
		t.Errorf("body %#v", f.Body)
	}
}

func TestAppendValueJSONNumber(t *testing.T) {
	cases := []struct {
		in   json.Number
		want any
	}{
		{"42", int64(42)},
		{"-7", int64(-7)},
		{"18446744073709551615", uint64(18446744073709551615)},
		{"2.5", 2.5},
		{"1e3", 1000.0},
	}
	for _, c := range cases {
		b, err := AppendValue(nil, c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		var v any
		if err := msgpack.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		n, err := Normalize(v)
		if err != nil || n != c.want {
			t.Errorf("%s: got %#v (%v), want %#v", c.in, n, err, c.want)
		}
	}
	if _, err := AppendValue(nil, json.Number("nope")); !errors.Is(err, ErrValue) {
		t.Errorf("bad json.Number: %v", err)
	}
}

// A HELLO with fields of the wrong type is read as far as it can be, and
// every such field is named, in Mistyped and in the error.
func TestDecodeHelloMistyped(t *testing.T) {
	tests := []struct {
		name     string
		body     Raw
		want     Hello
		mistyped []string
	}{
		{"server_id number", omap("protocol", "sodp", "version", "1.0", "server_id", 42),
			Hello{Protocol: "sodp", Version: "1.0", ServerID: "42"}, []string{"server_id"}},
		{"version number", omap("protocol", "sodp", "version", 1.5, "server", "x"),
			Hello{Protocol: "sodp", Version: "1.5", Server: "x"}, []string{"version"}},
		{"server map", omap("protocol", "sodp", "version", "1.0", "server", omap("n", 1), "auth", true),
			Hello{Protocol: "sodp", Version: "1.0", Auth: true}, []string{"server"}},
		{"protocol bool", omap("protocol", true, "version", "1.0"),
			Hello{Protocol: "true", Version: "1.0"}, []string{"protocol"}},
		{"auth string", omap("protocol", "sodp", "version", "1.0", "auth", "false", "server", "s"),
			Hello{Protocol: "sodp", Version: "1.0", Server: "s"}, []string{"auth"}},
		{"auth number", omap("protocol", "sodp", "version", "1.0", "auth", 1),
			Hello{Protocol: "sodp", Version: "1.0"}, []string{"auth"}},
		{"capabilities array", omap("protocol", "sodp", "version", "1.0", "capabilities", arr(1, 2), "auth", true),
			Hello{Protocol: "sodp", Version: "1.0", Auth: true}, []string{"capabilities"}},
		{"several", omap("protocol", "sodp", "version", 1, "server_id", 7, "auth", "yes", "capabilities", 3),
			Hello{Protocol: "sodp", Version: "1", ServerID: "7"}, []string{"version", "server_id", "auth", "capabilities"}},
	}
	for _, tc := range tests {
		for _, fast := range []bool{true, false} {
			f, err := decode(frameBytes(TypeHello, 0, 1, tc.body), fast)
			h, ok := f.Body.(*Hello)
			if !ok {
				t.Errorf("%s: body %#v, err %v", tc.name, f.Body, err)
				continue
			}
			if !errors.Is(err, ErrFieldType) && !errors.Is(err, ErrValue) {
				t.Errorf("%s: err %v, want a field type or value error", tc.name, err)
			}
			for _, name := range tc.mistyped {
				if err == nil || !strings.Contains(err.Error(), `"`+name+`"`) {
					t.Errorf("%s: err %v does not name %q", tc.name, err, name)
				}
			}
			if !reflect.DeepEqual(h.Mistyped, tc.mistyped) {
				t.Errorf("%s: Mistyped %q, want %q", tc.name, h.Mistyped, tc.mistyped)
			}
			got := *h
			got.Mistyped = nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
			}
		}
	}
}
